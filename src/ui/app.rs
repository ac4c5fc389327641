//! The UI's state: what the event stream has shown so far, and what the user is looking at.
//! Pure: events and keys in, state out; drawing reads it (see `draw`).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::{self, Command};
use super::lesson::Lesson;
use super::wire::WireView;
use crate::event::{
    ChainCertificate, Credential, Dir, Event, Finding, FlowClose, FlowId, FlowOpen, Protocol,
    Summary, Timestamp, TlsRecord, Transport, Trust,
};

/// Flows kept for display; older closed ones are summarised in a count.
pub const MAX_FLOWS: usize = 20_000;
/// Requests kept per flow for the detail pane.
const MAX_REQUESTS_PER_FLOW: usize = 32;
/// Credentials kept for the credentials panel.
const MAX_CREDENTIALS: usize = 10_000;
/// Findings kept for the findings panel (the most severe stay).
const MAX_FINDINGS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Flows,
    Detail,
    Credentials,
    Findings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestView {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub decrypted: bool,
    pub status: Option<(u16, String)>,
    /// The HTTP/2 stream it came on.
    pub stream: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsView {
    pub sni: Option<String>,
    pub alpn_offered: Vec<String>,
    pub ja4: Option<String>,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub alpn: Option<String>,
    pub certificate: Option<(Option<String>, Vec<String>, String, String)>,
    /// The chain as sent, leaf first, and whether a browser would trust it (the certificate
    /// pane).
    pub chain: Vec<ChainCertificate>,
    pub trust: Option<Trust>,
    pub decryption: Option<(String, String)>,
    pub records: u64,
    pub bytes: u64,
}

/// Bytes kept for the wire views of all flows together; past this the oldest flows give theirs
/// back first.
pub const MAX_WIRE_BYTES: usize = 64 << 20;

/// What the wire view shows of a flow: its bytes as they crossed the wire (and as decrypted, where
/// keys opened them), a piece per packet, and its TLS records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wire {
    pub pieces: Vec<WirePiece>,
    pub records: Vec<TlsRecord>,
}

impl Wire {
    /// Bytes held.
    pub fn size(&self) -> usize {
        self.pieces.iter().map(|p| p.data.len() + 48).sum::<usize>()
            + self.records.len() * std::mem::size_of::<TlsRecord>()
    }
}

/// The bytes one packet added to one direction's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct WirePiece {
    pub dir: Dir,
    /// Where they start in that direction's stream.
    pub offset: u64,
    pub frame: u64,
    /// Read thanks to the keys (`false`: as on the wire).
    pub decrypted: bool,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowView {
    pub id: FlowId,
    /// When the flow began (its first packet).
    pub first_ts: Timestamp,
    pub client: String,
    pub server: String,
    pub protocol: Option<Protocol>,
    pub open: bool,
    pub reason: Option<String>,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub packets: u64,
    pub credentials: Vec<Credential>,
    /// What the site got wrong on this flow.
    pub findings: Vec<Finding>,
    pub requests: Vec<RequestView>,
    pub tls: Option<TlsView>,
    pub wire: Wire,
    /// Its wire view was given back to stay within [`MAX_WIRE_BYTES`].
    pub wire_trimmed: bool,
    /// A UDP flow (QUIC): its wire view holds datagrams, not a byte stream.
    pub udp: bool,
}

impl FlowView {
    /// The protocol as far as known: from the close, else from what the flow has shown.
    pub fn protocol_guess(&self) -> Option<Protocol> {
        self.protocol.or_else(|| {
            if self.udp {
                Some(Protocol::Quic)
            } else if self.tls.is_some() {
                Some(Protocol::Tls)
            } else if !self.requests.is_empty() {
                Some(Protocol::Http)
            } else {
                None
            }
        })
    }

