//! HPACK header-block decoding (RFC 7541), for the HTTP/2 parser.
//!
//! Written here rather than taken from a crate: the `hpack` family (loona-hpack, fluke-hpack)
//! rebuilds a HashMap of the whole Huffman code for every Huffman-coded string, which was 37% of
//! the run time on an HTTP/2-heavy capture, and httlib-hpack indexes past the end of a truncated
//! integer. This decoder builds its Huffman tree once, reads every length against the bytes it
//! has, and bounds the dynamic table: a pure function over bytes plus the table state.

use std::collections::VecDeque;
use std::sync::OnceLock;

/// Why a header block could not be decoded. After any of these the connection's table is out of
/// step with the sender's, so the caller stops decoding that direction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    #[error("the header block ends inside a field")]
    Truncated,
    #[error("an integer in the header block is too large")]
    IntegerOverflow,
    #[error("index {0} is in neither the static nor the dynamic table")]
    BadIndex(usize),
    #[error("invalid Huffman-coded string")]
    Huffman,
    #[error("table size update to {0} bytes exceeds the limit")]
    TableSizeUpdate(usize),
}

/// The static table, RFC 7541 Appendix A (index 1 is the first entry).
#[rustfmt::skip]
const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
    (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"), (":status", "200"),
    (":status", "204"), (":status", "206"), (":status", "304"), (":status", "400"),
    (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""),
    ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""), ("content-disposition", ""),
    ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
    ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
    ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""),
    ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
];

/// The table size a decoder starts with: SETTINGS_HEADER_TABLE_SIZE's default (RFC 9113 §6.5.2).
const DEFAULT_TABLE_SIZE: usize = 4096;

/// One direction's decoding state: the dynamic table, newest entry first.
#[derive(Debug)]
pub struct HpackDecoder {
    entries: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max_size: usize,
    /// The largest table a size update may ask for. A passive observer does not know what the
    /// peer allowed in SETTINGS, so this is a memory bound, not the peer's value.
    limit: usize,
    name: Vec<u8>,
    value: Vec<u8>,
}

impl HpackDecoder {
    pub fn new(limit: usize) -> HpackDecoder {
        HpackDecoder {
            entries: VecDeque::new(),
            size: 0,
            max_size: DEFAULT_TABLE_SIZE.min(limit),
            limit,
            name: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Decodes one complete header block, calling `field(name, value)` for each header field in
    /// order, and updates the dynamic table as the sender did.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), HpackError> {
        let mut at = 0;
        while let Some(&first) = block.get(at) {
            if first & 0x80 != 0 {
                let index = read_integer(block, &mut at, 7)?;
                let (name, value) = self.entry(index)?;
                field(name, value);
            } else if first & 0xe0 == 0x20 {
                let size = read_integer(block, &mut at, 5)?;
                if size > self.limit {
                    return Err(HpackError::TableSizeUpdate(size));
                }
                self.max_size = size;
                self.evict_to(size);
            } else {
                // A literal: with incremental indexing (01), or without / never indexed (0000, 0001).
                let indexing = first & 0xc0 == 0x40;
                let prefix = if indexing { 6 } else { 4 };
                let index = read_integer(block, &mut at, prefix)?;
                let mut name = std::mem::take(&mut self.name);
                let mut value = std::mem::take(&mut self.value);
                name.clear();
                value.clear();
                let read = if index == 0 {
                    read_string(block, &mut at, &mut name)
                } else {
                    self.entry(index).map(|(n, _)| name.extend_from_slice(n))
                };
                let read = read.and_then(|()| read_string(block, &mut at, &mut value));
                if read.is_ok() {
                    field(&name, &value);
                    if indexing {
                        self.insert(&name, &value);
                    }
                }
                self.name = name;
                self.value = value;
                read?;
            }
        }
        Ok(())
    }

    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        match index {
            1..=61 => {
                let (n, v) = STATIC_TABLE[index - 1];
                Ok((n.as_bytes(), v.as_bytes()))
            }
            _ => self
                .entries
                .get(index.wrapping_sub(62))
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .ok_or(HpackError::BadIndex(index)),
        }
    }

