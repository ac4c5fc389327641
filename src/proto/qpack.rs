//! QPACK field-section decoding (RFC 9204), for HTTP/3: the static table, the dynamic table
//! built from the encoder stream's instructions, and field sections that refer into both.
//! Huffman-coded strings use HPACK's code (the same table). Bounded: the dynamic table holds at
//! most [`MAX_TABLE`] bytes whatever the peer says, and every length is read against the bytes
//! there are.

use std::collections::VecDeque;

use super::hpack::huffman_decode;

/// The most a dynamic table may hold here (real peers announce 4 KiB to 64 KiB).
pub const MAX_TABLE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QpackError {
    #[error("a QPACK field section ends inside a field line")]
    Truncated,
    #[error("an integer in a QPACK field section is too large")]
    IntegerOverflow,
    #[error("QPACK static table index {0} does not exist")]
    BadStaticIndex(u64),
    #[error("QPACK dynamic table entry {0} is not in the table")]
    BadDynamicIndex(u64),
    #[error("invalid Huffman-coded string in QPACK")]
    Huffman,
    #[error("a QPACK Required Insert Count that cannot be")]
    BadInsertCount,
    #[error("a QPACK table capacity of {0} bytes, over the limit")]
    Capacity(u64),
    #[error("a QPACK entry larger than the table")]
    EntryTooLarge,
    /// The section refers to entries the encoder stream has not brought yet (not an error: the
    /// section waits).
    #[error("a QPACK field section waits for {0} table inserts")]
    Blocked(u64),
}

/// RFC 9204 Appendix A (index 0 is the first entry).
#[rustfmt::skip]
const STATIC_TABLE: [(&str, &str); 99] = [
    (":authority", ""), (":path", "/"), ("age", "0"), ("content-disposition", ""),
    ("content-length", "0"), ("cookie", ""), ("date", ""), ("etag", ""),
    ("if-modified-since", ""), ("if-none-match", ""), ("last-modified", ""), ("link", ""),
    ("location", ""), ("referer", ""), ("set-cookie", ""), (":method", "CONNECT"),
    (":method", "DELETE"), (":method", "GET"), (":method", "HEAD"), (":method", "OPTIONS"),
    (":method", "POST"), (":method", "PUT"), (":scheme", "http"), (":scheme", "https"),
    (":status", "103"), (":status", "200"), (":status", "304"), (":status", "404"),
    (":status", "503"), ("accept", "*/*"), ("accept", "application/dns-message"),
    ("accept-encoding", "gzip, deflate, br"), ("accept-ranges", "bytes"),
    ("access-control-allow-headers", "cache-control"),
    ("access-control-allow-headers", "content-type"), ("access-control-allow-origin", "*"),
    ("cache-control", "max-age=0"), ("cache-control", "max-age=2592000"),
    ("cache-control", "max-age=604800"), ("cache-control", "no-cache"),
    ("cache-control", "no-store"), ("cache-control", "public, max-age=31536000"),
    ("content-encoding", "br"), ("content-encoding", "gzip"),
    ("content-type", "application/dns-message"), ("content-type", "application/javascript"),
    ("content-type", "application/json"), ("content-type", "application/x-www-form-urlencoded"),
    ("content-type", "image/gif"), ("content-type", "image/jpeg"), ("content-type", "image/png"),
    ("content-type", "text/css"), ("content-type", "text/html; charset=utf-8"),
    ("content-type", "text/plain"), ("content-type", "text/plain;charset=utf-8"),
    ("range", "bytes=0-"), ("strict-transport-security", "max-age=31536000"),
    ("strict-transport-security", "max-age=31536000; includesubdomains"),
    ("strict-transport-security", "max-age=31536000; includesubdomains; preload"),
    ("vary", "accept-encoding"), ("vary", "origin"), ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"), (":status", "100"), (":status", "204"),
    (":status", "206"), (":status", "302"), (":status", "400"), (":status", "403"),
    (":status", "421"), (":status", "425"), (":status", "500"), ("accept-language", ""),
    ("access-control-allow-credentials", "FALSE"), ("access-control-allow-credentials", "TRUE"),
    ("access-control-allow-headers", "*"), ("access-control-allow-methods", "get"),
    ("access-control-allow-methods", "get, post, options"),
    ("access-control-allow-methods", "options"), ("access-control-expose-headers", "content-length"),
    ("access-control-request-headers", "content-type"), ("access-control-request-method", "get"),
    ("access-control-request-method", "post"), ("alt-svc", "clear"), ("authorization", ""),
    ("content-security-policy", "script-src 'none'; object-src 'none'; base-uri 'none'"),
    ("early-data", "1"), ("expect-ct", ""), ("forwarded", ""), ("if-range", ""), ("origin", ""),
    ("purpose", "prefetch"), ("server", ""), ("timing-allow-origin", "*"),
    ("upgrade-insecure-requests", "1"), ("user-agent", ""), ("x-forwarded-for", ""),
    ("x-frame-options", "deny"), ("x-frame-options", "sameorigin"),
];

