//! The engine: packets in, [`Event`]s out. It glues decode → flow → proto together and keeps
//! the run's totals. It knows nothing of how events are shown.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use crate::capture::{LinkType, Packet};
use crate::decode::defrag::{DefragOutcome, Defragmenter};
use crate::decode::UdpDatagram;
use crate::decode::{self, Body, DecodeError, TcpSegment};
use crate::event::{
    AnomalyKind, CloseReason, Credential, Endpoint, Event, FlowId, Protocol, Summary, Timestamp,
};
use crate::flow::{Chunk, Flow, FlowKey, FlowLimits, FlowState, FlowTable, MemoryBudget};
use crate::proto::analysis::{AppOutput, FlowAnalysis};
use crate::proto::dns;
use crate::proto::tls::decrypt::KeyLog;
use crate::proto::tls::handshake::{cipher_name, version_name, CertificateCache};

/// Default `--memcap`: 256 MiB.
pub const DEFAULT_MEMCAP: usize = 256 << 20;
/// At most this many anomalies of one kind are written out per run; all are counted.
pub const MAX_ANOMALIES_SHOWN_PER_KIND: u64 = 1000;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub memcap: usize,
    /// `--keylog`: TLS secrets to decrypt with.
    pub keylog: Option<KeyLog>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            memcap: DEFAULT_MEMCAP,
            keylog: None,
        }
    }
}

/// Counts anomalies and writes out the first ones of each kind.
#[derive(Debug, Default)]
struct Anomalies {
    counts: std::collections::HashMap<AnomalyKind, u64>,
    total: u64,
}

impl Anomalies {
    fn emit<F: FnMut(Event)>(
        &mut self,
        out: &mut F,
        ts: Timestamp,
        flow: Option<FlowId>,
        kind: AnomalyKind,
        detail: String,
    ) {
        self.total += 1;
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        if *n > MAX_ANOMALIES_SHOWN_PER_KIND {
            return;
        }
        let detail = if *n == MAX_ANOMALIES_SHOWN_PER_KIND {
            format!(
                "{detail} (further {} anomalies are counted, not shown)",
                kind.as_str()
            )
        } else {
            detail
        };
        out(Event::Anomaly {
            ts,
            flow,
            kind,
            detail,
        });
    }
}