    /// RFC 7541 §4.4: room is made by evicting the oldest entries; an entry larger than the whole
    /// table empties it and is not added.
    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + 32;
        if size > self.max_size {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max_size - size);
        self.entries.push_front((name.to_vec(), value.to_vec()));
        self.size += size;
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + 32,
                None => self.size = 0,
            }
        }
    }
}

/// An integer with an N-bit prefix (RFC 7541 §5.1), starting at `block[*at]`. Values past 2^32
/// are refused: no real header block needs them and they would only be used to overflow.
pub(crate) fn read_integer(block: &[u8], at: &mut usize, prefix: u8) -> Result<usize, HpackError> {
    let mask = (1u8 << prefix) - 1;
    let first = *block.get(*at).ok_or(HpackError::Truncated)?;
    *at += 1;
    let mut value = usize::from(first & mask);
    if value < usize::from(mask) {
        return Ok(value);
    }
    let mut shift = 0u32;
    loop {
        let byte = *block.get(*at).ok_or(HpackError::Truncated)?;
        *at += 1;
        value += usize::from(byte & 0x7f) << shift;
        if value > u32::MAX as usize {
            return Err(HpackError::IntegerOverflow);
        }
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 28 {
            return Err(HpackError::IntegerOverflow);
        }
    }
}

/// A string literal (RFC 7541 §5.2), appended to `out`.
fn read_string(block: &[u8], at: &mut usize, out: &mut Vec<u8>) -> Result<(), HpackError> {
    let huffman = block.get(*at).ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = read_integer(block, at, 7)?;
    let end = at.checked_add(len).ok_or(HpackError::Truncated)?;
    let bytes = block.get(*at..end).ok_or(HpackError::Truncated)?;
    *at = end;
    if huffman {
        huffman_decode(bytes, out)
    } else {
        out.extend_from_slice(bytes);
        Ok(())
    }
}

/// A tree node's child: an internal node's index, or `LEAF | symbol`.
const LEAF: u16 = 0x8000;
const EOS: u16 = 256;

/// The Huffman code as a binary tree, built once from the code table.
fn huffman_tree() -> &'static [[u16; 2]] {
    static TREE: OnceLock<Vec<[u16; 2]>> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut tree = vec![[0u16; 2]];
        for (symbol, &(code, len)) in HUFFMAN_CODES.iter().enumerate() {
            let mut node = 0usize;
            for bit in (0..len).rev() {
                let b = ((code >> bit) & 1) as usize;
                if bit == 0 {
                    tree[node][b] = LEAF | symbol as u16;
                } else {
                    if tree[node][b] == 0 {
                        tree.push([0; 2]);
                        tree[node][b] = (tree.len() - 1) as u16;
                    }
                    node = usize::from(tree[node][b]);
                }
            }
        }
        tree
    })
}

/// Decodes a Huffman-coded string (RFC 7541 §5.2): the padding must be fewer than 8 bits, all
/// ones (a prefix of EOS), and EOS itself must not appear.
pub(crate) fn huffman_decode(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
    let tree = huffman_tree();
    let mut node = 0usize;
    let mut depth = 0u32;
    let mut all_ones = true;
    for &byte in bytes {
        for shift in (0..8).rev() {
            let bit = (byte >> shift) & 1;
            let next = tree[node][usize::from(bit)];
            if next & LEAF != 0 {
                let symbol = next & !LEAF;
                if symbol == EOS {
                    return Err(HpackError::Huffman);
                }
                out.push(symbol as u8);
                node = 0;
                depth = 0;
                all_ones = true;
            } else if next == 0 {
                // The code is complete (every path ends in a symbol); kept as a guard.
                return Err(HpackError::Huffman);
            } else {
                node = usize::from(next);
                depth += 1;
                all_ones &= bit == 1;
            }
        }
    }
    if depth > 7 || !all_ones {
        return Err(HpackError::Huffman);
    }
    Ok(())
}

