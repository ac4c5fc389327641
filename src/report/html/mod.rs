//! The handout: `report --html`, one self-contained page that tells the story of a capture: what
//! leaked (the bytes around each secret, highlighted where they lie), what HTTPS hid and what it
//! still showed, the sites' mistakes, the names looked up, the damage.
//!
//! The page is written when the run ends (its headline needs the totals). What it keeps while the
//! run goes on is bounded whatever the capture's size: open flows hold their bytes (at most a
//! quarter of the memory cap together, 64 MiB at the default) until they close; a closed flow leaves only what the page shows of it,
//! already rendered, and repeated flows are summarised (the same credential seen again, the same
//! server contacted again) under fixed caps.
//!
//! Split in three: this file keeps what the events say, [`page`] writes the page, [`timeline`]
//! draws the flows as lanes.

mod page;
mod timeline;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use crate::creds::CredentialKind;
use crate::event::{
    Anomaly, ChainCertificate, Credential, DnsQuery, Event, Finding, FindingKind, FlowClose,
    FlowId, Protocol, Summary, Timestamp, TlsRecord, Trust,
};
use crate::ui::app::FlowView;
use crate::ui::wire::{self, Look, WireLine, WireOptions, WireView};

/// The bytes the engine hands the handout per flow and direction (as `--payload-bytes`): enough
/// for the requests a login makes.
pub const HANDOUT_PAYLOAD_BYTES: usize = 64 << 10;
/// Distinct credentials shown with the bytes around them; the rest are rows of a table.
const LEAKS_DETAILED: usize = 40;
/// Distinct credentials listed at all; the rest are counted by kind.
const LEAKS_LISTED: usize = 500;
/// Frame numbers kept per repeated credential, finding or name.
const FRAMES_KEPT: usize = 6;
/// Servers behind TLS described in full, with certificate and records.
const TLS_DETAILED: usize = 30;
/// Servers behind TLS listed at all.
const TLS_LISTED: usize = 300;
/// TLS records listed per server (sizes and times).
const RECORDS_SHOWN: usize = 12;
/// Distinct findings (kind and host) listed.
const FINDINGS_LISTED: usize = 200;
/// Distinct names looked up listed.
const DNS_LISTED: usize = 300;
/// Anomalies listed one by one; the rest are counted by kind.
const ANOMALIES_LISTED: usize = 20;
/// Rows of bytes shown around one flow's secrets, at most.
const EXCERPT_ROWS: usize = 40;
/// Secrets remembered for masking everything the page shows.
const SECRETS_KEPT: usize = 10_000;
/// Open flows followed at once, at most (a few hundred bytes each beside their bytes): a flood
/// of connections leaves the rest unfollowed, counted, and the memory bounded.
const OPEN_FOLLOWED: usize = 100_000;

/// What the page is about and how.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    /// The inputs, as given (the page's title).
    pub title: String,
    /// `--reveal`: secrets shown whole. Otherwise masked as `--redact` masks them.
    pub reveal: bool,
    /// The run's `--memcap`: the page's own holdings stay within a share of it.
    pub memcap: usize,
}

impl Default for HtmlOptions {
    fn default() -> HtmlOptions {
        HtmlOptions {
            title: String::new(),
            reveal: false,
            memcap: crate::engine::DEFAULT_MEMCAP,
        }
    }
}

impl HtmlOptions {
    /// Bytes all open flows hold together; past this the oldest give theirs back (their
    /// credentials are still listed, without the bytes around them).
    fn held_bytes(&self) -> usize {
        self.memcap / 4
    }

    /// Open flows followed at once: one per 4 KiB of the cap (a followed flow costs about
    /// 600 bytes before its bytes), from 256 to [`OPEN_FOLLOWED`].
    pub(crate) fn open_followed(&self) -> usize {
        (self.memcap >> 12).clamp(256, OPEN_FOLLOWED)
    }
}

