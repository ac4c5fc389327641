//! No allocation per packet on the hot path: once a flow is open and classified, its packets go
//! through decoding, the flow table, reassembly and the parser without touching the allocator.
//! Measured with a counting global allocator around the real engine: ten times the packets must
//! not mean more allocations.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use etherparse::PacketBuilder;
use plainsight::capture::{LinkType, Packet};
use plainsight::engine::{Engine, EngineConfig};
use plainsight::event::{Event, Timestamp};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// A counting allocator must implement the unsafe GlobalAlloc; it only forwards to System.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

fn segment(from_client: bool, port: u16, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if from_client {
        (CLIENT, SERVER, 40000, port)
    } else {
        (SERVER, CLIENT, port, 40000)
    };
    let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, seq, 65535);
    b = if syn { b.syn() } else { b.ack(1) };
    if syn && !from_client {
        b = b.ack(1);
    }
    let mut out = Vec::with_capacity(40 + payload.len());
    b.write(&mut out, payload).unwrap();
    out
}

/// Allocations made while `n` data segments of one flow go through the engine, after its opening
/// (handshake and first bytes, which do allocate: the flow, its parser, the request).
fn allocations_for(port: u16, first: &[u8], body: &[u8], n: u32) -> u64 {
    let mut packets = vec![
        segment(true, port, 0, true, b""),
        segment(false, port, 0, true, b""),
        segment(true, port, 1, false, first),
    ];
    let mut seq = 1 + first.len() as u32;
    for _ in 0..n {
        packets.push(segment(true, port, seq, false, body));
        seq += body.len() as u32;
    }
    let mut engine = Engine::new(EngineConfig::default());
    let mut events = 0u64;
    let mut out = |_: Event| events += 1;
    let feed = |engine: &mut Engine, out: &mut dyn FnMut(Event), i: usize, data: &[u8]| {
        let pkt = Packet {
            ts: Timestamp(1_700_000_000_000_000 + i as u64),
            frame: i as u64 + 1,
            link: LinkType::RAW,
            data,
            orig_len: data.len() as u32,
        };
        engine.packet(&pkt, &mut |e| out(e));
    };
    for (i, p) in packets[..4].iter().enumerate() {
        feed(&mut engine, &mut out, i, p);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for (i, p) in packets[4..].iter().enumerate() {
        feed(&mut engine, &mut out, i + 4, p);
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    engine.end_of_input(&mut out);
    assert!(events >= 2, "the flow was seen");
    after - before
}

#[test]
fn an_http_body_and_opaque_tls_records_cost_no_allocation_per_packet() {
    let http_head = b"POST /upload HTTP/1.1\r\nHost: lab\r\nContent-Length: 999999999\r\n\r\n";
    let body = vec![b'x'; 1357];
    // TLS without a key: a ClientHello start, then application-data records one per segment.
    let hello = [0x16, 3, 1, 0, 4, 1, 0, 0, 0];
    let mut record = vec![0x17, 3, 3, 0x05, 0x48];
    record.resize(5 + 0x548, 0xab);
    for (name, port, first, data) in [
        ("HTTP body", 80, &http_head[..], &body[..]),
        ("opaque TLS", 443, &hello[..], &record[..]),
    ] {
        let few = allocations_for(port, first, data, 1_000);
        let many = allocations_for(port, first, data, 10_000);
        eprintln!("{name}: {few} allocations for 1 000 segments, {many} for 10 000");
        // Growth of buffers amortised over the run (a doubling Vec) is allowed; per-packet work
        // would show as thousands more.
        assert!(
            many <= few + 16,
            "{name}: {few} allocations for 1 000 segments, {many} for 10 000"
        );
        assert!(few < 200, "{name}: {few} allocations for 1 000 segments");
    }
}
