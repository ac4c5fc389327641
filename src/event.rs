//! The one type that leaves the engine: [`Event`], one named struct per kind.
//!
//! The report (text and NDJSON) and the terminal UI consume the same stream. The serialised form is
//! the contract in `docs/events.md`: field names and values here are part of the public interface.
//! Each kind's behaviour (its flow id, its size, what `--redact` masks, what a terminal must not
//! see raw) lives with its struct, in its [`EventKind`] implementation.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::base::wire_names;
pub use crate::base::{Endpoint, FlowId, Timestamp};
use crate::creds::redact;
pub use crate::creds::CredentialKind;
pub use crate::flow::CloseReason;
pub use crate::proto::tls::DecryptionResult;
pub use crate::proto::Protocol;

wire_names! {
    /// Something wrong or odd in the input; analysis goes on.
    pub enum AnomalyKind {
        OverlapConflict = "overlap_conflict",
        Gap = "gap",
        BadChecksum = "bad_checksum",
        TruncatedPacket = "truncated_packet",
        TruncatedFile = "truncated_file",
        UnsupportedLinkType = "unsupported_link_type",
        ParseError = "parse_error",
        MemoryLimit = "memory_limit",
    }
}

/// What every event kind can do besides being serialised. The defaults suit kinds that hold no
/// flow id, no secret and no text from the network.
pub trait EventKind: Clone {
    /// The flow the event belongs to, if any.
    fn flow_id(&self) -> Option<FlowId> {
        None
    }
    /// The flow id to shift when inputs are merged.
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        None
    }
    /// Bytes the event holds on the heap, roughly (strings and lists).
    fn heap_size(&self) -> usize {
        0
    }
    /// Masks every secret it carries (`--redact`).
    fn redact(&mut self) {}
    /// Makes every string that came from the network safe for a terminal.
    fn make_printable(&mut self) {}
}

/// Declares the [`Event`] enum from one table: each kind's variant, payload struct and contract
/// name, so the serialised `"type"` and [`Event::type_name`] cannot differ.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// The engine's output: one NDJSON line each in `report --json`.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "type")]
        pub enum Event {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($variant), )*
        }

        impl Event {
            /// Every kind's contract name, in declaration order.
            pub const TYPE_NAMES: &'static [&'static str] = &[$($name),*];

            /// The contract's `"type"` of this event.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $( Event::$variant(_) => $name, )*
                }
            }

            fn payload(&self) -> &dyn KindObject {
                match self {
                    $( Event::$variant(p) => p, )*
                }
            }

            fn payload_mut(&mut self) -> &mut dyn KindObject {
                match self {
                    $( Event::$variant(p) => p, )*
                }
            }
        }

        $(
            impl $variant {
                /// This kind's contract name, the `"type"` of its JSON object.
                pub const TYPE: &'static str = $name;
            }

            impl From<$variant> for Event {
                fn from(payload: $variant) -> Event {
                    Event::$variant(payload)
                }
            }
        )*
    };
}

events! {
    FlowOpen = "flow_open",
    FlowClose = "flow_close",
    HttpRequest = "http_request",
    HttpResponse = "http_response",
    Credential = "credential",
    TlsClientHello = "tls_client_hello",
    TlsServerHello = "tls_server_hello",
    TlsCertificate = "tls_certificate",
    TlsDecryption = "tls_decryption",
    DnsQuery = "dns_query",
    Anomaly = "anomaly",
    Summary = "summary",
    Payload = "payload",
    TlsRecord = "tls_record",
    Finding = "finding",
}

/// [`EventKind`] without `Clone`, so the enum can hand out its payload as a trait object.
trait KindObject {
    fn flow_id(&self) -> Option<FlowId>;
    fn flow_id_mut(&mut self) -> Option<&mut FlowId>;
    fn heap_size(&self) -> usize;
    fn redact(&mut self);
    fn make_printable(&mut self);
}

