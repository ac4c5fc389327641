//! The capture's timeline as an inline SVG: time across, flows as lanes (plain red, TLS green,
//! opened with the keys amber), a diamond where a credential went by.
//!
//! With few flows each has a lane of its own, named by its server; with many, flows that do not
//! overlap in time share a lane, so the drawing stays a fixed height.

use std::fmt::Write as _;

use super::page::esc;
use super::{LaneKind, Span};
use crate::event::Timestamp;

/// Lanes drawn at most.
const MAX_LANES: usize = 48;
/// Below this many flows each gets its own named lane.
const NAMED_LANES: usize = 24;
const WIDTH: f64 = 1000.0;
const LABEL: f64 = 190.0;
const LANE: f64 = 12.0;
const GAP: f64 = 3.0;
const AXIS: f64 = 22.0;

fn colour(kind: LaneKind) -> &'static str {
    match kind {
        LaneKind::Plain => "#c62828",
        LaneKind::Tls => "#2e7d32",
        LaneKind::Decrypted => "#e69500",
        LaneKind::Other => "#9e9e9e",
    }
}

/// Lays spans out in lanes: one each when few, else packed (the first lane free when a flow
/// starts). Returns the lane of each span (`None`: no lane left) and the number of lanes.
fn lanes(spans: &[&Span]) -> (Vec<Option<usize>>, usize) {
    if spans.len() <= NAMED_LANES {
        return ((0..spans.len()).map(Some).collect(), spans.len());
    }
    let mut ends: Vec<Timestamp> = Vec::new();
    let placed = spans
        .iter()
        .map(|s| {
            if let Some(lane) = ends.iter().position(|&end| end < s.start) {
                ends[lane] = s.end;
                Some(lane)
            } else if ends.len() < MAX_LANES {
                ends.push(s.end);
                Some(ends.len() - 1)
            } else {
                None
            }
        })
        .collect();
    (placed, ends.len())
}

/// A time from the capture's start, to the precision its length needs.
fn offset(seconds: f64) -> String {
    if seconds == 0.0 {
        "0 s".into()
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds < 100.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.0} s")
    }
}

/// The SVG (empty text when there is nothing to draw).
pub(super) fn svg(spans: &[Span], first: Option<Timestamp>, last: Option<Timestamp>) -> String {
    let (Some(first), Some(last)) = (first, last) else {
        return String::from("<p class=\"dim\">No flow to draw.</p>");
    };
    if spans.is_empty() {
        return String::from("<p class=\"dim\">No flow to draw.</p>");
    }
    let mut sorted: Vec<&Span> = spans.iter().collect();
    sorted.sort_by_key(|s| (s.start, s.id));
    let (placed, lane_count) = lanes(&sorted);
    let named = sorted.len() <= NAMED_LANES;
    let left = if named { LABEL } else { 0.0 };
    let length = last.saturating_sub(first).max(1) as f64;
    let x = |ts: Timestamp| left + ts.saturating_sub(first) as f64 / length * (WIDTH - left);
    let height = AXIS + lane_count as f64 * (LANE + GAP) + 4.0;
    let mut out = String::with_capacity(sorted.len() * 80 + 512);
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"the flows over time\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    // The time axis: the start, the middle, the end, in seconds from the first packet.
    let span_s = length / 1e6;
    for (i, frac) in [0.0, 0.5, 1.0].into_iter().enumerate() {
        let at = left + frac * (WIDTH - left);
        let anchor = ["start", "middle", "end"][i];
        let _ = write!(
            out,
            "<line x1=\"{at:.1}\" y1=\"14\" x2=\"{at:.1}\" y2=\"{height}\" stroke=\"#ddd\"/>\
             <text x=\"{at:.1}\" y=\"11\" text-anchor=\"{anchor}\" fill=\"#666\">+{}</text>",
            offset(frac * span_s)
        );
    }
    let mut dropped = 0u64;
    for (span, lane) in sorted.iter().zip(placed) {
        let Some(lane) = lane else {
            dropped += 1;
            continue;
        };
        let y = AXIS + lane as f64 * (LANE + GAP);
        let x0 = x(span.start);
        let w = (x(span.end) - x0).max(2.0);
        if named {
            let label: String = span.label.chars().take(30).collect();
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{}</text>",
                left - 6.0,
                y + LANE - 2.0,
                esc(&label)
            );
        }
        let _ = write!(
            out,
            "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{LANE}\" rx=\"2\" fill=\"{}\"><title>flow {} {}</title></rect>",
            colour(span.kind),
            span.id,
            esc(&span.label)
        );
        for &ts in &span.leaks {
            let cx = x(ts);
            let cy = y + LANE / 2.0;
            let _ = write!(
                out,
                "<path d=\"M{:.1} {:.1}l5 5l-5 5l-5-5z\" fill=\"#000\" stroke=\"#fff\"/>",
                cx,
                cy - 5.0
            );
        }
    }
    out.push_str("</svg>");
    if dropped > 0 {
        let _ = write!(
            out,
            "<p class=\"dim\">{dropped} flows overlapped too many others to get a lane.</p>"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: u64, start: u64, end: u64) -> Span {
        Span {
            id,
            start: Timestamp(start),
            end: Timestamp(end),
            kind: LaneKind::Plain,
            label: format!("<s{id}>"),
            leaks: Vec::new(),
        }
    }

    #[test]
    fn few_flows_get_a_named_lane_each() {
        let spans = [span(1, 0, 10), span(2, 5, 20)];
        let svg = svg(&spans, Some(Timestamp(0)), Some(Timestamp(20)));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("&lt;s1&gt;"), "labels are escaped");
        assert!(!svg.contains("<s1>"));
    }

    #[test]
    fn many_flows_share_lanes_when_apart() {
        // 100 flows one after another fit one lane; 100 at once fill the lanes and the rest
        // are counted.
        let apart: Vec<Span> = (0..100).map(|i| span(i, i * 10, i * 10 + 5)).collect();
        let refs: Vec<&Span> = apart.iter().collect();
        assert_eq!(lanes(&refs).1, 1);
        let together: Vec<Span> = (0..100).map(|i| span(i, 0, 1000)).collect();
        let refs: Vec<&Span> = together.iter().collect();
        let (placed, count) = lanes(&refs);
        assert_eq!(count, MAX_LANES);
        assert_eq!(
            placed.iter().filter(|p| p.is_none()).count(),
            100 - MAX_LANES
        );
    }
}
