//! Writes the handout page from a [`Story`]: inline CSS and SVG, no script, no external resource
//! (a Content-Security-Policy says so to the browser too), light colours that print.
//!
//! Everything that came from the network goes through [`esc`] (and, unless `--reveal`, through
//! the story's mask) before it is written: a capture is hostile input, and a `<script>` in a URL
//! is shown as text.

use std::fmt::Write as _;

use super::{Leak, Story, TlsServer};
use crate::event::{Dir, Severity, Timestamp, TrustResult};
use crate::report::human_bytes;
use crate::ui::wire::{Look, WireLine, WireView};

/// Rows shown before a row with a secret, and after.
const ROWS_BEFORE: usize = 6;
const ROWS_AFTER: usize = 4;
/// How far back an excerpt reaches for the line that names the packet (or record) a secret is
/// in, so its frame number shows.
const HEADER_REACH: usize = 24;

/// HTML-escapes text from anywhere: `& < > " '`, and control characters (which the page never
/// needs) become `�`.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A capture time, UTC, to the second.
pub fn when(ts: Timestamp) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ts.secs().min(i64::MAX as u64) as i64)
    else {
        return format!("{} s", ts.secs());
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Seconds as people say them: `0.42 s`, `12 s`, `3 min 5 s`.
fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else {
        format!("{} min {} s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The CSS class of a piece of the wire view.
fn look_class(look: Look) -> &'static str {
    match look {
        Look::Client => "c",
        Look::Server => "s",
        Look::Secret => "secret",
        Look::Faint => "faint",
        Look::Note => "note",
        Look::Opaque => "opaque",
    }
}

fn line_html(line: &WireLine) -> String {
    let mut out = String::new();
    for seg in line {
        let _ = write!(
            out,
            "<span class=\"{}\">{}</span>",
            look_class(seg.look),
            esc(&seg.text)
        );
    }
    out
}

/// The rows of a wire view around the `focus` rows (a few before, a few after, runs that touch
/// merged), at most `max_rows`, as an HTML table; the rows left out are counted where they were.
/// Empty when the view has no rows.
pub(super) fn excerpt(view: &WireView, focus: &[usize], max_rows: usize) -> String {
    let rows = view.left.len();
    if rows == 0 {
        return String::new();
    }
    let mut windows: Vec<(usize, usize)> = Vec::new();
    // A packet's (or a record's) first line is faint: "── packet #4 …", "#20 → application_data".
    let is_header = |row: usize| {
        view.left
            .get(row)
            .and_then(|l| l.first())
            .is_some_and(|s| s.look == Look::Faint && !s.text.trim().is_empty())
    };
    for &f in focus.iter().filter(|&&f| f < rows) {
        let header = (f.saturating_sub(HEADER_REACH)..=f)
            .rev()
            .find(|&r| is_header(r))
            .unwrap_or(f);
        let from = f.saturating_sub(ROWS_BEFORE).min(header);
        let to = (f + ROWS_AFTER + 1).min(rows);
        match windows.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => windows.push((from, to)),
        }
    }
    if windows.is_empty() {
        windows.push((0, rows.min(max_rows)));
    }
    let two = view.right.is_some();
    let mut out = String::from(if two {
        "<table class=\"wire two\">"
    } else {
        "<table class=\"wire\">"
    });
    if two {
        out.push_str(
            "<tr><th>On the wire (what anyone on the path sees)</th><th>With the keys</th></tr>",
        );
    }
    let cols = if two { 2 } else { 1 };
    let gap = |out: &mut String, n: usize| {
        let _ = write!(
            out,
            "<tr class=\"gap\"><td colspan=\"{cols}\">⋯ {} not shown ⋯</td></tr>",
            plural(n as u64, "line", "lines")
        );
    };
    let mut shown = 0;
    let mut at = 0;
    for (from, to) in windows {
        if shown >= max_rows {
            break;
        }
        if from > at {
            gap(&mut out, from - at);
        }
        let to = to.min(from + (max_rows - shown));
        for row in from..to {
            out.push_str("<tr>");
            for side in [Some(&view.left), view.right.as_ref()]
                .into_iter()
                .flatten()
            {
                let line = side.get(row).map(line_html).unwrap_or_default();
                let _ = write!(out, "<td>{line}</td>");
            }
            out.push_str("</tr>");
        }
        shown += to - from;
        at = to;
    }
    if at < rows {
        gap(&mut out, rows - at);
    }
    out.push_str("</table>");
    out
}

const CSS: &str = r#"
:root{--plain:#c62828;--tls:#2e7d32;--dec:#e69500;--other:#9e9e9e;--ink:#1b1b1b;--dim:#666;--line:#ddd}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#fff;margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid var(--ink);padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}
.sub{color:var(--dim);margin:0 0 18px}
.headline{display:flex;gap:28px;align-items:baseline;flex-wrap:wrap;margin:18px 0}
.big{font-size:40px;font-weight:700;line-height:1}
.big.bad{color:var(--plain)}.big.good{color:var(--tls)}
.card{border:1px solid var(--line);border-left:6px solid var(--other);border-radius:4px;padding:12px 14px;margin:14px 0;break-inside:avoid;page-break-inside:avoid}
.card.leak{border-left-color:var(--plain)}.card.tls{border-left-color:var(--tls)}.card.dec{border-left-color:var(--dec)}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}
.kv dt{color:var(--dim)}.kv dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:700;color:#fff;background:var(--other);vertical-align:middle}
.badge.plain,.badge.high{background:var(--plain)}.badge.tls,.badge.good{background:var(--tls)}.badge.dec,.badge.medium{background:var(--dec)}.badge.low{background:var(--other)}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;vertical-align:top;padding:3px 6px;border-bottom:1px solid var(--line);overflow-wrap:break-word}
td.w{overflow-wrap:anywhere;word-break:break-word}
td.nw{white-space:nowrap}
th{font-size:13px;color:var(--dim);font-weight:600}
table.wire{font:12px/1.35 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;background:#fafafa;border:1px solid var(--line);table-layout:fixed}
table.wire td{white-space:pre-wrap;word-break:break-all;border:0;padding:0 6px}
table.wire.two td{width:50%}table.wire.two td+td{border-left:1px solid var(--line)}
table.wire tr.gap td{color:var(--dim);text-align:center;font-style:italic;padding:2px}
.c{color:#0b3d91}.s{color:#5d3a00}.faint,.opaque{color:#888}.note{color:#6a1b9a;font-style:italic}
.secret{background:#ffd54f;color:#000;font-weight:700;outline:2px solid var(--plain);border-radius:2px}
.why{margin:8px 0 0}.why b{display:block;font-size:13px;color:var(--dim)}
.fix{color:var(--tls)}
.legend span{margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
svg{max-width:100%;height:auto;display:block}
.dim{color:var(--dim)}
footer{margin-top:40px;color:var(--dim);font-size:13px;border-top:1px solid var(--line);padding-top:8px}
@page{margin:14mm}
@media print{body{padding:0;max-width:none;font-size:12px}h2{break-after:avoid}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"#;

/// The page.
pub(super) fn render(story: &Story) -> String {
    let mut p = String::with_capacity(64 << 10);
    let title = if story.options.title.is_empty() {
        "a capture".to_string()
    } else {
        story.options.title.clone()
    };
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"plainsight {}\">\
         <title>What an eavesdropper saw — {}</title><style>{CSS}</style></head><body>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title)
    );
    header(&mut p, story, &title);
    leaks(&mut p, story);
    tls(&mut p, story);
    findings(&mut p, story);
    names(&mut p, story);
    anomalies(&mut p, story);
    let _ = write!(
        p,
        "<footer>Made by plainsight {} from {}. {} Frame numbers are those Wireshark shows \
         (<code>frame.number</code>), to find each packet there.</footer>\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title),
        if story.options.reveal {
            "Secrets are shown whole (--reveal): share this page with care."
        } else {
            "Secrets are masked (first and last character kept); --reveal shows them whole."
        }
    );
    p
}

fn header(p: &mut String, story: &Story, title: &str) {
    let s = story.summary.clone().unwrap_or_default();
    let _ = write!(
        p,
        "<h1>What an eavesdropper saw</h1><p class=\"sub\">{}",
        esc(title)
    );
    if let (Some(a), Some(b)) = (story.first_ts, story.last_ts) {
        let _ = write!(p, " · {} to {}", when(a), when(b));
    }
    let _ = writeln!(
        p,
        " · {} · {} · {}</p>",
        plural(s.packets, "packet", "packets"),
        human_bytes(s.bytes),
        plural(s.flows, "flow", "flows")
    );
    // The headline.
    let credentials = s.credentials.max(story.credentials);
    p.push_str("<div class=\"headline\">");
    if credentials > 0 {
        let _ = write!(
            p,
            "<div><div class=\"big bad\">{}</div>leaked in {}</div>",
            plural(credentials, "credential", "credentials"),
            plural(story.leak_flows, "flow", "flows")
        );
        let with_keys = story
            .leaks
            .iter()
            .filter(|l| l.first.decrypted)
            .map(|l| l.count)
            .sum::<u64>();
        if with_keys > 0 {
            let _ = write!(
                p,
                "<div><div class=\"big\" style=\"color:var(--dec)\">{with_keys}</div>of them readable only with the keys given</div>"
            );
        }
    } else {
        p.push_str("<div><div class=\"big good\">No credential</div>was seen in the clear</div>");
    }
    if s.findings > 0 {
        let _ = write!(
            p,
            "<div><div class=\"big\">{}</div>{} the sites got wrong</div>",
            s.findings,
            if s.findings == 1 { "thing" } else { "things" }
        );
    }
    p.push_str("</div>\n");
    bytes_bar(p, s.plaintext_bytes, s.encrypted_bytes);
    p.push_str("<h3>Timeline: each flow a lane</h3>");
    p.push_str(&super::timeline::svg(
        &story.spans,
        story.first_ts,
        story.last_ts,
    ));
    p.push_str(
        "<p class=\"legend\"><span><i style=\"background:var(--plain)\"></i>plain text</span>\
         <span><i style=\"background:var(--tls)\"></i>TLS, shut</span>\
         <span><i style=\"background:var(--dec)\"></i>TLS, opened with the keys</span>\
         <span><i style=\"background:var(--other)\"></i>other</span>\
         <span>◆ a credential went by</span></p>",
    );
    if story.flows_unfollowed > 0 {
        let _ = writeln!(
            p,
            "<p class=\"dim\">{} opened while {} others were open (a flood): counted in the totals, not followed one by one.</p>",
            plural(story.flows_unfollowed, "flow", "flows"),
            story.options.open_followed()
        );
    }
    if story.spans_dropped > 0 {
        let _ = write!(
            p,
            "<p class=\"dim\">{} not drawn (the timeline keeps the first {} and every flow with a credential it can).</p>",
            plural(story.spans_dropped, "more flow", "more flows"),
            super::SPANS_KEPT
        );
    }
}

/// Plaintext against encrypted bytes, as one bar.
fn bytes_bar(p: &mut String, plain: u64, encrypted: u64) {
    let total = plain + encrypted;
    p.push_str("<h3>Bytes in the clear and encrypted</h3>");
    if total == 0 {
        p.push_str("<p class=\"dim\">No application bytes were seen.</p>");
        return;
    }
    let w = 1000.0;
    let plain_w = (plain as f64 / total as f64 * w).round();
    let _ = write!(
        p,
        "<svg viewBox=\"0 0 1000 28\" width=\"1000\" height=\"28\" role=\"img\" aria-label=\"plain text against encrypted bytes\">\
         <rect x=\"0\" y=\"0\" width=\"{plain_w}\" height=\"28\" fill=\"#c62828\"/>\
         <rect x=\"{plain_w}\" y=\"0\" width=\"{}\" height=\"28\" fill=\"#2e7d32\"/></svg>",
        w - plain_w
    );
    let pct = |n: u64| n as f64 * 100.0 / total as f64;
    let _ = write!(
        p,
        "<p class=\"legend\"><span><i style=\"background:var(--plain)\"></i>in the clear: {} ({:.1}%)</span>\
         <span><i style=\"background:var(--tls)\"></i>encrypted: {} ({:.1}%)</span></p>",
        human_bytes(plain),
        pct(plain),
        human_bytes(encrypted),
        pct(encrypted)
    );
}

fn frames(list: &[u64], count: u64) -> String {
    let mut out = list
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if count > list.len() as u64 {
        let _ = write!(out, " … ({} in all)", count);
    }
    out
}

fn leaks(p: &mut String, story: &Story) {
    p.push_str("<h2>What leaked</h2>\n");
    if story.leaks.is_empty() && story.leaks_unlisted.is_empty() {
        p.push_str("<p>No user name, password, token or session cookie was seen in the clear. \
                    (A credential inside TLS shows here only when the keys to open it were given.)</p>\n");
        return;
    }
    let detailed = story.leaks.iter().take(super::LEAKS_DETAILED);
    for leak in detailed {
        leak_card(p, story, leak);
    }
    let rest: Vec<&Leak> = story.leaks.iter().skip(super::LEAKS_DETAILED).collect();
    if !rest.is_empty() {
        p.push_str("<h3>More credentials</h3><table><tr><th>kind</th><th>user</th><th>secret</th><th>server</th><th>where</th><th>frames</th></tr>");
        for leak in rest {
            let c = &leak.first;
            let _ = write!(
                p,
                "<tr><td class=\"nw\">{}</td><td class=\"w\">{}</td><td class=\"w\">{}</td><td>{}</td><td class=\"w\">{}</td><td>{}</td></tr>",
                esc(c.kind.as_str()),
                esc(&story.masked(c.username.as_deref().unwrap_or("—"))),
                esc(&secret_shown(story, &c.secret)),
                esc(&c.server.to_string()),
                esc(&story.masked(&c.location)),
                frames(&leak.frames, leak.count)
            );
        }
        p.push_str("</table>\n");
    }
    if !story.leaks_unlisted.is_empty() {
        let by_kind: Vec<String> = story
            .leaks_unlisted
            .iter()
            .map(|(k, n)| format!("{n} {}", esc(k)))
            .collect();
        let _ = writeln!(
            p,
            "<p class=\"dim\">And more, not listed: {}.</p>",
            by_kind.join(", ")
        );
    }
}

fn secret_shown(story: &Story, secret: &str) -> String {
    crate::creds::shown(secret, !story.options.reveal)
}

fn leak_card(p: &mut String, story: &Story, leak: &Leak) {
    let c = &leak.first;
    let (class, badge) = if c.decrypted {
        (
            "card dec",
            "<span class=\"badge dec\">opened with the keys</span>",
        )
    } else {
        (
            "card leak",
            "<span class=\"badge plain\">in the clear</span>",
        )
    };
    let _ = write!(
        p,
        "<div class=\"{class}\"><h3>{} {badge}</h3><dl class=\"kv\">",
        esc(c.kind.as_str())
    );
    if let Some(user) = &c.username {
        let _ = write!(
            p,
            "<dt>user</dt><dd><b>{}</b></dd>",
            esc(&story.masked(user))
        );
    }
    let _ = write!(
        p,
        "<dt>secret</dt><dd><span class=\"secret\">{}</span></dd>\
         <dt>where</dt><dd>{}</dd><dt>from → to</dt><dd>{} → {}</dd>\
         <dt>when</dt><dd>{}</dd><dt>frame</dt><dd>{}</dd>",
        esc(&secret_shown(story, &c.secret)),
        esc(&story.masked(&c.location)),
        esc(&c.client.to_string()),
        esc(&c.server.to_string()),
        when(c.ts),
        frames(&leak.frames, leak.count)
    );
    if leak.count > 1 {
        let _ = write!(
            p,
            "<dt>seen</dt><dd>{} in {}</dd>",
            plural(leak.count, "time", "times"),
            plural(leak.flows.max(1), "flow", "flows")
        );
    }
    p.push_str("</dl>");
    match &leak.excerpt {
        Some(html) => {
            p.push_str("<p class=\"dim\">The bytes as they crossed the wire, the secret highlighted where it lies:</p>");
            p.push_str(html);
        }
        None if leak.trimmed => p.push_str(
            "<p class=\"dim\">Its bytes were let go to keep memory bounded (a very busy capture).</p>",
        ),
        None => {}
    }
    let _ = writeln!(
        p,
        "<p class=\"why\"><b>Why it leaked</b>{}</p><p class=\"why fix\"><b>What would have stopped it</b>{}</p></div>",
        esc(crate::explain::why_leaked(leak.protocol)),
        esc(crate::explain::what_stops(c.kind))
    );
}

fn tls(p: &mut String, story: &Story) {
    p.push_str("<h2>What HTTPS hid, and what it still showed</h2>\n");
    if story.tls.is_empty() {
        p.push_str("<p>No TLS or QUIC connection was seen.</p>\n");
        return;
    }
    let _ = writeln!(
        p,
        "<p>{} {}</p>",
        esc(crate::explain::TLS_HIDES),
        esc(crate::explain::KEYS_OPEN)
    );
    for server in story.tls.iter().take(super::TLS_DETAILED) {
        tls_card(p, story, server);
    }
    let rest: Vec<&TlsServer> = story.tls.iter().skip(super::TLS_DETAILED).collect();
    if !rest.is_empty() {
        p.push_str("<h3>More servers behind TLS</h3><table><tr><th>server name</th><th>connections</th><th>bytes</th><th>version</th><th>certificate</th></tr>");
        for s in rest {
            let _ = write!(
                p,
                "<tr><td class=\"w\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                s.flows,
                human_bytes(s.bytes),
                esc(s.version.as_deref().unwrap_or("—")),
                s.trust
                    .as_ref()
                    .map(|t| esc(t.result.as_str()))
                    .unwrap_or_else(|| "—".into())
            );
        }
        p.push_str("</table>\n");
    }
    if story.tls_unlisted > 0 {
        let _ = writeln!(
            p,
            "<p class=\"dim\">And {} to other servers, not listed.</p>",
            plural(story.tls_unlisted, "connection", "connections")
        );
    }
}

fn tls_card(p: &mut String, story: &Story, s: &TlsServer) {
    let opened = s.decryption.contains_key("ok") || s.side_by_side.is_some();
    let class = if opened { "card dec" } else { "card tls" };
    let what = if s.quic {
        "QUIC"
    } else if s.starttls {
        "STARTTLS"
    } else {
        "TLS"
    };
    let _ = write!(
        p,
        "<div class=\"{class}\"><h3>{} <span class=\"badge {}\">{what}{}</span></h3><dl class=\"kv\">",
        esc(&s.name),
        if opened { "dec" } else { "tls" },
        if opened { ", opened with the keys" } else { "" }
    );
    let name_line = if s.sni_sent {
        "sent in the clear in the ClientHello (SNI): anyone on the path reads it"
    } else {
        "no server name sent: the address alone says where"
    };
    let _ = write!(
        p,
        "<dt>server name</dt><dd>{}</dd><dt>address</dt><dd>{}</dd><dt>connections</dt><dd>{}, {}{}</dd>",
        name_line,
        esc(&s.addresses.join(", ")),
        s.flows,
        human_bytes(s.bytes),
        if s.records > 0 {
            format!(" ({})", plural(s.records, "record", "records"))
        } else {
            String::new()
        }
    );
    if let (Some(a), Some(b)) = (s.first, s.last) {
        let _ = write!(
            p,
            "<dt>when</dt><dd>{} for {}</dd>",
            when(a),
            seconds(b.saturating_sub(a) as f64 / 1e6)
        );
    }
    if let Some(v) = &s.version {
        let _ = write!(
            p,
            "<dt>version, cipher</dt><dd>{}, {}</dd>",
            esc(v),
            esc(s.cipher.as_deref().unwrap_or("—"))
        );
    }
    if let Some(a) = &s.alpn {
        let _ = write!(p, "<dt>protocol inside</dt><dd>{}</dd>", esc(a));
    }
    if let Some(j) = &s.ja4 {
        let _ = write!(
            p,
            "<dt>client fingerprint</dt><dd><code>{}</code> (JA4: which software connected)</dd>",
            esc(j)
        );
    }
    if !s.chain.is_empty() {
        p.push_str("<dt>certificate</dt><dd>");
        for (i, c) in s.chain.iter().enumerate() {
            let name = c.subject_cn.clone().unwrap_or_else(|| c.subject.clone());
            let _ = write!(
                p,
                "{}{} <span class=\"dim\">({}, {} to {})</span><br>",
                if i == 0 { "" } else { "↳ signed by " },
                esc(&name),
                esc(&c.key),
                esc(crate::base::rfc3339_day(&c.not_before)),
                esc(crate::base::rfc3339_day(&c.not_after))
            );
        }
        if let Some(t) = &s.trust {
            let good = matches!(t.result, TrustResult::Trusted);
            let _ = write!(
                p,
                "<span class=\"badge {}\">{}</span> {}",
                if good { "good" } else { "high" },
                esc(t.result.as_str()),
                esc(&t.detail)
            );
        }
        p.push_str("</dd>");
    } else if !s.quic && s.version.as_deref() == Some("TLS1.3") {
        p.push_str("<dt>certificate</dt><dd class=\"dim\">encrypted in TLS 1.3: not visible without the keys</dd>");
    }
    if !s.decryption.is_empty() {
        let results: Vec<String> = s
            .decryption
            .iter()
            .map(|(r, n)| format!("{}: {}", esc(r), plural(*n, "connection", "connections")))
            .collect();
        let _ = write!(
            p,
            "<dt>decryption</dt><dd>{}{}</dd>",
            results.join(", "),
            s.decryption_detail
                .as_ref()
                .map(|d| format!(" <span class=\"dim\">({})</span>", esc(d)))
                .unwrap_or_default()
        );
    }
    p.push_str("</dl>");
    if !s.records_seen.is_empty() {
        p.push_str("<p class=\"dim\">What still shows: the size and time of every record (the first connection's first records).</p>\
                    <table><tr><th>after</th><th>way</th><th>record</th><th>size</th><th>first bytes on the wire</th></tr>");
        let from = s.records_from.unwrap_or(Timestamp(0));
        for r in &s.records_seen {
            let _ = write!(
                p,
                "<tr><td>{:.1} ms</td><td>{}</td><td>{}{}</td><td>{} B</td><td><code class=\"opaque\">{}</code></td></tr>",
                r.ts.saturating_sub(from) as f64 / 1000.0,
                match r.dir {
                    Dir::ClientToServer => "client → server",
                    Dir::ServerToClient => "server → client",
                },
                esc(r.content_type.as_str()),
                r.inner_type
                    .map(|t| format!(" <span class=\"dim\">({})</span>", esc(t.as_str())))
                    .unwrap_or_default(),
                r.length,
                esc(&r.head)
            );
        }
        p.push_str("</table>");
    }
    if !s.requests.is_empty() {
        p.push_str("<p>Read inside with the keys:</p><ul>");
        for r in &s.requests {
            let _ = write!(p, "<li><code>{}</code></li>", esc(&story.masked(r)));
        }
        p.push_str("</ul>");
    }
    if let Some(html) = &s.side_by_side {
        p.push_str("<p class=\"dim\">The same connection side by side: the records as they crossed the wire, and what the keys opened.</p>");
        p.push_str(html);
    }
    p.push_str("</div>\n");
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

fn findings(p: &mut String, story: &Story) {
    if story.findings.is_empty() {
        return;
    }
    p.push_str("<h2>What the sites got wrong</h2>\n<table><tr><th>severity</th><th>what</th><th>host</th><th>seen</th><th>the fix</th><th>frames</th></tr>");
    let mut sorted: Vec<&super::FindingSeen> = story.findings.iter().collect();
    sorted.sort_by_key(|f| f.first.severity);
    for f in sorted {
        let _ = write!(
            p,
            "<tr><td><span class=\"badge {}\">{}</span></td><td class=\"nw\">{}</td><td class=\"w\">{}</td><td class=\"w\">{}</td><td class=\"fix\">{}</td><td>{}</td></tr>",
            severity_class(f.first.severity),
            esc(f.first.severity.as_str()),
            esc(f.first.kind.as_str()),
            esc(f.first.host.as_deref().unwrap_or("—")),
            esc(&story.masked(&f.first.detail)),
            esc(&f.first.advice),
            frames(&f.frames, f.count)
        );
    }
    p.push_str("</table>\n");
    if story.findings_unlisted > 0 {
        let _ = writeln!(
            p,
            "<p class=\"dim\">And {} more, not listed.</p>",
            story.findings_unlisted
        );
    }
}

fn names(p: &mut String, story: &Story) {
    if story.names.is_empty() {
        return;
    }
    p.push_str("<h2>Names looked up (DNS, in the clear)</h2>\n<p>Before most connections the client asks for the server's address by name, in the clear: even when the connection itself is encrypted, these say where it went.</p><table><tr><th>name</th><th>types</th><th>times</th><th>first frame</th></tr>");
    for n in &story.names {
        let _ = write!(
            p,
            "<tr><td class=\"w\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&n.name),
            esc(&n.qtypes.join(", ")),
            n.count,
            n.first_frame
        );
    }
    p.push_str("</table>\n");
    if story.names_unlisted > 0 {
        let _ = writeln!(
            p,
            "<p class=\"dim\">And {} more lookups of other names.</p>",
            story.names_unlisted
        );
    }
}

fn anomalies(p: &mut String, story: &Story) {
    let total: u64 = story.anomalies_by_kind.values().sum();
    if total == 0 {
        return;
    }
    p.push_str("<h2>Anomalies</h2>\n<p>What did not add up: damaged or missing packets, conflicting retransmissions, memory limits. The analysis went on past each.</p><p>");
    let by_kind: Vec<String> = story
        .anomalies_by_kind
        .iter()
        .map(|(k, n)| format!("{} <code>{}</code>", n, esc(k)))
        .collect();
    p.push_str(&by_kind.join(", "));
    p.push_str("</p><table><tr><th>kind</th><th>flow</th><th>frame</th><th>detail</th></tr>");
    for a in &story.anomalies {
        let _ = write!(
            p,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"w\">{}</td></tr>",
            esc(a.kind.as_str()),
            a.flow.map(|f| f.to_string()).unwrap_or_else(|| "—".into()),
            a.frame.map(|f| f.to_string()).unwrap_or_else(|| "—".into()),
            esc(&story.masked(&a.detail))
        );
    }
    p.push_str("</table>\n");
    if total > story.anomalies.len() as u64 {
        let _ = writeln!(
            p,
            "<p class=\"dim\">{} listed of {total}.</p>",
            story.anomalies.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\x1b[31mb\0"), "a\u{fffd}[31mb\u{fffd}");
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(
            when(Timestamp(1_700_000_000_123_456)),
            "2023-11-14 22:13:20 UTC"
        );
        assert_eq!(seconds(0.5), "0.50 s");
        assert_eq!(seconds(185.0), "3 min 5 s");
    }
}