/// (code, length in bits) of each symbol 0..=256 (256 is EOS), RFC 7541 Appendix B.
#[rustfmt::skip]
const HUFFMAN_CODES: [(u32, u8); 257] = [
    (0x1ff8, 13), (0x7fffd8, 23), (0xfffffe2, 28), (0xfffffe3, 28), (0xfffffe4, 28), (0xfffffe5, 28),
    (0xfffffe6, 28), (0xfffffe7, 28), (0xfffffe8, 28), (0xffffea, 24), (0x3ffffffc, 30), (0xfffffe9, 28),
    (0xfffffea, 28), (0x3ffffffd, 30), (0xfffffeb, 28), (0xfffffec, 28), (0xfffffed, 28), (0xfffffee, 28),
    (0xfffffef, 28), (0xffffff0, 28), (0xffffff1, 28), (0xffffff2, 28), (0x3ffffffe, 30), (0xffffff3, 28),
    (0xffffff4, 28), (0xffffff5, 28), (0xffffff6, 28), (0xffffff7, 28), (0xffffff8, 28), (0xffffff9, 28),
    (0xffffffa, 28), (0xffffffb, 28), (0x14, 6), (0x3f8, 10), (0x3f9, 10), (0xffa, 12),
    (0x1ff9, 13), (0x15, 6), (0xf8, 8), (0x7fa, 11), (0x3fa, 10), (0x3fb, 10),
    (0xf9, 8), (0x7fb, 11), (0xfa, 8), (0x16, 6), (0x17, 6), (0x18, 6),
    (0x0, 5), (0x1, 5), (0x2, 5), (0x19, 6), (0x1a, 6), (0x1b, 6),
    (0x1c, 6), (0x1d, 6), (0x1e, 6), (0x1f, 6), (0x5c, 7), (0xfb, 8),
    (0x7ffc, 15), (0x20, 6), (0xffb, 12), (0x3fc, 10), (0x1ffa, 13), (0x21, 6),
    (0x5d, 7), (0x5e, 7), (0x5f, 7), (0x60, 7), (0x61, 7), (0x62, 7),
    (0x63, 7), (0x64, 7), (0x65, 7), (0x66, 7), (0x67, 7), (0x68, 7),
    (0x69, 7), (0x6a, 7), (0x6b, 7), (0x6c, 7), (0x6d, 7), (0x6e, 7),
    (0x6f, 7), (0x70, 7), (0x71, 7), (0x72, 7), (0xfc, 8), (0x73, 7),
    (0xfd, 8), (0x1ffb, 13), (0x7fff0, 19), (0x1ffc, 13), (0x3ffc, 14), (0x22, 6),
    (0x7ffd, 15), (0x3, 5), (0x23, 6), (0x4, 5), (0x24, 6), (0x5, 5),
    (0x25, 6), (0x26, 6), (0x27, 6), (0x6, 5), (0x74, 7), (0x75, 7),
    (0x28, 6), (0x29, 6), (0x2a, 6), (0x7, 5), (0x2b, 6), (0x76, 7),
    (0x2c, 6), (0x8, 5), (0x9, 5), (0x2d, 6), (0x77, 7), (0x78, 7),
    (0x79, 7), (0x7a, 7), (0x7b, 7), (0x7ffe, 15), (0x7fc, 11), (0x3ffd, 14),
    (0x1ffd, 13), (0xffffffc, 28), (0xfffe6, 20), (0x3fffd2, 22), (0xfffe7, 20), (0xfffe8, 20),
    (0x3fffd3, 22), (0x3fffd4, 22), (0x3fffd5, 22), (0x7fffd9, 23), (0x3fffd6, 22), (0x7fffda, 23),
    (0x7fffdb, 23), (0x7fffdc, 23), (0x7fffdd, 23), (0x7fffde, 23), (0xffffeb, 24), (0x7fffdf, 23),
    (0xffffec, 24), (0xffffed, 24), (0x3fffd7, 22), (0x7fffe0, 23), (0xffffee, 24), (0x7fffe1, 23),
    (0x7fffe2, 23), (0x7fffe3, 23), (0x7fffe4, 23), (0x1fffdc, 21), (0x3fffd8, 22), (0x7fffe5, 23),
    (0x3fffd9, 22), (0x7fffe6, 23), (0x7fffe7, 23), (0xffffef, 24), (0x3fffda, 22), (0x1fffdd, 21),
    (0xfffe9, 20), (0x3fffdb, 22), (0x3fffdc, 22), (0x7fffe8, 23), (0x7fffe9, 23), (0x1fffde, 21),
    (0x7fffea, 23), (0x3fffdd, 22), (0x3fffde, 22), (0xfffff0, 24), (0x1fffdf, 21), (0x3fffdf, 22),
    (0x7fffeb, 23), (0x7fffec, 23), (0x1fffe0, 21), (0x1fffe1, 21), (0x3fffe0, 22), (0x1fffe2, 21),
    (0x7fffed, 23), (0x3fffe1, 22), (0x7fffee, 23), (0x7fffef, 23), (0xfffea, 20), (0x3fffe2, 22),
    (0x3fffe3, 22), (0x3fffe4, 22), (0x7ffff0, 23), (0x3fffe5, 22), (0x3fffe6, 22), (0x7ffff1, 23),
    (0x3ffffe0, 26), (0x3ffffe1, 26), (0xfffeb, 20), (0x7fff1, 19), (0x3fffe7, 22), (0x7ffff2, 23),
    (0x3fffe8, 22), (0x1ffffec, 25), (0x3ffffe2, 26), (0x3ffffe3, 26), (0x3ffffe4, 26), (0x7ffffde, 27),
    (0x7ffffdf, 27), (0x3ffffe5, 26), (0xfffff1, 24), (0x1ffffed, 25), (0x7fff2, 19), (0x1fffe3, 21),
    (0x3ffffe6, 26), (0x7ffffe0, 27), (0x7ffffe1, 27), (0x3ffffe7, 26), (0x7ffffe2, 27), (0xfffff2, 24),
    (0x1fffe4, 21), (0x1fffe5, 21), (0x3ffffe8, 26), (0x3ffffe9, 26), (0xffffffd, 28), (0x7ffffe3, 27),
    (0x7ffffe4, 27), (0x7ffffe5, 27), (0xfffec, 20), (0xfffff3, 24), (0xfffed, 20), (0x1fffe6, 21),
    (0x3fffe9, 22), (0x1fffe7, 21), (0x1fffe8, 21), (0x7ffff3, 23), (0x3fffea, 22), (0x3fffeb, 22),
    (0x1ffffee, 25), (0x1ffffef, 25), (0xfffff4, 24), (0xfffff5, 24), (0x3ffffea, 26), (0x7ffff4, 23),
    (0x3ffffeb, 26), (0x7ffffe6, 27), (0x3ffffec, 26), (0x3ffffed, 26), (0x7ffffe7, 27), (0x7ffffe8, 27),
    (0x7ffffe9, 27), (0x7ffffea, 27), (0x7ffffeb, 27), (0xffffffe, 28), (0x7ffffec, 27), (0x7ffffed, 27),
    (0x7ffffee, 27), (0x7ffffef, 27), (0x7fffff0, 27), (0x3ffffee, 26), (0x3fffffff, 30),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode(d: &mut HpackDecoder, block: &[u8]) -> Result<Vec<(String, String)>, HpackError> {
        let mut fields = Vec::new();
        d.decode(block, |n, v| {
            fields.push((
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ))
        })?;
        Ok(fields)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// RFC 7541 C.4: three requests with Huffman coding, sharing one dynamic table.
    #[test]
    fn rfc7541_c4_requests_with_huffman() {
        let mut d = HpackDecoder::new(64 << 10);
        let first = decode(&mut d, &hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")).unwrap();
        assert_eq!(
            first,
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ])
        );
        assert_eq!(d.size, 57);
        let second = decode(&mut d, &hex("8286 84be 5886 a8eb 1064 9cbf")).unwrap();
        assert_eq!(second.len(), 5);
        assert_eq!(second[3], pairs(&[(":authority", "www.example.com")])[0]);
        assert_eq!(second[4], pairs(&[("cache-control", "no-cache")])[0]);
        assert_eq!(d.size, 110);
        let third = decode(
            &mut d,
            &hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
        )
        .unwrap();
        assert_eq!(third[4], pairs(&[("custom-key", "custom-value")])[0]);
        assert_eq!(third[2], pairs(&[(":path", "/index.html")])[0]);
        assert_eq!(d.size, 164);
        assert_eq!(d.entries.len(), 3);
    }

    /// A 256-byte table (as in RFC 7541 C.5) evicts the oldest entries first.
    #[test]
    fn eviction_keeps_the_newest_entries() {
        let mut d = HpackDecoder::new(64 << 10);
        // Size update to 100 bytes, then three literals with indexing of 41 bytes each
        // (name 4 + value 5 + 32).
        let mut block = vec![0x3f, 100 - 31];
        for name in ["aaaa", "bbbb", "cccc"] {
            block.extend_from_slice(&[0x40, 4]);
            block.extend_from_slice(name.as_bytes());
            block.extend_from_slice(&[5]);
            block.extend_from_slice(b"value");
        }
        decode(&mut d, &block).unwrap();
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.size, 82);
        // Index 62 is the newest (cccc), 63 the one before; 64 was evicted.
        assert_eq!(decode(&mut d, &[0x80 | 62]).unwrap()[0].0, "cccc");
        assert_eq!(decode(&mut d, &[0x80 | 63]).unwrap()[0].0, "bbbb");
        assert_eq!(decode(&mut d, &[0x80 | 64]), Err(HpackError::BadIndex(64)));
    }

    #[test]
    fn refuses_what_a_sender_cannot_mean() {
        let mut d = HpackDecoder::new(4096);
        assert_eq!(decode(&mut d, &[0x80]), Err(HpackError::BadIndex(0)));
        // A size update past the limit: 31 + 0x69 + (0x26 << 7) = 5000.
        assert_eq!(
            decode(&mut d, &[0x3f, 0xe9, 0x26]),
            Err(HpackError::TableSizeUpdate(5000))
        );
        // An integer that never ends, and one past 2^32.
        assert_eq!(
            decode(&mut d, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(HpackError::IntegerOverflow)
        );
        // A string longer than the block.
        assert_eq!(
            decode(&mut d, &[0x40, 0x05, b'a']),
            Err(HpackError::Truncated)
        );
        // Huffman padding of 8 or more bits, and padding that is not all ones.
        assert_eq!(
            decode(&mut d, &[0x00, 0x81, 0xff, 0x00]),
            Err(HpackError::Huffman)
        );
        assert_eq!(
            decode(&mut d, &[0x00, 0x81, 0x00, 0x00]),
            Err(HpackError::Huffman)
        );
    }

    proptest! {
        /// Whatever loona-hpack's encoder writes (indexed, literal, with indexing), this decoder
        /// reads back exactly, block after block on one table.
        #[test]
        fn reads_what_an_encoder_writes(
            blocks in proptest::collection::vec(
                proptest::collection::vec(("[a-z:-]{1,12}", "[ -~]{0,40}"), 0..12), 1..6)
        ) {
            let mut encoder = loona_hpack::Encoder::new();
            let mut d = HpackDecoder::new(64 << 10);
            for block in blocks {
                let encoded = encoder.encode(block.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
                let decoded = decode(&mut d, &encoded).unwrap();
                prop_assert_eq!(decoded, block);
            }
        }

        /// Arbitrary bytes: an answer or an error, never a panic, and the table stays bounded.
        #[test]
        fn arbitrary_blocks_never_panic(blocks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..200), 1..8)
        ) {
            let mut d = HpackDecoder::new(1024);
            for block in blocks {
                let _ = decode(&mut d, &block);
                prop_assert!(d.size <= 1024);
            }
        }

        /// Huffman decoding agrees with the code table: every symbol string round-trips.
        #[test]
        fn huffman_round_trip(text in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bits: Vec<bool> = Vec::new();
            for &b in &text {
                let (code, len) = HUFFMAN_CODES[usize::from(b)];
                bits.extend((0..len).rev().map(|i| (code >> i) & 1 == 1));
            }
            while bits.len() % 8 != 0 {
                bits.push(true);
            }
            let bytes: Vec<u8> = bits
                .chunks(8)
                .map(|c| c.iter().fold(0u8, |acc, &bit| (acc << 1) | u8::from(bit)))
                .collect();
            let mut out = Vec::new();
            huffman_decode(&bytes, &mut out).unwrap();
            prop_assert_eq!(out, text);
        }
    }
}
