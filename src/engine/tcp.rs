//! TCP policy: which segment belongs to which flow, who the client is, when a flow ends and why.
//! The flow table and reassembly are `flow`'s; the application layer is `proto`'s; this joins
//! them and reports through the [`Recorder`].

use std::net::SocketAddr;

use super::record::{At, FlowContext, Recorder};
use crate::base::{Endpoint, FlowId, Timestamp};
use crate::decode::{TcpSegment, Tunnel};
use crate::event::{AnomalyKind, CloseReason, Event, FlowClose, FlowOpen, Protocol, Transport};
use crate::flow::{
    Chunk, Direction, Flow, FlowKey, FlowLimits, FlowState, FlowTable, MemoryBudget, Removed,
};
use crate::proto::analysis::{FlowAnalysis, Output};
use crate::proto::dns;
use crate::proto::StreamContext;

/// The flows of one input: TCP connections, and QUIC connections over UDP (`udp.rs`).
pub(crate) struct FlowTracker {
    pub(super) table: FlowTable<FlowAnalysis>,
    pub(super) next_flow_id: FlowId,
    /// The capture second of the last `memory_limit` anomaly: at most one a second.
    last_memory_anomaly_sec: Option<u64>,
    /// The flow the latest segment went to (for the engine's clock, see `retime`).
    pub(super) last_key: Option<FlowKey>,
}

/// Who a new flow's endpoints are, and how it travels.
pub(super) struct Opening {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub handshake_seen: bool,
    pub tunnel: Option<Tunnel>,
    pub transport: Transport,
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

impl FlowTracker {
    pub fn new(limits: FlowLimits) -> FlowTracker {
        FlowTracker {
            table: FlowTable::new(limits),
            next_flow_id: 1,
            last_memory_anomaly_sec: None,
            last_key: None,
        }
    }

    /// Memory held by the flow table now (buffers and flow state).
    pub fn memory(&self) -> usize {
        self.table.memory()
    }

    /// Memory, of which retransmission windows, and flows held now.
    pub fn holdings(&self) -> (usize, usize, usize) {
        (
            self.table.memory(),
            self.table.budget.retained,
            self.table.len(),
        )
    }

    pub fn memcap(&self) -> usize {
        self.table.limits.memcap
    }

    pub fn max_flows(&self) -> usize {
        self.table.limits.max_flows
    }

    /// How many flow ids have been handed out (they are 1..=n).
    pub fn flow_ids_used(&self) -> u64 {
        self.next_flow_id - 1
    }