impl<P: EventKind> KindObject for P {
    fn flow_id(&self) -> Option<FlowId> {
        EventKind::flow_id(self)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        EventKind::flow_id_mut(self)
    }
    fn heap_size(&self) -> usize {
        EventKind::heap_size(self)
    }
    fn redact(&mut self) {
        EventKind::redact(self)
    }
    fn make_printable(&mut self) {
        EventKind::make_printable(self)
    }
}

impl Event {
    /// The flow the event belongs to, if any.
    pub fn flow(&self) -> Option<FlowId> {
        self.payload().flow_id()
    }

    /// The flow id, to renumber (a split run's merger gives flows their run-wide ids).
    pub fn flow_mut(&mut self) -> Option<&mut FlowId> {
        self.payload_mut().flow_id_mut()
    }

    /// Adds `by` to the event's flow id, if it has one: each capture file numbers its flows from
    /// 1, and a run over several files shifts each file's ids past those of the files before it.
    pub fn shift_flow(&mut self, by: FlowId) {
        if by == 0 {
            return;
        }
        if let Some(flow) = self.payload_mut().flow_id_mut() {
            *flow += by;
        }
    }

    /// Roughly the memory the event holds (its own size plus its strings), to bound how much may
    /// wait in memory when several files are analysed in parallel.
    pub fn approx_size(&self) -> usize {
        std::mem::size_of::<Event>() + self.payload().heap_size()
    }

    /// The same event with every secret masked (first and last character kept), for `--redact`:
    /// credential secrets, secret-bearing headers and password-like query fields.
    pub fn redacted(&self) -> Event {
        let mut event = self.clone();
        event.payload_mut().redact();
        event
    }

    /// The event with every string that came from the network made safe for a terminal:
    /// control characters (escape sequences) become `�`.
    pub fn printable(mut self) -> Event {
        self.payload_mut().make_printable();
        self
    }
}

/// A new TCP flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowOpen {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub handshake_seen: bool,
    pub transport: Transport,
    /// The tunnel the flow travels in (`"VXLAN 10.0.0.1 > 10.0.0.2 VNI 42"`); only present
    /// for tunnelled flows, so readers of untunnelled captures see nothing new.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    /// The input file, as given (`-` for stdin), when a run reads several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

impl EventKind for FlowOpen {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
}

/// A flow ended: what it carried, and how much.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowClose {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub reason: CloseReason,
    pub protocol: Protocol,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub packets: u64,
    pub missing_bytes: u64,
    pub tls_records: u64,
    pub tls_bytes: u64,
    pub transport: Transport,
    /// The flow switched to TLS inside its protocol (SMTP/IMAP `STARTTLS`, POP3 `STLS`, FTP
    /// `AUTH TLS`): from the switch on its bytes are TLS records.
    pub starttls: bool,
}

impl EventKind for FlowClose {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
}

/// An HTTP request (HTTP/1.x or HTTP/2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpRequest {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub method: String,
    pub target: String,
    pub version: Cow<'static, str>,
    pub host: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
    /// Read only thanks to the key log.
    pub decrypted: bool,
    /// The HTTP/2 stream id.
    pub stream: Option<u32>,
}

impl EventKind for HttpRequest {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        self.method.len()
            + self.target.len()
            + optional_len(&self.host)
            + headers_len(&self.headers)
    }
    fn redact(&mut self) {
        self.target = redact_target(&self.target);
        redact_headers(&mut self.headers);
    }
    fn make_printable(&mut self) {
        clean(&mut self.method);
        clean(&mut self.target);
        self.host.iter_mut().for_each(clean);
        clean_headers(&mut self.headers);
    }
}

/// An HTTP response (HTTP/1.x or HTTP/2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpResponse {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
    pub decrypted: bool,
    pub stream: Option<u32>,
    /// What the body's HTML holds, for the findings detector (not part of the event's JSON).
    #[serde(skip)]
    pub html: Option<crate::proto::html::HtmlFacts>,
}

