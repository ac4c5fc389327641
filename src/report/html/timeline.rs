//! The capture's timeline as an inline SVG: time across, flows as lanes (plain red, TLS green,
//! opened with the keys amber), a diamond where a credential went by.
//!
//! With few flows each has a lane of its own, named by its server; with many, flows that do not
//! overlap in time share a lane, so the drawing stays a fixed height. Idle stretches much longer
//! than the busy time (a pause in the capture, files recorded days apart) are cut out and drawn
//! as a narrow break saying how long they were.

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
/// The width of a cut-out idle stretch.
const BREAK: f64 = 16.0;
/// Idle stretches cut out at most (the longest).
const MAX_BREAKS: usize = 12;
/// An idle stretch is cut when longer than this, and than a quarter of the busy time.
const BREAK_FROM_MICROS: u64 = 1_000_000;

/// Where times go across: the capture's span, less the idle stretches cut out.
struct Scale {
    first: u64,
    /// Idle stretches cut out, in order: (from, to) in microseconds.
    breaks: Vec<(u64, u64)>,
    left: f64,
    per_micro: f64,
}

impl Scale {
    fn new(sorted: &[&Span], first: Timestamp, last: Timestamp, left: f64) -> Scale {
        let (first, last) = (first.0, last.0.max(first.0));
        // Busy stretches: the flows' spans, merged.
        let mut busy: Vec<(u64, u64)> = Vec::new();
        for s in sorted {
            let (from, to) = (s.start.0.max(first), s.end.0.clamp(first, last));
            match busy.last_mut() {
                Some(b) if from <= b.1 => b.1 = b.1.max(to),
                _ => busy.push((from, to.max(from))),
            }
        }
        let busy_total: u64 = busy.iter().map(|(a, b)| b - a).sum();
        let threshold = BREAK_FROM_MICROS.max(busy_total / 4);
        let mut idle: Vec<(u64, u64)> = Vec::new();
        let mut at = first;
        for &(from, to) in busy.iter().chain(std::iter::once(&(last, last))) {
            if from > at && from - at > threshold {
                idle.push((at, from));
            }
            at = at.max(to);
        }
        idle.sort_by_key(|(a, b)| std::cmp::Reverse(b - a));
        idle.truncate(MAX_BREAKS);
        idle.sort_unstable();
        let cut: u64 = idle.iter().map(|(a, b)| b - a).sum();
        let shown = (last - first).saturating_sub(cut).max(1) as f64;
        let room = (WIDTH - left - idle.len() as f64 * BREAK).max(100.0);
        Scale {
            first,
            breaks: idle,
            left,
            per_micro: room / shown,
        }
    }

    fn x(&self, ts: Timestamp) -> f64 {
        let ts = ts.0.max(self.first);
        let mut shown = ts - self.first;
        let mut breaks = 0.0;
        for &(from, to) in &self.breaks {
            if ts >= to {
                shown -= to - from;
                breaks += BREAK;
            } else if ts > from {
                shown -= ts - from;
                breaks += BREAK / 2.0;
            }
        }
        self.left + shown as f64 * self.per_micro + breaks
    }
}

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
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 129_600.0 {
        format!("{:.0} h", seconds / 3600.0)
    } else {
        format!("{:.0} days", seconds / 86_400.0)
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
    let scale = Scale::new(&sorted, first, last, left);
    let x = |ts: Timestamp| scale.x(ts);
    let height = AXIS + lane_count as f64 * (LANE + GAP) + 4.0;
    let mut out = String::with_capacity(sorted.len() * 80 + 512);
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"the flows over time\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    // The time axis: the start and the end, in time from the first packet (the middle too
    // when nothing is cut out), and each cut-out stretch with how long it was.
    let span_s = last.saturating_sub(first) as f64 / 1e6;
    let middle = scale.breaks.is_empty().then_some((0.5, "middle"));
    for (frac, anchor) in [Some((0.0, "start")), middle, Some((1.0, "end"))]
        .into_iter()
        .flatten()
    {
        let at = left + frac * (WIDTH - left);
        let _ = write!(
            out,
            "<line x1=\"{at:.1}\" y1=\"14\" x2=\"{at:.1}\" y2=\"{height}\" stroke=\"#ddd\"/>\
             <text x=\"{at:.1}\" y=\"11\" text-anchor=\"{anchor}\" fill=\"#666\">+{}</text>",
            offset(frac * span_s)
        );
    }
    for &(from, to) in &scale.breaks {
        let x0 = scale.x(Timestamp(from)) + 2.0;
        let _ = write!(
            out,
            "<rect x=\"{x0:.1}\" y=\"14\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#eee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"start\" fill=\"#666\" font-size=\"9\" writing-mode=\"tb\">{} idle</text>",
            BREAK - 4.0,
            height - 14.0,
            x0 + (BREAK - 4.0) / 2.0,
            16.0,
            offset((to - from) as f64 / 1e6)
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
    fn long_idle_stretches_are_cut_out() {
        // Two files two days apart: each half of the width, less the break.
        let day = 86_400_000_000;
        let spans = [span(1, 0, 1_000_000), span(2, 2 * day, 2 * day + 1_000_000)];
        let refs: Vec<&Span> = spans.iter().collect();
        let scale = Scale::new(&refs, Timestamp(0), Timestamp(2 * day + 1_000_000), 0.0);
        assert_eq!(scale.breaks, [(1_000_000, 2 * day)]);
        assert_eq!(scale.x(Timestamp(0)), 0.0);
        assert!((scale.x(Timestamp(1_000_000)) - (WIDTH - BREAK) / 2.0).abs() < 0.01);
        assert!((scale.x(Timestamp(2 * day)) - (WIDTH + BREAK) / 2.0).abs() < 0.01);
        assert!((scale.x(Timestamp(2 * day + 1_000_000)) - WIDTH).abs() < 0.01);
        let svg = svg(
            &spans,
            Some(Timestamp(0)),
            Some(Timestamp(2 * day + 1_000_000)),
        );
        assert!(svg.contains(">2 days idle</text>"), "{svg}");
        // A pause shorter than a second, or than a quarter of the busy time, stays.
        let spans = [span(1, 0, 4_000_000), span(2, 5_000_000, 9_000_000)];
        let refs: Vec<&Span> = spans.iter().collect();
        assert!(Scale::new(&refs, Timestamp(0), Timestamp(9_000_000), 0.0)
            .breaks
            .is_empty());
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