/// How a flow is drawn on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LaneKind {
    /// Read in the clear.
    Plain,
    /// Encrypted, and stayed so.
    Tls,
    /// Encrypted, and opened with the keys given.
    Decrypted,
    /// Neither (an unknown protocol, a flow with no payload).
    Other,
}

/// One flow on the timeline.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub id: FlowId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub kind: LaneKind,
    /// The server as asked for: the TLS name, the HTTP host, else its address.
    pub label: String,
    /// When credentials went by, at most a few.
    pub leaks: Vec<Timestamp>,
}

/// Flows drawn on the timeline, at most; flows with credentials are kept first.
const SPANS_KEPT: usize = 3000;

/// A credential, and every time the same one was seen again.
#[derive(Debug, Clone)]
pub(crate) struct Leak {
    /// The first time it was seen (secret whole: the page masks it when written).
    pub first: Credential,
    /// Why it could be read (the flow's protocol as far as known).
    pub protocol: Option<Protocol>,
    pub count: u64,
    pub flows: u64,
    pub frames: Vec<u64>,
    /// The bytes around it, already written as HTML, once its flow has closed.
    pub excerpt: Option<String>,
    /// Its flow's bytes were given back before it closed.
    pub trimmed: bool,
}

/// A server reached over TLS (or QUIC), and what every connection to it showed.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsServer {
    /// The name sent in the clear (SNI), or the address when none was.
    pub name: String,
    pub sni_sent: bool,
    pub addresses: Vec<String>,
    pub flows: u64,
    pub quic: bool,
    pub starttls: bool,
    pub bytes: u64,
    pub records: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub alpn: Option<String>,
    pub ja4: Option<String>,
    pub chain: Vec<ChainCertificate>,
    pub trust: Option<Trust>,
    /// Decryption results and how many flows had each.
    pub decryption: BTreeMap<String, u64>,
    pub decryption_detail: Option<String>,
    /// The first connection's records: when (from its first packet), which way, what, how big.
    pub records_seen: Vec<TlsRecord>,
    pub records_from: Option<Timestamp>,
    /// The first decrypted connection side by side, already written as HTML.
    pub side_by_side: Option<String>,
    /// Requests read inside, with the keys: method and target, at most a few.
    pub requests: Vec<String>,
}

/// A finding, and how often the same kind was seen for the same host.
#[derive(Debug, Clone)]
pub(crate) struct FindingSeen {
    pub first: Finding,
    pub count: u64,
    pub frames: Vec<u64>,
}

/// A name looked up.
#[derive(Debug, Clone)]
pub(crate) struct NameSeen {
    pub name: String,
    pub qtypes: Vec<String>,
    pub count: u64,
    pub first_frame: u64,
}

/// Everything the page will say, gathered from the event stream.
#[derive(Debug, Default)]
pub(crate) struct Story {
    pub options: HtmlOptions,
    open: BTreeMap<FlowId, FlowView>,
    held: usize,
    pub spans: Vec<Span>,
    pub spans_dropped: u64,
    /// Flows opened while [`OPEN_FOLLOWED`] others were open: counted, not followed.
    pub flows_unfollowed: u64,
    pub leaks: Vec<Leak>,
    leak_index: HashMap<LeakKey, usize>,
    /// Credentials not listed (past [`LEAKS_LISTED`] distinct ones), by kind.
    pub leaks_unlisted: BTreeMap<String, u64>,
    pub leak_flows: u64,
    pub credentials: u64,
    pub tls: Vec<TlsServer>,
    tls_index: HashMap<String, usize>,
    pub tls_unlisted: u64,
    pub findings: Vec<FindingSeen>,
    finding_index: HashMap<(FindingKind, Option<String>), usize>,
    pub findings_unlisted: u64,
    pub names: Vec<NameSeen>,
    name_index: HashMap<String, usize>,
    pub names_unlisted: u64,
    pub anomalies: Vec<Anomaly>,
    pub anomalies_by_kind: BTreeMap<String, u64>,
    pub summary: Option<Summary>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Every secret seen, to mask wherever the page repeats network text.
    secrets: HashSet<String>,
}