impl EventKind for HttpResponse {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        self.reason.len() + headers_len(&self.headers)
    }
    fn redact(&mut self) {
        redact_headers(&mut self.headers);
    }
    fn make_printable(&mut self) {
        clean(&mut self.reason);
        clean_headers(&mut self.headers);
    }
}

/// A secret seen in the clear (or thanks to a key log).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Credential {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
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

impl EventKind for Credential {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        optional_len(&self.username) + self.secret.len() + self.location.len() + 64
    }
    fn redact(&mut self) {
        self.secret = redact(&self.secret);
    }
    fn make_printable(&mut self) {
        self.username.iter_mut().for_each(clean);
        clean(&mut self.secret);
        clean(&mut self.location);
    }
}

/// What a TLS client offered, in the clear.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsClientHello {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub offered_versions: Vec<String>,
    pub cipher_suites: usize,
    pub ja4: String,
}

impl EventKind for TlsClientHello {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        optional_len(&self.sni)
            + strings_len(&self.alpn)
            + strings_len(&self.offered_versions)
            + self.ja4.len()
    }
    fn make_printable(&mut self) {
        self.sni.iter_mut().for_each(clean);
        self.alpn.iter_mut().for_each(clean);
    }
}

/// What the TLS server chose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsServerHello {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub version: String,
    pub cipher: String,
    pub alpn: Option<String>,
    /// A TLS 1.3 HelloRetryRequest: the server asks the client to say hello again (with another
    /// key share); the real ServerHello follows.
    pub hello_retry: bool,
}

impl EventKind for TlsServerHello {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        self.version.len() + self.cipher.len() + optional_len(&self.alpn)
    }
    fn make_printable(&mut self) {
        self.alpn.iter_mut().for_each(clean);
    }
}

/// The server's certificates, where they travelled in the clear or were decrypted: the leaf's
/// names and expiry, the whole chain as sent, and whether a browser would trust it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsCertificate {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub subject_cn: Option<String>,
    pub san: Vec<String>,
    pub issuer_cn: String,
    pub not_after: String,
    /// Every certificate of the message, leaf first, as sent.
    pub chain: Vec<ChainCertificate>,
    pub trust: Trust,
}

/// One certificate of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCertificate {
    /// RFC 4514 strings.
    pub subject: String,
    pub issuer: String,
    pub subject_cn: Option<String>,
    pub issuer_cn: Option<String>,
    pub san: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// `RSA 2048`, `EC P-256`, `Ed25519`…
    pub key: String,
    /// `sha256WithRSAEncryption`, `ecdsa-with-SHA256`…
    pub signature: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    pub is_ca: bool,
}

wire_names! {
    /// Whether a browser would trust a chain, judged at the capture's time.
    pub enum TrustResult {
        Trusted = "trusted",
        UnknownIssuer = "unknown_issuer",
        SelfSigned = "self_signed",
        Expired = "expired",
        NotYetValid = "not_yet_valid",
        NameMismatch = "name_mismatch",
        BadSignature = "bad_signature",
        NotChecked = "not_checked",
    }
}

/// The trust verdict on a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trust {
    pub result: TrustResult,
    /// The CN of the root that vouches for the chain, when one does.
    pub anchor: Option<String>,
    pub detail: String,
}

impl ChainCertificate {
    fn heap_size(&self) -> usize {
        self.subject.len()
            + self.issuer.len()
            + optional_len(&self.subject_cn)
            + optional_len(&self.issuer_cn)
            + strings_len(&self.san)
            + self.not_before.len()
            + self.not_after.len()
            + self.key.len()
            + self.signature.len()
            + self.sha256.len()
    }

    fn make_printable(&mut self) {
        clean(&mut self.subject);
        clean(&mut self.issuer);
        self.subject_cn.iter_mut().for_each(clean);
        self.issuer_cn.iter_mut().for_each(clean);
        self.san.iter_mut().for_each(clean);
    }
}

