//! The TCP reassembler fed arbitrary segment sequences (sequence numbers near a wrap, overlaps,
//! duplicates, FINs, ACKs): no panic, bounded buffers, delivered bytes plus gaps never exceed the
//! stream's extent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::flow::{Chunk, MemoryBudget, TcpReassembler};

fuzz_target!(|data: &[u8]| {
    let mut r = TcpReassembler::new();
    let mut budget = MemoryBudget { retained_cap: 1 << 20, ..Default::default() };
    let isn = u32::MAX - 1000;
    r.syn(isn);
    let mut delivered = 0u64;
    let mut out = |c: Chunk<'_>| match c {
        Chunk::Data(d) => delivered += d.len() as u64,
        Chunk::Gap(n) => delivered += n,
    };
    // Each segment: 2 bytes of offset, 1 of length, 1 of flags, then its bytes.
    let mut rest = data;
    while rest.len() >= 4 {
        let offset = u32::from(u16::from_le_bytes([rest[0], rest[1]]));
        let len = usize::from(rest[2]).min(rest.len() - 4);
        let flags = rest[3];
        let payload = &rest[4..4 + len];
        rest = &rest[4 + len..];
        let seq = isn.wrapping_add(1).wrapping_add(offset);
        if flags & 1 == 1 {
            r.peer_ack(seq, &mut budget, &mut out);
        } else {
            r.segment(seq, payload, flags & 2 == 2, &mut budget, &mut out);
        }
        assert!(r.pending_bytes() <= (4 << 20) + 64 * 256 + 256);
    }
    r.flush(&mut budget, &mut out);
    // Offsets are at most 65535 + 255 from the start.
    assert!(delivered <= 65_535 + 255 + 1);
    r.release(&mut budget);
    assert_eq!(budget.used, 0);
});
