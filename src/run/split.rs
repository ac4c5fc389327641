//! `report -j N` on one file: the flows of one capture spread over N engines (shards), their
//! events merged back into the bytes one engine would have written.
//!
//! A reader thread reads the file and does for each packet what spans flows: it counts it,
//! judges its stamp (the clock, idle-expiry ticks, day-long jumps and, when the next packet
//! confirms one, what the flows must be told), decodes it and reassembles IP fragments, writing
//! the anomalies of those steps; then it hands the packet (or the datagram its fragments made),
//! copied into a batch, to the shard its flow's key hashes to. Every shard gets every tick,
//! every settled jump and every key-log block at its place among the packets. The calling thread
//! merges: each event is tagged with the packet it came from (its place in the run) and the
//! step (clock, tick, decoding, the packet itself, damage, the end), and events are put in that
//! order; flows closing at the same tick or at the end are ordered as one engine orders them (by
//! last activity, then by when they opened). The merger then gives flows their run-wide ids,
//! caps anomalies per kind and looks for findings, as one engine does.
//!
//! What one engine decides over all flows at once cannot be split: evicting flows over the
//! memory cap or the flow limit, and keeping retransmission windows within their share. When a
//! shard comes near a point where one engine could have decided differently, the split run
//! stops and says how many events it printed: the caller runs the file again on one engine and
//! prints the rest, so the output is the same bytes either way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::{ControlFlow, Range};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use super::sequential::{InputTotals, RunTotals};
use super::{AnalysisOptions, FilesOutcome};
use crate::base::{Endpoint, FlowId, Timestamp};
use crate::capture::file::FileSource;
use crate::capture::filter::PacketFilter;
use crate::capture::{LinkType, Packet, SourceItem, SECRETS_TLS_KEY_LOG};
use crate::decode::Tunnel;
use crate::engine::{count_finding, AnomalyCap, Delivery, Engine, EngineConfig, Settle};
use crate::event::{Event, Finding, Summary};
use crate::proto::findings::FindingDetector;
use crate::proto::tls::decrypt::KeyLog;

/// A batch goes to the shards when it holds this many packets or bytes, whichever comes first.
const BATCH_PACKETS: usize = 2048;
const BATCH_BYTES: usize = 256 << 10;
/// Batches queued per shard (and per shard for the merger): enough to ride out uneven batches,
/// few enough that memory stays small.
const BATCHES_IN_FLIGHT: usize = 2;
/// The least `--memcap` a run is split under: the shards' tables and the batches in flight
/// (a few MiB per shard) must fit beside what the engines hold.
pub const MIN_SPLIT_MEMCAP: usize = 64 << 20;

/// The steps of one packet, in the order one engine takes them: its stamp is judged, idle
/// flows expire, it is decoded, its flow takes it; damage to the file comes after the packet
/// before it, and the flows left close at the end.
const CLOCK: u8 = 0;
const TICK: u8 = 1;
const READER: u8 = 2;
const PACKET: u8 = 3;
const DAMAGE: u8 = 4;
const END: u8 = 5;

/// How a split run ended.
pub enum SplitOutcome {
    Done(FilesOutcome),
    /// One engine must take the file from the start; the first `printed` events it makes are
    /// out already.
    Fallback {
        printed: u64,
    },
}

/// An event, and where in the file it came from.
struct Tagged {
    /// The packet's place among those the run analyses (1-based); `u64::MAX` at the end.
    seq: u64,
    phase: u8,
    /// Taken by the merger when it prints it.
    event: Option<Event>,
}

/// An event sink that tags each event with its place and step and keeps it in `events`.
fn tagged(events: &mut Vec<Tagged>, seq: u64, phase: u8) -> impl FnMut(Event) + '_ {
    move |event| {
        events.push(Tagged {
            seq,
            phase,
            event: Some(event),
        })
    }
}

/// A packet's place in the run: its sequence number, the time it is read at, its frame, and
/// whether its stamp is suspect ([`crate::engine::Stamp::suspect`]).
#[derive(Debug, Clone, Copy)]
struct Place {
    seq: u64,
    ts: Timestamp,
    frame: u64,
    suspect: bool,
}

