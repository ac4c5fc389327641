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
    /// One event's line, reused.
    line: Vec<u8>,
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
            line: Vec::with_capacity(4096),
            unchecked: 0,
            broken: false,
            flush_each: false,
        }
    }

    pub fn write(&mut self, event: &Event) {
        if self.broken {
            return;
        }
        self.line.clear();
        let written = if fast::write(&mut self.line, event) {
            Ok(())
        } else {
            serde_json::to_writer(&mut self.line, event).map_err(io::Error::from)
        };
        self.line.push(b'\n');
        let result = written.and_then(|()| self.out.write_all(&self.line));
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

/// The events that make most of a stream (flows and HTTP messages), written by hand: serde_json
/// checks every byte of every string against its escape table, which was the largest single cost
/// of a report. Here a string is checked in one pass that the compiler vectorises, and copied
/// whole when nothing in it needs escaping (nearly always); otherwise serde_json writes it. The
/// output is byte for byte serde_json's (a property test below compares them).
mod fast {
    use crate::event::{Endpoint, Event, Timestamp};

    /// False (and nothing written) for the event types left to serde_json.
    pub fn write(buf: &mut Vec<u8>, event: &Event) -> bool {
        match event {
            Event::FlowOpen {
                flow,
                ts,
                client,
                server,
                handshake_seen,
            } => {
                head(buf, "flow_open", *flow, *ts);
                endpoint(buf, ",\"client\":", client);
                endpoint(buf, ",\"server\":", server);
                key(buf, ",\"handshake_seen\":");
                boolean(buf, *handshake_seen);
            }
            Event::FlowClose {
                flow,
                ts,
                reason,
                protocol,
                bytes_c2s,
                bytes_s2c,
                packets,
                missing_bytes,
                tls_records,
                tls_bytes,
            } => {
                head(buf, "flow_close", *flow, *ts);
                key(buf, ",\"reason\":");
                string(buf, reason.as_str());
                key(buf, ",\"protocol\":");
                string(buf, protocol.as_str());
                for (name, n) in [
                    (",\"bytes_c2s\":", bytes_c2s),
                    (",\"bytes_s2c\":", bytes_s2c),
                    (",\"packets\":", packets),
                    (",\"missing_bytes\":", missing_bytes),
                    (",\"tls_records\":", tls_records),
                    (",\"tls_bytes\":", tls_bytes),
                ] {
                    key(buf, name);
                    number(buf, *n);
                }
            }
            Event::HttpRequest {
                flow,
                ts,
                method,
                target,
                version,
                host,
                headers,
                body_len,
                decrypted,
                stream,
            } => {
                head(buf, "http_request", *flow, *ts);
                key(buf, ",\"method\":");
                string(buf, method);
                key(buf, ",\"target\":");
                string(buf, target);
                key(buf, ",\"version\":");
                string(buf, version);
                key(buf, ",\"host\":");
                optional(buf, host.as_deref());
                message_tail(buf, headers, *body_len, *decrypted, *stream);
            }
            Event::HttpResponse {
                flow,
                ts,
                status,
                reason,
                headers,
                body_len,
                decrypted,
                stream,
            } => {
                head(buf, "http_response", *flow, *ts);
                key(buf, ",\"status\":");
                number(buf, u64::from(*status));
                key(buf, ",\"reason\":");
                string(buf, reason);
                message_tail(buf, headers, *body_len, *decrypted, *stream);
            }
            Event::Credential(c) => {
                head(buf, "credential", c.flow, c.ts);
                key(buf, ",\"kind\":");
                string(buf, c.kind.as_str());
                key(buf, ",\"username\":");
                optional(buf, c.username.as_deref());
                key(buf, ",\"secret\":");
                string(buf, &c.secret);
                endpoint(buf, ",\"client\":", &c.client);
                endpoint(buf, ",\"server\":", &c.server);
                key(buf, ",\"where\":");
                string(buf, &c.location);
                key(buf, ",\"decrypted\":");
                boolean(buf, c.decrypted);
            }
            Event::TlsClientHello {
                flow,
                ts,
                sni,
                alpn,
                offered_versions,
                cipher_suites,
                ja4,
            } => {
                head(buf, "tls_client_hello", *flow, *ts);
                key(buf, ",\"sni\":");
                optional(buf, sni.as_deref());
                key(buf, ",\"alpn\":");
                list(buf, alpn);
                key(buf, ",\"offered_versions\":");
                list(buf, offered_versions);
                key(buf, ",\"cipher_suites\":");
                number(buf, *cipher_suites as u64);
                key(buf, ",\"ja4\":");
                string(buf, ja4);
            }
            _ => return false,
        }
        buf.push(b'}');
        true
    }

    fn optional(buf: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => string(buf, s),
            None => key(buf, "null"),
        }
    }

    fn list(buf: &mut Vec<u8>, items: &[String]) {
        buf.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            string(buf, item);
        }
        buf.push(b']');
    }

    fn head(buf: &mut Vec<u8>, type_name: &str, flow: u64, ts: Timestamp) {
        key(buf, "{\"type\":\"");
        key(buf, type_name);
        key(buf, "\",\"flow\":");
        number(buf, flow);
        key(buf, ",\"ts\":");
        // Numbers as serde_json writes them: the timestamp is an f64.
        let _ = serde_json::to_writer(&mut *buf, &ts);
    }

    fn message_tail(
        buf: &mut Vec<u8>,
        headers: &[(String, String)],
        body_len: u64,
        decrypted: bool,
        stream: Option<u32>,
    ) {
        key(buf, ",\"headers\":[");
        for (i, (name, value)) in headers.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.push(b'[');
            string(buf, name);
            buf.push(b',');
            string(buf, value);
            buf.push(b']');
        }
        key(buf, "],\"body_len\":");
        number(buf, body_len);
        key(buf, ",\"decrypted\":");
        boolean(buf, decrypted);
        key(buf, ",\"stream\":");
        match stream {
            Some(id) => number(buf, u64::from(id)),
            None => key(buf, "null"),
        }
    }

    fn key(buf: &mut Vec<u8>, text: &str) {
        buf.extend_from_slice(text.as_bytes());
    }

    fn number(buf: &mut Vec<u8>, n: u64) {
        buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    fn boolean(buf: &mut Vec<u8>, b: bool) {
        key(buf, if b { "true" } else { "false" });
    }

    fn endpoint(buf: &mut Vec<u8>, name: &str, e: &Endpoint) {
        key(buf, name);
        let _ = serde_json::to_writer(&mut *buf, e);
    }

    pub(super) fn string(buf: &mut Vec<u8>, s: &str) {
        let bytes = s.as_bytes();
        // No early exit: a plain fold over the bytes is vectorised.
        let escape = bytes.iter().fold(false, |acc, &b| {
            acc | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if escape {
            let _ = serde_json::to_writer(&mut *buf, s);
        } else {
            buf.push(b'"');
            buf.extend_from_slice(bytes);
            buf.push(b'"');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand-written events are byte for byte what serde_json writes, whatever the
        /// strings hold (quotes, backslashes, control characters, any Unicode).
        #[test]
        fn fast_events_are_serde_json_bytes(
            method in "\\PC{0,8}",
            target in any::<String>(),
            host in proptest::option::of(any::<String>()),
            headers in proptest::collection::vec((any::<String>(), any::<String>()), 0..6),
            flow in any::<u64>(),
            ts in any::<u64>(),
            status in any::<u16>(),
            stream in proptest::option::of(any::<u32>()),
            flags in any::<bool>(),
        ) {
            let client = Endpoint("[2001:db8::1]:5000".parse().unwrap());
            let server = Endpoint("10.0.0.2:80".parse().unwrap());
            let events = [
                Event::HttpRequest {
                    flow, ts: Timestamp(ts), method: method.clone(), target: target.clone(), version: "HTTP/1.1",
                    host: host.clone(), headers: headers.clone(), body_len: ts / 3, decrypted: flags, stream,
                },
                Event::HttpResponse {
                    flow, ts: Timestamp(ts), status, reason: target.clone(), headers: headers.clone(),
                    body_len: flow / 7, decrypted: !flags, stream,
                },
                Event::FlowOpen { flow, ts: Timestamp(ts), client, server, handshake_seen: flags },
                Event::Credential(crate::event::Credential {
                    flow, ts: Timestamp(ts), kind: crate::creds::CredentialKind::HttpForm,
                    username: host.clone(), secret: target.clone(), client, server,
                    location: method.clone(), decrypted: flags,
                }),
                Event::TlsClientHello {
                    flow, ts: Timestamp(ts), sni: host.clone(),
                    alpn: headers.iter().map(|(n, _)| n.clone()).collect(),
                    offered_versions: headers.iter().map(|(_, v)| v.clone()).collect(),
                    cipher_suites: status.into(), ja4: method.clone(),
                },
                Event::FlowClose {
                    flow, ts: Timestamp(ts), reason: crate::event::CloseReason::EndOfCapture,
                    protocol: crate::event::Protocol::Http, bytes_c2s: ts, bytes_s2c: flow, packets: 3,
                    missing_bytes: 0, tls_records: u64::MAX, tls_bytes: 1,
                },
            ];
            for event in &events {
                let mut fast = Vec::new();
                prop_assert!(fast::write(&mut fast, event));
                prop_assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    serde_json::to_string(event).unwrap()
                );
            }
        }
    }
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