    /// The server as it was asked for: the TLS server name, the HTTP Host, else its address.
    pub fn server_name(&self) -> String {
        self.tls
            .as_ref()
            .and_then(|t| t.sni.clone())
            .or_else(|| {
                self.requests.first().and_then(|r| {
                    r.headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("host") || n == ":authority")
                        .map(|(_, v)| v.clone())
                })
            })
            .unwrap_or_else(|| self.server.clone())
    }

    /// A flow's view as it opens.
    pub fn opened(e: &FlowOpen) -> FlowView {
        FlowView {
            id: e.flow,
            first_ts: e.ts,
            client: e.client.to_string(),
            server: e.server.to_string(),
            protocol: None,
            open: true,
            reason: None,
            bytes_c2s: 0,
            bytes_s2c: 0,
            packets: 0,
            credentials: Vec::new(),
            findings: Vec::new(),
            requests: Vec::new(),
            tls: None,
            wire: Wire::default(),
            wire_trimmed: false,
            udp: e.transport == Transport::Udp,
        }
    }

    /// Folds one of the flow's events into its view (the UI and the handout keep flows the
    /// same way). Returns the bytes its wire view grew by.
    pub fn apply(&mut self, event: Event) -> usize {
        match event {
            Event::FlowClose(e) => self.close(e),
            Event::HttpRequest(e) => {
                if self.requests.len() < MAX_REQUESTS_PER_FLOW {
                    self.requests.push(RequestView {
                        method: e.method,
                        target: e.target,
                        version: e.version.to_string(),
                        headers: e.headers,
                        decrypted: e.decrypted,
                        status: None,
                        stream: e.stream,
                    });
                }
            }
            // A final response answers the oldest request still waiting for one.
            Event::HttpResponse(e) => {
                if let Some(r) = self
                    .requests
                    .iter_mut()
                    .find(|r| r.status.is_none() && e.status >= 200)
                {
                    r.status = Some((e.status, e.reason));
                }
            }
            Event::Credential(c) => {
                if self.credentials.len() < MAX_REQUESTS_PER_FLOW {
                    self.credentials.push(c);
                }
            }
            Event::Finding(f) => {
                if self.findings.len() < MAX_REQUESTS_PER_FLOW {
                    self.findings.push(f);
                }
            }
            Event::TlsClientHello(e) => {
                let t = self.tls_mut();
                t.sni = e.sni;
                t.alpn_offered = e.alpn;
                t.ja4 = Some(e.ja4);
            }
            Event::TlsServerHello(e) => {
                let t = self.tls_mut();
                t.version = Some(e.version);
                t.cipher = Some(e.cipher);
                t.alpn = e.alpn;
            }
            Event::TlsCertificate(e) => {
                let t = self.tls_mut();
                t.certificate = Some((e.subject_cn, e.san, e.issuer_cn, e.not_after));
                t.chain = e.chain;
                t.trust = Some(e.trust);
            }
            Event::TlsDecryption(e) => {
                self.tls_mut().decryption = Some((e.result.as_str().to_string(), e.detail));
            }
            Event::Payload(p) => {
                let size = p.data.len() + 48;
                self.wire.pieces.push(WirePiece {
                    dir: p.dir,
                    offset: p.offset,
                    frame: p.frame,
                    decrypted: p.decrypted,
                    data: p.data,
                });
                return size;
            }
            Event::TlsRecord(r) => {
                self.wire.records.push(r);
                return std::mem::size_of::<TlsRecord>();
            }
            Event::FlowOpen(_) | Event::Anomaly(_) | Event::DnsQuery(_) | Event::Summary(_) => {}
        }
        0
    }

    /// The TLS part of the view, made on first use.
    fn tls_mut(&mut self) -> &mut TlsView {
        self.tls.get_or_insert_with(TlsView::default)
    }

    fn close(&mut self, e: FlowClose) {
        self.open = false;
        self.reason = Some(e.reason.as_str().to_string());
        self.protocol = Some(e.protocol);
        self.bytes_c2s = e.bytes_c2s;
        self.bytes_s2c = e.bytes_s2c;
        self.packets = e.packets;
        if e.protocol == Protocol::Tls || e.starttls {
            let t = self.tls_mut();
            t.records = e.tls_records;
            t.bytes = e.tls_bytes;
        }
    }

    fn matches(&self, filter: &str) -> bool {
        if filter.is_empty() {
            return true;
        }
        let f = filter.to_lowercase();
        let proto = self.protocol_guess().map(|p| p.as_str()).unwrap_or("");
        let sni = self
            .tls
            .as_ref()
            .and_then(|t| t.sni.as_deref())
            .unwrap_or("");
        [self.client.as_str(), self.server.as_str(), proto, sni]
            .iter()
            .any(|s| s.to_lowercase().contains(&f))
            || self
                .requests
                .iter()
                .any(|r| r.target.to_lowercase().contains(&f))
            || self
                .credentials
                .iter()
                .any(|c| c.kind.as_str().contains(&f))
    }
}

