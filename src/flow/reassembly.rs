//! TCP stream reassembly for one direction of a flow.
//!
//! Bytes are delivered as soon as they are in order; out-of-order segments wait in a sorted map
//! of non-overlapping pieces. Where copies of the same bytes overlap, the first copy wins and a
//! different later copy is counted as a conflict. A hole is given up on (delivered as a
//! [`Chunk::Gap`]) once the peer acknowledges data beyond it, once too much waits behind it, or when
//! the stream ends; the stream then goes on after the hole. Sequence numbers are mapped to 64-bit
//! stream offsets, so wrap-around at 2^32 needs no special case.
//!
//! Nothing here waits for ACKs before delivering: that would delay data and fail on captures
//! that hold only one direction.

use std::collections::BTreeMap;

/// Memory charged for each buffered out-of-order piece on top of its bytes (map node, Vec).
pub const PIECE_OVERHEAD: usize = 64;
/// Out-of-order bytes one direction may hold before its first hole is given up on.
pub const MAX_PENDING_PER_DIRECTION: usize = 4 << 20;
/// Recently delivered bytes kept per direction to tell a faithful retransmission from a
/// conflicting one. Trimmed by the peer's ACKs, and only kept while the global budget allows.
pub const RETAIN_PER_DIRECTION: usize = 8 << 10;

/// What the reassembler hands on, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// This many bytes of the stream were never seen.
    Gap(u64),
}

/// Memory shared by every reassembler of a flow table: counted so it can be bounded.
#[derive(Debug, Clone, Default)]
pub struct MemoryBudget {
    /// Bytes held in out-of-order buffers (and charged per flow by the flow table).
    pub used: usize,
    /// Bytes held in retransmission-check windows.
    pub retained: usize,
    /// Above this, retransmission windows are no longer kept (they are a nicety, not data).
    pub retained_cap: usize,
}

/// What one segment did, beyond the data it delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentReport {
    /// Some bytes of the segment differed from a copy already seen of the same stream offsets.
    pub conflict: bool,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct TcpReassembler {
    started: bool,
    /// The sequence number at stream offset 0.
    base: u32,
    /// Stream offset of the next byte to deliver.
    next: u64,
    /// Out-of-order pieces by stream offset; never overlapping, all at or after `next`.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Recently delivered bytes: `retained[i]` is the byte at offset `retained_start + i`.
    retained: Vec<u8>,
    retained_start: u64,
    /// Stream offset of the FIN, once seen.
    fin_at: Option<u64>,
    /// Bytes delivered as data.
    delivered: u64,
    /// Bytes given up on as gaps.
    missing: u64,
}