/// The handout on a writer: events in, the page out at [`HtmlReport::finish`].
pub struct HtmlReport<W: Write> {
    out: W,
    story: Story,
}

impl<W: Write> HtmlReport<W> {
    pub fn new(out: W, options: HtmlOptions) -> HtmlReport<W> {
        HtmlReport {
            out,
            story: Story {
                options,
                ..Story::default()
            },
        }
    }

    pub fn write(&mut self, event: Event) {
        self.story.apply(event);
    }

    /// Writes the page. A broken pipe (the reader went away) is not an error.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.story.close_all();
        let page = page::render(&self.story);
        match self
            .out
            .write_all(page.as_bytes())
            .and_then(|()| self.out.flush())
        {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// The whole page for an event stream (tests, and programs using the library).
pub fn render(events: impl IntoIterator<Item = Event>, options: HtmlOptions) -> String {
    let mut story = Story {
        options,
        ..Story::default()
    };
    for e in events {
        story.apply(e);
    }
    story.close_all();
    page::render(&story)
}

impl Story {
    fn apply(&mut self, event: Event) {
        if let Some(ts) = event_ts(&event) {
            self.first_ts = Some(self.first_ts.map_or(ts, |t| t.min(ts)));
            self.last_ts = Some(self.last_ts.map_or(ts, |t| t.max(ts)));
        }
        match &event {
            Event::FlowOpen(e) => {
                if self.open.len() < self.options.open_followed() {
                    self.open.insert(e.flow, FlowView::opened(e));
                } else {
                    self.flows_unfollowed += 1;
                }
                return;
            }
            Event::Credential(c) => self.credential(c),
            Event::Finding(f) => self.finding(f),
            Event::DnsQuery(q) => self.name(q),
            Event::Anomaly(a) => {
                *self
                    .anomalies_by_kind
                    .entry(a.kind.as_str().to_string())
                    .or_default() += 1;
                if self.anomalies.len() < ANOMALIES_LISTED {
                    self.anomalies.push(a.clone());
                }
            }
            Event::Summary(s) => {
                self.summary = Some(s.clone());
                return;
            }
            _ => {}
        }
        let close = match &event {
            Event::FlowClose(e) => Some(e.clone()),
            _ => None,
        };
        let Some(id) = event.flow() else {
            return;
        };
        if let Some(flow) = self.open.get_mut(&id) {
            // A flow that gave its bytes back takes no more: its excerpt is gone anyway, and
            // taking them again would only churn memory.
            let bytes = matches!(event, Event::Payload(_) | Event::TlsRecord(_));
            if !(bytes && flow.wire_trimmed) {
                self.held += flow.apply(event);
            }
        }
        if let Some(close) = close {
            if let Some(flow) = self.open.remove(&id) {
                self.held = self.held.saturating_sub(flow.wire.size());
                self.closed(flow, &close);
            }
        } else if self.held > self.options.held_bytes() {
            self.give_back();
        }
    }

    /// Flows still open when the stream ended (a stream cut short): told as they are.
    fn close_all(&mut self) {
        for (_, flow) in std::mem::take(&mut self.open) {
            let close = FlowClose {
                flow: flow.id,
                ts: self.last_ts.unwrap_or(flow.first_ts),
                frame: 0,
                reason: crate::event::CloseReason::EndOfCapture,
                protocol: flow.protocol_guess().unwrap_or(Protocol::Unknown),
                bytes_c2s: flow.bytes_c2s,
                bytes_s2c: flow.bytes_s2c,
                packets: flow.packets,
                missing_bytes: 0,
                tls_records: 0,
                tls_bytes: 0,
                transport: if flow.udp {
                    crate::event::Transport::Udp
                } else {
                    crate::event::Transport::Tcp
                },
                starttls: false,
            };
            self.closed(flow, &close);
        }
        self.held = 0;
    }

    /// Keeps the bytes held bounded: the oldest open flows without credentials give theirs back
    /// first, then any.
    fn give_back(&mut self) {
        for with_credentials in [false, true] {
            for flow in self.open.values_mut() {
                if self.held <= self.options.held_bytes() * 9 / 10 {
                    return;
                }
                if flow.credentials.is_empty() == with_credentials || flow.wire.size() == 0 {
                    continue;
                }
                self.held = self.held.saturating_sub(flow.wire.size());
                flow.wire = Default::default();
                flow.wire_trimmed = true;
            }
        }
    }

    fn remember_secret(&mut self, secret: &str) {
        if secret.chars().count() >= 3 && self.secrets.len() < SECRETS_KEPT {
            self.secrets.insert(secret.to_string());
        }
    }

    /// Text from the network as the page shows it: every secret seen masked, unless revealed.
    pub fn masked(&self, text: &str) -> String {
        if self.options.reveal || self.secrets.is_empty() {
            return text.to_string();
        }
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), &crate::creds::redact(s));
            }
        }
        out
    }

    fn credential(&mut self, c: &Credential) {
        self.credentials += 1;
        self.remember_secret(&c.secret);
        let key = leak_key(c);
        if let Some(&i) = self.leak_index.get(&key) {
            if let Some(leak) = self.leaks.get_mut(i) {
                leak.count += 1;
                if leak.frames.len() < FRAMES_KEPT {
                    leak.frames.push(c.frame);
                }
            }
            return;
        }
        if self.leaks.len() >= LEAKS_LISTED {
            *self
                .leaks_unlisted
                .entry(c.kind.as_str().to_string())
                .or_default() += 1;
            return;
        }
        let flow = self.open.get(&c.flow);
        let protocol = if c.decrypted {
            Some(if flow.is_some_and(|f| f.udp) {
                Protocol::Quic
            } else {
                Protocol::Tls
            })
        } else {
            flow.and_then(FlowView::protocol_guess).or_else(|| {
                c.kind
                    .as_str()
                    .starts_with("http")
                    .then_some(Protocol::Http)
            })
        };
        self.leak_index.insert(key, self.leaks.len());
        self.leaks.push(Leak {
            first: c.clone(),
            protocol,
            count: 1,
            flows: 0,
            frames: vec![c.frame],
            excerpt: None,
            trimmed: false,
        });
    }

    fn finding(&mut self, f: &Finding) {
        let key = (f.kind, f.host.clone());
        if let Some(&i) = self.finding_index.get(&key) {
            if let Some(seen) = self.findings.get_mut(i) {
                seen.count += 1;
                if let Some(frame) = f.frame.filter(|_| seen.frames.len() < FRAMES_KEPT) {
                    seen.frames.push(frame);
                }
            }
            return;
        }
        if self.findings.len() >= FINDINGS_LISTED {
            self.findings_unlisted += 1;
            return;
        }
        self.finding_index.insert(key, self.findings.len());
        self.findings.push(FindingSeen {
            first: f.clone(),
            count: 1,
            frames: f.frame.into_iter().collect(),
        });
    }

    fn name(&mut self, q: &DnsQuery) {
        let key = q.name.to_ascii_lowercase();
        if let Some(&i) = self.name_index.get(&key) {
            if let Some(seen) = self.names.get_mut(i) {
                seen.count += 1;
                if !seen.qtypes.contains(&q.qtype) && seen.qtypes.len() < 8 {
                    seen.qtypes.push(q.qtype.clone());
                }
            }
            return;
        }
        if self.names.len() >= DNS_LISTED {
            self.names_unlisted += 1;
            return;
        }
        self.name_index.insert(key, self.names.len());
        self.names.push(NameSeen {
            name: q.name.clone(),
            qtypes: vec![q.qtype.clone()],
            count: 1,
            first_frame: q.frame,
        });
    }

    /// A flow ended: what the page shows of it is taken now, and its bytes let go.
    fn closed(&mut self, flow: FlowView, close: &FlowClose) {
        let decrypted = flow.wire.pieces.iter().any(|p| p.decrypted)
            || flow.credentials.iter().any(|c| c.decrypted)
            || flow
                .tls
                .as_ref()
                .and_then(|t| t.decryption.as_ref())
                .is_some_and(|(result, _)| result == "ok");
        let encrypted = matches!(close.protocol, Protocol::Tls | Protocol::Quic) || close.starttls;
        let kind = if encrypted && decrypted {
            LaneKind::Decrypted
        } else if encrypted {
            LaneKind::Tls
        } else if close.protocol.is_plaintext() {
            LaneKind::Plain
        } else {
            LaneKind::Other
        };
        self.span(&flow, close, kind);
        if !flow.credentials.is_empty() {
            self.leak_flows += 1;
            self.leak_bytes(&flow);
        }
        if flow.tls.is_some() {
            self.tls_server(&flow, close, decrypted);
        }
    }

    fn span(&mut self, flow: &FlowView, close: &FlowClose, kind: LaneKind) {
        let leaks: Vec<Timestamp> = flow.credentials.iter().take(4).map(|c| c.ts).collect();
        if self.spans.len() >= SPANS_KEPT {
            // Flows with credentials push out the last one kept without.
            let Some(at) = (!leaks.is_empty())
                .then(|| self.spans.iter().rposition(|s| s.leaks.is_empty()))
                .flatten()
            else {
                self.spans_dropped += 1;
                return;
            };
            self.spans.remove(at);
            self.spans_dropped += 1;
        }
        self.spans.push(Span {
            id: flow.id,
            start: flow.first_ts,
            end: close.ts.max(flow.first_ts),
            kind,
            label: flow.server_name(),
            leaks,
        });
    }

    /// The bytes around a flow's secrets, for the credentials that have none yet.
    fn leak_bytes(&mut self, flow: &FlowView) {
        let mut counted: HashSet<usize> = HashSet::new();
        let mut wanting: Vec<usize> = Vec::new();
        for c in &flow.credentials {
            let Some(&i) = self.leak_index.get(&leak_key(c)) else {
                continue;
            };
            if counted.insert(i) {
                if let Some(leak) = self.leaks.get_mut(i) {
                    leak.flows += 1;
                    if leak.excerpt.is_none() && i < LEAKS_DETAILED {
                        wanting.push(i);
                    }
                }
            }
        }
        if wanting.is_empty() {
            return;
        }
        let view = wire::view(flow, self.wire_options());
        let excerpt = (!flow.wire_trimmed)
            .then(|| page::excerpt(&view, &view.secret_lines, EXCERPT_ROWS))
            .filter(|e| !e.is_empty());
        for i in wanting {
            if let Some(leak) = self.leaks.get_mut(i) {
                leak.excerpt.clone_from(&excerpt);
                leak.trimmed = flow.wire_trimmed;
                if flow.protocol.is_some() && !leak.first.decrypted {
                    leak.protocol = flow.protocol;
                }
            }
        }
    }

    fn wire_options(&self) -> WireOptions {
        WireOptions {
            hex: false,
            redact: !self.options.reveal,
            hide_keys: false,
        }
    }

    fn tls_server(&mut self, flow: &FlowView, close: &FlowClose, decrypted: bool) {
        let Some(tls) = &flow.tls else {
            return;
        };
        let address = flow.server.clone();
        let name = tls.sni.clone().unwrap_or_else(|| host_of(&address));
        let key = name.to_ascii_lowercase();
        let i = match self.tls_index.get(&key) {
            Some(&i) => i,
            None => {
                if self.tls.len() >= TLS_LISTED {
                    self.tls_unlisted += 1;
                    return;
                }
                self.tls_index.insert(key, self.tls.len());
                self.tls.push(TlsServer {
                    name,
                    sni_sent: tls.sni.is_some(),
                    ..TlsServer::default()
                });
                self.tls.len() - 1
            }
        };
        let detailed = i < TLS_DETAILED;
        let options = self.wire_options();
        let Some(server) = self.tls.get_mut(i) else {
            return;
        };
        server.flows += 1;
        server.quic |= flow.udp;
        server.starttls |= close.starttls;
        if !server.addresses.contains(&address) && server.addresses.len() < 4 {
            server.addresses.push(address);
        }
        server.bytes += close.bytes_c2s + close.bytes_s2c;
        server.records += close.tls_records;
        server.first = Some(server.first.map_or(flow.first_ts, |t| t.min(flow.first_ts)));
        server.last = Some(server.last.map_or(close.ts, |t| t.max(close.ts)));
        for (field, value) in [
            (&mut server.version, &tls.version),
            (&mut server.cipher, &tls.cipher),
            (&mut server.alpn, &tls.alpn),
            (&mut server.ja4, &tls.ja4),
        ] {
            if field.is_none() {
                field.clone_from(value);
            }
        }
        if server.chain.is_empty() && !tls.chain.is_empty() {
            server.chain.clone_from(&tls.chain);
            server.trust.clone_from(&tls.trust);
        }
        if let Some((result, detail)) = &tls.decryption {
            *server.decryption.entry(result.clone()).or_default() += 1;
            if server.decryption_detail.is_none() {
                server.decryption_detail = Some(detail.clone());
            }
        }
        if !detailed {
            return;
        }
        if server.records_seen.is_empty() && !flow.wire.records.is_empty() {
            server.records_seen = flow
                .wire
                .records
                .iter()
                .take(RECORDS_SHOWN)
                .cloned()
                .collect();
            server.records_from = Some(flow.first_ts);
        }
        for r in flow.requests.iter().filter(|r| r.decrypted) {
            if server.requests.len() >= 4 {
                break;
            }
            server
                .requests
                .push(format!("{} {} {}", r.method, r.target, r.version));
        }
        if decrypted && server.side_by_side.is_none() && !flow.wire_trimmed {
            let view = wire::view(flow, options);
            let focus = if view.secret_lines.is_empty() {
                first_plaintext_row(&view).into_iter().collect()
            } else {
                view.secret_lines.clone()
            };
            let html = page::excerpt(&view, &focus, EXCERPT_ROWS);
            if !html.is_empty() {
                server.side_by_side = Some(html);
            }
        }
    }
}

