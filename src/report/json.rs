//! `report --json`: one event per line, flushed as it goes.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::event::Event;

/// Output is flushed at least this often while events flow, so a reader on a pipe sees them
/// promptly without a write system call per event on large captures.
const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

pub struct JsonWriter<W: Write> {
    out: W,
    last_flush: Instant,
    /// Lines not yet written out. Events are written straight into it (no line buffer copied
    /// into a `BufWriter`: that second copy of every byte was 1% of a report).
    pending: Vec<u8>,
    /// Events since the clock was last read: reading it for every event was 1% of a report.
    unchecked: u32,
    /// Set once the reader went away (a closed pipe): further output is dropped.
    pub broken: bool,
    /// Flush after every event (live captures, where events are sparse and wanted at once).
    pub flush_each: bool,
}

/// Pending lines are written out once they pass this size.
const WRITE_SIZE: usize = 64 << 10;

impl<W: Write> JsonWriter<W> {
    pub fn new(out: W) -> Self {
        JsonWriter {
            out,
            last_flush: Instant::now(),
            pending: Vec::with_capacity(WRITE_SIZE + 4096),
            unchecked: 0,
            broken: false,
            flush_each: false,
        }
    }

    pub fn write(&mut self, event: &Event) {
        if self.broken {
            return;
        }
        let start = self.pending.len();
        if !fast::write(&mut self.pending, event)
            && serde_json::to_writer(&mut self.pending, event).is_err()
        {
            // Not a line at all: nothing of it goes out (serde_json cannot fail on these types).
            self.pending.truncate(start);
            return;
        }
        self.pending.push(b'\n');
        if self.pending.len() >= WRITE_SIZE && !self.write_pending() {
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

    /// The pending lines to the output; false once it failed.
    fn write_pending(&mut self) -> bool {
        let written = self.out.write_all(&self.pending);
        self.pending.clear();
        if written.is_err() {
            self.broken = true;
        }
        !self.broken
    }

    pub fn flush(&mut self) {
        if !self.broken && (!self.write_pending() || self.out.flush().is_err()) {
            self.broken = true;
        }
        self.last_flush = Instant::now();
    }
}

impl<W: Write> Drop for JsonWriter<W> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Every event but the summary, written by hand: serde_json
/// checks every byte of every string against its escape table, which was the largest single cost
/// of a report. Here a string is checked in one pass that the compiler vectorises, and copied
/// whole when nothing in it needs escaping (nearly always); otherwise serde_json writes it. The
/// output is byte for byte serde_json's (a property test below compares them).
mod fast {
    use crate::event::{
        Anomaly, Credential, DnsQuery, Endpoint, Event, Finding, FlowClose, FlowOpen, HttpRequest,
        HttpResponse, Payload, Timestamp, TlsCertificate, TlsClientHello, TlsDecryption, TlsRecord,
        TlsServerHello,
    };

    /// False (and nothing written) for the event types left to serde_json.
    pub fn write(buf: &mut Vec<u8>, event: &Event) -> bool {
        match event {
            Event::FlowOpen(e) => e.write(buf),
            Event::FlowClose(e) => e.write(buf),
            Event::HttpRequest(e) => e.write(buf),
            Event::HttpResponse(e) => e.write(buf),
            Event::Credential(e) => e.write(buf),
            Event::TlsClientHello(e) => e.write(buf),
            Event::TlsServerHello(e) => e.write(buf),
            Event::TlsCertificate(e) => e.write(buf),
            Event::TlsDecryption(e) => e.write(buf),
            Event::DnsQuery(e) => e.write(buf),
            Event::Anomaly(e) => e.write(buf),
            Event::Payload(e) => e.write(buf),
            Event::TlsRecord(e) => e.write(buf),
            Event::Finding(e) => e.write(buf),
            Event::Summary(_) => return false,
        }
        buf.push(b'}');
        true
    }

    /// An event kind written by hand: every field but the closing brace.
    trait FastJson {
        fn write(&self, buf: &mut Vec<u8>);
    }

    impl FastJson for FlowOpen {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, FlowOpen::TYPE, self.flow, self.ts, self.frame);
            endpoint(buf, ",\"client\":", &self.client);
            endpoint(buf, ",\"server\":", &self.server);
            key(buf, ",\"handshake_seen\":");
            boolean(buf, self.handshake_seen);
            key(buf, ",\"transport\":");
            string(buf, self.transport.as_str());
            if let Some(tunnel) = &self.tunnel {
                key(buf, ",\"tunnel\":");
                string(buf, tunnel);
            }
            if let Some(input) = &self.input {
                key(buf, ",\"input\":");
                string(buf, input);
            }
        }
    }

