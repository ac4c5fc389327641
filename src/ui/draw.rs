//! Drawing the eavesdropper's view. No I/O: every screen can be rendered to a test backend.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Gauge, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, FlowView, Pane};
use super::keys::BINDINGS;
use super::wire;
use crate::event::{Credential, Finding, Protocol, Severity, Summary};
use crate::report::human_bytes;

/// Colours for a dark or a light background; plain when colour is off (`NO_COLOR`).
struct Theme {
    color: bool,
    light: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn text(&self) -> Style {
        if self.color && self.light {
            Style::default().fg(Color::Black)
        } else {
            Style::default()
        }
    }
    fn dim(&self) -> Style {
        if self.color {
            self.fg(if self.light {
                Color::DarkGray
            } else {
                Color::Gray
            })
        } else {
            Style::default()
        }
    }
    /// A leaked secret: it must jump out from the back row.
    fn leak(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED);
        if self.color {
            s.fg(Color::Red)
        } else {
            s
        }
    }
    fn danger(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn safe(&self) -> Style {
        self.fg(if self.light {
            Color::Rgb(0, 110, 0)
        } else {
            Color::Green
        })
        .add_modifier(Modifier::BOLD)
    }
    fn accent(&self) -> Style {
        self.fg(if self.light { Color::Blue } else { Color::Cyan })
    }
    fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    fn border(&self, focused: bool) -> Style {
        if focused {
            self.accent().add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }
}

fn protocol_badge(p: Option<Protocol>, theme: &Theme) -> Span<'static> {
    match p {
        Some(Protocol::Tls) => Span::styled("TLS ", theme.safe()),
        Some(Protocol::Quic) => Span::styled("QUIC", theme.safe()),
        Some(Protocol::Unknown) | None => Span::styled("··· ", theme.dim()),
        Some(other) => Span::styled(
            format!("{:<4}", other.as_str().to_uppercase()),
            theme.danger(),
        ),
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let theme = Theme {
        color: app.color,
        light: app.light,
    };
    let area = frame.area();
    let lesson_height = if app.lesson.is_some() { 5 } else { 0 };
    let banner_height = u16::from(app.banner.is_some());
    let [lesson, banner, main, creds, status] = Layout::vertical([
        Constraint::Length(lesson_height),
        Constraint::Length(banner_height),
        Constraint::Min(6),
        Constraint::Length(7.min(area.height.saturating_sub(8)).max(3)),
        Constraint::Length(1),
    ])
    .areas(area);
    if app.lesson.is_some() {
        draw_lesson(frame, app, &theme, lesson);
    }
    if let Some(text) = &app.banner {
        frame.render_widget(
            Paragraph::new(Line::styled(
                text.clone(),
                theme.accent().add_modifier(Modifier::BOLD),
            )),
            banner,
        );
    }
    if app.wire.is_some() {
        draw_wire(frame, app, &theme, main);
    } else if app.certificate.is_some() {
        draw_certificate(frame, app, &theme, main);
    } else {
        let [flows, detail] =
            Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)])
                .areas(main);
        draw_flows(frame, app, &theme, flows);
        draw_detail(frame, app, &theme, detail);
    }
    if app.findings.is_empty() {
        draw_credentials(frame, app, &theme, creds);
    } else {
        // The site's mistakes beside what leaked.
        let [leaks, mistakes] =
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                .areas(creds);
        draw_credentials(frame, app, &theme, leaks);
        draw_findings(frame, app, &theme, mistakes);
    }
    draw_status(frame, app, &theme, status);
    if app.show_help {
        draw_help(frame, &theme, area);
    }
}