enum ShardItem {
    /// The clock's jump is settled; `retime`: this shard had the packet that showed it.
    Settle {
        settle: Settle,
        retime: bool,
    },
    Tick(Place),
    Packet {
        place: Place,
        link: LinkType,
        orig_len: u32,
        data: Range<usize>,
    },
    /// A datagram reassembled from fragments (its payload in the batch's data).
    Datagram {
        place: Place,
        header: (IpAddr, IpAddr, u8, Option<Tunnel>, u8),
        data: Range<usize>,
    },
    /// A key log found in the file (its text in the batch's data).
    Secrets(Range<usize>),
}

/// Work for one shard: items, their bytes in one buffer. Sent back empty for reuse.
#[derive(Default)]
struct ShardBatch {
    items: Vec<ShardItem>,
    data: Vec<u8>,
}

enum ToShard {
    Batch(ShardBatch),
    End,
}

enum FromShard {
    Batch(Vec<Tagged>),
    End(Vec<Tagged>, Summary),
}

enum FromReader {
    /// The reader's own events for a batch every shard has been sent too.
    Batch { events: Vec<Tagged>, bytes: u64 },
    End {
        summary: Summary,
        span: Option<(Timestamp, Timestamp)>,
    },
    /// A packet needs one engine (or the shards got too full).
    Stop,
}

/// Analyses the capture at `path` on `shards` engines (see the module's comment). `progress`
/// gets the bytes read so far.
pub fn analyse_split<F: FnMut(Event)>(
    path: &Path,
    opts: &AnalysisOptions,
    shards: usize,
    progress: &mut dyn FnMut(u64),
    out: &mut F,
) -> SplitOutcome {
    let shards = shards.max(1);
    // Whatever stops the run before its first event (a file that cannot be opened, a filter
    // that does not compile) is one engine's to say, in its words.
    let Ok(source) = FileSource::open(path) else {
        return SplitOutcome::Fallback { printed: 0 };
    };
    let filter = match opts.filter.as_deref().map(PacketFilter::new).transpose() {
        Ok(filter) => filter,
        Err(_) => return SplitOutcome::Fallback { printed: 0 },
    };
    let mut config = opts.engine.clone();
    config.keylog = config.keylog.as_ref().map(KeyLog::detached);
    // The first packet at which a shard holds so much that one engine might have evicted or
    // stopped keeping windows: nothing from there on is printed.
    let pressure = AtomicU64::new(u64::MAX);
    let (to_merger, from_reader) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let mut to_shards = Vec::with_capacity(shards);
    let mut from_shards = Vec::with_capacity(shards);
    let mut recycled = Vec::with_capacity(shards);
    let mut shard_ends = Vec::with_capacity(shards);
    // Emptied event buffers, back from the merger: the reader's, then each shard's.
    let (returns, mut returned): (Vec<_>, Vec<_>) =
        (0..=shards).map(|_| mpsc::channel::<Vec<Tagged>>()).unzip();
    let reader_returned = returned.remove(0);
    for returned in returned {
        let (to_shard, shard_in) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let (shard_out, from_shard) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let (recycle, reuse) = mpsc::channel();
        to_shards.push(to_shard);
        from_shards.push(from_shard);
        recycled.push(reuse);
        shard_ends.push(ShardEnds {
            input: shard_in,
            output: shard_out,
            recycle,
            returned,
        });
    }
    std::thread::scope(|scope| {
        let pressure = &pressure;
        for ends in shard_ends {
            // Each its own copy of the secrets: a key log found in the file reaches each shard
            // at its place among the packets, as it reaches one engine.
            let engine = Engine::shard(EngineConfig {
                keylog: config.keylog.as_ref().map(KeyLog::detached),
                ..config.clone()
            });
            scope.spawn(move || run_shard(engine, shards, &ends, pressure));
        }
        let reader = Reader {
            engine: Engine::shard(EngineConfig {
                keylog: None,
                ..config.clone()
            }),
            filter,
            to_shards,
            recycled,
            to_merger,
            pressure,
            batches: (0..shards).map(|_| ShardBatch::default()).collect(),
            events: Vec::new(),
            returned: reader_returned,
            suspect_shard: None,
            batch_packets: 0,
            batch_bytes: 0,
            bytes: 0,
        };
        scope.spawn(move || reader.run(source));
        let mut merger = Merger::new(out, pressure, returns);
        // The merger owns the receiving ends: when it stops early they close, and every thread
        // waiting to send to it finishes.
        merger.run(from_reader, from_shards, progress)
    })
}