/// Packets in, events out.
pub struct Engine {
    table: FlowTable<FlowAnalysis>,
    defrag: Defragmenter,
    anomalies: Anomalies,
    summary: Summary,
    next_flow_id: FlowId,
    first_ts: Option<Timestamp>,
    last_ts: Timestamp,
    max_ts: Timestamp,
    last_expiry_sec: u64,
    last_memory_anomaly_sec: Option<u64>,
    unsupported_links: HashSet<LinkType>,
    /// Leaf certificates already described, shared by all flows.
    certificates: CertificateCache,
    /// TLS secrets: `--keylog`, plus any found inside pcapng files.
    keylog: Option<KeyLog>,
    /// What the application layer found during the current packet (reused, not reallocated).
    outputs: Vec<AppOutput>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            table: FlowTable::new(FlowLimits::from_memcap(config.memcap)),
            defrag: Defragmenter::default(),
            anomalies: Anomalies::default(),
            summary: Summary::default(),
            next_flow_id: 1,
            first_ts: None,
            last_ts: Timestamp::default(),
            max_ts: Timestamp::default(),
            last_expiry_sec: 0,
            last_memory_anomaly_sec: None,
            unsupported_links: HashSet::new(),
            keylog: config.keylog,
            outputs: Vec::new(),
            certificates: CertificateCache::default(),
        }
    }

    /// A TLS key log carried inside a capture (a pcapng Decryption Secrets Block): its sessions
    /// are decrypted as if given with `--keylog`. Returns lines it could not read.
    pub fn add_secrets(&mut self, data: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(data);
        self.keylog.get_or_insert_with(KeyLog::default).add(&text)
    }

    pub fn keylog(&self) -> Option<&KeyLog> {
        self.keylog.as_ref()
    }

    /// Memory held by the flow table now (buffers and flow state).
    pub fn memory(&self) -> usize {
        self.table.memory()
    }

    /// Analyses one packet.
    pub fn packet<F: FnMut(Event)>(&mut self, pkt: &Packet<'_>, out: &mut F) {
        let ts = pkt.ts;
        self.summary.packets += 1;
        self.summary.bytes += pkt.data.len() as u64;
        if self.first_ts.is_none_or(|f| ts < f) {
            self.first_ts = Some(ts);
        }
        self.last_ts = ts;
        self.max_ts = self.max_ts.max(ts);
        // Any change of second (forwards, or back after a lying timestamp) runs the expiry.
        if ts.secs() != self.last_expiry_sec {
            self.last_expiry_sec = ts.secs();
            let removed = self.table.expire(ts);
            for r in removed {
                self.close_removed(r.flow, r.reason, out);
            }
        }
        match decode::decode(pkt.link, pkt.data) {
            Ok(d) => {
                if d.truncated {
                    self.anomalies.emit(
                        out,
                        ts,
                        None,
                        AnomalyKind::TruncatedPacket,
                        format!(
                            "packet {} cut short: {} of {} bytes captured",
                            self.summary.packets,
                            pkt.data.len(),
                            pkt.orig_len
                        ),
                    );
                }
                self.ip(ts, d.src, d.dst, d.body, out);
            }
            Err(DecodeError::NotIp) => {}
            Err(e @ DecodeError::UnsupportedLink(link)) => {
                if self.unsupported_links.insert(link) {
                    self.anomalies.emit(
                        out,
                        ts,
                        None,
                        AnomalyKind::UnsupportedLinkType,
                        format!("{e}; its packets are skipped"),
                    );
                }
            }
            Err(e) => {
                let kind = match e {
                    DecodeError::Truncated(_) => AnomalyKind::TruncatedPacket,
                    _ => AnomalyKind::ParseError,
                };
                let detail = format!("packet {}: {e}", self.summary.packets);
                self.anomalies.emit(out, ts, None, kind, detail);
            }
        }
        if self.table.memory() > self.table.limits.memcap {
            let removed = self.table.enforce_memcap();
            self.report_evictions(removed.len(), "reassembly memory over --memcap", out);
            for r in removed {
                self.close_removed(r.flow, r.reason, out);
            }
        }
    }

    fn ip<F: FnMut(Event)>(
        &mut self,
        ts: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        body: Body<'_>,
        out: &mut F,
    ) {
        match body {
            Body::Tcp(seg) => self.tcp(
                ts,
                SocketAddr::new(src, seg.src_port),
                SocketAddr::new(dst, seg.dst_port),
                &seg,
                out,
            ),
            Body::Fragment(frag) => match self.defrag.add(ts, src, dst, &frag) {
                DefragOutcome::Pending => {}
                DefragOutcome::Complete(ip_number, data) => match decode::transport(ip_number, &data) {
                    Ok(inner) => self.ip(ts, src, dst, inner, out),
                    Err(e) => self.anomalies.emit(
                        out,
                        ts,
                        None,
                        AnomalyKind::ParseError,
                        format!("reassembled IP datagram from {src}: {e}"),
                    ),
                },
                DefragOutcome::Invalid(e) => self.anomalies.emit(
                    out,
                    ts,
                    None,
                    AnomalyKind::ParseError,
                    format!("IP fragments from {src} to {dst} contradict each other ({e}); datagram dropped"),
                ),
            },
            Body::Udp(udp) => self.udp(ts, src, dst, &udp, out),
            Body::OtherIp => {}
        }
    }

    fn udp<F: FnMut(Event)>(
        &mut self,
        ts: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        udp: &UdpDatagram<'_>,
        out: &mut F,
    ) {
        if !(dns::is_dns_port(udp.dst_port) || dns::is_dns_port(udp.src_port)) {
            return;
        }
        if let Some(q) = dns::parse_query(udp.payload) {
            out(Event::DnsQuery {
                ts,
                client: Endpoint(SocketAddr::new(src, udp.src_port)),
                server: Endpoint(SocketAddr::new(dst, udp.dst_port)),
                name: q.name,
                qtype: q.qtype,
            });
        }
    }

    fn tcp<F: FnMut(Event)>(
        &mut self,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &TcpSegment<'_>,
        out: &mut F,
    ) {
        let key = FlowKey::new(src, dst);
        // One lookup on the common path: an existing flow is processed under the same borrow.
        let close = {
            let (table, shared) = self.split();
            match table.get_with_budget(&key) {
                Some((flow, budget)) => match classify(flow, seg) {
                    Segment::Straggler => return,
                    Segment::Existing => {
                        Some(process_segment(flow, budget, ts, src, seg, shared, out))
                    }
                    Segment::NewConnection => None,
                },
                None => None,
            }
        };
        let close = match close {
            Some(close) => close,
            None => {
                self.open_flow(key, ts, src, dst, seg, out);
                let (table, shared) = self.split();
                let Some((flow, budget)) = table.get_with_budget(&key) else {
                    return;
                };
                process_segment(flow, budget, ts, src, seg, shared, out)
            }
        };
        if let Some(reason) = close {
            self.close_in_table(key, reason, out);
        }
    }

    fn open_flow<F: FnMut(Event)>(
        &mut self,
        key: FlowKey,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &TcpSegment<'_>,
        out: &mut F,
    ) {
        // The client sent the SYN; without one, the higher port, or failing that the first sender.
        let (client, server, handshake_seen) = if seg.flags.syn && !seg.flags.ack {
            (src, dst, true)
        } else if seg.flags.syn {
            (dst, src, true)
        } else if dst.port() > src.port() {
            (dst, src, false)
        } else {
            (src, dst, false)
        };
        let id = self.next_flow_id;
        self.next_flow_id += 1;
        self.summary.flows += 1;
        out(Event::FlowOpen {
            flow: id,
            ts,
            client: Endpoint(client),
            server: Endpoint(server),
            handshake_seen,
        });
        let flow = Flow {
            id,
            client,
            server,
            handshake_seen,
            first_ts: ts,
            last_ts: ts,
            packets: 0,
            state: FlowState::Open,
            streams: Default::default(),
            app: FlowAnalysis::new(dns::is_dns_port(server.port())),
            app_memory: 0,
        };
        let removed = self.table.insert(key, flow);
        let evicted = removed
            .iter()
            .filter(|r| r.reason == CloseReason::Evicted)
            .count();
        self.report_evictions(evicted, "flow table full", out);
        for r in removed {
            self.close_removed(r.flow, r.reason, out);
        }
    }

    fn report_evictions<F: FnMut(Event)>(&mut self, count: usize, why: &str, out: &mut F) {
        if count == 0 {
            return;
        }
        // One anomaly per second of capture time at most: a flood must not drown the stream.
        let sec = self.last_ts.secs();
        if self.last_memory_anomaly_sec == Some(sec) {
            return;
        }
        self.last_memory_anomaly_sec = Some(sec);
        let limits = self.table.limits;
        self.anomalies.emit(
            out,
            self.last_ts,
            None,
            AnomalyKind::MemoryLimit,
            format!(
                "{why} (at most {} flows, memcap {} MiB): {} flows evicted so far; raise --memcap to keep more",
                limits.max_flows,
                limits.memcap >> 20,
                self.table.evicted
            ),
        );
    }

    /// The flow table and, apart from it, the state a flow's processing writes to.
    fn split(&mut self) -> (&mut FlowTable<FlowAnalysis>, Shared<'_>) {
        let Engine {
            table,
            anomalies,
            summary,
            outputs,
            keylog,
            certificates,
            ..
        } = self;
        (
            table,
            Shared {
                outputs,
                anomalies,
                summary,
                certificates,
                keys: keylog.as_ref(),
            },
        )
    }

    /// Closes a flow that stays in the table (as closed) to absorb stragglers.
    fn close_in_table<F: FnMut(Event)>(&mut self, key: FlowKey, reason: CloseReason, out: &mut F) {
        let (table, shared) = self.split();
        if let Some((flow, budget)) = table.get_with_budget(&key) {
            let event = finish_flow(flow, reason, budget, shared, out);
            out(event);
        }
        table.mark_closed(&key);
    }

    /// Closes a flow already taken out of the table.
    fn close_removed<F: FnMut(Event)>(
        &mut self,
        mut flow: Flow<FlowAnalysis>,
        reason: CloseReason,
        out: &mut F,
    ) {
        let (table, shared) = self.split();
        let budget = &mut table.budget;
        // An evicted flow's buffers are already gone: what it held is cut, not delivered.
        let mut no_buffers = MemoryBudget::default();
        let flush_budget = if reason == CloseReason::Evicted {
            &mut no_buffers
        } else {
            &mut *budget
        };
        let event = finish_flow(&mut flow, reason, flush_budget, shared, out);
        out(event);
        flow.release(budget);
    }

    /// The end of one input: every open flow closes with `end_of_capture`. Flow ids keep counting
    /// across inputs.
    pub fn end_of_input<F: FnMut(Event)>(&mut self, out: &mut F) {
        let open = self.table.drain_open();
        let mut scratch = MemoryBudget::default();
        for mut flow in open {
            let (_, shared) = self.split();
            let event = finish_flow(
                &mut flow,
                CloseReason::EndOfCapture,
                &mut scratch,
                shared,
                out,
            );
            out(event);
        }
        self.defrag = Defragmenter::default();
        self.unsupported_links.clear();
        self.last_expiry_sec = 0;
    }

    /// The input is damaged from `offset` on (a truncated or garbled file).
    pub fn damaged_input<F: FnMut(Event)>(&mut self, name: &str, detail: &str, out: &mut F) {
        let ts = self.last_ts;
        self.anomalies.emit(
            out,
            ts,
            None,
            AnomalyKind::TruncatedFile,
            format!("{name}: {detail}"),
        );
    }

    /// The totals so far; the last event of a run.
    /// The first and the latest packet time seen, if any packet was.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        self.first_ts.map(|first| (first, self.max_ts))
    }

    /// How many flow ids this engine has handed out (they are 1..=n).
    pub fn flow_ids_used(&self) -> u64 {
        self.next_flow_id - 1
    }

    pub fn summary(&self) -> Summary {
        let mut s = self.summary.clone();
        s.anomalies = self.anomalies.total;
        s.duration = match self.first_ts {
            Some(first) => self.max_ts.saturating_sub(first) as f64 / 1e6,
            None => 0.0,
        };
        s
    }
}