fn draw_flows(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    // Only the rows that fit are built: the list may hold tens of thousands of flows.
    let total = app.visible_len();
    let rows = (area.height.saturating_sub(2) as usize).max(1);
    let selected = app.selected.min(total.saturating_sub(1));
    let offset = (selected + 1).saturating_sub(rows);
    let items: Vec<ListItem<'_>> = app
        .visible_iter()
        .skip(offset)
        .take(rows)
        .map(|f| {
            let server = f.server_name();
            let summary = flow_summary(f);
            let bytes = f.bytes_c2s + f.bytes_s2c;
            let size = if bytes > 0 {
                format!("  {}", human_bytes(bytes))
            } else {
                String::new()
            };
            let leaks = if f.credentials.is_empty() {
                String::new()
            } else {
                format!("!{} ", f.credentials.len())
            };
            let client = format!("{} → ", f.client);
            // What matters most stays: the server, what was done, the leak. The time and the
            // client go first when the pane is narrow.
            let core = 5
                + 5
                + leaks.chars().count()
                + server.chars().count()
                + 2
                + summary.chars().count()
                + size.len();
            let width = usize::from(area.width.saturating_sub(2));
            let with_time = core + 9 <= width;
            let with_client = core + 9 + client.chars().count() <= width;
            let mut spans = vec![Span::styled(format!("{:>4} ", f.id), theme.dim())];
            if with_time {
                spans.push(Span::styled(format!("{} ", clock(f.first_ts)), theme.dim()));
            }
            spans.push(protocol_badge(f.protocol_guess(), theme));
            spans.push(Span::raw(" "));
            if !leaks.is_empty() {
                spans.push(Span::styled(leaks, theme.leak()));
            }
            if with_client {
                spans.push(Span::styled(client, theme.dim()));
            }
            spans.push(Span::styled(server, theme.text()));
            if !summary.is_empty() {
                spans.push(Span::styled(format!("  {summary}"), theme.accent()));
            }
            if !size.is_empty() {
                spans.push(Span::styled(size, theme.dim()));
            }
            if f.open {
                spans.push(Span::styled(" …", theme.dim()));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let title = if app.editing_filter || !app.filter.is_empty() {
        format!(
            " Flows ({total}) /{}{} ",
            app.filter,
            if app.editing_filter { "▏" } else { "" }
        )
    } else if app.older_flows > 0 {
        format!(" Flows ({total} shown, {} older) ", app.older_flows)
    } else {
        format!(" Flows ({total}) ")
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(app.focus == Pane::Flows))
        .title(title);
    let mut state = ListState::default();
    if total > 0 {
        state.select(Some(selected - offset));
    }
    let list = List::new(items)
        .block(block)
        .highlight_style(theme.selected());
    frame.render_stateful_widget(list, area, &mut state);
}

/// Words of `text` in lines of at most `width` characters (a word longer than that alone).
pub(super) fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// A capture time as the flow list shows it: the time of day, UTC.
fn clock(ts: crate::event::Timestamp) -> String {
    let secs = ts.secs() % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// One line saying what the flow did: `POST /login`, `TLS1.3 decrypted`, `USER, PASS`.
fn flow_summary(f: &FlowView) -> String {
    if let Some(r) = f.requests.first() {
        let more = if f.requests.len() > 1 {
            format!(" (+{})", f.requests.len() - 1)
        } else {
            String::new()
        };
        return format!("{} {}{more}", r.method, r.target);
    }
    if let Some(t) = &f.tls {
        let version = t.version.clone().unwrap_or_else(|| "TLS".into());
        let opened = t.decryption.as_ref().is_some_and(|d| d.0 == "ok");
        return if opened {
            format!("{version} decrypted")
        } else {
            version
        };
    }
    f.credentials
        .first()
        .map(|c| format!("login {}", c.username.as_deref().unwrap_or("?")))
        .unwrap_or_default()
}

/// Splits `text` so every occurrence of a secret is its own highlighted span.
fn highlight<'a>(text: &str, secrets: &[String], base: Style, leak: Style) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    let mut rest = text;
    loop {
        let hit = secrets
            .iter()
            .filter(|s| s.len() >= 3)
            .filter_map(|s| rest.find(s.as_str()).map(|i| (i, s.len())))
            .min();
        match hit {
            Some((i, len)) => {
                if i > 0 {
                    spans.push(Span::styled(rest[..i].to_string(), base));
                }
                spans.push(Span::styled(rest[i..i + len].to_string(), leak));
                rest = &rest[i + len..];
            }
            None => {
                if !rest.is_empty() {
                    spans.push(Span::styled(rest.to_string(), base));
                }
                return spans;
            }
        }
    }
}

fn credential_line<'a>(app: &App, theme: &Theme, c: &Credential) -> Line<'a> {
    let mut spans = vec![Span::styled(
        format!("{:<12}", c.kind.as_str()),
        theme.danger(),
    )];
    if let Some(u) = &c.username {
        spans.push(Span::styled(format!(" user {u}"), theme.text()));
    }
    spans.push(Span::raw(" secret "));
    spans.push(Span::styled(app.show_secret(&c.secret), theme.leak()));
    spans.push(Span::styled(format!("  ({})", c.location), theme.dim()));
    if c.decrypted {
        spans.push(Span::styled(" decrypted with the key log", theme.accent()));
    }
    Line::from(spans)
}

fn draw_detail(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let finding = app.selected_finding().filter(|_| app.explain);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(app.focus == Pane::Detail))
        .title(if finding.is_some() {
            " What an attacker does with it "
        } else {
            " What an eavesdropper sees "
        });
    let Some(flow) = app.selected_flow() else {
        let text = if app.finished {
            "No TCP flows in this capture."
        } else {
            "Waiting for traffic…"
        };
        frame.render_widget(Paragraph::new(text).block(block).style(theme.dim()), area);
        return;
    };
    let lines = if let Some(f) = finding {
        finding_explanation(theme, f, area.width.saturating_sub(2))
    } else if app.explain {
        explanation(app, theme, flow)
    } else {
        detail_lines(app, theme, flow, area.width.saturating_sub(2))
    };
    let text = Text::from(lines);
    if let (true, Some(tls)) = (
        flow.tls
            .as_ref()
            .is_some_and(|t| t.decryption.as_ref().is_some_and(|d| d.0 == "ok"))
            && !app.explain
            && area.width >= 70,
        flow.tls.as_ref(),
    ) {
        // With the key: the opaque view on the left, the decrypted one on the right.
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(inner);
        let mut opaque = tls_lines(theme, flow, tls, left.width);
        opaque.insert(0, Line::styled("On the wire (opaque)", theme.safe()));
        frame.render_widget(Paragraph::new(opaque).wrap(Wrap { trim: false }), left);
        let mut plain = vec![Line::styled("Decrypted with the key log", theme.danger())];
        plain.extend(http_lines(app, theme, flow));
        frame.render_widget(
            Paragraph::new(plain)
                .wrap(Wrap { trim: false })
                .scroll((app.detail_scroll, 0)),
            right,
        );
        return;
    }
    frame.render_widget(
        Paragraph::new(text)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0)),
        area,
    );
}