/// The reader thread's state.
struct Reader<'a> {
    engine: Engine,
    filter: Option<PacketFilter>,
    to_shards: Vec<SyncSender<ToShard>>,
    recycled: Vec<Receiver<ShardBatch>>,
    to_merger: SyncSender<FromReader>,
    pressure: &'a AtomicU64,
    batches: Vec<ShardBatch>,
    events: Vec<Tagged>,
    returned: Receiver<Vec<Tagged>>,
    /// The shard that got the latest packet with a suspect stamp.
    suspect_shard: Option<usize>,
    batch_packets: usize,
    batch_bytes: usize,
    /// Bytes of the file read so far (packet data and record headers, approximately).
    bytes: u64,
}

impl Reader<'_> {
    /// One packet: its stamp and its anomalies here, its flow's work to its shard.
    fn packet(&mut self, seq: u64, p: &Packet<'_>) {
        let events = &mut self.events;
        let stamp = self.engine.read_stamp(p, &mut tagged(events, seq, CLOCK));
        let place = Place {
            seq,
            ts: stamp.ts,
            frame: p.frame,
            suspect: stamp.suspect,
        };
        if let Some(settle) = stamp.settle {
            for (index, batch) in self.batches.iter_mut().enumerate() {
                let retime = self.suspect_shard == Some(index);
                batch.items.push(ShardItem::Settle { settle, retime });
            }
        }
        if stamp.tick {
            for batch in &mut self.batches {
                batch.items.push(ShardItem::Tick(place));
            }
        }
        let delivery = self
            .engine
            .read_flow(stamp.ts, p, &mut tagged(events, seq, READER));
        self.batch_packets += 1;
        let shards = self.batches.len();
        let shard = delivery.as_ref().map(|d| match d {
            Delivery::Packet(key) | Delivery::Reassembled { key, .. } => key.shard(shards),
        });
        if stamp.suspect {
            self.suspect_shard = shard;
        }
        let (Some(delivery), Some(batch)) = (delivery, shard.and_then(|i| self.batches.get_mut(i)))
        else {
            return;
        };
        let start = batch.data.len();
        match delivery {
            Delivery::Packet(_) => {
                batch.data.extend_from_slice(p.data);
                batch.items.push(ShardItem::Packet {
                    place,
                    link: p.link,
                    orig_len: p.orig_len,
                    data: start..batch.data.len(),
                });
            }
            Delivery::Reassembled {
                src,
                dst,
                ip_number,
                tunnel,
                depth,
                payload,
                ..
            } => {
                batch.data.extend_from_slice(&payload);
                batch.items.push(ShardItem::Datagram {
                    place,
                    header: (src, dst, ip_number, tunnel, depth),
                    data: start..batch.data.len(),
                });
            }
        }
        self.batch_bytes += batch.data.len() - start;
    }

    fn run(mut self, mut source: FileSource) {
        let name = source.name().to_string();
        let mut seq = 0u64;
        let mut stop = false;
        let mut gone = false;
        source.for_each(|item| {
            match item {
                SourceItem::Packet(p) => {
                    self.bytes += p.data.len() as u64 + 16;
                    if !self.filter.as_mut().is_none_or(|f| f.matches(&p)) {
                        return ControlFlow::Continue(());
                    }
                    seq += 1;
                    if self.pressure.load(Ordering::Relaxed) != u64::MAX {
                        stop = true;
                        return ControlFlow::Break(());
                    }
                    self.packet(seq, &p);
                }
                SourceItem::Secrets { secrets_type, data } => {
                    if secrets_type == SECRETS_TLS_KEY_LOG {
                        for batch in &mut self.batches {
                            let start = batch.data.len();
                            batch.data.extend_from_slice(data);
                            batch
                                .items
                                .push(ShardItem::Secrets(start..batch.data.len()));
                        }
                    }
                }
                SourceItem::Damage { detail, .. } => {
                    let events = &mut self.events;
                    self.engine
                        .damaged_input(&name, &detail, &mut tagged(events, seq, DAMAGE));
                }
            }
            if (self.batch_packets >= BATCH_PACKETS || self.batch_bytes >= BATCH_BYTES)
                && !self.flush()
            {
                gone = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if gone {
            return;
        }
        if stop {
            // The shards see their channels close and finish; the merger prints what came
            // before `seq` and hands over.
            let _ = self.to_merger.send(FromReader::Stop);
            return;
        }
        // A last stamp far from the clock had nothing after it to confirm the jump.
        let events = &mut self.events;
        self.engine.read_end(&mut tagged(events, u64::MAX, CLOCK));
        if !self.flush() {
            return;
        }
        for to_shard in &self.to_shards {
            let _ = to_shard.send(ToShard::End);
        }
        let _ = self.to_merger.send(FromReader::End {
            summary: self.engine.summary(),
            span: self.engine.span(),
        });
    }

    /// Sends the batch to every shard (each gets one, empty or not, so that the merger can take
    /// one from each) and the reader's own events to the merger. False when the run is over
    /// (the merger is gone).
    fn flush(&mut self) -> bool {
        for ((batch, to_shard), recycled) in self
            .batches
            .iter_mut()
            .zip(&self.to_shards)
            .zip(&self.recycled)
        {
            let next = recycled.try_recv().unwrap_or_default();
            if to_shard
                .send(ToShard::Batch(std::mem::replace(batch, next)))
                .is_err()
            {
                return false;
            }
        }
        self.batch_packets = 0;
        self.batch_bytes = 0;
        let next = self.returned.try_recv().unwrap_or_default();
        let events = std::mem::replace(&mut self.events, next);
        self.to_merger
            .send(FromReader::Batch {
                events,
                bytes: self.bytes,
            })
            .is_ok()
    }
}

/// A shard's channels: batches in, events out, emptied batches back to the reader, emptied
/// event buffers back from the merger.
struct ShardEnds {
    input: Receiver<ToShard>,
    output: SyncSender<FromShard>,
    recycle: Sender<ShardBatch>,
    returned: Receiver<Vec<Tagged>>,
}

/// A shard's thread: its packets through its engine, its events back to the merger.
fn run_shard(mut engine: Engine, shards: usize, ends: &ShardEnds, pressure: &AtomicU64) {
    let ShardEnds {
        input,
        output,
        recycle,
        returned,
    } = ends;
    // Within these, the shards together hold less than one engine may before it evicts flows
    // (a quarter of the cap, or of the flow limit) or stops keeping retransmission windows (an
    // eighth of the cap is theirs, a sixteenth here): one engine would have decided nothing
    // differently.
    let memcap = engine.memcap();
    let most_memory = memcap / 4 / shards;
    let most_retained = memcap / 16 / shards;
    let most_flows = engine.max_flows() / 4 / shards;
    // Once a shard is too full at some packet, nothing from there on is printed: every shard
    // stops there (and goes on with the packets before it, whoever got too full first).
    let past = |place: Place| place.seq >= pressure.load(Ordering::Relaxed);
    // Marks the packet after which this shard holds too much; true then.
    let too_full = |engine: &Engine, seq: u64| {
        let (memory, retained, flows) = engine.holdings();
        let over = memory > most_memory || retained > most_retained || flows > most_flows;
        if over {
            pressure.fetch_min(seq, Ordering::Relaxed);
        }
        over
    };
    while let Ok(message) = input.recv() {
        let mut events = returned.try_recv().unwrap_or_default();
        match message {
            ToShard::Batch(mut batch) => {
                for item in batch.items.drain(..) {
                    // Nothing from the packet a shard got too full at on (see `too_full`).
                    let (place, packet) = match &item {
                        ShardItem::Tick(place) => (Some(*place), false),
                        ShardItem::Packet { place, .. } | ShardItem::Datagram { place, .. } => {
                            (Some(*place), true)
                        }
                        ShardItem::Settle { .. } | ShardItem::Secrets(_) => (None, false),
                    };
                    if place.is_some_and(past) {
                        break;
                    }
                    match item {
                        ShardItem::Settle { settle, retime } => {
                            engine.settle(settle, retime);
                        }
                        ShardItem::Tick(place) => {
                            engine.shard_tick(
                                place.ts,
                                place.frame,
                                &mut tagged(&mut events, place.seq, TICK),
                            );
                        }
                        ShardItem::Packet {
                            place,
                            link,
                            orig_len,
                            data,
                        } => {
                            let Some(data) = batch.data.get(data) else {
                                continue;
                            };
                            let packet = Packet {
                                ts: place.ts,
                                frame: place.frame,
                                link,
                                data,
                                orig_len,
                            };
                            engine.shard_packet(
                                place.seq,
                                place.ts,
                                &packet,
                                place.suspect,
                                &mut tagged(&mut events, place.seq, PACKET),
                            );
                        }
                        ShardItem::Datagram {
                            place,
                            header,
                            data,
                        } => {
                            let Some(data) = batch.data.get(data) else {
                                continue;
                            };
                            engine.shard_datagram(
                                place.seq,
                                place.ts,
                                place.frame,
                                place.suspect,
                                header,
                                data,
                                &mut tagged(&mut events, place.seq, PACKET),
                            );
                        }
                        ShardItem::Secrets(range) => {
                            if let Some(text) = batch.data.get(range) {
                                // Unreadable lines are skipped, as one engine does.
                                let _ = engine.add_secrets(text);
                            }
                        }
                    }
                    if let (true, Some(place)) = (packet, place) {
                        if too_full(&engine, place.seq) {
                            break;
                        }
                    }
                }
                batch.items.clear();
                batch.data.clear();
                let _ = recycle.send(batch);
                if output.send(FromShard::Batch(events)).is_err() {
                    return;
                }
            }
            ToShard::End => {
                engine.end_of_input(&mut tagged(&mut events, u64::MAX, END));
                let _ = output.send(FromShard::End(events, engine.summary()));
                return;
            }
        }
    }
}

/// The calling thread's part: the events of every batch in one engine's order, with run-wide
/// flow ids, capped anomalies and findings.
struct Merger<'o, F> {
    out: &'o mut F,
    pressure: &'o AtomicU64,
    /// Flows open now: (part, the shard's id) to the run's id and server.
    open: HashMap<(usize, FlowId), (FlowId, Endpoint)>,
    /// The last run-wide flow id given.
    last_id: FlowId,
    anomalies: AnomalyCap,
    detector: FindingDetector,
    found: Vec<Finding>,
    findings: Summary,
    printed: u64,
    /// The merge's order, its memory kept from batch to batch.
    order: Vec<MergeKey>,
    /// Where emptied event buffers go back for reuse: the reader's first, then each shard's.
    returns: Vec<Sender<Vec<Tagged>>>,
}

impl<'o, F: FnMut(Event)> Merger<'o, F> {
    fn new(out: &'o mut F, pressure: &'o AtomicU64, returns: Vec<Sender<Vec<Tagged>>>) -> Self {
        Merger {
            out,
            pressure,
            open: HashMap::new(),
            last_id: 0,
            anomalies: AnomalyCap::default(),
            detector: FindingDetector::default(),
            found: Vec::new(),
            findings: Summary::default(),
            printed: 0,
            order: Vec::new(),
            returns,
        }
    }

    fn run(
        &mut self,
        from_reader: Receiver<FromReader>,
        from_shards: Vec<Receiver<FromShard>>,
        progress: &mut dyn FnMut(u64),
    ) -> SplitOutcome {
        let fallback = |printed| SplitOutcome::Fallback { printed };
        loop {
            // A thread that stopped without a word (a panic) leaves the run to one engine.
            let Ok(message) = from_reader.recv() else {
                return fallback(self.printed);
            };
            match message {
                FromReader::Batch { events, bytes } => {
                    let mut parts = vec![events];
                    for from_shard in &from_shards {
                        match from_shard.recv() {
                            Ok(FromShard::Batch(events)) => parts.push(events),
                            _ => return fallback(self.printed),
                        }
                    }
                    self.merge(&mut parts);
                    self.give_back(parts);
                    progress(bytes);
                }
                FromReader::Stop => return fallback(self.printed),
                FromReader::End { summary, span } => {
                    let mut total = summary;
                    let mut parts = vec![Vec::new()];
                    for from_shard in &from_shards {
                        match from_shard.recv() {
                            Ok(FromShard::End(events, summary)) => {
                                total.absorb(&summary);
                                parts.push(events);
                            }
                            _ => return fallback(self.printed),
                        }
                    }
                    self.merge(&mut parts);
                    if self.pressure.load(Ordering::Acquire) != u64::MAX {
                        return fallback(self.printed);
                    }
                    total.anomalies = self.anomalies.total;
                    total.findings = self.findings.findings;
                    total.findings_by_kind = std::mem::take(&mut self.findings.findings_by_kind);
                    let mut totals = RunTotals::default();
                    totals.add(Ok(InputTotals {
                        summary: total,
                        span,
                        flow_ids: self.last_id,
                        stopped: false,
                    }));
                    return SplitOutcome::Done(totals.finish(self.out));
                }
            }
        }
    }

    /// The emptied event buffers back to the threads that filled them.
    fn give_back(&self, parts: Vec<Vec<Tagged>>) {
        for (mut events, back) in parts.into_iter().zip(&self.returns) {
            events.clear();
            let _ = back.send(events);
        }
    }

    /// One batch's events from every part (the reader's first, then each shard's), printed in
    /// one engine's order up to the packet where the shards got too full.
    fn merge(&mut self, parts: &mut [Vec<Tagged>]) {
        let limit = match self.pressure.load(Ordering::Acquire) {
            u64::MAX => None,
            seq => Some(seq),
        };
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        for (part, events) in parts.iter().enumerate() {
            // Flows closing at one tick (or at the end) each leave as a group of events ending
            // with its `flow_close`; groups are ordered by last activity, then by id.
            let mut group_start = order.len();
            let mut step = (0, u8::MAX);
            for (index, tagged) in events.iter().enumerate() {
                if (tagged.seq, tagged.phase) != step {
                    step = (tagged.seq, tagged.phase);
                    group_start = order.len();
                }
                order.push(MergeKey {
                    seq: tagged.seq,
                    phase: tagged.phase,
                    group: (u64::MAX, FlowId::MAX),
                    part,
                    index,
                });
                if matches!(tagged.phase, TICK | END) {
                    if let Some(Event::FlowClose(close)) = &tagged.event {
                        let at = if tagged.phase == TICK { close.ts.0 } else { 0 };
                        for key in order.iter_mut().skip(group_start) {
                            key.group = (at, close.flow);
                        }
                        group_start = order.len();
                    }
                }
            }
        }
        order.sort_unstable();
        for key in &order {
            if limit.is_some_and(|limit| key.seq >= limit) {
                break;
            }
            let taken = parts
                .get_mut(key.part)
                .and_then(|events| events.get_mut(key.index))
                .and_then(|tagged| tagged.event.take());
            if let Some(event) = taken {
                self.emit(key.part, event);
            }
        }
        self.order = order;
    }

    /// One event out, as one engine writes it.
    fn emit(&mut self, part: usize, mut event: Event) {
        let mut closed = None;
        let mut server = None;
        match &mut event {
            Event::FlowOpen(open) => {
                self.last_id += 1;
                self.open
                    .insert((part, open.flow), (self.last_id, open.server));
                open.flow = self.last_id;
            }
            Event::FlowClose(close) => closed = Some((part, close.flow)),
            Event::Anomaly(anomaly) => {
                match self
                    .anomalies
                    .admit(anomaly.kind, std::mem::take(&mut anomaly.detail))
                {
                    Some(detail) => anomaly.detail = detail,
                    None => return,
                }
            }
            _ => {}
        }
        if !matches!(event, Event::FlowOpen(_)) {
            if let Some(id) = event.flow_mut() {
                if let Some(&(global, at)) = self.open.get(&(part, *id)) {
                    *id = global;
                    server = Some(at);
                }
            }
        }
        self.detector.observe(&event, server, &mut self.found);
        if let (Some(key), Some(global)) = (closed, event.flow()) {
            self.open.remove(&key);
            self.detector.flow_closed(global);
        }
        (self.out)(event);
        self.printed += 1;
        for finding in self.found.drain(..) {
            count_finding(&mut self.findings, finding.kind);
            (self.out)(Event::Finding(finding));
            self.printed += 1;
        }
    }
}

/// Where a merged event goes: by packet, step, group (for flows closing together), then as it
/// came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct MergeKey {
    seq: u64,
    phase: u8,
    group: (u64, FlowId),
    part: usize,
    index: usize,
}
