//! The one type that leaves the engine: [`Event`].
//!
//! The report (text and NDJSON) and the terminal UI consume the same stream. The serialised form is
//! the contract in `docs/events.md`: field names and values here are part of the public interface.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use serde::{Serialize, Serializer};

pub use crate::creds::CredentialKind;

/// A capture timestamp, in microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub const MICROS_PER_SEC: u64 = 1_000_000;

    pub fn from_secs_micros(secs: u64, micros: u64) -> Self {
        Timestamp(
            secs.saturating_mul(Self::MICROS_PER_SEC)
                .saturating_add(micros),
        )
    }

    pub fn secs(self) -> u64 {
        self.0 / Self::MICROS_PER_SEC
    }

    /// Seconds as a float. Dividing the exact integer count of microseconds by 1e6 is correctly
    /// rounded, so the JSON shows the capture's microseconds without float noise.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    pub fn saturating_sub(self, other: Timestamp) -> u64 {
        self.0.saturating_sub(other.0)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.secs(), self.0 % Self::MICROS_PER_SEC)
    }
}

/// A TCP or UDP endpoint. Serialised as `"ip:port"`, IPv6 in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint(pub SocketAddr);

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Formatted on the stack: two endpoints go out with every flow, and `collect_str` through
        // `Display` was the largest single cost of the JSON output.
        let mut buf = [0u8; 64];
        let len = match self.0 {
            SocketAddr::V4(a) => write_v4(&mut buf, a),
            SocketAddr::V6(_) => {
                let mut cursor = std::io::Cursor::new(&mut buf[..]);
                let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{}", self.0));
                cursor.position() as usize
            }
        };
        s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default())
    }
}

/// `a.b.c.d:port` into `buf` (at most 21 bytes); returns the length.
fn write_v4(buf: &mut [u8; 64], addr: std::net::SocketAddrV4) -> usize {
    fn decimal(buf: &mut [u8; 64], at: &mut usize, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in digits[..count].iter().rev() {
            buf[*at] = d;
            *at += 1;
        }
    }
    let mut at = 0;
    for (i, octet) in addr.ip().octets().into_iter().enumerate() {
        if i > 0 {
            buf[at] = b'.';
            at += 1;
        }
        decimal(buf, &mut at, u32::from(octet));
    }
    buf[at] = b':';
    at += 1;
    decimal(buf, &mut at, u32::from(addr.port()));
    at
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Flow ids are unique within one run, across all its inputs.
pub type FlowId = u64;

/// What a TCP flow carries, found from its bytes rather than its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Http,
    Tls,
    Ftp,
    Pop3,
    Imap,
    Smtp,
    Telnet,
    Unknown,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Tls => "tls",
            Protocol::Ftp => "ftp",
            Protocol::Pop3 => "pop3",
            Protocol::Imap => "imap",
            Protocol::Smtp => "smtp",
            Protocol::Telnet => "telnet",
            Protocol::Unknown => "unknown",
        }
    }

    /// Protocols whose bytes an eavesdropper reads as they are.
    pub fn is_plaintext(self) -> bool {
        !matches!(self, Protocol::Tls | Protocol::Unknown)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Fin,
    Rst,
    Timeout,
    EndOfCapture,
    Evicted,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Fin => "fin",
            CloseReason::Rst => "rst",
            CloseReason::Timeout => "timeout",
            CloseReason::EndOfCapture => "end_of_capture",
            CloseReason::Evicted => "evicted",
        }
    }
}

/// Something wrong or odd in the input; analysis goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    OverlapConflict,
    Gap,
    BadChecksum,
    TruncatedPacket,
    TruncatedFile,
    UnsupportedLinkType,
    ParseError,
    MemoryLimit,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::OverlapConflict => "overlap_conflict",
            AnomalyKind::Gap => "gap",
            AnomalyKind::BadChecksum => "bad_checksum",
            AnomalyKind::TruncatedPacket => "truncated_packet",
            AnomalyKind::TruncatedFile => "truncated_file",
            AnomalyKind::UnsupportedLinkType => "unsupported_link_type",
            AnomalyKind::ParseError => "parse_error",
            AnomalyKind::MemoryLimit => "memory_limit",
        }
    }
}