fn detail_lines<'a>(app: &App, theme: &Theme, flow: &FlowView, width: u16) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(vec![
        protocol_badge(flow.protocol_guess(), theme),
        Span::styled(format!(" {} → {}", flow.client, flow.server), theme.text()),
    ])];
    let state = match &flow.reason {
        Some(r) => format!("closed ({r})"),
        None => "open".to_string(),
    };
    lines.push(Line::styled(
        format!(
            "{} packets, {} sent, {} received, {state}",
            flow.packets,
            human_bytes(flow.bytes_c2s),
            human_bytes(flow.bytes_s2c)
        ),
        theme.dim(),
    ));
    if !flow.credentials.is_empty() {
        lines.push(Line::raw(""));
        let how = if flow.credentials.iter().all(|c| c.decrypted) {
            "read with the key log"
        } else {
            "in the clear"
        };
        lines.push(Line::styled(
            format!(
                "LEAKED: {} credential(s) {how} — Enter explains",
                flow.credentials.len()
            ),
            theme.danger(),
        ));
        for c in &flow.credentials {
            lines.push(credential_line(app, theme, c));
        }
    }
    if !flow.findings.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "What the site got wrong (the findings pane explains):".to_string(),
            theme.danger(),
        ));
        for f in &flow.findings {
            lines.push(Line::from(vec![
                severity_badge(theme, f.severity),
                Span::styled(format!(" {}: ", f.kind.as_str()), theme.text()),
                Span::styled(f.detail.clone(), theme.dim()),
            ]));
        }
    }
    if let Some(tls) = &flow.tls {
        lines.push(Line::raw(""));
        lines.extend(tls_lines(theme, flow, tls, width));
    }
    if flow.tls.is_none() || !flow.requests.is_empty() {
        lines.push(Line::raw(""));
        lines.extend(http_lines(app, theme, flow));
    }
    lines
}

