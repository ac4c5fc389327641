//! TLS record framing: counting records and their bytes in a reassembled stream.

/// Walks TLS record headers across chunk boundaries. After a gap the framing is lost and the
/// counter stops rather than guess.
#[derive(Debug, Default, Clone)]
pub struct TlsRecordCounter {
    header: [u8; 5],
    header_len: usize,
    /// Body bytes of the current record still to skip.
    remaining: usize,
    pub records: u64,
    /// Bytes of whole records seen, headers included.
    pub bytes: u64,
    lost: bool,
}

impl TlsRecordCounter {
    pub fn feed(&mut self, mut data: &[u8]) {
        while !self.lost && !data.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(data.len());
                self.remaining -= n;
                self.bytes += n as u64;
                data = &data[n..];
                continue;
            }
            let n = (5 - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
            self.header_len += n;
            data = &data[n..];
            if self.header_len == 5 {
                self.header_len = 0;
                let Some(len) = super::record_length(&self.header) else {
                    self.lost = true;
                    return;
                };
                self.records += 1;
                self.bytes += 5;
                self.remaining = len;
            }
        }
    }

    /// Bytes were lost: record boundaries can no longer be found.
    pub fn gap(&mut self) {
        self.lost = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_records_split_anywhere() {
        let mut stream = vec![0x16, 3, 1, 0, 3, 1, 2, 3];
        stream.extend_from_slice(&[0x17, 3, 3, 0, 2, 9, 9]);
        for cut in 0..stream.len() {
            let mut c = TlsRecordCounter::default();
            c.feed(&stream[..cut]);
            c.feed(&stream[cut..]);
            assert_eq!(
                (c.records, c.bytes),
                (2, stream.len() as u64),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn garbage_stops_counting() {
        let mut c = TlsRecordCounter::default();
        c.feed(b"\x16\x03\x01\x00\x01\x00GARBAGE!");
        assert_eq!(c.records, 1);
    }
}