/// The engine's output: one NDJSON line each in `report --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    FlowOpen {
        flow: FlowId,
        ts: Timestamp,
        client: Endpoint,
        server: Endpoint,
        handshake_seen: bool,
    },
    FlowClose {
        flow: FlowId,
        ts: Timestamp,
        reason: CloseReason,
        protocol: Protocol,
        bytes_c2s: u64,
        bytes_s2c: u64,
        packets: u64,
        missing_bytes: u64,
        tls_records: u64,
        tls_bytes: u64,
    },
    HttpRequest {
        flow: FlowId,
        ts: Timestamp,
        method: String,
        target: String,
        version: &'static str,
        host: Option<String>,
        headers: Vec<(String, String)>,
        body_len: u64,
        decrypted: bool,
        stream: Option<u32>,
    },
    HttpResponse {
        flow: FlowId,
        ts: Timestamp,
        status: u16,
        reason: String,
        headers: Vec<(String, String)>,
        body_len: u64,
        decrypted: bool,
        stream: Option<u32>,
    },
    Credential(Credential),
    TlsClientHello {
        flow: FlowId,
        ts: Timestamp,
        sni: Option<String>,
        alpn: Vec<String>,
        offered_versions: Vec<String>,
        cipher_suites: usize,
        ja4: String,
    },
    TlsServerHello {
        flow: FlowId,
        ts: Timestamp,
        version: String,
        cipher: String,
        alpn: Option<String>,
    },
    TlsCertificate {
        flow: FlowId,
        ts: Timestamp,
        subject_cn: Option<String>,
        san: Vec<String>,
        issuer_cn: String,
        not_after: String,
    },
    TlsDecryption {
        flow: FlowId,
        ts: Timestamp,
        result: &'static str,
        detail: String,
    },
    DnsQuery {
        ts: Timestamp,
        client: Endpoint,
        server: Endpoint,
        name: String,
        qtype: String,
    },
    Anomaly {
        ts: Timestamp,
        flow: Option<FlowId>,
        kind: AnomalyKind,
        detail: String,
    },
    Summary(Summary),
}

/// A secret seen in the clear (or thanks to a key log).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Credential {
    pub flow: FlowId,
    pub ts: Timestamp,
    pub kind: CredentialKind,
    pub username: Option<String>,
    pub secret: String,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Where in the traffic: `header Authorization`, `form field pwd`, `command PASS`…
    #[serde(rename = "where")]
    pub location: String,
    /// True when it could be read only thanks to `--keylog`.
    pub decrypted: bool,
}

impl Event {
    /// Adds `by` to the event's flow id, if it has one: each capture file numbers its flows from
    /// 1, and a run over several files shifts each file's ids past those of the files before it.
    pub fn shift_flow(&mut self, by: FlowId) {
        if by == 0 {
            return;
        }
        match self {
            Event::FlowOpen { flow, .. }
            | Event::FlowClose { flow, .. }
            | Event::HttpRequest { flow, .. }
            | Event::HttpResponse { flow, .. }
            | Event::Credential(Credential { flow, .. })
            | Event::TlsClientHello { flow, .. }
            | Event::TlsServerHello { flow, .. }
            | Event::TlsCertificate { flow, .. }
            | Event::TlsDecryption { flow, .. } => *flow += by,
            Event::Anomaly {
                flow: Some(flow), ..
            } => *flow += by,
            Event::Anomaly { flow: None, .. } | Event::DnsQuery { .. } | Event::Summary(_) => {}
        }
    }

    /// Roughly the memory the event holds (its own size plus its strings), to bound how much may
    /// wait in memory when several files are analysed in parallel.
    pub fn approx_size(&self) -> usize {
        let strings = |list: &[String]| list.iter().map(|s| s.len() + 24).sum::<usize>();
        let headers = |list: &[(String, String)]| {
            list.iter()
                .map(|(n, v)| n.len() + v.len() + 48)
                .sum::<usize>()
        };
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        std::mem::size_of::<Event>()
            + match self {
                Event::HttpRequest {
                    method,
                    target,
                    host,
                    headers: h,
                    ..
                } => method.len() + target.len() + opt(host) + headers(h),
                Event::HttpResponse {
                    reason, headers: h, ..
                } => reason.len() + headers(h),
                Event::Credential(c) => opt(&c.username) + c.secret.len() + c.location.len() + 64,
                Event::TlsClientHello {
                    sni,
                    alpn,
                    offered_versions,
                    ja4,
                    ..
                } => opt(sni) + strings(alpn) + strings(offered_versions) + ja4.len(),
                Event::TlsServerHello {
                    version,
                    cipher,
                    alpn,
                    ..
                } => version.len() + cipher.len() + opt(alpn),
                Event::TlsCertificate {
                    subject_cn,
                    san,
                    issuer_cn,
                    not_after,
                    ..
                } => opt(subject_cn) + strings(san) + issuer_cn.len() + not_after.len(),
                Event::TlsDecryption { detail, .. } | Event::Anomaly { detail, .. } => detail.len(),
                Event::DnsQuery { name, qtype, .. } => name.len() + qtype.len(),
                Event::Summary(_) => 512,
                Event::FlowOpen { .. } | Event::FlowClose { .. } => 0,
            }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Event::FlowOpen { .. } => "flow_open",
            Event::FlowClose { .. } => "flow_close",
            Event::HttpRequest { .. } => "http_request",
            Event::HttpResponse { .. } => "http_response",
            Event::Credential(_) => "credential",
            Event::TlsClientHello { .. } => "tls_client_hello",
            Event::TlsServerHello { .. } => "tls_server_hello",
            Event::TlsCertificate { .. } => "tls_certificate",
            Event::TlsDecryption { .. } => "tls_decryption",
            Event::DnsQuery { .. } => "dns_query",
            Event::Anomaly { .. } => "anomaly",
            Event::Summary(_) => "summary",
        }
    }
}