/// What the main loop should do after a key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    None,
    Quit,
    /// Apply one more event while paused.
    Step,
    /// The replay speed changed (a factor, or `None` for as fast as possible).
    Speed(Option<f64>),
}

/// Lines shown above a secret the wire view goes to.
const WIRE_CONTEXT: usize = 8;

/// The wire view, when open: which flow, how, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireState {
    pub flow: FlowId,
    /// A hex dump instead of text.
    pub hex: bool,
    /// The first line shown.
    pub scroll: usize,
    /// Which secret `n`/`N` last went to.
    pub secret: Option<usize>,
    /// Shown as an eavesdropper without the keys sees it (the lesson's HTTPS act).
    pub hide_keys: bool,
}

pub struct App {
    pub source: String,
    pub banner: Option<String>,
    pub flows: Vec<FlowView>,
    index: HashMap<FlowId, usize>,
    /// Flows dropped from display to stay bounded.
    pub older_flows: u64,
    pub credentials: VecDeque<Credential>,
    pub credentials_total: u64,
    /// `finding` events seen.
    pub findings_total: u64,
    /// The findings panel: most severe first, then in the order they came.
    pub findings: Vec<Finding>,
    pub finding_selected: usize,
    pub selected: usize,
    pub cred_selected: usize,
    pub focus: Pane,
    pub filter: String,
    pub editing_filter: bool,
    pub paused: bool,
    pub redact: bool,
    /// Replay speed: a factor, or `None` for as fast as possible (and for live).
    pub speed: Option<f64>,
    pub show_help: bool,
    pub explain: bool,
    pub light: bool,
    pub color: bool,
    pub summary: Option<Summary>,
    pub finished: bool,
    pub failures: Vec<String>,
    pub events_seen: u64,
    pub plaintext_bytes: u64,
    pub encrypted_bytes: u64,
    pub anomalies: u64,
    pub dropped_packets: Option<u64>,
    pub detail_scroll: u16,
    /// Bytes held by all flows' wire views.
    pub wire_bytes: usize,
    /// The wire view of a flow, when open (`f`).
    pub wire: Option<WireState>,
    /// The certificate pane of a flow, when open (`c`): the flow and the first line shown.
    pub certificate: Option<(FlowId, u16)>,
    /// The guided demo, act by act.
    pub lesson: Option<Lesson>,
    /// The act whose flow was last selected and opened (it is staged once, when its flow is
    /// there; the teacher may then move about).
    staged: Option<usize>,
    /// The open wire view's lines, built once per change of what they show: rebuilding them
    /// for every frame of a large flow cost more than the frame budget.
    wire_cache: RefCell<Option<(WireKey, Rc<WireView>)>>,
}

/// What a wire view's lines depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WireKey {
    flow: FlowId,
    hex: bool,
    redact: bool,
    hide_keys: bool,
    pieces: usize,
    records: usize,
    credentials: usize,
    requests: usize,
    trimmed: bool,
}

impl App {
    pub fn new(source: impl Into<String>, redact: bool, speed: Option<f64>) -> App {
        App {
            source: source.into(),
            banner: None,
            flows: Vec::new(),
            index: HashMap::new(),
            older_flows: 0,
            credentials: VecDeque::new(),
            credentials_total: 0,
            findings_total: 0,
            findings: Vec::new(),
            finding_selected: 0,
            selected: 0,
            cred_selected: 0,
            focus: Pane::Flows,
            filter: String::new(),
            editing_filter: false,
            paused: false,
            redact,
            speed,
            show_help: false,
            explain: false,
            light: false,
            color: true,
            summary: None,
            finished: false,
            failures: Vec::new(),
            events_seen: 0,
            plaintext_bytes: 0,
            encrypted_bytes: 0,
            anomalies: 0,
            dropped_packets: None,
            detail_scroll: 0,
            wire_bytes: 0,
            wire: None,
            certificate: None,
            lesson: None,
            staged: None,
            wire_cache: RefCell::new(None),
        }
    }

