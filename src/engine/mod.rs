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
        let ts = self.plausible(ts, out);
        self.tick(ts, out);
        match decode::decode(pkt.link, pkt.data) {
            Ok(d) => {
                if d.truncated {
                    let detail = format!(
                        "packet {} cut short: {} of {} bytes captured",
                        self.record.summary.packets,
                        pkt.data.len(),
                        pkt.orig_len
                    );
                    self.anomaly(out, AnomalyKind::TruncatedPacket, detail);
                }
                self.ip(ts, &d, 0, out);
            }
            Err(DecodeError::NotIp) => {}
            Err(DecodeError::Protected { bytes }) => {
                // Ciphertext on the air: it counts as encrypted, and the lesson says by whom.
                self.record.summary.encrypted_bytes += bytes;
                self.record.summary.wifi_protected_frames += 1;
            }
            Err(e @ DecodeError::UnsupportedLink(link)) => {
                if self.unsupported_links.insert(link) {
                    let detail = format!("{e}; its packets are skipped");
                    self.anomaly(out, AnomalyKind::UnsupportedLinkType, detail);
                }
            }
            Err(e) => {
                let kind = match e {
                    DecodeError::Truncated(_) => AnomalyKind::TruncatedPacket,
                    DecodeError::BadFcs => AnomalyKind::BadChecksum,
                    _ => AnomalyKind::ParseError,
                };
                let detail = format!("packet {}: {e}", self.record.summary.packets);
                self.anomaly(out, kind, detail);
            }
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

    /// The time the packet is read at: its stamp, or the capture's clock when the stamp jumps
    /// implausibly far (more than a day) from it. The next packet decides: back near the clock,
    /// the odd stamp was wrong (a `parse_error` anomaly); near the odd stamp, the capture really
    /// jumped and the clock follows.
    fn plausible<F: FnMut(Event)>(&mut self, ts: Timestamp, out: &mut F) -> Timestamp {
        let clock = &mut self.clock;
        if !clock.started {
            clock.started = true;
            return ts;
        }
        let far = |a: Timestamp, b: Timestamp| a.0.abs_diff(b.0) > IMPLAUSIBLE_JUMP_MICROS;
        if !far(ts, clock.last) {
            self.odd_timestamp(out);
            return ts;
        }
        match clock.suspect {
            Some((odd, _)) if !far(ts, odd) => {
                clock.suspect = None;
                if odd < clock.last {
                    self.tcp.cap_activity(odd);
                }
                let clock = &mut self.clock;
                if let Some(key) = clock.suspect_flow.take() {
                    self.tcp.retime(&key, odd);
                }
                ts
            }
            _ => {
                self.odd_timestamp(out);
                self.clock.suspect = Some((ts, self.clock.frame));
                self.tcp.take_last_key();
                self.clock.last
            }
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