/// Totals of a run: the last line of the event stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Packets read from the inputs (after the BPF filter).
    pub packets: u64,
    /// Bytes of those packets as captured.
    pub bytes: u64,
    /// TCP flows seen.
    pub flows: u64,
    pub flows_by_protocol: BTreeMap<Protocol, u64>,
    pub credentials: u64,
    pub credentials_by_kind: BTreeMap<String, u64>,
    /// TCP payload bytes of flows whose protocol is read in the clear.
    pub plaintext_bytes: u64,
    /// TCP payload bytes of TLS flows.
    pub encrypted_bytes: u64,
    pub decrypted_flows: u64,
    pub anomalies: u64,
    /// Seconds between the first and the last packet's timestamps.
    pub duration: f64,
}

impl Summary {
    /// Adds another input's totals to these. `duration` is left alone: it comes from the run's
    /// first and last packet, which the caller knows.
    pub fn absorb(&mut self, other: &Summary) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.flows += other.flows;
        for (protocol, n) in &other.flows_by_protocol {
            *self.flows_by_protocol.entry(*protocol).or_insert(0) += n;
        }
        self.credentials += other.credentials;
        for (kind, n) in &other.credentials_by_kind {
            *self.credentials_by_kind.entry(kind.clone()).or_insert(0) += n;
        }
        self.plaintext_bytes += other.plaintext_bytes;
        self.encrypted_bytes += other.encrypted_bytes;
        self.decrypted_flows += other.decrypted_flows;
        self.anomalies += other.anomalies;
    }
}

/// Header names whose values carry secrets, masked by [`Event::redacted`].
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

impl Event {
    /// The same event with every secret masked (first and last character kept), for `--redact`:
    /// credential secrets, secret-bearing headers and password-like query fields.
    pub fn redacted(&self) -> Event {
        use crate::creds::redact;
        let mask_headers = |headers: &[(String, String)]| -> Vec<(String, String)> {
            headers
                .iter()
                .map(|(n, v)| {
                    if SECRET_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s)) {
                        // Keep the scheme word (Basic, Bearer…) visible: it is the lesson.
                        let masked = match v.split_once(' ') {
                            Some((scheme, rest)) if !scheme.contains('=') => {
                                format!("{scheme} {}", redact(rest))
                            }
                            _ => redact(v),
                        };
                        (n.clone(), masked)
                    } else {
                        (n.clone(), v.clone())
                    }
                })
                .collect()
        };
        match self {
            Event::Credential(c) => Event::Credential(Credential {
                secret: redact(&c.secret),
                ..c.clone()
            }),
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
            } => Event::HttpRequest {
                flow: *flow,
                ts: *ts,
                method: method.clone(),
                target: redact_target(target),
                version,
                host: host.clone(),
                headers: mask_headers(headers),
                body_len: *body_len,
                decrypted: *decrypted,
                stream: *stream,
            },
            Event::HttpResponse {
                flow,
                ts,
                status,
                reason,
                headers,
                body_len,
                decrypted,
                stream,
            } => Event::HttpResponse {
                flow: *flow,
                ts: *ts,
                status: *status,
                reason: reason.clone(),
                headers: mask_headers(headers),
                body_len: *body_len,
                decrypted: *decrypted,
                stream: *stream,
            },
            other => other.clone(),
        }
    }
}

/// A request target with the values of password-like query fields masked.
fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_string();
    };
    let fields: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if crate::creds::fields::is_password_field(k) => {
                format!("{k}={}", crate::creds::redact(v))
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", fields.join("&"))
}