/// What a TLS flow still shows, fitted to `width`: a field whose value does not fit beside its
/// name goes under it, indented, rather than wrapping anyhow.
fn tls_lines<'a>(
    theme: &Theme,
    flow: &FlowView,
    tls: &super::app::TlsView,
    width: u16,
) -> Vec<Line<'a>> {
    let mut lines = vec![Line::styled(
        "Encrypted. What still leaks:".to_string(),
        theme.safe(),
    )];
    let mut rows: Vec<Line<'a>> = Vec::new();
    let mut field = |name: &str, value: String| {
        if 14 + value.chars().count() <= usize::from(width) {
            rows.push(Line::from(vec![
                Span::styled(format!("  {name:<12}"), theme.dim()),
                Span::styled(value, theme.text()),
            ]));
        } else {
            rows.push(Line::styled(format!("  {name}"), theme.dim()));
            for part in wrap_words(&value, usize::from(width).saturating_sub(4).max(8)) {
                rows.push(Line::styled(format!("    {part}"), theme.text()));
            }
        }
    };
    field(
        "server name",
        tls.sni.clone().unwrap_or_else(|| "(none sent)".into()),
    );
    if let (Some(v), Some(c)) = (&tls.version, &tls.cipher) {
        field("version", format!("{v} {c}"));
    }
    if let Some(alpn) = &tls.alpn {
        field("protocol", alpn.clone());
    } else if !tls.alpn_offered.is_empty() {
        field("offered", tls.alpn_offered.join(", "));
    }
    if let Some((cn, san, issuer, until)) = &tls.certificate {
        field(
            "certificate",
            cn.clone().unwrap_or_else(|| "(no CN)".into()),
        );
        if !san.is_empty() {
            field("  names", san.join(", "));
        }
        field("  issuer", format!("{issuer}, until {until}"));
        if let Some(trust) = &tls.trust {
            let verdict = match trust.result {
                crate::event::TrustResult::Trusted => "trusted".to_string(),
                other => format!("NOT trusted: {}", other.as_str().replace('_', " ")),
            };
            field("  trust", format!("{verdict} (c: the chain)"));
        }
    }
    if let Some(ja4) = &tls.ja4 {
        field("JA4", ja4.clone());
    }
    // QUIC has no TLS records: its packets are what an eavesdropper counts.
    let (units, count) = if flow.udp {
        ("QUIC packets", flow.packets)
    } else {
        ("records", tls.records)
    };
    field(
        "sizes",
        format!(
            "{} sent, {} received in {count} {units}",
            human_bytes(flow.bytes_c2s),
            human_bytes(flow.bytes_s2c),
        ),
    );
    lines.extend(rows);
    // The band: how much of the flow is opaque, as the eavesdropper sees it.
    let blocks = (count.min(40)) as usize;
    if blocks > 0 {
        lines.push(Line::styled(
            format!("  {}", "▒".repeat(blocks)),
            theme.dim(),
        ));
    }
    if let Some((result, detail)) = &tls.decryption {
        let style = if result == "ok" {
            theme.danger()
        } else {
            theme.dim()
        };
        lines.push(Line::styled(
            format!("  key log: {result} — {detail}"),
            style,
        ));
    }
    lines
}

fn http_lines<'a>(app: &App, theme: &Theme, flow: &FlowView) -> Vec<Line<'a>> {
    let secrets: Vec<String> = flow
        .credentials
        .iter()
        .flat_map(|c| {
            let mut s = vec![c.secret.clone()];
            // Basic sends user:password base64-encoded: highlight the header value too.
            if let Some(u) = &c.username {
                use base64::Engine as _;
                s.push(
                    base64::engine::general_purpose::STANDARD.encode(format!("{u}:{}", c.secret)),
                );
            }
            s
        })
        .collect();
    let mut lines = Vec::new();
    if flow.requests.is_empty() {
        return lines;
    }
    for r in &flow.requests {
        let line = format!("{} {} {}", r.method, r.target, r.version);
        let shown = if app.redact {
            mask_all(&line, &secrets)
        } else {
            line
        };
        lines.push(Line::from(highlight(
            &shown,
            &visible_secrets(app, &secrets),
            theme.accent(),
            theme.leak(),
        )));
        for (name, value) in &r.headers {
            let text = format!("  {name}: {value}");
            let shown = if app.redact {
                mask_all(&text, &secrets)
            } else {
                text
            };
            lines.push(Line::from(highlight(
                &shown,
                &visible_secrets(app, &secrets),
                theme.text(),
                theme.leak(),
            )));
        }
        if let Some((status, reason)) = &r.status {
            lines.push(Line::styled(format!("  → {status} {reason}"), theme.dim()));
        }
    }
    lines
}