impl TcpReassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// The sender's SYN: the stream starts right after it.
    pub fn syn(&mut self, seq: u32) {
        if !self.started || (self.next == 0 && self.pending.is_empty()) {
            self.started = true;
            self.base = seq.wrapping_add(1);
            self.next = 0;
            self.retained_start = 0;
        }
    }

    pub fn delivered_bytes(&self) -> u64 {
        self.delivered
    }

    pub fn missing_bytes(&self) -> u64 {
        self.missing
    }

    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Bytes the retransmission window holds (its allocation, as charged).
    pub fn retained_bytes(&self) -> usize {
        self.retained.capacity()
    }

    /// The FIN was seen and every byte before it has been delivered or given up on.
    pub fn is_finished(&self) -> bool {
        self.fin_at.is_some_and(|fin| self.next >= fin)
    }

    pub fn fin_seen(&self) -> bool {
        self.fin_at.is_some()
    }

    /// Maps a sequence number to a stream offset, taking the one nearest the delivery point.
    /// `None` for numbers before the start of the stream.
    fn offset_of(&self, seq: u32) -> Option<u64> {
        let next_seq = self.base.wrapping_add(self.next as u32);
        let delta = i64::from(seq.wrapping_sub(next_seq) as i32);
        u64::try_from(self.next as i64 + delta).ok()
    }

    /// Adds one segment and delivers whatever became in order.
    pub fn segment<F: FnMut(Chunk<'_>)>(
        &mut self,
        seq: u32,
        payload: &[u8],
        fin: bool,
        budget: &mut MemoryBudget,
        out: &mut F,
    ) -> SegmentReport {
        let mut report = SegmentReport::default();
        if !self.started {
            if payload.is_empty() && !fin {
                return report;
            }
            self.started = true;
            self.base = seq;
        }
        let (start, mut data) = match self.offset_of(seq) {
            Some(start) => (start, payload),
            None => {
                // Starts before offset 0 (a capture that began mid-stream): keep the tail.
                let before = u64::from(self.base.wrapping_sub(seq));
                let skip = usize::try_from(before).unwrap_or(usize::MAX);
                (0, payload.get(skip..).unwrap_or(&[]))
            }
        };
        let end = start + data.len() as u64;
        if fin && self.fin_at.is_none() {
            self.fin_at = Some(end);
        }
        let mut start = start;
        if start < self.next {
            // Bytes already delivered: a retransmission. Compare what is still remembered.
            let overlap = (self.next.min(end) - start) as usize;
            report.conflict |= self.differs_from_retained(start, &data[..overlap]);
            data = &data[overlap..];
            start = self.next;
        }
        if data.is_empty() {
            return report;
        }
        if start == self.next && self.pending.is_empty() {
            // The common case: in order, nothing waiting. Delivered without a copy.
            self.deliver(data, budget, out);
            return report;
        }
        report.conflict |= self.insert_pending(start, data, budget);
        self.drain(budget, out);
        if self.pending_bytes > MAX_PENDING_PER_DIRECTION {
            self.skip_first_hole(budget, out);
        }
        report
    }

    /// The peer acknowledged up to `ack`: a hole below it will never be filled from this capture.
    pub fn peer_ack<F: FnMut(Chunk<'_>)>(
        &mut self,
        ack: u32,
        budget: &mut MemoryBudget,
        out: &mut F,
    ) {
        if !self.started {
            return;
        }
        let Some(acked) = self.offset_of(ack) else {
            return;
        };
        if acked > self.retained_start && !self.retained.is_empty() {
            let drop = ((acked - self.retained_start) as usize).min(self.retained.len());
            if drop * 2 >= self.retained.len() {
                // Its allocation stays, and stays charged, for the bytes to come.
                self.retained.drain(..drop);
                self.retained_start += drop as u64;
            }
        }
        if let Some((&first, _)) = self.pending.first_key_value() {
            if acked >= first {
                self.skip_first_hole(budget, out);
            }
        }
    }

    /// The stream is over: deliver everything still waiting, with gaps for the holes, and a gap
    /// for bytes before a FIN that never showed up.
    pub fn flush<F: FnMut(Chunk<'_>)>(&mut self, budget: &mut MemoryBudget, out: &mut F) {
        while !self.pending.is_empty() {
            self.skip_first_hole(budget, out);
        }
        if let Some(fin) = self.fin_at {
            if fin > self.next {
                self.gap(fin - self.next, budget, out);
            }
        }
        self.forget(budget);
    }

    /// Lets the retransmission window go, its memory too.
    fn forget(&mut self, budget: &mut MemoryBudget) {
        budget.retained = budget.retained.saturating_sub(self.retained.capacity());
        self.retained = Vec::new();
        self.retained_start = self.next;
    }

    /// Releases every buffer (the flow is being dropped) and returns the bytes freed.
    pub fn release(&mut self, budget: &mut MemoryBudget) -> usize {
        let freed = self.pending_bytes;
        budget.used = budget.used.saturating_sub(freed);
        self.pending = BTreeMap::new();
        self.pending_bytes = 0;
        self.forget(budget);
        freed
    }

    fn deliver<F: FnMut(Chunk<'_>)>(
        &mut self,
        data: &[u8],
        budget: &mut MemoryBudget,
        out: &mut F,
    ) {
        out(Chunk::Data(data));
        self.next += data.len() as u64;
        self.delivered += data.len() as u64;
        self.remember(data, budget);
    }

    /// Keeps the last bytes delivered, to compare retransmissions with. The window is charged
    /// at its allocation, which never passes `2 * RETAIN_PER_DIRECTION`: a window cleared but
    /// kept allocated, or grown past what it holds, once let a thousand flows hold twice their
    /// charge.
    fn remember(&mut self, data: &[u8], budget: &mut MemoryBudget) {
        if budget.retained >= budget.retained_cap {
            self.forget(budget);
            return;
        }
        // Only the last RETAIN_PER_DIRECTION bytes of a delivery can stay.
        let tail = data
            .get(data.len().saturating_sub(RETAIN_PER_DIRECTION)..)
            .unwrap_or(data);
        let before = self.retained.capacity();
        // Past twice the window, back to the window: the same bytes as appending then cutting.
        if self.retained.len() + tail.len() > 2 * RETAIN_PER_DIRECTION {
            let keep = RETAIN_PER_DIRECTION.saturating_sub(tail.len());
            let drop = self.retained.len().saturating_sub(keep);
            self.retained.drain(..drop);
        }
        // Grown by doubling as a Vec grows, but never past twice the window.
        let needed = self.retained.len() + tail.len();
        if needed > before {
            let grown = needed.max(before * 2).min(2 * RETAIN_PER_DIRECTION);
            self.retained
                .reserve_exact(grown.saturating_sub(self.retained.len()));
        }
        self.retained.extend_from_slice(tail);
        self.retained_start = self.next - self.retained.len() as u64;
        budget.retained = (budget.retained + self.retained.capacity()).saturating_sub(before);
    }

    fn differs_from_retained(&self, start: u64, data: &[u8]) -> bool {
        let end = start + data.len() as u64;
        let from = start.max(self.retained_start);
        if from >= end {
            return false;
        }
        let kept = &self.retained[(from - self.retained_start) as usize..];
        let theirs = &data[(from - start) as usize..];
        let n = kept.len().min(theirs.len());
        kept[..n] != theirs[..n]
    }

    /// Stores the parts of `[start, start+len)` not already waiting; returns whether the overlapped
    /// parts differ from what was there first.
    fn insert_pending(&mut self, start: u64, data: &[u8], budget: &mut MemoryBudget) -> bool {
        let end = start + data.len() as u64;
        let overlapping: Vec<(u64, usize)> = self
            .pending
            .range(..end)
            .rev()
            .take_while(|(k, v)| **k + v.len() as u64 > start)
            .map(|(k, v)| (*k, v.len()))
            .collect();
        let mut conflict = false;
        let mut cursor = start;
        for &(key, len) in overlapping.iter().rev() {
            let piece_end = key + len as u64;
            if key > cursor {
                self.store(
                    cursor,
                    &data[(cursor - start) as usize..(key - start) as usize],
                    budget,
                );
            }
            let from = cursor.max(key);
            let to = end.min(piece_end);
            if from < to {
                if let Some(existing) = self.pending.get(&key) {
                    let ours = &data[(from - start) as usize..(to - start) as usize];
                    let theirs = &existing[(from - key) as usize..(to - key) as usize];
                    conflict |= ours != theirs;
                }
            }
            cursor = cursor.max(piece_end);
        }
        if cursor < end {
            self.store(cursor, &data[(cursor - start) as usize..], budget);
        }
        conflict
    }

    fn store(&mut self, at: u64, bytes: &[u8], budget: &mut MemoryBudget) {
        if bytes.is_empty() {
            return;
        }
        let charge = bytes.len() + PIECE_OVERHEAD;
        self.pending_bytes += charge;
        budget.used += charge;
        self.pending.insert(at, bytes.to_vec());
    }

    /// Delivers the waiting pieces that are now in order.
    fn drain<F: FnMut(Chunk<'_>)>(&mut self, budget: &mut MemoryBudget, out: &mut F) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() != self.next {
                break;
            }
            let piece = entry.remove();
            let charge = piece.len() + PIECE_OVERHEAD;
            self.pending_bytes -= charge;
            budget.used = budget.used.saturating_sub(charge);
            self.deliver(&piece, budget, out);
        }
    }

    /// Gives up on the hole before the first waiting piece, and delivers what follows it.
    fn skip_first_hole<F: FnMut(Chunk<'_>)>(&mut self, budget: &mut MemoryBudget, out: &mut F) {
        if let Some((&first, _)) = self.pending.first_key_value() {
            if first > self.next {
                self.gap(first - self.next, budget, out);
            }
            self.drain(budget, out);
        }
    }

    fn gap<F: FnMut(Chunk<'_>)>(&mut self, len: u64, budget: &mut MemoryBudget, out: &mut F) {
        out(Chunk::Gap(len));
        self.next += len;
        self.missing += len;
        self.forget(budget);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs segments (sequence number, bytes) through a reassembler and collects the stream,
    /// with gaps as runs of `None`.
    fn run(isn: u32, segments: &[(u32, Vec<u8>)]) -> (Vec<u8>, Vec<u64>, u32) {
        let mut r = TcpReassembler::new();
        let mut budget = MemoryBudget {
            retained_cap: usize::MAX,
            ..Default::default()
        };
        r.syn(isn);
        let mut stream = Vec::new();
        let mut gaps = Vec::new();
        let mut conflicts = 0;
        let mut out = |c: Chunk<'_>| match c {
            Chunk::Data(d) => stream.extend_from_slice(d),
            Chunk::Gap(n) => gaps.push(n),
        };
        for (seq, data) in segments {
            if r.segment(*seq, data, false, &mut budget, &mut out).conflict {
                conflicts += 1;
            }
        }
        r.flush(&mut budget, &mut out);
        r.release(&mut budget);
        assert_eq!(budget.used, 0, "every buffered byte is released");
        (stream, gaps, conflicts)
    }

    /// The retransmission window is charged at what it allocates, which stays under twice the
    /// window however much goes by, and is given back whole when dropped.
    #[test]
    fn retained_window_is_charged_at_its_allocation() {
        let mut r = TcpReassembler::new();
        let mut budget = MemoryBudget {
            retained_cap: usize::MAX,
            ..Default::default()
        };
        r.syn(0);
        let mut out = |_: Chunk<'_>| {};
        r.segment(1, b"small", false, &mut budget, &mut out);
        assert!(
            budget.retained >= 5 && budget.retained < 64,
            "{}",
            budget.retained
        );
        let piece = [7u8; 1400];
        for i in 0..47u32 {
            r.segment(6 + i * 1400, &piece, false, &mut budget, &mut out);
            assert_eq!(budget.retained, r.retained.capacity());
            assert!(r.retained.capacity() <= 2 * RETAIN_PER_DIRECTION);
        }
        // One delivery larger than the window keeps only the window's worth.
        r.segment(6 + 47 * 1400, &[1u8; 40_000], false, &mut budget, &mut out);
        assert_eq!(r.retained.len(), RETAIN_PER_DIRECTION);
        assert!(r.retained.capacity() <= 2 * RETAIN_PER_DIRECTION);
        // A gap drops it, memory and charge.
        r.flush(&mut budget, &mut out);
        assert_eq!((budget.retained, r.retained.capacity()), (0, 0));
    }

    fn split(isn: u32, data: &[u8], cuts: &[usize]) -> Vec<(u32, Vec<u8>)> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        points.dedup();
        points
            .windows(2)
            .map(|w| {
                (
                    isn.wrapping_add(1).wrapping_add(w[0] as u32),
                    data[w[0]..w[1]].to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn in_order_is_delivered_at_once() {
        let (s, g, c) = run(100, &[(101, b"hello ".to_vec()), (107, b"world".to_vec())]);
        assert_eq!(s, b"hello world");
        assert!(g.is_empty());
        assert_eq!(c, 0);
    }

    #[test]
    fn out_of_order_and_retransmission() {
        let segs = vec![
            (107, b"world".to_vec()),
            (101, b"hello ".to_vec()),
            (101, b"hello ".to_vec()),
        ];
        assert_eq!(run(100, &segs), (b"hello world".to_vec(), vec![], 0));
    }

    #[test]
    fn conflicting_retransmission_first_copy_wins() {
        let segs = vec![
            (101, b"hello ".to_vec()),
            (101, b"HELLO ".to_vec()),
            (107, b"world".to_vec()),
        ];
        assert_eq!(run(100, &segs), (b"hello world".to_vec(), vec![], 1));
        // The same when both copies are still waiting behind a hole.
        let segs = vec![
            (105, b"abc".to_vec()),
            (105, b"xyz".to_vec()),
            (101, b"0123".to_vec()),
        ];
        assert_eq!(run(100, &segs), (b"0123abc".to_vec(), vec![], 1));
    }

    #[test]
    fn hole_is_one_gap_of_the_right_size() {
        let segs = vec![(101, b"abc".to_vec()), (110, b"xyz".to_vec())];
        assert_eq!(run(100, &segs), (b"abcxyz".to_vec(), vec![6], 0));
    }

    #[test]
    fn wraps_around_2_pow_32() {
        let isn = u32::MAX - 3;
        let segs = split(isn, b"across the wrap", &[2, 7]);
        let mut rev = segs.clone();
        rev.reverse();
        assert_eq!(run(isn, &rev).0, b"across the wrap");
    }

    #[test]
    fn ack_past_a_hole_gives_it_up_without_waiting_for_the_end() {
        let mut r = TcpReassembler::new();
        let mut budget = MemoryBudget::default();
        r.syn(0);
        let mut got = Vec::new();
        let mut out = |c: Chunk<'_>| got.push(format!("{c:?}"));
        r.segment(1, b"ab", false, &mut budget, &mut out);
        r.segment(6, b"fg", false, &mut budget, &mut out);
        r.peer_ack(8, &mut budget, &mut out);
        assert_eq!(got, ["Data([97, 98])", "Gap(3)", "Data([102, 103])"]);
        assert_eq!(r.missing_bytes(), 3);
    }

    #[test]
    fn mid_stream_start_and_fin_gap() {
        let mut r = TcpReassembler::new();
        let mut budget = MemoryBudget::default();
        let mut got = Vec::new();
        let mut out = |c: Chunk<'_>| got.push(format!("{c:?}"));
        // No SYN: the first data segment starts the stream.
        r.segment(5000, b"ab", false, &mut budget, &mut out);
        // FIN at 5010 after bytes 5002..5010 that never arrive.
        r.segment(5010, b"", true, &mut budget, &mut out);
        r.flush(&mut budget, &mut out);
        assert_eq!(got, ["Data([97, 98])", "Gap(8)"]);
        assert!(r.is_finished());
    }

    #[test]
    fn pending_is_bounded() {
        let mut r = TcpReassembler::new();
        let mut budget = MemoryBudget::default();
        r.syn(0);
        let mut gaps = 0u64;
        let mut out = |c: Chunk<'_>| {
            if let Chunk::Gap(n) = c {
                gaps += n;
            }
        };
        // Byte 1 never arrives; 1-byte segments pile up behind it.
        for i in 0..200_000u32 {
            r.segment(3 + i, b"z", false, &mut budget, &mut out);
            assert!(r.pending_bytes() <= MAX_PENDING_PER_DIRECTION + 1 + PIECE_OVERHEAD);
        }
        assert_eq!(gaps, 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any permutation, duplication and same-byte overlap of a stream's segments gives back
        /// exactly the stream, without a gap or a conflict, wherever the sequence numbers start.
        #[test]
        fn any_order_duplication_and_overlap_gives_the_original(
            data in proptest::collection::vec(any::<u8>(), 1..600),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
            extra in proptest::collection::vec((any::<usize>(), 1usize..80), 0..8),
            isn in prop_oneof![any::<u32>(), (u32::MAX - 700)..=u32::MAX],
            order in any::<u64>(),
        ) {
            let mut segs = split(isn, &data, &cuts);
            // Overlapping copies of arbitrary ranges of the same bytes.
            for (at, len) in extra {
                let from = at % data.len();
                let to = (from + len).min(data.len());
                segs.push((isn.wrapping_add(1).wrapping_add(from as u32), data[from..to].to_vec()));
            }
            // Duplicate a few and shuffle deterministically from `order`.
            let dupes: Vec<_> = segs.iter().step_by(3).cloned().collect();
            segs.extend(dupes);
            let mut state = order | 1;
            for i in (1..segs.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                segs.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let (stream, gaps, conflicts) = run(isn, &segs);
            prop_assert_eq!(stream, data);
            prop_assert!(gaps.is_empty());
            prop_assert_eq!(conflicts, 0);
        }

        /// Leaving out one segment gives exactly one gap of its size, and every other byte.
        #[test]
        fn a_missing_segment_is_one_gap(
            data in proptest::collection::vec(any::<u8>(), 3..400),
            cuts in proptest::collection::vec(any::<usize>(), 2..10),
            drop_pick in any::<usize>(),
            isn in any::<u32>(),
            reverse in any::<bool>(),
        ) {
            let mut segs = split(isn, &data, &cuts);
            prop_assume!(segs.len() >= 3);
            // Not the last one: a missing tail without a FIN is indistinguishable from no data.
            let idx = drop_pick % (segs.len() - 1);
            let (dseq, dropped) = segs.remove(idx);
            if reverse { segs.reverse(); }
            let (stream, gaps, _) = run(isn, &segs);
            let from = dseq.wrapping_sub(isn.wrapping_add(1)) as usize;
            let mut expected = data[..from].to_vec();
            expected.extend_from_slice(&data[from + dropped.len()..]);
            prop_assert_eq!(stream, expected);
            prop_assert_eq!(gaps, vec![dropped.len() as u64]);
        }
    }
}