impl EventKind for TlsCertificate {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        optional_len(&self.subject_cn)
            + strings_len(&self.san)
            + self.issuer_cn.len()
            + self.not_after.len()
            + self
                .chain
                .iter()
                .map(ChainCertificate::heap_size)
                .sum::<usize>()
            + self.trust.detail.len()
            + optional_len(&self.trust.anchor)
    }
    fn make_printable(&mut self) {
        self.subject_cn.iter_mut().for_each(clean);
        self.san.iter_mut().for_each(clean);
        clean(&mut self.issuer_cn);
        self.chain
            .iter_mut()
            .for_each(ChainCertificate::make_printable);
        self.trust.anchor.iter_mut().for_each(clean);
        // The detail names certificates (their CNs and SANs).
        clean(&mut self.trust.detail);
    }
}

/// How decrypting a TLS flow went (once per TLS flow when keys are given).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsDecryption {
    pub flow: FlowId,
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub result: DecryptionResult,
    pub detail: String,
}

impl EventKind for TlsDecryption {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        self.detail.len()
    }
    fn make_printable(&mut self) {
        clean(&mut self.detail);
    }
}

/// A DNS question (UDP, or TCP to a DNS port).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsQuery {
    pub ts: Timestamp,
    /// The packet that carried the first byte of what the event describes (1-based, as
    /// Wireshark numbers frames).
    pub frame: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub name: String,
    pub qtype: String,
}

impl EventKind for DnsQuery {
    fn heap_size(&self) -> usize {
        self.name.len() + self.qtype.len()
    }
    fn make_printable(&mut self) {
        clean(&mut self.name);
    }
}

wire_names! {
    /// What a flow runs on.
    pub enum Transport {
        Tcp = "tcp",
        Udp = "udp",
    }
}

wire_names! {
    /// Which way bytes went.
    pub enum Dir {
        ClientToServer = "c2s",
        ServerToClient = "s2c",
    }
}

impl From<crate::flow::Direction> for Dir {
    fn from(d: crate::flow::Direction) -> Dir {
        match d {
            crate::flow::Direction::ClientToServer => Dir::ClientToServer,
            crate::flow::Direction::ServerToClient => Dir::ServerToClient,
        }
    }
}

/// Bytes of a flow as they crossed the wire (`decrypted: false`), or as TLS carried them once
/// decrypted (`decrypted: true`): with `report --payloads`, and always in the UI. Concatenated
/// per flow, direction and `decrypted`, they are that stream's first `--payload-bytes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payload {
    pub flow: FlowId,
    pub ts: Timestamp,
    pub frame: u64,
    pub dir: Dir,
    /// Where `data` starts in that direction's stream (bytes never seen count too).
    pub offset: u64,
    #[serde(serialize_with = "base64_bytes")]
    pub data: Vec<u8>,
    pub decrypted: bool,
}

impl EventKind for Payload {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        self.data.len()
    }
}

/// Bytes as base64 (standard alphabet, padded): the JSON form of a payload.
fn base64_bytes<S: serde::Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
}

wire_names! {
    /// A TLS record's content type.
    pub enum RecordType {
        ChangeCipherSpec = "change_cipher_spec",
        Alert = "alert",
        Handshake = "handshake",
        ApplicationData = "application_data",
        Heartbeat = "heartbeat",
        Unknown = "unknown",
    }
}

impl RecordType {
    /// The content type of a record header's first byte.
    pub fn of(byte: u8) -> RecordType {
        match byte {
            20 => RecordType::ChangeCipherSpec,
            21 => RecordType::Alert,
            22 => RecordType::Handshake,
            23 => RecordType::ApplicationData,
            24 => RecordType::Heartbeat,
            _ => RecordType::Unknown,
        }
    }
}