fn visible_secrets(app: &App, secrets: &[String]) -> Vec<String> {
    secrets.iter().map(|s| app.show_secret(s)).collect()
}

fn mask_all(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s.as_str(), &crate::creds::redact(s));
    }
    out
}

fn explanation<'a>(app: &App, theme: &Theme, flow: &FlowView) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    if let Some(c) = flow.credentials.first() {
        lines.push(Line::styled(
            format!("Why this {} credential leaked", c.kind),
            theme.danger(),
        ));
        lines.push(credential_line(app, theme, c));
        lines.push(Line::raw(""));
        let why = crate::explain::why_leaked(flow.protocol_guess());
        lines.push(Line::styled(why.to_string(), theme.text()));
        lines.push(Line::raw(""));
        let fix = crate::explain::what_stops(c.kind);
        lines.push(Line::styled(
            format!("What would stop it: {fix}"),
            theme.safe(),
        ));
    } else if let Some(tls) = &flow.tls {
        lines.push(Line::styled(
            "What HTTPS hides, and what it does not".to_string(),
            theme.safe(),
        ));
        lines.push(Line::styled(crate::explain::TLS_HIDES, theme.text()));
        lines.push(Line::styled(
            crate::explain::tls_still_shows(tls.sni.as_deref()),
            theme.text(),
        ));
        if flow.udp {
            lines.push(Line::styled(crate::explain::QUIC_INITIAL, theme.text()));
        }
        lines.push(Line::styled(crate::explain::KEYS_OPEN, theme.dim()));
    } else {
        lines.push(Line::styled(
            "Nothing secret was seen in this flow.".to_string(),
            theme.dim(),
        ));
    }
    lines
}

fn draw_credentials(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    // The demo's HTTPS act shows what an eavesdropper without the keys has: until the lesson
    // opens HTTPS with its keys, not the passwords the keys would give.
    let keys_hidden = app.wire.is_some_and(|w| w.hide_keys)
        || app.lesson.as_ref().is_some_and(|l| !l.keys_shown());
    let shown: Vec<&Credential> = app
        .credentials
        .iter()
        .filter(|c| !(keys_hidden && c.decrypted))
        .collect();
    let rows = (area.height.saturating_sub(2) as usize).max(1);
    let with_addresses = area.width >= 100;
    let total = shown.len();
    // The window shown: around the selection when focused, else the newest ones.
    let (offset, selected) = if app.focus == Pane::Credentials && total > 0 {
        let sel = app.cred_selected.min(total - 1);
        ((sel + 1).saturating_sub(rows), Some(sel))
    } else {
        (total.saturating_sub(rows), None)
    };
    let items: Vec<ListItem<'_>> = shown
        .iter()
        .skip(offset)
        .take(rows)
        .map(|c| {
            let mut line = credential_line(app, theme, c);
            // The secret comes first when room is short (beside the findings): the addresses
            // are the selected flow's anyway.
            if with_addresses {
                line.spans.insert(
                    0,
                    Span::styled(format!("{} → {}  ", c.client, c.server), theme.dim()),
                );
            }
            ListItem::new(line)
        })
        .collect();
    let hidden = app.credentials.len() - total;
    let title = if hidden > 0 {
        format!(
            " Leaked credentials ({}, {hidden} only with the keys) ",
            (app.credentials_total as usize).saturating_sub(hidden)
        )
    } else {
        format!(" Leaked credentials ({}) ", app.credentials_total)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if app.credentials_total > 0 {
            theme.danger()
        } else {
            theme.border(app.focus == Pane::Credentials)
        })
        .title(title);
    draw_list(
        frame,
        theme,
        area,
        block,
        items,
        selected.map(|s| s - offset),
    );
}

/// A list pane: `items` in `block`, the `selected` one (of those shown) highlighted.
fn draw_list(
    frame: &mut Frame<'_>,
    theme: &Theme,
    area: Rect,
    block: Block<'_>,
    items: Vec<ListItem<'_>>,
    selected: Option<usize>,
) {
    let mut state = ListState::default();
    state.select(selected);
    frame.render_stateful_widget(
        List::new(items)
            .block(block)
            .highlight_style(theme.selected()),
        area,
        &mut state,
    );
}

