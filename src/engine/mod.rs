//! The engine: packets in, [`Event`]s out. It knows nothing of how events are shown.
//!
//! Split by job, so each part borrows apart from the others: this module takes packets (the
//! clock, decoding, IP fragments, UDP); [`tcp`] holds the TCP policy over the flow table; and
//! [`record`] turns findings into events and keeps the run's totals.

mod record;
mod tcp;
mod udp;

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use crate::base::Timestamp;
use crate::capture::{LinkType, Packet};
use crate::decode::defrag::{DefragOutcome, Defragmenter};
use crate::decode::{self, Body, DecodeError, UdpDatagram};
use crate::event::{AnomalyKind, DnsQuery, Endpoint, Event, Summary};
use crate::flow::{FlowKey, FlowLimits};
use crate::proto::dns;
use crate::proto::tls::decrypt::KeyLog;
use crate::proto::StreamContext;
use record::{At, Recorder};
use tcp::FlowTracker;

pub use record::MAX_ANOMALIES_SHOWN_PER_KIND;
pub(crate) use record::{count_finding, AnomalyCap};

/// Default `--payload-bytes` (and what the UI keeps of each stream): 64 KiB.
pub const DEFAULT_PAYLOAD_BYTES: usize = 64 << 10;

/// Reassembled datagrams inside reassembled datagrams (through tunnels) followed at most.
const MAX_REASSEMBLY_DEPTH: u8 = 3;

/// Default `--memcap`: 256 MiB.
pub const DEFAULT_MEMCAP: usize = 256 << 20;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub memcap: usize,
    /// `--keylog`: TLS secrets to decrypt with.
    pub keylog: Option<KeyLog>,
    /// `--payload-bytes` when `payload` and `tls_record` events are wanted (`report
    /// --payloads`, the UI); `None` costs nothing.
    pub payloads: Option<usize>,
    /// `--ca`: certificates (DER) trusted besides Mozilla's roots.
    pub roots: std::sync::Arc<Vec<Vec<u8>>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            memcap: DEFAULT_MEMCAP,
            keylog: None,
            payloads: None,
            roots: Default::default(),
        }
    }
}

/// The capture's clock as the engine has seen it.
#[derive(Debug, Default)]
struct Clock {
    first: Option<Timestamp>,
    /// The latest packet's time (capture times may step back).
    last: Timestamp,
    max: Timestamp,
    /// The capture second in which idle flows were last expired.
    last_expiry_sec: u64,
    /// The packet being read.
    frame: u64,
    /// The clock holds a believable time (false until an input's first packet).
    started: bool,
    /// A packet stamped far from the clock (its stamp and frame), until the next packet tells
    /// whether the capture really jumped or one stamp was wrong.
    suspect: Option<(Timestamp, u64)>,
    /// The TCP flow that packet went to: if the jump was real, its activity is moved to the
    /// packet's own stamp, so the jump does not expire it (a SYN just after a long gap).
    suspect_flow: Option<FlowKey>,
}

/// A stamp further than this from the capture's clock is not believed at once: a broken clock
/// stamps one packet decades off, and believing it would expire every flow (or keep one open
/// forever). A real gap this long is confirmed by the packet after it.
const IMPLAUSIBLE_JUMP_MICROS: u64 = 86_400 * 1_000_000;

impl Clock {
    fn now(&self) -> At {
        At {
            ts: self.last,
            frame: self.frame,
        }
    }
}

/// Flow ids a shard may hand out for one packet (one packet opens one flow, but room is
/// cheap): see [`Engine::shard_packet`].
pub const SHARD_IDS_PER_PACKET: u64 = 4;

/// The capture's clock jumped for real (see [`Engine::plausible`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settle {
    /// The new time, first seen on the packet before.
    pub odd: Timestamp,
    /// The clock went back: no flow's activity may stay later than `odd`.
    pub back: bool,
}

/// A datagram reassembled from fragments, as [`decode::reassembled`] takes it.
struct Datagram<'a> {
    src: IpAddr,
    dst: IpAddr,
    ip_number: u8,
    tunnel: Option<decode::Tunnel>,
    payload: &'a [u8],
}

/// What a split run's reader made of a packet's stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The time the packet is read at.
    pub ts: Timestamp,
    /// Before the packet: the clock's jump is settled (every shard is told)...
    pub settle: Option<Settle>,
    /// ...and idle flows expire (another second began).
    pub tick: bool,
    /// The packet is stamped far from the clock: the flow it goes to is remembered, in case the
    /// next packet proves the stamp right.
    pub suspect: bool,
}