/// One TLS record as it crossed the wire: with `report --payloads`, and always in the UI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsRecord {
    pub flow: FlowId,
    pub ts: Timestamp,
    pub frame: u64,
    pub dir: Dir,
    pub content_type: RecordType,
    /// The body's length (the 5-byte header apart).
    pub length: u64,
    /// The body's first 16 bytes as on the wire, hex.
    pub head: String,
    /// The real content type once decrypted (TLS 1.3 hides it in the ciphertext).
    pub inner_type: Option<RecordType>,
}

impl EventKind for TlsRecord {
    fn flow_id(&self) -> Option<FlowId> {
        Some(self.flow)
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        Some(&mut self.flow)
    }
    fn heap_size(&self) -> usize {
        self.head.len()
    }
}

/// Something wrong or odd in the input; analysis goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    pub ts: Timestamp,
    /// The packet it was found in; `None` for damage to the file itself.
    pub frame: Option<u64>,
    pub flow: Option<FlowId>,
    pub kind: AnomalyKind,
    pub detail: String,
}

impl EventKind for Anomaly {
    fn flow_id(&self) -> Option<FlowId> {
        self.flow
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        self.flow.as_mut()
    }
    fn heap_size(&self) -> usize {
        self.detail.len()
    }
    fn make_printable(&mut self) {
        clean(&mut self.detail);
    }
}

wire_names! {
    /// What a site got wrong, as a capture shows it.
    pub enum FindingKind {
        LoginFormOverHttp = "login_form_over_http",
        FormPostsToHttp = "form_posts_to_http",
        CredentialsBeforeRedirect = "credentials_before_redirect",
        NoHttpsRedirect = "no_https_redirect",
        MissingHsts = "missing_hsts",
        CookieWithoutSecure = "cookie_without_secure",
        CookieWithoutHttponly = "cookie_without_httponly",
        MixedContent = "mixed_content",
        WeakTlsVersion = "weak_tls_version",
        WeakCipher = "weak_cipher",
        NoForwardSecrecy = "no_forward_secrecy",
        UntrustedCertificate = "untrusted_certificate",
    }
}

wire_names! {
    /// How bad a finding is.
    pub enum Severity {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

/// A site's mistake, with the fix in one sentence. Once per flow and kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub flow: Option<FlowId>,
    pub ts: Timestamp,
    /// The packet that showed it (1-based, as Wireshark numbers frames).
    pub frame: Option<u64>,
    pub kind: FindingKind,
    pub severity: Severity,
    /// The server's name (Host, SNI), if known.
    pub host: Option<String>,
    /// What was seen.
    pub detail: String,
    /// The fix, one sentence.
    pub advice: String,
}

impl EventKind for Finding {
    fn flow_id(&self) -> Option<FlowId> {
        self.flow
    }
    fn flow_id_mut(&mut self) -> Option<&mut FlowId> {
        self.flow.as_mut()
    }
    fn heap_size(&self) -> usize {
        optional_len(&self.host) + self.detail.len() + self.advice.len()
    }
    fn make_printable(&mut self) {
        self.host.iter_mut().for_each(clean);
        clean(&mut self.detail);
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
    /// Wi-Fi data frames protected by WEP or WPA (their bodies count in `encrypted_bytes`).
    /// Written only when there were some: captures without Wi-Fi read as before.
    #[serde(skip_serializing_if = "is_zero")]
    pub wifi_protected_frames: u64,
    /// Seconds between the first and the last packet's timestamps.
    pub duration: f64,
    /// `finding` events, and how many of each kind.
    pub findings: u64,
    pub findings_by_kind: BTreeMap<String, u64>,
}

impl EventKind for Summary {
    fn heap_size(&self) -> usize {
        512
    }
}

impl Summary {
    /// What protected Wi-Fi frames mean, for the text report and the UI.
    pub const WIFI_LESSON: &'static str = "Wi-Fi encryption protects from outsiders, not from \
        others who know the network's password";

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
        self.wifi_protected_frames += other.wifi_protected_frames;
        self.findings += other.findings;
        for (kind, n) in &other.findings_by_kind {
            *self.findings_by_kind.entry(kind.clone()).or_insert(0) += n;
        }
    }
}

fn optional_len(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::len)
}