/// The decoder's side of one direction's dynamic table: entries arrive on the encoder stream
/// that flows the same way as the field sections that use them.
#[derive(Debug, Default)]
pub struct QpackDecoder {
    /// Newest first; entry `inserted - 1 - i` is at position `i`.
    entries: VecDeque<(Vec<u8>, Vec<u8>)>,
    /// Entries ever inserted (the absolute index of the next one).
    inserted: u64,
    size: usize,
    capacity: usize,
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY the decoder announced (0 until known: then no field
    /// section may refer to the dynamic table, as in the protocol).
    max_capacity: u64,
}

/// An integer with an N-bit prefix (RFC 7541 §5.1, as QPACK uses it), up to 2^62.
fn int(block: &[u8], at: &mut usize, prefix: u32) -> Result<u64, QpackError> {
    let mask = (1u64 << prefix) - 1;
    let first = u64::from(*block.get(*at).ok_or(QpackError::Truncated)?);
    *at += 1;
    let mut value = first & mask;
    if value < mask {
        return Ok(value);
    }
    let mut shift = 0u32;
    loop {
        let byte = *block.get(*at).ok_or(QpackError::Truncated)?;
        *at += 1;
        value = value.saturating_add(u64::from(byte & 0x7f) << shift);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 56 {
            return Err(QpackError::IntegerOverflow);
        }
    }
}

/// A string literal whose length has an N-bit prefix, the Huffman flag just above it.
fn string(block: &[u8], at: &mut usize, prefix: u32, out: &mut Vec<u8>) -> Result<(), QpackError> {
    let huffman = block.get(*at).ok_or(QpackError::Truncated)? & (1 << prefix) != 0;
    let len = int(block, at, prefix)?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| at.checked_add(l))
        .ok_or(QpackError::Truncated)?;
    let bytes = block.get(*at..end).ok_or(QpackError::Truncated)?;
    *at = end;
    if huffman {
        huffman_decode(bytes, out).map_err(|_| QpackError::Huffman)
    } else {
        out.extend_from_slice(bytes);
        Ok(())
    }
}

fn static_entry(index: u64) -> Result<(&'static [u8], &'static [u8]), QpackError> {
    let (n, v) = usize::try_from(index)
        .ok()
        .and_then(|i| STATIC_TABLE.get(i))
        .ok_or(QpackError::BadStaticIndex(index))?;
    Ok((n.as_bytes(), v.as_bytes()))
}

impl QpackDecoder {
    /// The decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY, from its control stream.
    pub fn set_max_capacity(&mut self, max: u64) {
        self.max_capacity = max;
    }

    /// Bytes the table holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Reads whole encoder-stream instructions from `buf`; returns how many bytes they took (an
    /// instruction cut at the end waits for more bytes).
    pub fn encoder_stream(&mut self, buf: &[u8]) -> Result<usize, QpackError> {
        let mut done = 0;
        loop {
            let mut at = done;
            match self.instruction(buf, &mut at) {
                Ok(true) => done = at,
                Ok(false) | Err(QpackError::Truncated) => return Ok(done),
                Err(e) => return Err(e),
            }
        }
    }