    /// A secret as shown: masked when redaction is on.
    pub fn show_secret(&self, secret: &str) -> String {
        crate::creds::shown(secret, self.redact)
    }

    /// The flows that pass the filter, in order.
    pub fn visible(&self) -> Vec<&FlowView> {
        self.visible_iter().collect()
    }

    pub fn visible_iter(&self) -> impl Iterator<Item = &FlowView> {
        self.flows.iter().filter(|f| f.matches(&self.filter))
    }

    /// How many flows pass the filter (no work when there is no filter).
    pub fn visible_len(&self) -> usize {
        if self.filter.is_empty() {
            self.flows.len()
        } else {
            self.visible_iter().count()
        }
    }

    pub fn selected_flow(&self) -> Option<&FlowView> {
        let n = self.visible_len();
        if n == 0 {
            return None;
        }
        if self.filter.is_empty() {
            return self.flows.get(self.selected.min(n - 1));
        }
        self.visible_iter().nth(self.selected.min(n - 1))
    }

    fn flow_mut(&mut self, id: FlowId) -> Option<&mut FlowView> {
        let i = *self.index.get(&id)?;
        self.flows.get_mut(i)
    }

    /// Applies one event from the engine.
    pub fn apply(&mut self, event: Event) {
        self.apply_event(event);
        if self.lesson.is_some() {
            self.stage_act();
        }
    }

    /// Time passed; true when the screen changed (the lesson moved on by itself).
    pub fn tick(&mut self, passed: std::time::Duration) -> bool {
        let moved = self.lesson.as_mut().is_some_and(|l| l.tick(passed));
        if moved {
            self.stage_act();
        }
        moved
    }

    /// The current act's flow selected and its wire view opened at the secret, once the flow is
    /// there.
    fn stage_act(&mut self) {
        let Some(lesson) = &self.lesson else {
            return;
        };
        let Some(act) = lesson.act().copied() else {
            return;
        };
        if self.staged == Some(lesson.current) {
            return;
        }
        let current = lesson.current;
        let Some(pos) = self.flows.iter().position(|f| act.pick.matches(f)) else {
            return;
        };
        // The act's flow must be whole before it is shown.
        if self.flows.get(pos).is_some_and(|f| f.open) {
            return;
        }
        self.filter.clear();
        self.editing_filter = false;
        self.explain = false;
        self.show_help = false;
        self.focus = Pane::Flows;
        self.selected = pos;
        self.wire = None;
        self.command(Command::OpenWire);
        if let Some(state) = self.wire.as_mut() {
            state.hide_keys = act.hide_keys;
            state.secret = None;
            state.scroll = 0;
        }
        // Where the secret is depends on what is shown.
        self.wire_command(Command::NextSecret);
        self.staged = Some(current);
    }

    fn apply_event(&mut self, event: Event) {
        self.events_seen += 1;
        // Strings from the network are shown on a terminal: no escape sequence gets through.
        let event = event.printable();
        match &event {
            Event::FlowOpen(e) => {
                self.make_room();
                self.index.insert(e.flow, self.flows.len());
                self.flows.push(FlowView::opened(e));
                return;
            }
            Event::FlowClose(e) => self.count_bytes(e),
            Event::Credential(c) => {
                self.credentials_total += 1;
                if self.credentials.len() >= MAX_CREDENTIALS {
                    self.credentials.pop_front();
                }
                self.credentials.push_back(c.clone());
            }
            Event::Finding(f) => self.finding(f.clone()),
            Event::Anomaly(_) => self.anomalies += 1,
            Event::Summary(s) => {
                self.plaintext_bytes = s.plaintext_bytes;
                self.encrypted_bytes = s.encrypted_bytes;
                self.anomalies = s.anomalies;
                self.summary = Some(s.clone());
                return;
            }
            _ => {}
        }
        let Some(flow) = event.flow() else {
            return;
        };
        let Some(f) = self.flow_mut(flow) else {
            return;
        };
        let added = f.apply(event);
        if added > 0 {
            self.wire_bytes += added;
            self.trim_wire();
        }
    }