/// The first row of a two-column view where the keys opened something the client or server
/// sent: where the request is.
fn first_plaintext_row(view: &WireView) -> Option<usize> {
    let right = view.right.as_ref()?;
    let readable = |l: &WireLine| {
        l.iter()
            .any(|s| matches!(s.look, Look::Client | Look::Server | Look::Secret))
    };
    right.iter().position(readable)
}

/// What makes a credential the same one seen again: kind, server, user and secret.
type LeakKey = (CredentialKind, String, Option<String>, String);

fn leak_key(c: &Credential) -> LeakKey {
    (
        c.kind,
        c.server.to_string(),
        c.username.clone(),
        c.secret.clone(),
    )
}

/// The host part of an `ip:port` endpoint.
fn host_of(endpoint: &str) -> String {
    match endpoint.rsplit_once(':') {
        Some((host, _)) => host.trim_matches(['[', ']']).to_string(),
        None => endpoint.to_string(),
    }
}

/// The time an event happened at, when it has one.
fn event_ts(event: &Event) -> Option<Timestamp> {
    Some(match event {
        Event::FlowOpen(e) => e.ts,
        Event::FlowClose(e) => e.ts,
        Event::HttpRequest(e) => e.ts,
        Event::HttpResponse(e) => e.ts,
        Event::Credential(e) => e.ts,
        Event::TlsClientHello(e) => e.ts,
        Event::TlsServerHello(e) => e.ts,
        Event::TlsCertificate(e) => e.ts,
        Event::TlsDecryption(e) => e.ts,
        Event::DnsQuery(e) => e.ts,
        Event::Payload(e) => e.ts,
        Event::TlsRecord(e) => e.ts,
        Event::Finding(e) => e.ts,
        Event::Anomaly(_) | Event::Summary(_) => return None,
    })
}
