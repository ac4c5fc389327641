//! The engine on hand-built packets: reassembly corner cases, close reasons, timeouts, memory
//! limits and IP fragments, with exact events.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use etherparse::PacketBuilder;
use plainsight::capture::{LinkType, Packet};
use plainsight::engine::{Engine, EngineConfig};
use plainsight::event::{
    Anomaly, AnomalyKind, CloseReason, Event, FlowClose, FlowOpen, HttpRequest, Protocol, Timestamp,
};

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

#[derive(Clone, Copy, Default)]
struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
}

const SYN: Flags = Flags {
    syn: true,
    ack: false,
    fin: false,
    rst: false,
};
const SYNACK: Flags = Flags {
    syn: true,
    ack: true,
    fin: false,
    rst: false,
};
const ACK: Flags = Flags {
    syn: false,
    ack: true,
    fin: false,
    rst: false,
};
const FIN: Flags = Flags {
    syn: false,
    ack: true,
    fin: true,
    rst: false,
};
const RST: Flags = Flags {
    syn: false,
    ack: false,
    fin: false,
    rst: true,
};

/// A raw IPv4 TCP packet.
fn tcp(
    from_client: bool,
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let (src, dst, sp, dp) = if from_client {
        (CLIENT, SERVER, ports.0, ports.1)
    } else {
        (SERVER, CLIENT, ports.1, ports.0)
    };
    let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, seq, 65535);
    if flags.syn {
        b = b.syn();
    }
    if flags.ack {
        b = b.ack(ack);
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.rst {
        b = b.rst();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

struct Run {
    engine: Engine,
    events: Vec<Event>,
    packets: u64,
}

impl Run {
    fn new(memcap: usize) -> Run {
        Run {
            engine: Engine::new(EngineConfig {
                memcap,
                ..EngineConfig::default()
            }),
            events: Vec::new(),
            packets: 0,
        }
    }

    fn feed(&mut self, secs: u64, data: &[u8]) {
        let pkt = Packet {
            ts: Timestamp::from_secs_micros(1_700_000_000 + secs, 0),
            frame: {
                self.packets += 1;
                self.packets
            },
            link: LinkType::RAW,
            data,
            orig_len: data.len() as u32,
        };
        let events = &mut self.events;
        self.engine.packet(&pkt, &mut |e| events.push(e));
    }

    fn end(mut self) -> Vec<Event> {
        let events = &mut self.events;
        self.engine.end_of_input(&mut |e| events.push(e));
        let summary = self.engine.summary();
        self.events.push(Event::Summary(summary));
        self.events
    }
}

fn closes(events: &[Event]) -> Vec<(CloseReason, Protocol, u64, u64, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FlowClose(FlowClose {
                reason,
                protocol,
                bytes_c2s,
                bytes_s2c,
                packets,
                missing_bytes,
                ..
            }) => Some((
                *reason,
                *protocol,
                *bytes_c2s,
                *bytes_s2c,
                *packets,
                *missing_bytes,
            )),
            _ => None,
        })
        .collect()
}

fn anomalies(events: &[Event]) -> Vec<AnomalyKind> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Anomaly(Anomaly { kind, .. }) => Some(*kind),
            _ => None,
        })
        .collect()
}