    /// One TCP segment from `src` to `dst`.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<F: FnMut(Event)>(
        &mut self,
        at: At,
        src: SocketAddr,
        dst: SocketAddr,
        tunnel: Option<Tunnel>,
        seg: &TcpSegment<'_>,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        let key = FlowKey::new(src, dst, tunnel.map_or(0, |t| t.id));
        self.last_key = Some(key);
        // One lookup on the common path: an existing flow is processed under the same borrow.
        let existing = match self.table.get_with_budget(&key) {
            Some((flow, budget)) => match classify(flow, seg) {
                Segment::Straggler => return,
                Segment::Existing => {
                    Some(process_segment(flow, budget, at, src, seg, base, rec, out))
                }
                Segment::NewConnection => None,
            },
            None => None,
        };
        let close = match existing {
            Some(close) => close,
            None => {
                self.open_flow(key, at, src, dst, tunnel, seg, base, rec, out);
                let Some((flow, budget)) = self.table.get_with_budget(&key) else {
                    return;
                };
                process_segment(flow, budget, at, src, seg, base, rec, out)
            }
        };
        if let Some(reason) = close {
            if let Some((flow, budget)) = self.table.get_with_budget(&key) {
                // Closed in the table, where it stays a while to absorb stragglers.
                let close = finish_flow(flow, reason, budget, base, rec, out);
                out(Event::FlowClose(close));
            }
            self.table.mark_closed(&key);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open_flow<F: FnMut(Event)>(
        &mut self,
        key: FlowKey,
        at: At,
        src: SocketAddr,
        dst: SocketAddr,
        tunnel: Option<Tunnel>,
        seg: &TcpSegment<'_>,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        let (client, server, handshake_seen) = guess_client(src, dst, seg);
        let app = FlowAnalysis::new(dns::is_dns_port(server.port()));
        let opening = Opening {
            client,
            server,
            handshake_seen,
            tunnel,
            transport: Transport::Tcp,
        };
        self.open(key, at, opening, app, base, rec, out);
    }

    /// A new flow: its id, its `flow_open` event, its place in the table (which may evict
    /// others, closed here).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn open<F: FnMut(Event)>(
        &mut self,
        key: FlowKey,
        at: At,
        opening: Opening,
        app: FlowAnalysis,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        let Opening {
            client,
            server,
            handshake_seen,
            tunnel,
            transport,
        } = opening;
        let id = self.next_flow_id;
        self.next_flow_id += 1;
        rec.summary.flows += 1;
        out(Event::FlowOpen(FlowOpen {
            flow: id,
            ts: at.ts,
            frame: at.frame,
            client: Endpoint(client),
            server: Endpoint(server),
            handshake_seen,
            transport,
            tunnel: tunnel.map(|t| t.to_string()),
            // The run names the input, when it reads several.
            input: None,
        }));
        let flow = Flow {
            id,
            client,
            server,
            handshake_seen,
            first_ts: at.ts,
            last_ts: at.ts,
            last_frame: at.frame,
            packets: 0,
            state: FlowState::Open,
            streams: Default::default(),
            app,
            app_memory: 0,
        };
        let removed = self.table.insert(key, flow);
        let evicted = removed
            .iter()
            .filter(|r| r.reason == CloseReason::Evicted)
            .count();
        self.report_evictions(evicted, "flow table full", at, rec, out);
        self.close_removed(removed, base, rec, out);
    }

    /// Flows idle past their timeout (capture time) end with `timeout`.
    /// The flow the latest segment went to, forgotten once asked.
    pub fn take_last_key(&mut self) -> Option<FlowKey> {
        self.last_key.take()
    }

    /// A flow's last activity moves on to `ts`: a packet it got was read at the capture's time
    /// because its stamp looked wrong, and the capture then proved the stamp right.
    pub fn retime(&mut self, key: &FlowKey, ts: Timestamp) {
        if let Some((flow, _)) = self.table.get_with_budget(key) {
            flow.last_ts = flow.last_ts.max(ts);
        }
    }

    /// See [`FlowTable::cap_activity`].
    pub fn cap_activity(&mut self, ts: Timestamp) {
        self.table.cap_activity(ts);
    }

    pub fn expire<F: FnMut(Event)>(
        &mut self,
        now: Timestamp,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        let removed = self.table.expire(now);
        self.close_removed(removed, base, rec, out);
    }

    /// Over the memory cap, the flows holding the most are evicted.
    pub fn enforce_memcap<F: FnMut(Event)>(
        &mut self,
        now: At,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        if self.table.memory() <= self.table.limits.memcap {
            return;
        }
        let removed = self.table.enforce_memcap();
        self.report_evictions(
            removed.len(),
            "reassembly memory over --memcap",
            now,
            rec,
            out,
        );
        self.close_removed(removed, base, rec, out);
    }

