//! IP fragment reassembly, bounded.
//!
//! Fragments are put together with etherparse's [`IpDefragBuf`]; this table bounds how many
//! datagrams may be in progress and for how long, so a flood of first fragments costs at most
//! [`MAX_PENDING`] × 64 KiB.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use etherparse::defrag::IpDefragBuf;
use etherparse::IpNumber;

use super::Fragment;
use crate::base::Timestamp;

/// Datagrams in progress at once; the oldest is dropped to make room.
pub const MAX_PENDING: usize = 1024;
/// A datagram whose fragments have not all arrived after this long is dropped.
pub const FRAGMENT_TIMEOUT_MICROS: u64 = 30 * 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DatagramKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    ip_number: u8,
    /// The tunnel the fragments travel in (0: none): the same inner addresses in two tunnels
    /// are two hosts.
    tunnel: u64,
}

/// What adding a fragment did.
#[derive(Debug, PartialEq, Eq)]
pub enum DefragOutcome {
    /// More fragments are needed.
    Pending,
    /// The datagram is whole: its protocol and payload.
    Complete(IpNumber, Vec<u8>),
    /// The fragments contradict each other; the datagram is dropped.
    Invalid(String),
}

#[derive(Default)]
pub struct Defragmenter {
    pending: HashMap<DatagramKey, (IpDefragBuf, Timestamp)>,
    /// Keys in order of arrival, to drop the oldest first.
    order: VecDeque<DatagramKey>,
    /// Datagrams dropped unfinished (timeout or room).
    pub dropped: u64,
}

impl Defragmenter {
    pub fn add(
        &mut self,
        ts: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        tunnel: u64,
        frag: &Fragment<'_>,
    ) -> DefragOutcome {
        self.expire(ts);
        let key = DatagramKey {
            src,
            dst,
            id: frag.id,
            ip_number: frag.ip_number,
            tunnel,
        };
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= MAX_PENDING {
                self.drop_oldest();
            }
            let buf = IpDefragBuf::new(IpNumber(frag.ip_number), Vec::new(), Vec::new());
            self.pending.insert(key, (buf, ts));
            self.order.push_back(key);
            if self.order.len() > 2 * self.pending.len() + 64 {
                let pending = &self.pending;
                self.order.retain(|k| pending.contains_key(k));
            }
        }
        let Some((buf, _)) = self.pending.get_mut(&key) else {
            return DefragOutcome::Pending;
        };
        if let Err(e) = buf.add(frag.offset, frag.more_fragments, frag.payload) {
            self.pending.remove(&key);
            return DefragOutcome::Invalid(e.to_string());
        }
        if !buf.is_complete() {
            return DefragOutcome::Pending;
        }
        match self.pending.remove(&key) {
            Some((buf, _)) => {
                let ip_number = buf.ip_number();
                let (data, _) = buf.take_bufs();
                DefragOutcome::Complete(ip_number, data)
            }
            None => DefragOutcome::Pending,
        }
    }

    fn drop_oldest(&mut self) {
        while let Some(key) = self.order.pop_front() {
            if self.pending.remove(&key).is_some() {
                self.dropped += 1;
                return;
            }
        }
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(key) = self.order.front().copied() {
            match self.pending.get(&key) {
                Some((_, started)) if now.saturating_sub(*started) <= FRAGMENT_TIMEOUT_MICROS => {
                    break
                }
                Some(_) => {
                    self.pending.remove(&key);
                    self.dropped += 1;
                    self.order.pop_front();
                }
                None => {
                    self.order.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::IpFragOffset;

    fn frag(offset_units: u16, more: bool, payload: &[u8]) -> Fragment<'_> {
        Fragment {
            id: 7,
            ip_number: 17,
            offset: IpFragOffset::try_new(offset_units).unwrap(),
            more_fragments: more,
            payload,
        }
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defragmenter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let ts = Timestamp(1);
        assert_eq!(
            d.add(ts, a, b, 0, &frag(1, false, b"tail")),
            DefragOutcome::Pending
        );
        match d.add(ts, a, b, 0, &frag(0, true, b"12345678")) {
            DefragOutcome::Complete(n, data) => {
                assert_eq!(n, IpNumber::UDP);
                assert_eq!(data, b"12345678tail");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bounded_and_expiring() {
        let mut d = Defragmenter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..(MAX_PENDING as u32 + 10) {
            let f = Fragment {
                id: i,
                ..frag(0, true, b"12345678")
            };
            d.add(Timestamp(0), a, a, 0, &f);
        }
        assert_eq!(d.pending.len(), MAX_PENDING);
        assert_eq!(d.dropped, 10);
        d.add(
            Timestamp(FRAGMENT_TIMEOUT_MICROS + 1),
            a,
            a,
            0,
            &frag(0, true, b"12345678"),
        );
        assert_eq!(d.pending.len(), 1);
    }

    #[test]
    fn fragments_in_two_tunnels_are_two_datagrams() {
        let mut d = Defragmenter::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let ts = Timestamp(1);
        assert_eq!(
            d.add(ts, a, b, 7, &frag(0, true, b"12345678")),
            DefragOutcome::Pending
        );
        // The tail in another tunnel does not complete the head from the first.
        assert_eq!(
            d.add(ts, a, b, 9, &frag(1, false, b"tail")),
            DefragOutcome::Pending
        );
        assert!(matches!(
            d.add(ts, a, b, 7, &frag(1, false, b"tail")),
            DefragOutcome::Complete(_, data) if data == b"12345678tail"
        ));
    }
}