/// A full connection with a request split in three segments sent out of order, one of them
/// retransmitted, plus the response.
#[test]
fn out_of_order_request_is_put_back_together() {
    let p = (40000, 8081);
    let mut r = Run::new(256 << 20);
    r.feed(0, &tcp(true, p, 100, 0, SYN, b""));
    r.feed(0, &tcp(false, p, 500, 101, SYNACK, b""));
    r.feed(0, &tcp(true, p, 101, 501, ACK, b""));
    r.feed(1, &tcp(true, p, 112, 501, ACK, b"HTTP/1.1\r\n"));
    r.feed(1, &tcp(true, p, 122, 501, ACK, b"\r\n"));
    r.feed(1, &tcp(true, p, 101, 501, ACK, b"GET /x.txt "));
    r.feed(1, &tcp(true, p, 112, 501, ACK, b"HTTP/1.1\r\n"));
    r.feed(1, &tcp(false, p, 501, 124, ACK, b"HTTP/1.0 200 OK\r\n\r\n"));
    r.feed(2, &tcp(true, p, 124, 520, FIN, b""));
    r.feed(2, &tcp(false, p, 520, 125, FIN, b""));
    r.feed(2, &tcp(true, p, 125, 521, ACK, b""));
    let events = r.end();
    assert_eq!(
        closes(&events),
        [(CloseReason::Fin, Protocol::Http, 23, 19, 11, 0)]
    );
    let targets: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::HttpRequest(HttpRequest { target, .. }) => Some(target.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(targets, ["/x.txt"]);
    assert!(anomalies(&events).is_empty());
}

#[test]
fn conflicting_retransmission_is_an_anomaly_and_the_first_copy_wins() {
    let p = (40001, 80);
    let mut r = Run::new(256 << 20);
    r.feed(0, &tcp(true, p, 0, 0, SYN, b""));
    r.feed(0, &tcp(true, p, 1, 0, ACK, b"GET /a HTTP/1.1\r\n"));
    r.feed(0, &tcp(true, p, 1, 0, ACK, b"GET /b HTTP/1.1\r\n"));
    let events = r.end();
    assert_eq!(anomalies(&events), [AnomalyKind::OverlapConflict]);
    assert_eq!(closes(&events)[0].2, 17);
}

#[test]
fn a_hole_is_one_gap_and_the_stream_goes_on() {
    let p = (40002, 80);
    let mut r = Run::new(256 << 20);
    r.feed(0, &tcp(true, p, 0, 0, SYN, b""));
    r.feed(0, &tcp(true, p, 1, 0, ACK, b"GET / HTTP/1.1\r\n"));
    // 100 bytes never captured, then more data; the server acknowledges all of it.
    r.feed(0, &tcp(true, p, 117, 0, ACK, b"more"));
    r.feed(0, &tcp(false, p, 0, 121, ACK, b""));
    let events = r.end();
    assert_eq!(anomalies(&events), [AnomalyKind::Gap]);
    let c = closes(&events)[0];
    assert_eq!((c.2, c.5), (20, 100));
    let Some(Event::Anomaly(Anomaly { detail, flow, .. })) = events
        .iter()
        .find(|e| matches!(e, Event::Anomaly(Anomaly { .. })))
    else {
        unreachable!()
    };
    assert_eq!(*flow, Some(1));
    assert!(
        detail.starts_with("100 bytes never seen (client to server)"),
        "{detail}"
    );
}

#[test]
fn rst_closes_and_mid_stream_flows_pick_the_higher_port_as_client() {
    let p = (51000, 443);
    let mut r = Run::new(256 << 20);
    // No handshake: the server speaks first in this capture.
    r.feed(
        0,
        &tcp(false, p, 9000, 7000, ACK, &[0x17, 3, 3, 0, 1, 0xaa]),
    );
    r.feed(1, &tcp(true, p, 7000, 9006, RST, b""));
    let events = r.end();
    match &events[0] {
        Event::FlowOpen(FlowOpen {
            client,
            server,
            handshake_seen,
            ..
        }) => {
            assert_eq!(client.to_string(), "10.0.0.1:51000");
            assert_eq!(server.to_string(), "10.0.0.2:443");
            assert!(!handshake_seen);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        closes(&events),
        [(CloseReason::Rst, Protocol::Tls, 0, 6, 2, 0)]
    );
}

#[test]
fn sequence_numbers_wrap_around() {
    let p = (40003, 21);
    let isn = u32::MAX - 5;
    let mut r = Run::new(256 << 20);
    r.feed(0, &tcp(false, p, 1, 0, SYNACK, b""));
    r.feed(0, &tcp(false, p, 2, isn, ACK, b"220 ftp ready\r\n"));
    r.feed(0, &tcp(true, p, isn, 17, ACK, b"USER a"));
    r.feed(
        0,
        &tcp(true, p, isn.wrapping_add(6), 17, ACK, b"nonymous\r\n"),
    );
    let events = r.end();
    assert_eq!(
        closes(&events),
        [(CloseReason::EndOfCapture, Protocol::Ftp, 16, 15, 4, 0)]
    );
    assert!(anomalies(&events).is_empty());
}

#[test]
fn a_new_syn_on_a_closed_five_tuple_is_a_new_flow() {
    // Two copies of one connection, as when captures are concatenated: same ports, same ISNs.
    let p = (40004, 80);
    let mut r = Run::new(256 << 20);
    for t in [0, 10] {
        r.feed(t, &tcp(true, p, 0, 0, SYN, b""));
        r.feed(t, &tcp(false, p, 0, 1, SYNACK, b""));
        r.feed(t, &tcp(true, p, 1, 1, ACK, b"GET / HTTP/1.1\r\n\r\n"));
        r.feed(t, &tcp(true, p, 19, 1, FIN, b""));
        r.feed(t, &tcp(false, p, 1, 20, FIN, b""));
        r.feed(t, &tcp(true, p, 20, 2, ACK, b""));
        // A straggler after the close does not open a flow.
        r.feed(t, &tcp(false, p, 2, 20, ACK, b""));
    }
    let events = r.end();
    let expected = (CloseReason::Fin, Protocol::Http, 18, 0, 6, 0);
    assert_eq!(closes(&events), [expected, expected]);
    let Some(Event::Summary(s)) = events.last() else {
        panic!()
    };
    assert_eq!((s.flows, s.packets), (2, 14));
}

#[test]
fn idle_flows_time_out() {
    let p = (40005, 80);
    let mut r = Run::new(256 << 20);
    r.feed(0, &tcp(true, p, 0, 0, SYN, b""));
    r.feed(1, &tcp(true, p, 1, 0, ACK, b"GET / HTTP/1.1\r\n"));
    // Another flow, much later, makes the capture clock move past the idle timeout.
    r.feed(400, &tcp(true, (40006, 80), 0, 0, SYN, b""));
    let events = r.end();
    let reasons: Vec<CloseReason> = closes(&events).iter().map(|c| c.0).collect();
    assert_eq!(reasons, [CloseReason::Timeout, CloseReason::EndOfCapture]);
    let Some(Event::FlowClose(FlowClose { ts, .. })) = events
        .iter()
        .find(|e| matches!(e, Event::FlowClose(FlowClose { .. })))
    else {
        panic!()
    };
    assert_eq!(
        *ts,
        Timestamp::from_secs_micros(1_700_000_001, 0),
        "closed at its last packet"
    );
}

#[test]
fn syn_flood_is_bounded_by_eviction() {
    let mut r = Run::new(1 << 20);
    for i in 0..5000u32 {
        let port = 1024 + (i % 60000) as u16;
        let mut b = PacketBuilder::ipv4([10, 1, (i >> 8) as u8, i as u8], SERVER, 64)
            .tcp(port, 80, i, 1024)
            .syn();
        let mut pkt = Vec::new();
        b = b.options(&[]).unwrap();
        b.write(&mut pkt, b"").unwrap();
        r.feed(0, &pkt);
        assert!(
            r.engine.memory() <= 1 << 20,
            "memory {} at flow {i}",
            r.engine.memory()
        );
    }
    // The table's arrays take at most 45% of the 1 MiB, at their largest: 224 flows.
    assert_eq!(r.engine.max_flows(), 224);
    let events = r.end();
    let all = closes(&events);
    assert_eq!(all.len(), 5000);
    let evicted = all.iter().filter(|c| c.0 == CloseReason::Evicted).count();
    assert_eq!(evicted, 5000 - 224);
    // All in one second of capture time: one memory_limit anomaly says so.
    assert_eq!(anomalies(&events), [AnomalyKind::MemoryLimit]);
}

#[test]
fn ip_fragments_are_reassembled() {
    // A TCP segment carried in two IPv4 fragments.
    let whole = tcp(
        true,
        (40007, 80),
        1,
        0,
        ACK,
        b"GET /fragmented HTTP/1.1\r\n\r\n",
    );
    let header_len = 20;
    let ip_payload = &whole[header_len..];
    let make = |offset_units: u16, more: bool, part: &[u8]| {
        let mut h = etherparse::Ipv4Header::new(
            part.len() as u16,
            64,
            etherparse::IpNumber::TCP,
            CLIENT,
            SERVER,
        )
        .unwrap();
        h.identification = 77;
        h.more_fragments = more;
        h.fragment_offset = etherparse::IpFragOffset::try_new(offset_units).unwrap();
        h.header_checksum = h.calc_header_checksum();
        let mut out = Vec::new();
        h.write(&mut out).unwrap();
        out.extend_from_slice(part);
        out
    };
    let mut r = Run::new(256 << 20);
    r.feed(0, &make(2, false, &ip_payload[16..]));
    r.feed(0, &make(0, true, &ip_payload[..16]));
    let events = r.end();
    assert_eq!(
        closes(&events),
        [(CloseReason::EndOfCapture, Protocol::Http, 28, 0, 1, 0)]
    );
}