/// A finding's severity, as a short coloured tag.
fn severity_badge(theme: &Theme, severity: Severity) -> Span<'static> {
    match severity {
        Severity::High => Span::styled("HIGH", theme.danger()),
        Severity::Medium => Span::styled("MED ", theme.fg(Color::Yellow)),
        Severity::Low => Span::styled("LOW ", theme.dim()),
    }
}

/// The findings pane: what the sites got wrong, most severe first.
fn draw_findings(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let rows = (area.height.saturating_sub(2) as usize).max(1);
    let total = app.findings.len();
    let focused = app.focus == Pane::Findings;
    let (offset, selected) = if focused && total > 0 {
        let sel = app.finding_selected.min(total - 1);
        ((sel + 1).saturating_sub(rows), Some(sel))
    } else {
        (0, None)
    };
    let items: Vec<ListItem<'_>> = app
        .findings
        .iter()
        .skip(offset)
        .take(rows)
        .map(|f| {
            ListItem::new(Line::from(vec![
                severity_badge(theme, f.severity),
                Span::styled(format!(" {}", f.kind.as_str()), theme.text()),
                Span::styled(
                    f.host
                        .as_ref()
                        .map(|h| format!("  {h}"))
                        .unwrap_or_default(),
                    theme.dim(),
                ),
            ]))
        })
        .collect();
    let title = if focused {
        format!(" Findings ({}) — Enter explains ", app.findings_total)
    } else {
        format!(" Findings ({}) ", app.findings_total)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(title);
    draw_list(
        frame,
        theme,
        area,
        block,
        items,
        selected.map(|s| s - offset),
    );
}

/// A finding explained: what was seen, what an attacker does with it, and the fix.
fn finding_explanation<'a>(theme: &Theme, f: &Finding, width: u16) -> Vec<Line<'a>> {
    let width = usize::from(width).max(20);
    let mut lines = vec![Line::from(vec![
        severity_badge(theme, f.severity),
        Span::styled(format!(" {}", f.kind.as_str()), theme.danger()),
    ])];
    let mut para = |label: &str, text: &str, style: Style| {
        lines.push(Line::raw(""));
        lines.push(Line::styled(label.to_string(), theme.accent()));
        for part in wrap_words(text, width) {
            lines.push(Line::styled(part, style));
        }
    };
    let seen = match &f.host {
        Some(h) => format!("{} ({h})", f.detail),
        None => f.detail.clone(),
    };
    para("What the capture shows", &seen, theme.text());
    para(
        "What an attacker does with it",
        crate::proto::findings::rule(f.kind).attack,
        theme.text(),
    );
    para("The fix", &f.advice, theme.safe());
    lines
}

fn draw_status(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let total = app.plaintext_bytes + app.encrypted_bytes;
    let ratio = if total == 0 {
        0.0
    } else {
        app.plaintext_bytes as f64 / total as f64
    };
    let packets = app.summary.as_ref().map_or(0, |s| s.packets);
    let state = if app.paused {
        "paused (space steps)".to_string()
    } else if app.finished {
        "done".to_string()
    } else {
        match app.speed {
            Some(s) => format!("▶ {s}x"),
            None => "▶ live".to_string(),
        }
    };
    let mut left = format!(
        " {} │ {state} │ {} flows │ {} events",
        app.source,
        app.flows.len() as u64 + app.older_flows,
        app.events_seen
    );
    if packets > 0 {
        left.push_str(&format!(" │ {packets} packets"));
    }
    if let Some(s) = app.summary.as_ref().filter(|s| s.wifi_protected_frames > 0) {
        left.push_str(&format!(
            " │ {} Wi-Fi frames WEP/WPA: {}",
            s.wifi_protected_frames,
            Summary::WIFI_LESSON
        ));
    }
    if let Some(d) = app.dropped_packets {
        left.push_str(&format!(" │ {d} dropped"));
    }
    if app.redact {
        left.push_str(" │ redacted");
    }
    left.push_str(" │ ? help ");
    let gauge_width = 28.min(area.width / 3);
    let [text_area, gauge_area] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(gauge_width)]).areas(area);
    frame.render_widget(Paragraph::new(left).style(theme.dim()), text_area);
    let label = format!(
        "plain {} / TLS {}",
        human_bytes(app.plaintext_bytes),
        human_bytes(app.encrypted_bytes)
    );
    frame.render_widget(
        Gauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label)
            .gauge_style(if app.color {
                Style::default().fg(Color::Red).bg(Color::Green)
            } else {
                Style::default()
            }),
        gauge_area,
    );
}