/// Hands a reassembled chunk of direction `dir` to the flow's application layer, noting holes.
fn deliver(
    app: &mut FlowAnalysis,
    dir: usize,
    chunk: Chunk<'_>,
    gaps: &mut Vec<(usize, u64)>,
    keys: Option<&KeyLog>,
    outputs: &mut Vec<AppOutput>,
) {
    if let Chunk::Gap(n) = chunk {
        gaps.push((dir, n));
    }
    app.on_chunk(dir, chunk, keys, outputs);
}

fn gap_detail(dir: usize, n: u64) -> String {
    let way = if dir == 0 {
        "client to server"
    } else {
        "server to client"
    };
    format!("{n} bytes never seen ({way}); the stream goes on after the hole")
}

/// The engine's state a flow's processing writes to, borrowed together.
struct Shared<'a> {
    outputs: &'a mut Vec<AppOutput>,
    anomalies: &'a mut Anomalies,
    summary: &'a mut Summary,
    keys: Option<&'a KeyLog>,
    certificates: &'a mut CertificateCache,
}

/// How a segment relates to the flow already on its 5-tuple.
enum Segment {
    Existing,
    /// A new SYN on a finished 5-tuple, or on one that already carried data: a new connection
    /// (port reuse, or copies of one capture concatenated).
    NewConnection,
    /// A late packet of a closed flow (its last ACK, a retransmitted FIN): ignored.
    Straggler,
}