fn strings_len(list: &[String]) -> usize {
    list.iter().map(|s| s.len() + 24).sum()
}

fn headers_len(list: &[(String, String)]) -> usize {
    list.iter().map(|(n, v)| n.len() + v.len() + 48).sum()
}

/// Replaces control characters in place (only when there are any: nearly never).
fn clean(s: &mut String) {
    if let std::borrow::Cow::Owned(o) = crate::base::printable(s) {
        *s = o;
    }
}

fn clean_headers(headers: &mut [(String, String)]) {
    for (name, value) in headers {
        clean(name);
        clean(value);
    }
}

/// Header names whose values carry secrets, masked by `--redact`.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

fn redact_headers(headers: &mut [(String, String)]) {
    for (name, value) in headers {
        if SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            // Keep the scheme word (Basic, Bearer…) visible: it is the lesson.
            *value = match value.split_once(' ') {
                Some((scheme, rest)) if !scheme.contains('=') => {
                    format!("{scheme} {}", redact(rest))
                }
                _ => redact(value),
            };
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
                format!("{k}={}", redact(v))
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", fields.join("&"))
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vocabulary value serialises as the name its table gives it, and back.
    #[test]
    fn one_name_per_value() {
        fn check<T>(all: &[T], name: fn(T) -> &'static str, from: fn(&str) -> Option<T>)
        where
            T: Serialize + Copy + std::fmt::Display + PartialEq + std::fmt::Debug,
        {
            for &v in all {
                assert_eq!(
                    serde_json::to_string(&v).unwrap(),
                    format!("\"{}\"", name(v))
                );
                assert_eq!(from(name(v)), Some(v));
                assert_eq!(v.to_string(), name(v));
            }
        }
        check(
            AnomalyKind::ALL,
            AnomalyKind::as_str,
            AnomalyKind::from_name,
        );
        check(
            DecryptionResult::ALL,
            DecryptionResult::as_str,
            DecryptionResult::from_name,
        );
        check(Protocol::ALL, Protocol::as_str, Protocol::from_name);
        check(
            CloseReason::ALL,
            CloseReason::as_str,
            CloseReason::from_name,
        );
        check(
            CredentialKind::ALL,
            CredentialKind::as_str,
            CredentialKind::from_name,
        );
    }

    #[test]
    fn redaction_masks_secrets_and_keeps_the_scheme() {
        let request = Event::HttpRequest(HttpRequest {
            frame: 0,
            flow: 1,
            ts: Timestamp(0),
            method: "GET".into(),
            target: "/login?user=alice&password=hunter2".into(),
            version: "HTTP/1.1".into(),
            host: None,
            headers: vec![
                ("Authorization".into(), "Basic YWxpY2U6aHVudGVyMg==".into()),
                ("Accept".into(), "*/*".into()),
            ],
            body_len: 0,
            decrypted: false,
            stream: None,
        });
        let Event::HttpRequest(r) = request.redacted() else {
            panic!("kind changed");
        };
        assert_eq!(r.target, "/login?user=alice&password=h*****2");
        assert_eq!(r.headers[0].1, "Basic Y******************=");
        assert_eq!(r.headers[1].1, "*/*");
    }

    #[test]
    fn printable_strips_escapes_from_network_strings() {
        let event = Event::Anomaly(Anomaly {
            frame: None,
            ts: Timestamp(0),
            flow: Some(3),
            kind: AnomalyKind::ParseError,
            detail: "bad \x1b[2J".into(),
        });
        let Event::Anomaly(a) = event.printable() else {
            panic!("kind changed");
        };
        assert_eq!(a.detail, "bad \u{fffd}[2J");
    }
}