    /// A closed flow's bytes in the plaintext and encrypted totals, as the summary counts them.
    fn count_bytes(&mut self, e: &FlowClose) {
        let bytes = e.bytes_c2s + e.bytes_s2c;
        if matches!(e.protocol, Protocol::Tls | Protocol::Quic) {
            self.encrypted_bytes += bytes;
        } else if e.starttls {
            // In the clear up to the switch, TLS records from it on (as the summary counts).
            let encrypted = e.tls_bytes.min(bytes);
            self.encrypted_bytes += encrypted;
            self.plaintext_bytes += bytes - encrypted;
        } else if e.protocol.is_plaintext() {
            self.plaintext_bytes += bytes;
        }
    }

    /// Keeps the wire views within [`MAX_WIRE_BYTES`]: the oldest closed flows give theirs back
    /// first, then the oldest open ones; the selected flow keeps its own.
    fn trim_wire(&mut self) {
        if self.wire_bytes <= MAX_WIRE_BYTES {
            return;
        }
        let selected = self.selected_flow().map(|f| f.id);
        for closed_first in [true, false] {
            for f in self.flows.iter_mut() {
                if self.wire_bytes <= MAX_WIRE_BYTES * 9 / 10 {
                    return;
                }
                if (closed_first && f.open) || Some(f.id) == selected || f.wire.size() == 0 {
                    continue;
                }
                self.wire_bytes = self.wire_bytes.saturating_sub(f.wire.size());
                f.wire = Wire::default();
                f.wire_trimmed = true;
            }
        }
    }

    /// A site's mistake, in the findings panel, most severe first (its flow keeps it too);
    /// counted in all.
    fn finding(&mut self, f: Finding) {
        self.findings_total += 1;
        // Severity is declared most severe first: after the last of the same or worse.
        let at = self.findings.partition_point(|g| g.severity <= f.severity);
        if self.findings.len() >= MAX_FINDINGS {
            if at >= self.findings.len() {
                return;
            }
            self.findings.pop();
        }
        self.findings.insert(at, f);
    }

    /// The finding selected in the findings panel, when it has the focus.
    pub fn selected_finding(&self) -> Option<&Finding> {
        if self.focus != Pane::Findings {
            return None;
        }
        let n = self.findings.len();
        self.findings
            .get(self.finding_selected.min(n.saturating_sub(1)))
    }