    /// One encoder instruction at `buf[*at]`; `false` at the end of `buf`.
    fn instruction(&mut self, buf: &[u8], at: &mut usize) -> Result<bool, QpackError> {
        let Some(&first) = buf.get(*at) else {
            return Ok(false);
        };
        let (mut name, mut value) = (Vec::new(), Vec::new());
        if first & 0x80 != 0 {
            // Insert with name reference: T (static), a 6-bit index, the value.
            let is_static = first & 0x40 != 0;
            let index = int(buf, at, 6)?;
            string(buf, at, 7, &mut value)?;
            name = if is_static {
                static_entry(index)?.0.to_vec()
            } else {
                let absolute = self
                    .inserted
                    .checked_sub(index.saturating_add(1))
                    .ok_or(QpackError::BadDynamicIndex(index))?;
                self.dynamic(absolute)?.0.to_vec()
            };
        } else if first & 0x40 != 0 {
            // Insert with literal name: the name (5-bit length), the value.
            string(buf, at, 5, &mut name)?;
            string(buf, at, 7, &mut value)?;
        } else if first & 0x20 != 0 {
            let capacity = int(buf, at, 5)?;
            if capacity > MAX_TABLE as u64 {
                return Err(QpackError::Capacity(capacity));
            }
            self.capacity = capacity as usize;
            self.evict_to(self.capacity);
            return Ok(true);
        } else {
            // Duplicate: a relative index.
            let index = int(buf, at, 5)?;
            let absolute = self
                .inserted
                .checked_sub(index.saturating_add(1))
                .ok_or(QpackError::BadDynamicIndex(index))?;
            let (n, v) = self.dynamic(absolute)?;
            name = n.to_vec();
            value = v.to_vec();
        }
        self.insert(name, value)?;
        Ok(true)
    }

    fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) -> Result<(), QpackError> {
        let size = name.len() + value.len() + 32;
        if size > self.capacity {
            return Err(QpackError::EntryTooLarge);
        }
        self.evict_to(self.capacity - size);
        self.entries.push_front((name, value));
        self.size += size;
        self.inserted += 1;
        Ok(())
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + 32,
                None => self.size = 0,
            }
        }
    }

    fn dynamic(&self, absolute: u64) -> Result<(&[u8], &[u8]), QpackError> {
        let position = self
            .inserted
            .checked_sub(absolute)
            .and_then(|p| p.checked_sub(1))
            .and_then(|p| usize::try_from(p).ok())
            .ok_or(QpackError::BadDynamicIndex(absolute))?;
        self.entries
            .get(position)
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .ok_or(QpackError::BadDynamicIndex(absolute))
    }

    /// The Required Insert Count of a field section (RFC 9204 §4.5.1.1).
    fn required_insert_count(&self, encoded: u64) -> Result<u64, QpackError> {
        if encoded == 0 {
            return Ok(0);
        }
        let max_entries = self.max_capacity / 32;
        let full_range = 2 * max_entries;
        if encoded > full_range {
            return Err(QpackError::BadInsertCount);
        }
        let max_value = self.inserted + max_entries;
        let max_wrapped = (max_value / full_range) * full_range;
        let mut required = max_wrapped + encoded - 1;
        if required > max_value {
            if required <= full_range {
                return Err(QpackError::BadInsertCount);
            }
            required -= full_range;
        }
        if required == 0 {
            return Err(QpackError::BadInsertCount);
        }
        Ok(required)
    }

    /// Decodes one field section, calling `field(name, value)` for each line in order.
    /// [`QpackError::Blocked`] when it needs inserts not yet seen: try again after them.
    pub fn decode(
        &self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), QpackError> {
        let mut at = 0;
        let required = self.required_insert_count(int(block, &mut at, 8)?)?;
        if required > self.inserted {
            return Err(QpackError::Blocked(required - self.inserted));
        }
        let sign = block.get(at).ok_or(QpackError::Truncated)? & 0x80 != 0;
        let delta = int(block, &mut at, 7)?;
        let base = if sign {
            delta
                .checked_add(1)
                .and_then(|d| required.checked_sub(d))
                .ok_or(QpackError::BadInsertCount)?
        } else {
            required
                .checked_add(delta)
                .ok_or(QpackError::BadInsertCount)?
        };
        // Relative (before the base) and post-base indices, as absolute ones; a section may
        // refer only to entries below its Required Insert Count (RFC 9204 §4.5.2-4.5.6).
        let within = |absolute: u64| (absolute < required).then_some(absolute);
        let before = |index: u64| {
            index
                .checked_add(1)
                .and_then(|i| base.checked_sub(i))
                .and_then(within)
                .ok_or(QpackError::BadDynamicIndex(index))
        };
        let after = |index: u64| {
            base.checked_add(index)
                .and_then(within)
                .ok_or(QpackError::BadDynamicIndex(index))
        };
        let mut value = Vec::new();
        let mut name = Vec::new();
        while let Some(&first) = block.get(at) {
            value.clear();
            if first & 0x80 != 0 {
                // Indexed field line.
                let is_static = first & 0x40 != 0;
                let index = int(block, &mut at, 6)?;
                let (n, v) = if is_static {
                    static_entry(index)?
                } else {
                    self.dynamic(before(index)?)?
                };
                field(n, v);
            } else if first & 0x40 != 0 {
                // Literal with name reference (N, T, a 4-bit index), then the value.
                let is_static = first & 0x10 != 0;
                let index = int(block, &mut at, 4)?;
                string(block, &mut at, 7, &mut value)?;
                let n = if is_static {
                    static_entry(index)?.0
                } else {
                    self.dynamic(before(index)?)?.0
                };
                field(n, &value);
            } else if first & 0x20 != 0 {
                // Literal with literal name (N, H, a 3-bit length), then the value.
                name.clear();
                string(block, &mut at, 3, &mut name)?;
                string(block, &mut at, 7, &mut value)?;
                field(&name, &value);
            } else if first & 0x10 != 0 {
                // Indexed field line with post-base index.
                let index = int(block, &mut at, 4)?;
                let (n, v) = self.dynamic(after(index)?)?;
                field(n, v);
            } else {
                // Literal with post-base name reference (N, a 3-bit index), then the value.
                let index = int(block, &mut at, 3)?;
                string(block, &mut at, 7, &mut value)?;
                let n = self.dynamic(after(index)?)?.0;
                field(n, &value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    fn fields(d: &QpackDecoder, block: &[u8]) -> Result<Vec<(String, String)>, QpackError> {
        let mut out = Vec::new();
        d.decode(block, |n, v| {
            out.push((
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ))
        })?;
        Ok(out)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// RFC 9204 Appendix B.1: a literal field line with a static name reference.
    #[test]
    fn rfc9204_b1_static_only() {
        let d = QpackDecoder::default();
        let block = unhex("0000 510b 2f69 6e64 6578 2e68 746d 6c");
        assert_eq!(
            fields(&d, &block).unwrap(),
            pairs(&[(":path", "/index.html")])
        );
    }

    /// RFC 9204 Appendix B.2 to B.4: inserts on the encoder stream, sections that refer to them
    /// (relative and post-base), a duplicate, and a section blocked until its insert arrives.
    #[test]
    fn rfc9204_b2_to_b4_dynamic_table() {
        let mut d = QpackDecoder::default();
        d.set_max_capacity(220);
        // B.2: Set Dynamic Table Capacity 220, two inserts.
        let encoder =
            unhex("3fbd01 c00f7777772e6578616d706c652e636f6d c10c2f73616d706c652f70617468");
        assert_eq!(d.encoder_stream(&encoder).unwrap(), encoder.len());
        let section = unhex("0381 10 11");
        assert_eq!(
            fields(&d, &section).unwrap(),
            pairs(&[(":authority", "www.example.com"), (":path", "/sample/path")])
        );
        // B.3: a literal-name insert; a section that needs it waits until it is there.
        let section = unhex("0581 10 11");
        let insert = unhex("4a637573746f6d2d6b65790c637573746f6d2d76616c7565");
        let mut early = QpackDecoder::default();
        early.set_max_capacity(220);
        early.encoder_stream(&encoder).unwrap();
        assert_eq!(fields(&early, &unhex("0400")), Err(QpackError::Blocked(1)));
        assert_eq!(d.encoder_stream(&insert).unwrap(), insert.len());
        // B.4: Duplicate (relative index 2), then a section over the three newest.
        assert_eq!(d.encoder_stream(&unhex("02")).unwrap(), 1);
        let section = {
            let _ = section;
            unhex("0500 80 c1 81")
        };
        assert_eq!(
            fields(&d, &section).unwrap(),
            pairs(&[
                (":authority", "www.example.com"),
                (":path", "/"),
                ("custom-key", "custom-value"),
            ])
        );
        // An instruction cut short waits for its bytes.
        assert_eq!(d.encoder_stream(&insert[..5]).unwrap(), 0);
    }

    #[test]
    fn refuses_what_no_encoder_sends() {
        let d = QpackDecoder::default();
        // Static index 99 is past the table; a dynamic reference with no table at all.
        assert_eq!(
            fields(&d, &unhex("0000 ff24")),
            Err(QpackError::BadStaticIndex(99))
        );
        assert_eq!(
            fields(&d, &unhex("0000 80")),
            Err(QpackError::BadDynamicIndex(0))
        );
        assert_eq!(fields(&d, &unhex("0000 51")), Err(QpackError::Truncated));
        // A post-base index that sums with a huge base to 2^64 - 1 (found in review).
        assert!(fields(&d, &unhex("007fffffffffffffffff7f1ff2feffffffffffff7f")).is_err());
        let mut d = QpackDecoder::default();
        assert!(d.encoder_stream(&unhex("3fffffffffffffffffff7f")).is_err());
    }
}