fn classify<A>(flow: &Flow<A>, seg: &TcpSegment<'_>) -> Segment {
    let opening_syn = seg.flags.syn && !seg.flags.ack;
    match flow.state {
        FlowState::Closed if opening_syn => Segment::NewConnection,
        FlowState::Closed => Segment::Straggler,
        FlowState::Open
            if opening_syn
                && flow
                    .streams
                    .iter()
                    .any(|s| s.delivered_bytes() > 0 || s.fin_seen()) =>
        {
            Segment::NewConnection
        }
        FlowState::Open => Segment::Existing,
    }
}

/// Runs one segment through its flow: reassembly, the application layer, anomalies and events.
/// Returns how the flow ends with this packet, if it does.
fn process_segment<F: FnMut(Event)>(
    flow: &mut Flow<FlowAnalysis>,
    budget: &mut MemoryBudget,
    ts: Timestamp,
    src: SocketAddr,
    seg: &TcpSegment<'_>,
    shared: Shared<'_>,
    out: &mut F,
) -> Option<CloseReason> {
    let Shared {
        outputs,
        anomalies,
        summary,
        keys,
        certificates,
    } = shared;
    flow.packets += 1;
    flow.last_ts = ts;
    let i = flow.direction_of(src).index();
    let mut seq = seg.seq;
    if seg.flags.syn {
        flow.streams[i].syn(seg.seq);
        seq = seq.wrapping_add(1);
    }
    let ctx = FlowContext::of(flow, ts);
    let mut gaps: Vec<(usize, u64)> = Vec::new();
    let Flow { streams, app, .. } = flow;
    let [c2s, s2c] = streams;
    let (this, other) = if i == 0 { (c2s, s2c) } else { (s2c, c2s) };
    let mut conflict = false;
    if !seg.payload.is_empty() || seg.flags.fin {
        let mut sink = |c: Chunk<'_>| deliver(app, i, c, &mut gaps, keys, outputs);
        conflict = this
            .segment(seq, seg.payload, seg.flags.fin, budget, &mut sink)
            .conflict;
    }
    if seg.flags.ack {
        let j = 1 - i;
        let mut sink = |c: Chunk<'_>| deliver(app, j, c, &mut gaps, keys, outputs);
        other.peer_ack(seg.ack, budget, &mut sink);
    }
    let held = flow.app.held();
    flow.charge_app(held, budget);
    if conflict {
        anomalies.emit(
            out,
            ts,
            Some(ctx.id),
            AnomalyKind::OverlapConflict,
            format!(
                "a retransmitted segment from {src} (seq {}) carries different bytes than the first copy; the first copy is kept",
                seg.seq
            ),
        );
    }
    for (d, n) in gaps {
        anomalies.emit(out, ts, Some(ctx.id), AnomalyKind::Gap, gap_detail(d, n));
    }
    emit_outputs(outputs, &ctx, anomalies, summary, certificates, out);
    if seg.flags.rst {
        Some(CloseReason::Rst)
    } else if !seg.flags.fin && flow.streams.iter().all(|s| s.is_finished()) {
        // Both FINs are in: close on the packet after the second FIN (its ACK), so the flow's
        // packet count includes the whole teardown.
        Some(CloseReason::Fin)
    } else {
        None
    }
}