    /// Keeps the flow list bounded: the oldest closed flows go first.
    fn make_room(&mut self) {
        if self.flows.len() < MAX_FLOWS {
            return;
        }
        let drop = self
            .flows
            .iter()
            .position(|f| !f.open && f.credentials.is_empty())
            .or_else(|| self.flows.iter().position(|f| !f.open))
            .unwrap_or(0);
        let gone = self.flows.remove(drop);
        self.wire_bytes = self.wire_bytes.saturating_sub(gone.wire.size());
        self.older_flows += 1;
        self.index = self
            .flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id, i))
            .collect();
        self.selected = self.selected.saturating_sub(1);
    }

    /// Handles a key press, as the bindings table ([`keys::BINDINGS`]) says.
    pub fn key(&mut self, key: KeyEvent) -> Action {
        // Ctrl-C quits from anywhere, even while a filter is typed.
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        let command = keys::command_for(key);
        if self.editing_filter {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => self.editing_filter = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.selected = 0;
            return Action::None;
        }
        if self.show_help {
            // Any key closes the help; `q` also quits.
            self.show_help = false;
            if command != Some(Command::Quit) {
                return Action::None;
            }
        }
        match command {
            Some(command) => self.command(command),
            None => Action::None,
        }
    }

    fn command(&mut self, command: Command) -> Action {
        if self.wire.is_some() && self.wire_command(command) {
            return Action::None;
        }
        if self.certificate.is_some() && self.certificate_command(command) {
            return Action::None;
        }
        match command {
            Command::Quit => return Action::Quit,
            Command::Back => {
                self.explain = false;
                self.filter.clear();
            }
            Command::OpenWire => {
                self.wire = self.selected_flow().map(|f| WireState {
                    flow: f.id,
                    hex: false,
                    scroll: 0,
                    secret: None,
                    hide_keys: false,
                });
                // It opens at the first secret.
                self.wire_command(Command::NextSecret);
            }
            Command::OpenCertificate => {
                // The flow whose bytes are on screen, else the selected one.
                let flow = self.wire.take().map(|w| w.flow);
                self.certificate = flow.or(self.selected_flow().map(|f| f.id)).map(|f| (f, 0));
            }
            Command::Hex | Command::NextSecret | Command::PreviousSecret => {}
            Command::Down => self.move_selection(1),
            Command::Up => self.move_selection(-1),
            Command::PageDown => self.move_selection(10),
            Command::PageUp => self.move_selection(-10),
            Command::Top => self.move_selection(i64::MIN / 2),
            Command::Bottom => self.move_selection(i64::MAX / 2),
            Command::Explain => self.explain = !self.explain,
            Command::NextPane => {
                self.focus = match self.focus {
                    Pane::Flows => Pane::Detail,
                    Pane::Detail => Pane::Credentials,
                    Pane::Credentials if self.findings.is_empty() => Pane::Flows,
                    Pane::Credentials => Pane::Findings,
                    Pane::Findings => Pane::Flows,
                };
                self.select_findings_flow();
            }
            Command::PreviousPane => {
                self.focus = match self.focus {
                    Pane::Flows if self.findings.is_empty() => Pane::Credentials,
                    Pane::Flows => Pane::Findings,
                    Pane::Detail => Pane::Flows,
                    Pane::Credentials => Pane::Detail,
                    Pane::Findings => Pane::Credentials,
                };
                self.select_findings_flow();
            }
            Command::Filter => {
                self.editing_filter = true;
                self.filter.clear();
            }
            Command::Pause => self.paused = !self.paused,
            Command::Step if self.paused => return Action::Step,
            Command::Step | Command::NextAct => {
                if let Some(lesson) = self.lesson.as_mut() {
                    lesson.next_act();
                    self.stage_act();
                }
            }
            Command::PreviousAct => {
                if let Some(lesson) = self.lesson.as_mut() {
                    lesson.previous_act();
                    self.staged = None;
                    self.stage_act();
                }
            }
            Command::Autoplay => {
                if let Some(lesson) = self.lesson.as_mut() {
                    lesson.autoplay = !lesson.autoplay;
                    lesson.elapsed = std::time::Duration::ZERO;
                }
            }
            Command::Faster => return self.change_speed(2.0),
            Command::Slower => return self.change_speed(0.5),
            Command::Redact => self.redact = !self.redact,
            Command::Theme => self.light = !self.light,
            Command::Help => self.show_help = true,
        }
        Action::None
    }

    /// Keys of the open certificate pane; false for keys it leaves to the main screen.
    fn certificate_command(&mut self, command: Command) -> bool {
        let Some((flow, scroll)) = self.certificate else {
            return false;
        };
        let scroll = match command {
            Command::Back | Command::OpenCertificate => {
                self.certificate = None;
                return true;
            }
            Command::Down => scroll.saturating_add(1),
            Command::Up => scroll.saturating_sub(1),
            Command::PageDown => scroll.saturating_add(10),
            Command::PageUp => scroll.saturating_sub(10),
            Command::Top => 0,
            Command::OpenWire => {
                self.certificate = None;
                return false;
            }
            _ => return false,
        };
        self.certificate = Some((flow, scroll));
        true
    }

    /// The open certificate pane's content, `width` columns wide, judged "today" by the wall
    /// clock.
    pub fn certificate_view(&self, width: u16) -> Option<super::certificate::CertificateView> {
        let (id, _) = self.certificate?;
        let flow = self.flows.get(*self.index.get(&id)?)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Some(super::certificate::certificate_view(flow, width, now))
    }

    /// Keys of the open wire view; false for keys it leaves to the main screen.
    fn wire_command(&mut self, command: Command) -> bool {
        let Some(mut state) = self.wire else {
            return false;
        };
        let lines = |app: &App| app.wire_view().map_or(0, |v| v.left.len());
        let step = |scroll: usize, delta: isize, lines: usize| {
            scroll
                .saturating_add_signed(delta)
                .min(lines.saturating_sub(1))
        };
        match command {
            Command::Back => {
                self.wire = None;
                // The closed view's lines are not kept.
                *self.wire_cache.borrow_mut() = None;
                return true;
            }
            Command::Down => state.scroll = step(state.scroll, 1, lines(self)),
            Command::Up => state.scroll = step(state.scroll, -1, lines(self)),
            Command::PageDown => state.scroll = step(state.scroll, 20, lines(self)),
            Command::PageUp => state.scroll = step(state.scroll, -20, lines(self)),
            Command::Top => state.scroll = 0,
            Command::Bottom => state.scroll = step(0, isize::MAX, lines(self)),
            Command::Hex => {
                state.hex = !state.hex;
                state.scroll = 0;
                state.secret = None;
            }
            Command::NextSecret | Command::PreviousSecret => {
                // The hex view is another layout: its secrets are found in it.
                let Some(view) = self.wire_view() else {
                    return true;
                };
                let secrets = &view.secret_lines;
                if secrets.is_empty() {
                    return true;
                }
                let n = secrets.len();
                let i = match (state.secret, command == Command::NextSecret) {
                    (None, true) => 0,
                    (None, false) => n - 1,
                    (Some(i), true) => (i + 1) % n,
                    (Some(i), false) => (i + n - 1) % n,
                };
                state.secret = Some(i);
                // Lines of context above it: the request it is in, as a rule.
                let line = secrets.get(i).copied().unwrap_or(0);
                state.scroll = line.saturating_sub(WIRE_CONTEXT);
            }
            Command::OpenWire
            | Command::Explain
            | Command::Filter
            | Command::NextPane
            | Command::PreviousPane => return true,
            _ => return false,
        }
        self.wire = Some(state);
        true
    }

    /// The open wire view's lines, as they are drawn (built again only when what they show
    /// changed).
    pub fn wire_view(&self) -> Option<Rc<WireView>> {
        let state = self.wire?;
        let i = *self.index.get(&state.flow)?;
        let flow = self.flows.get(i)?;
        let key = WireKey {
            flow: flow.id,
            hex: state.hex,
            redact: self.redact,
            hide_keys: state.hide_keys,
            pieces: flow.wire.pieces.len(),
            records: flow.wire.records.len(),
            credentials: flow.credentials.len(),
            requests: flow.requests.len(),
            trimmed: flow.wire_trimmed,
        };
        let mut cache = self.wire_cache.borrow_mut();
        if let Some((cached, view)) = cache.as_ref() {
            if *cached == key {
                return Some(view.clone());
            }
        }
        let view = Rc::new(super::wire::view(
            flow,
            super::wire::WireOptions {
                hex: state.hex,
                redact: self.redact,
                hide_keys: state.hide_keys,
            },
        ));
        *cache = Some((key, view.clone()));
        Some(view)
    }

    fn change_speed(&mut self, factor: f64) -> Action {
        let Some(speed) = self.speed else {
            return Action::None;
        };
        let next = (speed * factor).clamp(1.0 / 64.0, 4096.0);
        self.speed = Some(next);
        Action::Speed(Some(next))
    }

    /// Selecting a finding selects its flow.
    fn select_findings_flow(&mut self) {
        let Some(id) = self.selected_finding().and_then(|f| f.flow) else {
            return;
        };
        let pos = self.visible_iter().position(|f| f.id == id);
        if let Some(pos) = pos {
            self.selected = pos;
            self.detail_scroll = 0;
        }
    }

    fn move_selection(&mut self, delta: i64) {
        match self.focus {
            Pane::Flows => {
                let n = self.visible_len() as i64;
                self.selected = (self.selected as i64 + delta).clamp(0, (n - 1).max(0)) as usize;
                self.detail_scroll = 0;
            }
            Pane::Detail => {
                self.detail_scroll =
                    (i64::from(self.detail_scroll) + delta).clamp(0, 10_000) as u16;
            }
            Pane::Findings => {
                let n = self.findings.len() as i64;
                self.finding_selected =
                    (self.finding_selected as i64 + delta).clamp(0, (n - 1).max(0)) as usize;
                self.select_findings_flow();
            }
            Pane::Credentials => {
                let n = self.credentials.len() as i64;
                self.cred_selected =
                    (self.cred_selected as i64 + delta).clamp(0, (n - 1).max(0)) as usize;
                // Selecting a credential selects its flow.
                if let Some(c) = self.credentials.get(self.cred_selected) {
                    let id = c.flow;
                    if let Some(pos) = self.visible().iter().position(|f| f.id == id) {
                        self.selected = pos;
                    }
                }
            }
        }
    }
}