    impl FastJson for FlowClose {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, FlowClose::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"reason\":");
            string(buf, self.reason.as_str());
            key(buf, ",\"protocol\":");
            string(buf, self.protocol.as_str());
            for (name, n) in [
                (",\"bytes_c2s\":", self.bytes_c2s),
                (",\"bytes_s2c\":", self.bytes_s2c),
                (",\"packets\":", self.packets),
                (",\"missing_bytes\":", self.missing_bytes),
                (",\"tls_records\":", self.tls_records),
                (",\"tls_bytes\":", self.tls_bytes),
            ] {
                key(buf, name);
                number(buf, n);
            }
            key(buf, ",\"transport\":");
            string(buf, self.transport.as_str());
            key(buf, ",\"starttls\":");
            boolean(buf, self.starttls);
        }
    }

    impl FastJson for HttpRequest {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, HttpRequest::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"method\":");
            string(buf, &self.method);
            key(buf, ",\"target\":");
            string(buf, &self.target);
            key(buf, ",\"version\":");
            string(buf, &self.version);
            key(buf, ",\"host\":");
            optional(buf, self.host.as_deref());
            message_tail(
                buf,
                &self.headers,
                self.body_len,
                self.decrypted,
                self.stream,
            );
        }
    }

    impl FastJson for HttpResponse {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, HttpResponse::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"status\":");
            number(buf, u64::from(self.status));
            key(buf, ",\"reason\":");
            string(buf, &self.reason);
            message_tail(
                buf,
                &self.headers,
                self.body_len,
                self.decrypted,
                self.stream,
            );
        }
    }

    impl FastJson for Credential {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, Credential::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"kind\":");
            string(buf, self.kind.as_str());
            key(buf, ",\"username\":");
            optional(buf, self.username.as_deref());
            key(buf, ",\"secret\":");
            string(buf, &self.secret);
            endpoint(buf, ",\"client\":", &self.client);
            endpoint(buf, ",\"server\":", &self.server);
            key(buf, ",\"where\":");
            string(buf, &self.location);
            key(buf, ",\"decrypted\":");
            boolean(buf, self.decrypted);
        }
    }

    impl FastJson for TlsClientHello {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, TlsClientHello::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"sni\":");
            optional(buf, self.sni.as_deref());
            key(buf, ",\"alpn\":");
            list(buf, &self.alpn);
            key(buf, ",\"offered_versions\":");
            list(buf, &self.offered_versions);
            key(buf, ",\"cipher_suites\":");
            number(buf, self.cipher_suites as u64);
            key(buf, ",\"ja4\":");
            string(buf, &self.ja4);
        }
    }

    impl FastJson for TlsServerHello {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, TlsServerHello::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"version\":");
            string(buf, &self.version);
            key(buf, ",\"cipher\":");
            string(buf, &self.cipher);
            key(buf, ",\"alpn\":");
            optional(buf, self.alpn.as_deref());
            key(buf, ",\"hello_retry\":");
            boolean(buf, self.hello_retry);
        }
    }

    impl FastJson for TlsCertificate {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, TlsCertificate::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"subject_cn\":");
            optional(buf, self.subject_cn.as_deref());
            key(buf, ",\"san\":");
            list(buf, &self.san);
            key(buf, ",\"issuer_cn\":");
            string(buf, &self.issuer_cn);
            key(buf, ",\"not_after\":");
            string(buf, &self.not_after);
            key(buf, ",\"chain\":[");
            for (i, c) in self.chain.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                key(buf, "{\"subject\":");
                string(buf, &c.subject);
                key(buf, ",\"issuer\":");
                string(buf, &c.issuer);
                key(buf, ",\"subject_cn\":");
                optional(buf, c.subject_cn.as_deref());
                key(buf, ",\"issuer_cn\":");
                optional(buf, c.issuer_cn.as_deref());
                key(buf, ",\"san\":");
                list(buf, &c.san);
                key(buf, ",\"not_before\":");
                string(buf, &c.not_before);
                key(buf, ",\"not_after\":");
                string(buf, &c.not_after);
                key(buf, ",\"key\":");
                string(buf, &c.key);
                key(buf, ",\"signature\":");
                string(buf, &c.signature);
                key(buf, ",\"sha256\":");
                string(buf, &c.sha256);
                key(buf, ",\"is_ca\":");
                boolean(buf, c.is_ca);
                buf.push(b'}');
            }
            key(buf, "],\"trust\":{\"result\":");
            string(buf, self.trust.result.as_str());
            key(buf, ",\"anchor\":");
            optional(buf, self.trust.anchor.as_deref());
            key(buf, ",\"detail\":");
            string(buf, &self.trust.detail);
            buf.push(b'}');
        }
    }

    impl FastJson for TlsDecryption {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, TlsDecryption::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"result\":");
            string(buf, self.result.as_str());
            key(buf, ",\"detail\":");
            string(buf, &self.detail);
        }
    }

    impl FastJson for DnsQuery {
        fn write(&self, buf: &mut Vec<u8>) {
            type_and_ts(buf, DnsQuery::TYPE, self.ts);
            key(buf, ",\"frame\":");
            number(buf, self.frame);
            endpoint(buf, ",\"client\":", &self.client);
            endpoint(buf, ",\"server\":", &self.server);
            key(buf, ",\"name\":");
            string(buf, &self.name);
            key(buf, ",\"qtype\":");
            string(buf, &self.qtype);
        }
    }

    impl FastJson for Anomaly {
        fn write(&self, buf: &mut Vec<u8>) {
            type_and_ts(buf, Anomaly::TYPE, self.ts);
            key(buf, ",\"frame\":");
            optional_number(buf, self.frame);
            key(buf, ",\"flow\":");
            optional_number(buf, self.flow);
            key(buf, ",\"kind\":");
            string(buf, self.kind.as_str());
            key(buf, ",\"detail\":");
            string(buf, &self.detail);
        }
    }

    impl FastJson for Finding {
        fn write(&self, buf: &mut Vec<u8>) {
            key(buf, "{\"type\":\"");
            key(buf, Finding::TYPE);
            key(buf, "\",\"flow\":");
            optional_number(buf, self.flow);
            key(buf, ",\"ts\":");
            timestamp(buf, self.ts);
            key(buf, ",\"frame\":");
            optional_number(buf, self.frame);
            key(buf, ",\"kind\":");
            string(buf, self.kind.as_str());
            key(buf, ",\"severity\":");
            string(buf, self.severity.as_str());
            key(buf, ",\"host\":");
            optional(buf, self.host.as_deref());
            key(buf, ",\"detail\":");
            string(buf, &self.detail);
            key(buf, ",\"advice\":");
            string(buf, &self.advice);
        }
    }

    impl FastJson for Payload {
        fn write(&self, buf: &mut Vec<u8>) {
            use base64::Engine as _;
            head(buf, Payload::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"dir\":");
            string(buf, self.dir.as_str());
            key(buf, ",\"offset\":");
            number(buf, self.offset);
            key(buf, ",\"data\":\"");
            // Base64 needs no escaping: its alphabet is plain ASCII.
            let start = buf.len();
            buf.resize(start + self.data.len().div_ceil(3) * 4, 0);
            let written = base64::engine::general_purpose::STANDARD
                .encode_slice(&self.data, &mut buf[start..])
                .unwrap_or(0);
            buf.truncate(start + written);
            key(buf, "\",\"decrypted\":");
            boolean(buf, self.decrypted);
        }
    }

    impl FastJson for TlsRecord {
        fn write(&self, buf: &mut Vec<u8>) {
            head(buf, TlsRecord::TYPE, self.flow, self.ts, self.frame);
            key(buf, ",\"dir\":");
            string(buf, self.dir.as_str());
            key(buf, ",\"content_type\":");
            string(buf, self.content_type.as_str());
            key(buf, ",\"length\":");
            number(buf, self.length);
            key(buf, ",\"head\":");
            string(buf, &self.head);
            key(buf, ",\"inner_type\":");
            optional(buf, self.inner_type.map(|t| t.as_str()));
        }
    }

    /// `{"type":"…","ts":…` for the kinds whose first field is the time.
    fn type_and_ts(buf: &mut Vec<u8>, type_name: &str, ts: Timestamp) {
        key(buf, "{\"type\":\"");
        key(buf, type_name);
        key(buf, "\",\"ts\":");
        timestamp(buf, ts);
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

    fn head(buf: &mut Vec<u8>, type_name: &str, flow: u64, ts: Timestamp, frame: u64) {
        key(buf, "{\"type\":\"");
        key(buf, type_name);
        key(buf, "\",\"flow\":");
        number(buf, flow);
        key(buf, ",\"ts\":");
        timestamp(buf, ts);
        key(buf, ",\"frame\":");
        number(buf, frame);
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

    fn optional_number(buf: &mut Vec<u8>, n: Option<u64>) {
        match n {
            Some(n) => number(buf, n),
            None => key(buf, "null"),
        }
    }

    /// The timestamp as serde_json writes the f64 `Timestamp::as_secs_f64`: its shortest
    /// round-trip digits. Between 1 s and 2^33 s (the year 2242) that is the capture's own
    /// decimal `secs.micros` with trailing zeros cut (at least one digit after the point), written
    /// here from the integers: the float is the correctly rounded `micros / 1e6`, its spacing is
    /// below a microsecond, so no shorter decimal and no other six-digit one rounds to it.
    /// serde_json's float formatting was 2% of a report. Other times go through serde_json.
    pub(super) fn timestamp(buf: &mut Vec<u8>, ts: Timestamp) {
        const FAST: std::ops::Range<u64> = Timestamp::MICROS_PER_SEC..(1 << 33) * 1_000_000;
        if !FAST.contains(&ts.0) {
            let _ = serde_json::to_writer(&mut *buf, &ts);
            return;
        }
        let (secs, micros) = (ts.secs(), ts.0 % Timestamp::MICROS_PER_SEC);
        buf.extend_from_slice(itoa::Buffer::new().format(secs).as_bytes());
        // The six digits after the point, zero-padded: those of 1 000 000 + micros after its 1.
        let mut padded = itoa::Buffer::new();
        let six = padded
            .format(micros + Timestamp::MICROS_PER_SEC)
            .as_bytes()
            .get(1..)
            .unwrap_or_default();
        // Trailing zeros cut, one digit kept (`.0` for a whole second).
        let end = six
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(1, |last| last + 1);
        buf.push(b'.');
        buf.extend_from_slice(six.get(..end).unwrap_or_default());
    }

    fn boolean(buf: &mut Vec<u8>, b: bool) {
        key(buf, if b { "true" } else { "false" });
    }

    fn endpoint(buf: &mut Vec<u8>, name: &str, e: &Endpoint) {
        key(buf, name);
        // Digits, dots, colons and brackets: nothing to escape.
        buf.push(b'"');
        e.write_to(buf);
        buf.push(b'"');
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
    use crate::event::*;
    use proptest::prelude::*;

    fn endpoint() -> impl Strategy<Value = Endpoint> {
        any::<std::net::SocketAddr>().prop_map(Endpoint)
    }

    fn text() -> impl Strategy<Value = String> {
        // Plain words, and anything at all: quotes, backslashes, control characters, Unicode.
        prop_oneof!["[a-zA-Z0-9 /=&%.-]{0,24}", any::<String>()]
    }

    fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec((text(), text()), 0..5)
    }

    fn strings() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(text(), 0..4)
    }

    fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
        proptest::sample::select(all)
    }

    /// Any time at all, and the times captures have: around the edges of the range written
    /// by hand (1 s, 2^33 s), whole seconds and microseconds with trailing zeros.
    fn ts() -> impl Strategy<Value = Timestamp> {
        const EDGE: u64 = (1 << 33) * 1_000_000;
        prop_oneof![
            any::<u64>().prop_map(Timestamp),
            (0..EDGE + 10_000_000).prop_map(Timestamp),
            (0u64..3_000_000).prop_map(Timestamp),
            (EDGE - 3_000_000..EDGE + 3_000_000).prop_map(Timestamp),
            (0u64..1 << 34, 0u64..7).prop_map(|(secs, zeros)| {
                let micros = (secs.wrapping_mul(2_654_435_761) % 1_000_000)
                    / 10u64.pow(zeros as u32)
                    * 10u64.pow(zeros as u32);
                Timestamp(secs * 1_000_000 + micros % 1_000_000)
            }),
        ]
    }

    /// Any event of any kind, every field drawn at random (the frame apart).
    fn any_event_without_frame() -> impl Strategy<Value = Event> {
        let flow_open = (
            (any::<u64>(), ts(), endpoint(), endpoint()),
            (
                any::<bool>(),
                pick(Transport::ALL),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ),
        )
            .prop_map(
                |((flow, ts, client, server), (handshake_seen, transport, tunnel, input))| {
                    Event::FlowOpen(FlowOpen {
                        frame: 0,
                        flow,
                        ts,
                        client,
                        server,
                        handshake_seen,
                        transport,
                        tunnel,
                        input,
                    })
                },
            );
        let flow_close = (
            (
                any::<u64>(),
                ts(),
                pick(CloseReason::ALL),
                pick(Protocol::ALL),
            ),
            proptest::array::uniform6(any::<u64>()),
            (pick(Transport::ALL), any::<bool>()),
        )
            .prop_map(|((flow, ts, reason, protocol), n, (transport, starttls))| {
                Event::FlowClose(FlowClose {
                    frame: 0,
                    flow,
                    ts,
                    reason,
                    protocol,
                    bytes_c2s: n[0],
                    bytes_s2c: n[1],
                    packets: n[2],
                    missing_bytes: n[3],
                    tls_records: n[4],
                    tls_bytes: n[5],
                    transport,
                    starttls,
                })
            });
        let request = (
            (any::<u64>(), ts(), text(), text()),
            (
                // The usual tokens, or what an odd device sent (HTTP/1.x versions are as seen).
                (
                    pick(&["HTTP/1.0", "HTTP/1.1", "HTTP/2"]),
                    text(),
                    any::<bool>(),
                )
                    .prop_map(|(usual, odd, is_usual)| {
                        if is_usual {
                            std::borrow::Cow::Borrowed(usual)
                        } else {
                            std::borrow::Cow::Owned(odd)
                        }
                    }),
                proptest::option::of(text()),
                headers(),
            ),
            (
                any::<u64>(),
                any::<bool>(),
                proptest::option::of(any::<u32>()),
            ),
        )
            .prop_map(
                |(
                    (flow, ts, method, target),
                    (version, host, headers),
                    (body_len, decrypted, stream),
                )| {
                    Event::HttpRequest(HttpRequest {
                        frame: 0,
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
                    })
                },
            );
        let response = (
            (any::<u64>(), ts(), any::<u16>(), text(), headers()),
            (
                any::<u64>(),
                any::<bool>(),
                proptest::option::of(any::<u32>()),
            ),
        )
            .prop_map(
                |((flow, ts, status, reason, headers), (body_len, decrypted, stream))| {
                    Event::HttpResponse(HttpResponse {
                        frame: 0,
                        flow,
                        ts,
                        status,
                        reason,
                        headers,
                        body_len,
                        decrypted,
                        stream,
                        html: None,
                    })
                },
            );
        let credential = (
            (
                any::<u64>(),
                ts(),
                pick(CredentialKind::ALL),
                proptest::option::of(text()),
            ),
            (text(), endpoint(), endpoint(), text(), any::<bool>()),
        )
            .prop_map(
                |((flow, ts, kind, username), (secret, client, server, location, decrypted))| {
                    Event::Credential(Credential {
                        frame: 0,
                        flow,
                        ts,
                        kind,
                        username,
                        secret,
                        client,
                        server,
                        location,
                        decrypted,
                    })
                },
            );
        let client_hello = (
            (any::<u64>(), ts(), proptest::option::of(text())),
            (strings(), strings(), any::<usize>(), text()),
        )
            .prop_map(
                |((flow, ts, sni), (alpn, offered_versions, cipher_suites, ja4))| {
                    Event::TlsClientHello(TlsClientHello {
                        frame: 0,
                        flow,
                        ts,
                        sni,
                        alpn,
                        offered_versions,
                        cipher_suites,
                        ja4,
                    })
                },
            );
        let server_hello = (
            (any::<u64>(), ts(), text(), text()),
            (proptest::option::of(text()), any::<bool>()),
        )
            .prop_map(|((flow, ts, version, cipher), (alpn, hello_retry))| {
                Event::TlsServerHello(TlsServerHello {
                    frame: 0,
                    flow,
                    ts,
                    version,
                    cipher,
                    alpn,
                    hello_retry,
                })
            });
        let chain_entry = (
            (
                text(),
                text(),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ),
            (strings(), text(), text(), text()),
            (text(), text(), any::<bool>()),
        )
            .prop_map(
                |(
                    (subject, issuer, subject_cn, issuer_cn),
                    (san, not_before, not_after, key),
                    (signature, sha256, is_ca),
                )| ChainCertificate {
                    subject,
                    issuer,
                    subject_cn,
                    issuer_cn,
                    san,
                    not_before,
                    not_after,
                    key,
                    signature,
                    sha256,
                    is_ca,
                },
            );
        let trust = (pick(TrustResult::ALL), proptest::option::of(text()), text()).prop_map(
            |(result, anchor, detail)| Trust {
                result,
                anchor,
                detail,
            },
        );
        let certificate = (
            (any::<u64>(), ts(), proptest::option::of(text()), strings()),
            (text(), text()),
            (proptest::collection::vec(chain_entry, 0..3), trust),
        )
            .prop_map(
                |((flow, ts, subject_cn, san), (issuer_cn, not_after), (chain, trust))| {
                    Event::TlsCertificate(TlsCertificate {
                        frame: 0,
                        flow,
                        ts,
                        subject_cn,
                        san,
                        issuer_cn,
                        not_after,
                        chain,
                        trust,
                    })
                },
            );
        let decryption = (any::<u64>(), ts(), pick(DecryptionResult::ALL), text()).prop_map(
            |(flow, ts, result, detail)| {
                Event::TlsDecryption(TlsDecryption {
                    frame: 0,
                    flow,
                    ts,
                    result,
                    detail,
                })
            },
        );
        let dns = (ts(), endpoint(), endpoint(), text(), text()).prop_map(
            |(ts, client, server, name, qtype)| {
                Event::DnsQuery(DnsQuery {
                    frame: 0,
                    ts,
                    client,
                    server,
                    name,
                    qtype,
                })
            },
        );
        let finding = (
            ts(),
            proptest::option::of(any::<u64>()),
            pick(FindingKind::ALL),
            pick(Severity::ALL),
            proptest::option::of(text()),
            text(),
            text(),
        )
            .prop_map(|(ts, flow, kind, severity, host, detail, advice)| {
                Event::Finding(Finding {
                    flow,
                    ts,
                    frame: None,
                    kind,
                    severity,
                    host,
                    detail,
                    advice,
                })
            });
        let anomaly = (
            ts(),
            proptest::option::of(any::<u64>()),
            pick(AnomalyKind::ALL),
            text(),
        )
            .prop_map(|(ts, flow, kind, detail)| {
                Event::Anomaly(Anomaly {
                    frame: None,
                    ts,
                    flow,
                    kind,
                    detail,
                })
            });
        let summary = (
            proptest::array::uniform9(any::<u32>()),
            proptest::collection::btree_map(pick(Protocol::ALL), any::<u64>(), 0..4),
            proptest::collection::btree_map(text(), any::<u64>(), 0..4),
            0.0..1e9f64,
        )
            .prop_map(|(n, flows_by_protocol, credentials_by_kind, duration)| {
                let n = n.map(u64::from);
                Event::Summary(Summary {
                    packets: n[0],
                    bytes: n[1],
                    flows: n[2],
                    flows_by_protocol,
                    credentials: n[3],
                    credentials_by_kind,
                    plaintext_bytes: n[4],
                    encrypted_bytes: n[5],
                    decrypted_flows: n[6],
                    anomalies: n[7],
                    wifi_protected_frames: n[8] % 3,
                    duration,
                    findings: n[0] % 5,
                    findings_by_kind: std::collections::BTreeMap::new(),
                })
            });
        let payload = (
            (any::<u64>(), ts(), pick(Dir::ALL)),
            (
                any::<u64>(),
                proptest::collection::vec(any::<u8>(), 0..64),
                any::<bool>(),
            ),
        )
            .prop_map(|((flow, ts, dir), (offset, data, decrypted))| {
                Event::Payload(Payload {
                    flow,
                    ts,
                    frame: 0,
                    dir,
                    offset,
                    data,
                    decrypted,
                })
            });
        let record = (
            (any::<u64>(), ts(), pick(Dir::ALL), pick(RecordType::ALL)),
            (
                any::<u64>(),
                "[0-9a-f]{0,32}",
                proptest::option::of(pick(RecordType::ALL)),
            ),
        )
            .prop_map(
                |((flow, ts, dir, content_type), (length, head, inner_type))| {
                    Event::TlsRecord(TlsRecord {
                        flow,
                        ts,
                        frame: 0,
                        dir,
                        content_type,
                        length,
                        head,
                        inner_type,
                    })
                },
            );
        prop_oneof![
            flow_open,
            flow_close,
            request,
            response,
            credential,
            client_hello,
            server_hello,
            certificate,
            decryption,
            dns,
            anomaly,
            finding,
            summary,
            payload,
            record,
        ]
    }

    /// Any event of any kind, every field drawn at random.
    fn any_event() -> impl Strategy<Value = Event> {
        (any_event_without_frame(), any::<u64>(), any::<bool>()).prop_map(|(mut e, n, known)| {
            match &mut e {
                Event::FlowOpen(e) => e.frame = n,
                Event::FlowClose(e) => e.frame = n,
                Event::HttpRequest(e) => e.frame = n,
                Event::HttpResponse(e) => e.frame = n,
                Event::Credential(e) => e.frame = n,
                Event::TlsClientHello(e) => e.frame = n,
                Event::TlsServerHello(e) => e.frame = n,
                Event::TlsCertificate(e) => e.frame = n,
                Event::TlsDecryption(e) => e.frame = n,
                Event::DnsQuery(e) => e.frame = n,
                Event::Anomaly(e) => e.frame = known.then_some(n),
                Event::Payload(e) => e.frame = n,
                Event::TlsRecord(e) => e.frame = n,
                Event::Finding(e) => e.frame = known.then_some(n),
                Event::Summary(_) => {}
            }
            e
        })
    }

    proptest! {
        /// Every event, of every kind, is written byte for byte as serde_json writes it (the
        /// hand-written kinds included), one line, whose `type` is the kind's contract name.
        #[test]
        fn every_event_is_serde_json_bytes(event in any_event()) {
            let mut buf = Vec::new();
            {
                let mut w = JsonWriter::new(&mut buf);
                w.write(&event);
                w.flush();
            }
            let line = String::from_utf8(buf).unwrap();
            prop_assert_eq!(&line, &format!("{}\n", serde_json::to_string(&event).unwrap()));
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            // Every kind but the summary (one per run) takes the hand-written path.
            let mut fast_bytes = Vec::new();
            prop_assert_eq!(
                fast::write(&mut fast_bytes, &event),
                !matches!(event, Event::Summary(_))
            );
            prop_assert_eq!(value["type"].as_str(), Some(event.type_name()));
        }
    }

    /// Timestamps written from their integers are serde_json's digits for the f64: every
    /// microsecond of a second near each end of the range written by hand and of a capture's
    /// second, and a sweep over the whole range.
    #[test]
    fn timestamps_are_serde_json_digits() {
        let check = |micros: u64| {
            let ts = Timestamp(micros);
            let mut fast_bytes = Vec::new();
            fast::timestamp(&mut fast_bytes, ts);
            assert_eq!(
                String::from_utf8(fast_bytes).unwrap(),
                serde_json::to_string(&ts).unwrap(),
                "{micros} µs"
            );
        };
        for secs in [0, 1, 1_700_259_225, (1 << 33) - 1, 1 << 33] {
            (0..1_000_000).for_each(|micros| check(secs * 1_000_000 + micros));
        }
        let mut micros = 0u64;
        while micros < (1 << 34) * 1_000_000 {
            check(micros);
            micros = micros * 9 / 8 + 7_777;
        }
    }

    /// The property test above draws from every kind the contract lists.
    #[test]
    fn every_kind_is_drawn() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let event = any_event().new_tree(&mut runner).unwrap().current();
            seen.insert(event.type_name());
        }
        assert_eq!(seen.len(), Event::TYPE_NAMES.len(), "{seen:?}");
    }

    #[test]
    fn one_object_a_line_with_contract_names() {
        let mut buf = Vec::new();
        {
            let mut w = JsonWriter::new(&mut buf);
            w.write(&Event::FlowOpen(FlowOpen {
                flow: 1,
                ts: Timestamp(1_700_000_000_123_456),
                frame: 1,
                client: Endpoint("[::1]:5000".parse().unwrap()),
                server: Endpoint("[::1]:443".parse().unwrap()),
                handshake_seen: true,
                transport: Transport::Tcp,
                tunnel: None,
                input: None,
            }));
            w.flush();
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"type\":\"flow_open\",\"flow\":1,\"ts\":1700000000.123456,\"frame\":1,\"client\":\"[::1]:5000\",\"server\":\"[::1]:443\",\"handshake_seen\":true,\"transport\":\"tcp\"}\n"
        );
    }
}