/// What events about a flow need to say.
struct FlowContext {
    id: FlowId,
    ts: Timestamp,
    client: Endpoint,
    server: Endpoint,
}

impl FlowContext {
    fn of<A>(flow: &Flow<A>, ts: Timestamp) -> FlowContext {
        FlowContext {
            id: flow.id,
            ts,
            client: Endpoint(flow.client),
            server: Endpoint(flow.server),
        }
    }
}

/// Turns what the application layer found into events, counting credentials.
fn emit_outputs<F: FnMut(Event)>(
    outputs: &mut Vec<AppOutput>,
    ctx: &FlowContext,
    anomalies: &mut Anomalies,
    summary: &mut Summary,
    certificates: &mut CertificateCache,
    out: &mut F,
) {
    for output in outputs.drain(..) {
        match output {
            AppOutput::Request {
                request: r,
                decrypted,
                stream,
            } => out(Event::HttpRequest {
                flow: ctx.id,
                ts: ctx.ts,
                host: r.host().map(str::to_string),
                method: r.method,
                target: r.target,
                version: r.version,
                headers: r.headers,
                body_len: r.body_len,
                decrypted,
                stream,
            }),
            AppOutput::Response {
                response: r,
                decrypted,
                stream,
            } => out(Event::HttpResponse {
                flow: ctx.id,
                ts: ctx.ts,
                status: r.status,
                reason: r.reason,
                headers: r.headers,
                body_len: r.body_len,
                decrypted,
                stream,
            }),
            AppOutput::Credential { found, decrypted } => {
                summary.credentials += 1;
                *summary
                    .credentials_by_kind
                    .entry(found.kind.as_str().to_string())
                    .or_insert(0) += 1;
                out(Event::Credential(Credential {
                    flow: ctx.id,
                    ts: ctx.ts,
                    kind: found.kind,
                    username: found.username,
                    secret: found.secret,
                    client: ctx.client,
                    server: ctx.server,
                    location: found.location,
                    decrypted,
                }));
            }
            AppOutput::ClientHello(c) => out(Event::TlsClientHello {
                flow: ctx.id,
                ts: ctx.ts,
                sni: c.sni,
                alpn: c.alpn,
                offered_versions: c.offered_versions,
                cipher_suites: c.cipher_suites,
                ja4: c.ja4,
            }),
            AppOutput::ServerHello(s) => out(Event::TlsServerHello {
                flow: ctx.id,
                ts: ctx.ts,
                version: version_name(s.version),
                cipher: cipher_name(s.cipher),
                alpn: s.alpn,
            }),
            AppOutput::Certificate(der) => {
                if let Some(c) = certificates.describe(&der) {
                    out(Event::TlsCertificate {
                        flow: ctx.id,
                        ts: ctx.ts,
                        subject_cn: c.subject_cn,
                        san: c.san,
                        issuer_cn: c.issuer_cn,
                        not_after: c.not_after,
                    })
                }
            }
            AppOutput::Decryption { result, detail } => {
                if result == "ok" {
                    summary.decrypted_flows += 1;
                }
                out(Event::TlsDecryption {
                    flow: ctx.id,
                    ts: ctx.ts,
                    result,
                    detail,
                })
            }
            AppOutput::Dns(q) => out(Event::DnsQuery {
                ts: ctx.ts,
                client: ctx.client,
                server: ctx.server,
                name: q.name,
                qtype: q.qtype,
            }),
            AppOutput::ParseError(detail) => {
                anomalies.emit(out, ctx.ts, Some(ctx.id), AnomalyKind::ParseError, detail)
            }
        }
    }
}