    pub(super) fn report_evictions<F: FnMut(Event)>(
        &mut self,
        count: usize,
        why: &str,
        now: At,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        if count == 0 {
            return;
        }
        // One anomaly per second of capture time at most: a flood must not drown the stream.
        let sec = now.ts.secs();
        if self.last_memory_anomaly_sec == Some(sec) {
            return;
        }
        self.last_memory_anomaly_sec = Some(sec);
        let limits = self.table.limits;
        rec.anomaly(
            out,
            now.ts,
            Some(now.frame),
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

    /// Closes flows already taken out of the table.
    pub(super) fn close_removed<F: FnMut(Event)>(
        &mut self,
        removed: Vec<Removed<FlowAnalysis>>,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        for Removed { mut flow, reason } in removed {
            let budget = &mut self.table.budget;
            // An evicted flow's buffers are already gone: what it held is cut, not delivered.
            let mut no_buffers = MemoryBudget::default();
            let flush_budget = if reason == CloseReason::Evicted {
                &mut no_buffers
            } else {
                &mut *budget
            };
            let close = finish_flow(&mut flow, reason, flush_budget, base, rec, out);
            out(Event::FlowClose(close));
            flow.release(budget);
        }
    }

    /// The end of the input: every open flow closes with `end_of_capture`, in id order.
    pub fn end_of_input<F: FnMut(Event)>(
        &mut self,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        let mut scratch = MemoryBudget::default();
        for mut flow in self.table.drain_open() {
            let close = finish_flow(
                &mut flow,
                CloseReason::EndOfCapture,
                &mut scratch,
                base,
                rec,
                out,
            );
            out(Event::FlowClose(close));
        }
    }
}

/// The client sent the SYN; without one, the higher port, or failing that the first sender.
/// Returns (client, server, whether the handshake was seen).
fn guess_client(
    src: SocketAddr,
    dst: SocketAddr,
    seg: &TcpSegment<'_>,
) -> (SocketAddr, SocketAddr, bool) {
    if seg.flags.syn && !seg.flags.ack {
        (src, dst, true)
    } else if seg.flags.syn {
        (dst, src, true)
    } else if dst.port() > src.port() {
        (dst, src, false)
    } else {
        (src, dst, false)
    }
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

/// Hands a reassembled chunk of one direction to the flow's application layer, noting holes.
fn deliver(
    app: &mut FlowAnalysis,
    dir: Direction,
    chunk: Chunk<'_>,
    gaps: &mut Vec<(Direction, u64)>,
    ctx: &StreamContext<'_>,
    pending: &mut Vec<Output>,
) {
    if let Chunk::Gap(n) = chunk {
        gaps.push((dir, n));
    }
    app.on_chunk(dir, chunk, ctx, pending);
}

fn report_gaps<F: FnMut(Event)>(
    gaps: Vec<(Direction, u64)>,
    ctx: &FlowContext,
    rec: &mut Recorder,
    out: &mut F,
) {
    for (dir, n) in gaps {
        let detail = format!(
            "{n} bytes never seen ({}); the stream goes on after the hole",
            dir.describe()
        );
        rec.anomaly(
            out,
            ctx.at.ts,
            Some(ctx.at.frame),
            Some(ctx.id),
            AnomalyKind::Gap,
            detail,
        );
    }
}

pub(super) fn context_of<A>(flow: &Flow<A>, at: At) -> FlowContext {
    FlowContext {
        id: flow.id,
        at,
        client: Endpoint(flow.client),
        server: Endpoint(flow.server),
    }
}

/// Runs one segment through its flow: reassembly, the application layer, anomalies and events.
/// Returns how the flow ends with this packet, if it does.
#[allow(clippy::too_many_arguments)]
fn process_segment<F: FnMut(Event)>(
    flow: &mut Flow<FlowAnalysis>,
    budget: &mut MemoryBudget,
    at: At,
    src: SocketAddr,
    seg: &TcpSegment<'_>,
    base: StreamContext<'_>,
    rec: &mut Recorder,
    out: &mut F,
) -> Option<CloseReason> {
    flow.packets += 1;
    flow.last_ts = at.ts;
    flow.last_frame = at.frame;
    let dir = flow.direction_of(src);
    let mut seq = seg.seq;
    if seg.flags.syn {
        flow.streams[dir.index()].syn(seg.seq);
        seq = seq.wrapping_add(1);
    }
    let ctx = context_of(flow, at);
    let mut gaps = Vec::new();
    let Flow { streams, app, .. } = flow;
    let [c2s, s2c] = streams;
    let (this, other) = match dir {
        Direction::ClientToServer => (c2s, s2c),
        Direction::ServerToClient => (s2c, c2s),
    };
    let pending = &mut rec.pending;
    // Bytes delivered now came in this packet (or, held out of order, are completed by it).
    let stream_ctx = StreamContext {
        frame: at.frame,
        ..base
    };
    let mut conflict = false;
    if !seg.payload.is_empty() || seg.flags.fin {
        let mut sink = |c: Chunk<'_>| deliver(app, dir, c, &mut gaps, &stream_ctx, pending);
        conflict = this
            .segment(seq, seg.payload, seg.flags.fin, budget, &mut sink)
            .conflict;
    }
    if seg.flags.ack {
        let back = dir.reverse();
        let mut sink = |c: Chunk<'_>| deliver(app, back, c, &mut gaps, &stream_ctx, pending);
        other.peer_ack(seg.ack, budget, &mut sink);
    }
    let held = flow.app.held();
    flow.charge_app(held, budget);
    if conflict {
        rec.anomaly(
            out,
            at.ts,
            Some(at.frame),
            Some(ctx.id),
            AnomalyKind::OverlapConflict,
            format!(
                "a retransmitted segment from {src} (seq {}) carries different bytes than the first copy; the first copy is kept",
                seg.seq
            ),
        );
    }
    report_gaps(gaps, &ctx, rec, out);
    rec.emit_pending(&ctx, out);
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

/// Flushes a flow's streams, settles its protocol and counts it in the totals; returns its
/// `flow_close` event.
fn finish_flow<F: FnMut(Event)>(
    flow: &mut Flow<FlowAnalysis>,
    reason: CloseReason,
    budget: &mut MemoryBudget,
    base: StreamContext<'_>,
    rec: &mut Recorder,
    out: &mut F,
) -> FlowClose {
    let ctx = context_of(
        flow,
        At {
            ts: flow.last_ts,
            frame: flow.last_frame,
        },
    );
    let Flow { streams, app, .. } = flow;
    let mut gaps = Vec::new();
    let pending = &mut rec.pending;
    let stream_ctx = StreamContext {
        frame: ctx.at.frame,
        ..base
    };
    for (dir, stream) in Direction::BOTH.into_iter().zip(streams.iter_mut()) {
        stream.flush(budget, &mut |c: Chunk<'_>| {
            deliver(app, dir, c, &mut gaps, &stream_ctx, pending)
        });
    }
    report_gaps(gaps, &ctx, rec, out);
    let protocol = app.on_end(&stream_ctx, &mut rec.pending);
    rec.emit_pending(&ctx, out);
    // A flow whose FINs were both seen ended with `fin`, even if its last ACK never came.
    let reason = match reason {
        CloseReason::Timeout | CloseReason::EndOfCapture
            if flow.streams.iter().all(|s| s.is_finished()) =>
        {
            CloseReason::Fin
        }
        other => other,
    };
    let starttls = flow.app.starttls();
    let (tls_records, tls_bytes) = if protocol == Protocol::Tls || starttls {
        flow.app.tls_totals()
    } else {
        (0, 0)
    };
    flow.state = FlowState::Closed;
    // A QUIC flow counts its datagrams' payloads; a TCP flow, its streams.
    let (bytes, transport) = match flow.app.datagram_bytes() {
        Some(bytes) => (bytes, Transport::Udp),
        None => (
            [
                flow.streams[0].delivered_bytes(),
                flow.streams[1].delivered_bytes(),
            ],
            Transport::Tcp,
        ),
    };
    let close = FlowClose {
        flow: flow.id,
        ts: flow.last_ts,
        frame: flow.last_frame,
        reason,
        protocol,
        bytes_c2s: bytes[0],
        bytes_s2c: bytes[1],
        packets: flow.packets,
        missing_bytes: flow.missing_bytes(),
        tls_records,
        tls_bytes,
        transport,
        starttls,
    };
    rec.flow_closed(&close);
    close
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flow table fits its share of the memory cap at its largest, and charges its
    /// arrays from the start.
    #[test]
    fn the_flow_table_fits_its_share_of_the_cap() {
        for memcap in [1usize << 20, 16 << 20, 256 << 20] {
            let table: FlowTable<FlowAnalysis> = FlowTable::new(FlowLimits::from_memcap(memcap));
            let entry = std::mem::size_of::<Flow<FlowAnalysis>>() + std::mem::size_of::<FlowKey>();
            // Half of 7/8 of the buckets are used: 16/7 buckets a flow at the largest.
            let largest = table.limits.max_flows * 16 / 7 * entry;
            assert!(largest <= memcap / 2, "{memcap}: {largest}");
            assert!(table.memory() >= 32 * entry, "{memcap}: {}", table.memory());
            assert!(
                table.limits.max_flows >= 100,
                "{memcap}: {}",
                table.limits.max_flows
            );
        }
    }
}