/// The demo's current act: its title, its narration, and how to move on.
fn draw_lesson(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let Some(lesson) = &app.lesson else {
        return;
    };
    let Some(act) = lesson.act() else {
        return;
    };
    let staged = app
        .wire
        .is_some_and(|w| app.selected_flow().is_some_and(|f| f.id == w.flow));
    let mut hint = format!(
        "act {} of {} · space/→ next · ← previous · a {}",
        lesson.current + 1,
        lesson.acts.len(),
        if lesson.autoplay {
            "stops playing"
        } else {
            "plays them through"
        }
    );
    if !staged && !act.pick_seen(app) {
        hint.push_str(" · waiting for this act's traffic…");
    }
    let text = vec![
        Line::styled(
            act.title.to_string(),
            theme.accent().add_modifier(Modifier::BOLD),
        ),
        Line::styled(act.narration.to_string(), theme.text()),
    ];
    let [body, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
    frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), foot);
}

/// The wire view in place of the flow list and detail: one column, or the wire and the
/// decrypted bytes side by side for TLS.
fn draw_wire(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let (Some(state), Some(view)) = (app.wire, app.wire_view()) else {
        return;
    };
    let mode = if state.hex { "hex" } else { "text" };
    let title = format!("{}[{mode} · x hex/text · n N secrets · Esc] ", view.title);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Only the lines on screen are painted: a large flow has tens of thousands.
    let from = state.scroll;
    let rows = usize::from(inner.height);
    let paint = |lines: &[wire::WireLine]| -> Vec<Line<'static>> {
        lines
            .iter()
            .skip(from)
            .take(rows)
            .map(|l| {
                Line::from(
                    l.iter()
                        .map(|seg| Span::styled(seg.text.clone(), wire_style(theme, seg.look)))
                        .collect::<Vec<_>>(),
                )
            })
            .collect()
    };
    match &view.right {
        Some(right) => {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(inner);
            // No wrapping: rows stay aligned record by record.
            frame.render_widget(Paragraph::new(paint(&view.left)), l);
            frame.render_widget(Paragraph::new(paint(right)), r);
        }
        None => frame.render_widget(
            Paragraph::new(paint(&view.left)).wrap(Wrap { trim: false }),
            inner,
        ),
    }
}

/// The certificate pane in place of the flow list and detail.
fn draw_certificate(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let width = area.width.saturating_sub(2);
    let (Some((_, scroll)), Some(view)) = (app.certificate, app.certificate_view(width)) else {
        return;
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(format!("{}[↑ ↓ scroll · Esc] ", view.title));
    let lines: Vec<Line<'static>> = view
        .lines
        .iter()
        .map(|l| {
            Line::from(
                l.iter()
                    .map(|seg| Span::styled(seg.text.clone(), wire_style(theme, seg.look)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

fn wire_style(theme: &Theme, look: wire::Look) -> Style {
    match look {
        wire::Look::Client => theme.accent(),
        wire::Look::Server => theme.fg(if theme.light {
            Color::Magenta
        } else {
            Color::Yellow
        }),
        wire::Look::Secret => theme.leak(),
        wire::Look::Faint => theme.dim(),
        wire::Look::Note => theme.danger(),
        wire::Look::Opaque => theme.safe(),
    }
}

fn draw_help(frame: &mut Frame<'_>, theme: &Theme, area: Rect) {
    let title = Line::styled(
        "plainsight — keys",
        theme.accent().add_modifier(Modifier::BOLD),
    );
    let rows: Vec<Line<'_>> = BINDINGS
        .iter()
        .filter(|b| !b.help.is_empty())
        .map(|b| Line::raw(format!("{:<11}{}", b.label, b.help)))
        .collect();
    // One column when it fits the screen's height, else two side by side.
    let columns = if rows.len() + 4 <= usize::from(area.height) {
        1
    } else {
        2
    };
    let per_column = rows.len().div_ceil(columns);
    let w = (58 * columns as u16 + 2).min(area.width);
    let h = (per_column as u16 + 4).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent());
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [head, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(title), head);
    let parts = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(body);
    for (part, chunk) in parts.iter().zip(rows.chunks(per_column.max(1))) {
        frame.render_widget(Paragraph::new(chunk.to_vec()), *part);
    }
}