/// Flushes a flow's streams, settles its protocol and counts it in the totals; returns its
/// `flow_close` event.
fn finish_flow<F: FnMut(Event)>(
    flow: &mut Flow<FlowAnalysis>,
    reason: CloseReason,
    budget: &mut MemoryBudget,
    shared: Shared<'_>,
    out: &mut F,
) -> Event {
    let Shared {
        outputs,
        anomalies,
        summary,
        keys,
        certificates,
    } = shared;
    let ctx = FlowContext::of(flow, flow.last_ts);
    let Flow { streams, app, .. } = flow;
    let mut gaps = Vec::new();
    for (i, stream) in streams.iter_mut().enumerate() {
        stream.flush(budget, &mut |c: Chunk<'_>| {
            deliver(app, i, c, &mut gaps, keys, outputs)
        });
    }
    for (i, n) in gaps {
        anomalies.emit(
            out,
            ctx.ts,
            Some(ctx.id),
            AnomalyKind::Gap,
            gap_detail(i, n),
        );
    }
    let protocol = app.on_end(keys, outputs);
    emit_outputs(outputs, &ctx, anomalies, summary, certificates, out);
    // A flow whose FINs were both seen ended with `fin`, even if its last ACK never came.
    let reason = match reason {
        CloseReason::Timeout | CloseReason::EndOfCapture
            if flow.streams.iter().all(|s| s.is_finished()) =>
        {
            CloseReason::Fin
        }
        other => other,
    };
    let bytes_c2s = flow.streams[0].delivered_bytes();
    let bytes_s2c = flow.streams[1].delivered_bytes();
    *summary.flows_by_protocol.entry(protocol).or_insert(0) += 1;
    if protocol == Protocol::Tls {
        summary.encrypted_bytes += bytes_c2s + bytes_s2c;
    } else if protocol.is_plaintext() {
        summary.plaintext_bytes += bytes_c2s + bytes_s2c;
    }
    let (tls_records, tls_bytes) = if protocol == Protocol::Tls {
        flow.app.tls_totals()
    } else {
        (0, 0)
    };
    flow.state = FlowState::Closed;
    Event::FlowClose {
        flow: flow.id,
        ts: flow.last_ts,
        reason,
        protocol,
        bytes_c2s,
        bytes_s2c,
        packets: flow.packets,
        missing_bytes: flow.missing_bytes(),
        tls_records,
        tls_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory charged per flow covers what a flow really takes in the table (its entry, its
    /// key, and the hash table's slack), so the memory cap holds.
    #[test]
    fn flow_overhead_is_honest() {
        let entry = std::mem::size_of::<Flow<FlowAnalysis>>() + std::mem::size_of::<FlowKey>();
        assert!(
            crate::flow::FLOW_OVERHEAD >= entry * 8 / 7 + 16,
            "entry {entry} bytes"
        );
    }
}
