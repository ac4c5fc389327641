//! `report --json`: one event per line, flushed as it goes.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::event::Event;

/// Output is flushed at least this often while events flow, so a reader on a pipe sees them
/// promptly without a write system call per event on large captures.
const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

pub struct JsonWriter<W: Write> {
    out: io::BufWriter<W>,
    last_flush: Instant,
    /// Events since the clock was last read: reading it for every event was 1% of a report.
    unchecked: u32,
    /// Set once the reader went away (a closed pipe): further output is dropped.
    pub broken: bool,
    /// Flush after every event (live captures, where events are sparse and wanted at once).
    pub flush_each: bool,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(out: W) -> Self {
        JsonWriter {
            out: io::BufWriter::with_capacity(64 << 10, out),
            last_flush: Instant::now(),
            unchecked: 0,
            broken: false,
            flush_each: false,
        }
    }

    pub fn write(&mut self, event: &Event) {
        if self.broken {
            return;
        }
        let result = serde_json::to_writer(&mut self.out, event)
            .map_err(io::Error::from)
            .and_then(|_| self.out.write_all(b"\n"));
        if result.is_err() {
            self.broken = true;
            return;
        }
        self.unchecked += 1;
        if self.flush_each
            || (self.unchecked >= 16 && {
                self.unchecked = 0;
                self.last_flush.elapsed() >= FLUSH_INTERVAL
            })
        {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if !self.broken && self.out.flush().is_err() {
            self.broken = true;
        }
        self.last_flush = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Endpoint, Timestamp};

    #[test]
    fn one_object_a_line_with_contract_names() {
        let mut buf = Vec::new();
        {
            let mut w = JsonWriter::new(&mut buf);
            w.write(&Event::FlowOpen {
                flow: 1,
                ts: Timestamp(1_700_000_000_123_456),
                client: Endpoint("[::1]:5000".parse().unwrap()),
                server: Endpoint("[::1]:443".parse().unwrap()),
                handshake_seen: true,
            });
            w.flush();
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"type\":\"flow_open\",\"flow\":1,\"ts\":1700000000.123456,\"client\":\"[::1]:5000\",\"server\":\"[::1]:443\",\"handshake_seen\":true}\n"
        );
    }
}