/// Where a split run's reader sends a packet (or the datagram its fragments made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The packet itself, to the shard of its flow.
    Packet(FlowKey),
    /// The IP datagram the packet completed, to the shard of its flow: its payload, and what
    /// [`decode::reassembled`] needs besides.
    Reassembled {
        key: FlowKey,
        src: IpAddr,
        dst: IpAddr,
        ip_number: u8,
        tunnel: Option<decode::Tunnel>,
        depth: u8,
        payload: Vec<u8>,
    },
}

/// Packets in, events out.
pub struct Engine {
    tcp: FlowTracker,
    record: Recorder,
    defrag: Defragmenter,
    clock: Clock,
    unsupported_links: HashSet<LinkType>,
    /// TLS secrets: `--keylog`, plus any found inside pcapng files.
    keylog: Option<KeyLog>,
    payloads: Option<usize>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            tcp: FlowTracker::new(FlowLimits::from_memcap(config.memcap)),
            record: Recorder::with_roots(&config.roots),
            defrag: Defragmenter::default(),
            clock: Clock::default(),
            unsupported_links: HashSet::new(),
            keylog: config.keylog,
            payloads: config.payloads,
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
        self.tcp.memory()
    }

    /// `--memcap`, as this engine applies it.
    pub fn memcap(&self) -> usize {
        self.tcp.memcap()
    }

    /// How many TCP flows the table holds at most, for this memory cap.
    pub fn max_flows(&self) -> usize {
        self.tcp.max_flows()
    }

    /// Analyses one packet.
    pub fn packet<F: FnMut(Event)>(&mut self, pkt: &Packet<'_>, out: &mut F) {
        let ts = pkt.ts;
        self.record.summary.packets += 1;
        self.record.summary.bytes += pkt.data.len() as u64;
        self.clock.frame = pkt.frame;
        let (ts, settle) = self.plausible(ts, out);
        if let Some(settle) = settle {
            self.settle(settle, true);
        }
        self.tick(ts, out);
        // Matched where it is returned: wrapping the decoded packet once more (an `Option`)
        // moved its 128 bytes again, a stall on every packet.
        match decode::decode(pkt.link, pkt.data) {
            Ok(d) => {
                if d.truncated {
                    self.truncated(pkt, out);
                }
                self.ip(ts, &d, 0, out);
            }
            Err(e) => self.undecodable(e, out),
        }
        if self
            .clock
            .suspect
            .is_some_and(|(_, frame)| frame == pkt.frame)
        {
            self.clock.suspect_flow = self.tcp.take_last_key();
        }
        self.tcp.enforce_memcap(
            self.clock.now(),
            stream_base(&self.keylog, self.payloads),
            &mut self.record,
            out,
        );
    }

    /// The anomaly of a packet cut short (its payload is partial).
    fn truncated<F: FnMut(Event)>(&mut self, pkt: &Packet<'_>, out: &mut F) {
        let detail = format!(
            "packet {} cut short: {} of {} bytes captured",
            self.record.summary.packets,
            pkt.data.len(),
            pkt.orig_len
        );
        self.anomaly(out, AnomalyKind::TruncatedPacket, detail);
    }

    /// Why a packet's link and IP layers cannot be read: an anomaly, or a count.
    fn undecodable<F: FnMut(Event)>(&mut self, error: DecodeError, out: &mut F) {
        match error {
            DecodeError::NotIp => {}
            DecodeError::Protected { bytes } => {
                // Ciphertext on the air: it counts as encrypted, and the lesson says by whom.
                self.record.summary.encrypted_bytes += bytes;
                self.record.summary.wifi_protected_frames += 1;
            }
            e @ DecodeError::UnsupportedLink(link) => {
                if self.unsupported_links.insert(link) {
                    let detail = format!("{e}; its packets are skipped");
                    self.anomaly(out, AnomalyKind::UnsupportedLinkType, detail);
                }
            }
            e => {
                let kind = match e {
                    DecodeError::Truncated(_) => AnomalyKind::TruncatedPacket,
                    DecodeError::BadFcs => AnomalyKind::BadChecksum,
                    _ => AnomalyKind::ParseError,
                };
                let detail = format!("packet {}: {e}", self.record.summary.packets);
                self.anomaly(out, kind, detail);
            }
        }
    }

    /// An engine for one shard of a split run (`report -j` on one file): it gets the packets of
    /// its flows from [`Engine::shard_packet`] and the capture's clock from
    /// [`Engine::shard_tick`], writes out every anomaly and looks for no finding (the run's
    /// merger does both over all shards). The run's reader is one too, using
    /// [`Engine::read_stamp`] and [`Engine::read_flow`].
    pub fn shard(config: EngineConfig) -> Engine {
        let mut engine = Engine::new(config);
        engine.record.shard = true;
        engine
    }

    /// A split run's reader, first step: counts the packet and moves the clock as
    /// [`Engine::packet`] does (with its anomalies), saying what the shards must do before it.
    pub fn read_stamp<F: FnMut(Event)>(&mut self, pkt: &Packet<'_>, out: &mut F) -> Stamp {
        self.record.summary.packets += 1;
        self.record.summary.bytes += pkt.data.len() as u64;
        self.clock.frame = pkt.frame;
        let (ts, settle) = self.plausible(pkt.ts, out);
        let clock = &mut self.clock;
        if clock.first.is_none_or(|f| ts < f) {
            clock.first = Some(ts);
        }
        clock.last = ts;
        clock.max = clock.max.max(ts);
        let tick = ts.secs() != clock.last_expiry_sec;
        clock.last_expiry_sec = ts.secs();
        Stamp {
            ts,
            settle,
            tick,
            suspect: clock.suspect.is_some_and(|(_, frame)| frame == pkt.frame),
        }
    }

    /// A split run's reader, second step: decodes the packet (with its anomalies), reassembles
    /// IP fragments, and says which flow gets what, if any.
    pub fn read_flow<F: FnMut(Event)>(
        &mut self,
        ts: Timestamp,
        pkt: &Packet<'_>,
        out: &mut F,
    ) -> Option<Delivery> {
        match decode::decode(pkt.link, pkt.data) {
            Ok(d) => {
                if d.truncated {
                    self.truncated(pkt, out);
                }
                self.route_ip(ts, &d, 0, None, out)
            }
            Err(e) => {
                self.undecodable(e, out);
                None
            }
        }
    }

    /// [`Engine::ip`] for the reader: the flow's key instead of the flow's work. `reassembled`:
    /// the datagram `d` was decoded from, when reassembled from fragments, as
    /// [`decode::reassembled`] was given it.
    fn route_ip<F: FnMut(Event)>(
        &mut self,
        ts: Timestamp,
        d: &decode::Decoded<'_>,
        depth: u8,
        reassembled: Option<Datagram<'_>>,
        out: &mut F,
    ) -> Option<Delivery> {
        let (src, dst) = (d.src, d.dst);
        let tunnel = d.tunnel.map_or(0, |t| t.id);
        let key = match d.body {
            Body::Tcp(seg) => FlowKey::new(
                SocketAddr::new(src, seg.src_port),
                SocketAddr::new(dst, seg.dst_port),
                tunnel,
            ),
            Body::Udp(udp) => FlowKey::udp(
                SocketAddr::new(src, udp.src_port),
                SocketAddr::new(dst, udp.dst_port),
                tunnel,
            ),
            Body::OtherIp => return None,
            Body::Fragment(frag) => {
                return match self.defrag.add(ts, src, dst, tunnel, &frag) {
                    DefragOutcome::Pending => None,
                    DefragOutcome::Complete(ip_number, data) => {
                        match decode::reassembled(src, dst, ip_number, &data, d.tunnel) {
                            Ok(inner) if depth < MAX_REASSEMBLY_DEPTH => {
                                let datagram = Datagram {
                                    src,
                                    dst,
                                    ip_number: ip_number.0,
                                    tunnel: d.tunnel,
                                    payload: &data,
                                };
                                self.route_ip(ts, &inner, depth + 1, Some(datagram), out)
                            }
                            Ok(_) => {
                                self.anomaly(
                                    out,
                                    AnomalyKind::ParseError,
                                    format!("IP fragments from {src} nested {MAX_REASSEMBLY_DEPTH} deep; datagram dropped"),
                                );
                                None
                            }
                            Err(DecodeError::NotIp) => None,
                            Err(e) => {
                                self.anomaly(
                                    out,
                                    AnomalyKind::ParseError,
                                    format!("reassembled IP datagram from {src}: {e}"),
                                );
                                None
                            }
                        }
                    }
                    DefragOutcome::Invalid(e) => {
                        self.anomaly(
                            out,
                            AnomalyKind::ParseError,
                            format!("IP fragments from {src} to {dst} contradict each other ({e}); datagram dropped"),
                        );
                        None
                    }
                };
            }
        };
        Some(match reassembled {
            None => Delivery::Packet(key),
            Some(datagram) => Delivery::Reassembled {
                key,
                src: datagram.src,
                dst: datagram.dst,
                ip_number: datagram.ip_number,
                tunnel: datagram.tunnel,
                depth,
                payload: datagram.payload.to_vec(),
            },
        })
    }

    /// A shard's packet (see [`Engine::shard`]) read at `ts`: `seq` is its place among the
    /// packets the run reads (1-based); a flow it opens gets the id
    /// `seq * SHARD_IDS_PER_PACKET`, so that ids order flows as one engine's would (the merger
    /// renumbers them). `suspect`: see [`Stamp::suspect`].
    pub fn shard_packet<F: FnMut(Event)>(
        &mut self,
        seq: u64,
        ts: Timestamp,
        pkt: &Packet<'_>,
        suspect: bool,
        out: &mut F,
    ) {
        self.shard_begin(seq, ts, pkt.frame, suspect);
        if let Ok(d) = decode::decode(pkt.link, pkt.data) {
            self.ip(ts, &d, 0, out);
        }
        self.shard_end(suspect);
    }

    /// A shard's reassembled datagram (see [`Delivery::Reassembled`]), completed by packet
    /// `frame`; otherwise as [`Engine::shard_packet`].
    #[allow(clippy::too_many_arguments)]
    pub fn shard_datagram<F: FnMut(Event)>(
        &mut self,
        seq: u64,
        ts: Timestamp,
        frame: u64,
        suspect: bool,
        datagram: (IpAddr, IpAddr, u8, Option<decode::Tunnel>, u8),
        payload: &[u8],
        out: &mut F,
    ) {
        let (src, dst, ip_number, tunnel, depth) = datagram;
        self.shard_begin(seq, ts, frame, suspect);
        if let Ok(inner) =
            decode::reassembled(src, dst, etherparse::IpNumber(ip_number), payload, tunnel)
        {
            self.ip(ts, &inner, depth, out);
        }
        self.shard_end(suspect);
    }

    fn shard_begin(&mut self, seq: u64, ts: Timestamp, frame: u64, suspect: bool) {
        self.clock.frame = frame;
        self.clock.last = ts;
        self.tcp.next_flow_id = seq.saturating_mul(SHARD_IDS_PER_PACKET);
        if suspect {
            self.tcp.take_last_key();
        }
    }

    fn shard_end(&mut self, suspect: bool) {
        if suspect {
            self.clock.suspect_flow = self.tcp.take_last_key();
        }
    }

    /// A shard's clock moves to `ts` (of packet `frame`), another second: idle flows expire.
    pub fn shard_tick<F: FnMut(Event)>(&mut self, ts: Timestamp, frame: u64, out: &mut F) {
        self.clock.last = ts;
        self.clock.frame = frame;
        self.tcp.expire(
            ts,
            stream_base(&self.keylog, self.payloads),
            &mut self.record,
            out,
        );
    }

    /// The end of a split run's input, for the reader: a last odd stamp is reported.
    pub fn read_end<F: FnMut(Event)>(&mut self, out: &mut F) {
        self.odd_timestamp(out);
    }

    /// What a shard holds now, to tell when one engine would have had to evict flows or stop
    /// keeping retransmission windows: memory, of which retransmission windows, and flows.
    pub fn holdings(&self) -> (usize, usize, usize) {
        self.tcp.holdings()
    }

    /// The time the packet is read at: its stamp, or the capture's clock when the stamp jumps
    /// implausibly far (more than a day) from it. The next packet decides: back near the clock,
    /// the odd stamp was wrong (a `parse_error` anomaly); near the odd stamp, the capture really
    /// jumped and the clock follows.
    ///
    /// Returns the time, and when the capture turned out to have jumped, what the flows must be
    /// told (see [`Engine::settle`]).
    fn plausible<F: FnMut(Event)>(
        &mut self,
        ts: Timestamp,
        out: &mut F,
    ) -> (Timestamp, Option<Settle>) {
        let clock = &mut self.clock;
        if !clock.started {
            clock.started = true;
            return (ts, None);
        }
        let far = |a: Timestamp, b: Timestamp| a.0.abs_diff(b.0) > IMPLAUSIBLE_JUMP_MICROS;
        if !far(ts, clock.last) {
            self.odd_timestamp(out);
            return (ts, None);
        }
        match clock.suspect {
            Some((odd, _)) if !far(ts, odd) => {
                clock.suspect = None;
                let settle = Settle {
                    odd,
                    back: odd < clock.last,
                };
                (ts, Some(settle))
            }
            _ => {
                self.odd_timestamp(out);
                self.clock.suspect = Some((ts, self.clock.frame));
                self.tcp.take_last_key();
                (self.clock.last, None)
            }
        }
    }

    /// The capture really jumped to `settle.odd`: when it went back, no flow's activity may stay
    /// in its future; and the flow the first packet at the new time went to (when `retime`)
    /// counts that packet's own stamp as its activity. A split run's shards are told too, with
    /// `retime` on the one that had that packet.
    pub fn settle(&mut self, settle: Settle, retime: bool) {
        if settle.back {
            self.tcp.cap_activity(settle.odd);
        }
        let key = self.clock.suspect_flow.take();
        if let (true, Some(key)) = (retime, key) {
            self.tcp.retime(&key, settle.odd);
        }
    }

    /// A suspect stamp turned out wrong: the anomaly says so.
    fn odd_timestamp<F: FnMut(Event)>(&mut self, out: &mut F) {
        self.clock.suspect_flow = None;
        let Some((odd, frame)) = self.clock.suspect.take() else {
            return;
        };
        let clock = self.clock.last;
        let days = odd.0.abs_diff(clock.0) / (86_400 * 1_000_000);
        let (amount, unit) = if days >= 730 {
            (days / 365, "years")
        } else {
            (days, "days")
        };
        let side = if odd > clock { "after" } else { "before" };
        let stamp =
            crate::proto::tls::handshake::rfc3339(i64::try_from(odd.secs()).unwrap_or(i64::MAX));
        let detail = format!(
            "packet {frame} is stamped {stamp}, {amount} {unit} {side} the capture's clock: \
             read at the capture's time, so it neither splits nor expires flows"
        );
        self.record.anomaly(
            out,
            clock,
            Some(frame),
            None,
            AnomalyKind::ParseError,
            detail,
        );
    }

    /// The clock moves to `ts`; any change of second (forwards, or back after a lying
    /// timestamp) expires idle flows.
    fn tick<F: FnMut(Event)>(&mut self, ts: Timestamp, out: &mut F) {
        let clock = &mut self.clock;
        if clock.first.is_none_or(|f| ts < f) {
            clock.first = Some(ts);
        }
        clock.last = ts;
        clock.max = clock.max.max(ts);
        if ts.secs() != clock.last_expiry_sec {
            clock.last_expiry_sec = ts.secs();
            self.tcp.expire(
                ts,
                stream_base(&self.keylog, self.payloads),
                &mut self.record,
                out,
            );
        }
    }

    /// An anomaly of the packet being read, not tied to a flow.
    fn anomaly<F: FnMut(Event)>(&mut self, out: &mut F, kind: AnomalyKind, detail: String) {
        let now = self.clock.now();
        self.record
            .anomaly(out, now.ts, Some(now.frame), None, kind, detail);
    }

    /// A decoded packet's transport. `depth` counts IP reassemblies on the way here: a
    /// reassembled datagram may hold a tunnel whose inner packet is a fragment again.
    fn ip<F: FnMut(Event)>(
        &mut self,
        ts: Timestamp,
        d: &decode::Decoded<'_>,
        depth: u8,
        out: &mut F,
    ) {
        let (src, dst) = (d.src, d.dst);
        match d.body {
            Body::Tcp(seg) => self.tcp.segment(
                self.clock.now(),
                SocketAddr::new(src, seg.src_port),
                SocketAddr::new(dst, seg.dst_port),
                d.tunnel,
                &seg,
                stream_base(&self.keylog, self.payloads),
                &mut self.record,
                out,
            ),
            Body::Fragment(frag) => match self.defrag.add(ts, src, dst, d.tunnel.map_or(0, |t| t.id), &frag) {
                DefragOutcome::Pending => {}
                DefragOutcome::Complete(ip_number, data) => {
                    match decode::reassembled(src, dst, ip_number, &data, d.tunnel) {
                        Ok(inner) if depth < MAX_REASSEMBLY_DEPTH => {
                            self.ip(ts, &inner, depth + 1, out);
                        }
                        Ok(_) => self.anomaly(
                            out,
                            AnomalyKind::ParseError,
                            format!("IP fragments from {src} nested {MAX_REASSEMBLY_DEPTH} deep; datagram dropped"),
                        ),
                        Err(DecodeError::NotIp) => {}
                        Err(e) => self.anomaly(
                            out,
                            AnomalyKind::ParseError,
                            format!("reassembled IP datagram from {src}: {e}"),
                        ),
                    }
                }
                DefragOutcome::Invalid(e) => self.anomaly(
                    out,
                    AnomalyKind::ParseError,
                    format!("IP fragments from {src} to {dst} contradict each other ({e}); datagram dropped"),
                ),
            },
            Body::Udp(udp) => {
                let quic = self.tcp.datagram(
                    self.clock.now(),
                    SocketAddr::new(src, udp.src_port),
                    SocketAddr::new(dst, udp.dst_port),
                    d.tunnel,
                    &udp,
                    stream_base(&self.keylog, self.payloads),
                    &mut self.record,
                    out,
                );
                if !quic {
                    udp_datagram(self.clock.now(), src, dst, &udp, out);
                }
            }
            Body::OtherIp => {}
        }
    }

    /// The end of one input: every open flow closes with `end_of_capture`. Flow ids keep counting
    /// across inputs.
    pub fn end_of_input<F: FnMut(Event)>(&mut self, out: &mut F) {
        // A last packet far from the clock had nothing after it to confirm the jump.
        self.odd_timestamp(out);
        self.tcp.end_of_input(
            stream_base(&self.keylog, self.payloads),
            &mut self.record,
            out,
        );
        self.defrag = Defragmenter::default();
        self.unsupported_links.clear();
        self.clock.last_expiry_sec = 0;
        self.clock.started = false;
    }

    /// The input is damaged from here on (a truncated or garbled file).
    pub fn damaged_input<F: FnMut(Event)>(&mut self, name: &str, detail: &str, out: &mut F) {
        // Damage to the file, not to a packet: no frame.
        let detail = format!("{name}: {detail}");
        self.record.anomaly(
            out,
            self.clock.last,
            None,
            None,
            AnomalyKind::TruncatedFile,
            detail,
        );
    }

    /// The first and the latest packet time seen, if any packet was.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        self.clock.first.map(|first| (first, self.clock.max))
    }

    /// How many flow ids this engine has handed out (they are 1..=n).
    pub fn flow_ids_used(&self) -> u64 {
        self.tcp.flow_ids_used()
    }

    /// The totals so far; the last event of a run.
    pub fn summary(&self) -> Summary {
        let mut s = self.record.summary.clone();
        s.anomalies = self.record.anomalies();
        s.duration = match self.clock.first {
            Some(first) => self.clock.max.saturating_sub(first) as f64 / 1e6,
            None => 0.0,
        };
        s
    }
}

/// What every stream parser is given besides its bytes: the secrets, and whether payloads are
/// reported. (Apart from `Engine` so the flow table can be borrowed beside it.)
fn stream_base(keylog: &Option<KeyLog>, payloads: Option<usize>) -> StreamContext<'_> {
    StreamContext {
        keys: keylog.as_ref(),
        frame: 0,
        payloads,
    }
}

/// A UDP datagram outside QUIC: DNS questions are reported; the rest is not looked at.
fn udp_datagram<F: FnMut(Event)>(
    at: At,
    src: IpAddr,
    dst: IpAddr,
    udp: &UdpDatagram<'_>,
    out: &mut F,
) {
    if !(dns::is_dns_port(udp.dst_port) || dns::is_dns_port(udp.src_port)) {
        return;
    }
    if let Some(q) = dns::parse_query(udp.payload) {
        out(Event::DnsQuery(DnsQuery {
            ts: at.ts,
            frame: at.frame,
            client: Endpoint(SocketAddr::new(src, udp.src_port)),
            server: Endpoint(SocketAddr::new(dst, udp.dst_port)),
            name: q.name,
            qtype: q.qtype,
        }));
    }
}
