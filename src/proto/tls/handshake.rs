//! TLS handshake messages, parsed with `tls-parser` (a ClientHello's extensions read here,
//! certificates with `x509-parser`): the metadata that still leaks when the traffic itself is
//! encrypted.

use tls_parser::{
    parse_tls_message_handshake, parse_tls_server_hello_extensions, TlsCipherSuite, TlsExtension,
    TlsMessage, TlsMessageHandshake,
};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::ja4::{ja4, Ja4Input};

/// Handshake message types this module acts on.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const CERTIFICATE: u8 = 11;
pub const FINISHED: u8 = 20;
pub const KEY_UPDATE: u8 = 24;
/// TLS 1.3: the client's last message under its early (0-RTT) keys.
pub const END_OF_EARLY_DATA: u8 = 5;
pub const CLIENT_KEY_EXCHANGE: u8 = 16;

/// The random of a HelloRetryRequest (RFC 8446 4.1.3): a ServerHello that is not one.
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub random: Vec<u8>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// `TLS1.0`…`TLS1.3`, from supported_versions where present, else the legacy version.
    pub offered_versions: Vec<String>,
    pub cipher_suites: usize,
    pub ja4: String,
    /// The TLS 1.3 suites offered, in order (the client's 0-RTT data uses one of them).
    pub tls13_suites: Vec<u16>,
    /// The early_data extension (42): TLS 1.3 application data may follow before the
    /// ServerHello, under the client's early traffic secret.
    pub early_data: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub random: Vec<u8>,
    /// The negotiated version, numeric (supported_versions where present).
    pub version: u16,
    pub cipher: u16,
    pub alpn: Option<String>,
    /// A HelloRetryRequest: the handshake starts over.
    pub retry: bool,
    /// The extended master secret (RFC 7627) was agreed: the master secret hashes the handshake.
    pub extended_master_secret: bool,
    /// Encrypt-then-MAC (RFC 7366) was agreed: CBC records carry their MAC after the ciphertext.
    pub encrypt_then_mac: bool,
}

/// One certificate as sent, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// RFC 4514 strings (most specific attribute first, as `openssl -nameopt RFC2253` prints).
    pub subject: String,
    pub issuer: String,
    pub subject_cn: Option<String>,
    pub san: Vec<String>,
    pub issuer_cn: String,
    pub not_before: String,
    pub not_after: String,
    /// `RSA 2048`, `EC P-256`, `Ed25519`…
    pub key: String,
    /// The signature algorithm's name: `sha256WithRSAEncryption`, `ecdsa-with-SHA256`…
    pub signature: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// basicConstraints says it is a CA.
    pub is_ca: bool,
}

/// `TLS1.2` for 0x0303, and so on.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL3.0".into(),
        0x0301 => "TLS1.0".into(),
        0x0302 => "TLS1.1".into(),
        0x0303 => "TLS1.2".into(),
        0x0304 => "TLS1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

/// The IANA name of a cipher suite.
pub fn cipher_name(id: u16) -> String {
    TlsCipherSuite::from_id(id).map_or_else(|| format!("0x{id:04x}"), |c| c.name.to_string())
}

/// Extension types in the order they appear in a raw extensions block.
fn extension_types(mut ext: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    while ext.len() >= 4 {
        let ty = u16::from_be_bytes([ext[0], ext[1]]);
        let len = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        types.push(ty);
        ext = ext.get(4 + len..).unwrap_or(&[]);
    }
    types
}

fn parse(message: &[u8]) -> Option<TlsMessageHandshake<'_>> {
    match parse_tls_message_handshake(message) {
        Ok((_, TlsMessage::Handshake(h))) => Some(h),
        _ => None,
    }
}

/// A whole ClientHello message (4-byte handshake header included).
pub fn client_hello(message: &[u8]) -> Option<ClientHello> {
    let TlsMessageHandshake::ClientHello(ch) = parse(message)? else {
        return None;
    };
    let ext_bytes = ch.ext.unwrap_or(&[]);
    let read = ClientExtensions::read(ext_bytes);
    let input = Ja4Input {
        legacy_version: ch.version.0,
        ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
        // An SNI extension counts as present whether or not its content could be read.
        has_sni: read.types.contains(&0x0000),
        supported_versions: read.supported_versions,
        signature_algorithms: read.signature_algorithms,
        first_alpn: read.alpn.first().map(|v| v.to_vec()),
        extensions: read.types,
    };
    let sni = read
        .sni
        .flatten()
        .map(|name| String::from_utf8_lossy(name).into_owned());
    let alpn = read
        .alpn
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let mut offered: Vec<u16> = if input.supported_versions.is_empty() {
        vec![input.legacy_version]
    } else {
        input
            .supported_versions
            .iter()
            .copied()
            .filter(|v| !super::ja4::is_grease(*v))
            .collect()
    };
    offered.sort_unstable();
    offered.dedup();
    Some(ClientHello {
        random: ch.random.to_vec(),
        sni,
        alpn,
        offered_versions: offered.into_iter().map(version_name).collect(),
        cipher_suites: input
            .ciphers
            .iter()
            .filter(|c| !super::ja4::is_grease(**c))
            .count(),
        ja4: ja4(&input),
        tls13_suites: input
            .ciphers
            .iter()
            .copied()
            .filter(|c| c >> 8 == 0x13)
            .collect(),
        early_data: input.extensions.contains(&EARLY_DATA_EXTENSION),
    })
}

/// What a ClientHello's extensions block says, read in one pass over the bytes where they lie.
///
/// tls-parser's reader built every extension (key shares, groups, PSK identities…) into its
/// own vectors, 3% of a report, for the four this needs. Each of the four is read as tls-parser
/// reads it and, as there, the block ends at the first extension that cannot be framed or, of
/// the four, cannot be read; unlike there, a malformed extension of another type does not hide
/// the ones after it (Wireshark does not let it either).
#[derive(Debug, Default, PartialEq, Eq)]
struct ClientExtensions<'a> {
    /// Every extension type framed, in order (GREASE and those after a bad one included).
    types: Vec<u16>,
    /// server_name (0): `Some` when read, holding its first name of any type.
    sni: Option<Option<&'a [u8]>>,
    /// application_layer_protocol_negotiation (16).
    alpn: Vec<&'a [u8]>,
    /// supported_versions (43).
    supported_versions: Vec<u16>,
    /// signature_algorithms (13).
    signature_algorithms: Vec<u16>,
}

impl<'a> ClientExtensions<'a> {
    fn read(block: &'a [u8]) -> Self {
        let types = extension_types(block);
        let mut read = ClientExtensions::default();
        let mut rest = block;
        while let Some((ty, data, after)) = extension(rest) {
            rest = after;
            let understood = match ty {
                0x0000 => read_sni(data).map(|name| read.sni = Some(name)),
                0x0010 => read_alpn(data).map(|list| read.alpn = list),
                0x002b => read_versions(data).map(|v| read.supported_versions = v),
                0x000d => u16_list(data).map(|v| read.signature_algorithms = v),
                _ => Some(()),
            };
            if understood.is_none() {
                break;
            }
        }
        read.types = types;
        read
    }
}

/// One extension framed: its type, its data, the bytes after it.
fn extension(block: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let (ty, rest) = be_u16(block)?;
    let (len, rest) = be_u16(rest)?;
    let data = rest.get(..usize::from(len))?;
    Some((ty, data, rest.get(usize::from(len)..)?))
}

fn be_u16(bytes: &[u8]) -> Option<(u16, &[u8])> {
    match bytes {
        [a, b, rest @ ..] => Some((u16::from_be_bytes([*a, *b]), rest)),
        _ => None,
    }
}

/// `length(2) || bytes`: the bytes, and what follows them.
fn u16_prefixed(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = be_u16(bytes)?;
    Some((rest.get(..usize::from(len))?, rest.get(usize::from(len)..)?))
}

/// server_name's first name (any name type): `Some(None)` for an empty extension or list.
fn read_sni(data: &[u8]) -> Option<Option<&[u8]>> {
    if data.is_empty() {
        return Some(None);
    }
    let (list, _) = u16_prefixed(data)?;
    // A list cut short keeps the names before the cut.
    Some(
        list.split_first()
            .and_then(|(_, entry)| u16_prefixed(entry))
            .map(|(name, _)| name),
    )
}

/// ALPN's protocol names, up to the first that runs past the list.
fn read_alpn(data: &[u8]) -> Option<Vec<&[u8]>> {
    let (mut list, _) = u16_prefixed(data)?;
    let mut names = Vec::new();
    while let Some((&len, rest)) = list.split_first() {
        let Some(name) = rest.get(..usize::from(len)) else {
            break;
        };
        names.push(name);
        list = rest.get(usize::from(len)..).unwrap_or_default();
    }
    Some(names)
}

/// supported_versions as tls-parser reads it: two bytes are one version (a ServerHello's
/// form), else a length byte (not checked) and an even number of bytes.
fn read_versions(data: &[u8]) -> Option<Vec<u16>> {
    match data {
        [a, b] => Some(vec![u16::from_be_bytes([*a, *b])]),
        [_, versions @ ..] if versions.len() % 2 == 0 => Some(
            versions
                .chunks_exact(2)
                .map(|v| u16::from_be_bytes([v[0], v[1]]))
                .collect(),
        ),
        _ => None,
    }
}

/// `length(2) || u16…`; an odd byte at the end is left out.
fn u16_list(data: &[u8]) -> Option<Vec<u16>> {
    let (list, _) = u16_prefixed(data)?;
    Some(
        list.chunks_exact(2)
            .map(|v| u16::from_be_bytes([v[0], v[1]]))
            .collect(),
    )
}

/// The early_data extension's type (RFC 8446 4.2.10).
const EARLY_DATA_EXTENSION: u16 = 42;

/// A whole ServerHello message.
pub fn server_hello(message: &[u8]) -> Option<ServerHello> {
    let TlsMessageHandshake::ServerHello(sh) = parse(message)? else {
        return None;
    };
    let extensions = parse_tls_server_hello_extensions(sh.ext.unwrap_or(&[]))
        .map(|(_, e)| e)
        .unwrap_or_default();
    let mut version = sh.version.0;
    let mut alpn = None;
    let mut extended_master_secret = false;
    let mut encrypt_then_mac = false;
    for e in &extensions {
        match e {
            TlsExtension::ExtendedMasterSecret => extended_master_secret = true,
            // tls-parser 0.12 reads a ServerHello's type 21 (padding) as encrypt-then-MAC and
            // leaves type 22, the real one, unknown: match the number.
            TlsExtension::Unknown(t, _) if t.0 == 22 => encrypt_then_mac = true,
            TlsExtension::SupportedVersions(v) => {
                if let Some(v) = v.first() {
                    version = v.0;
                }
            }
            TlsExtension::ALPN(values) => {
                alpn = values
                    .first()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            }
            _ => {}
        }
    }
    Some(ServerHello {
        random: sh.random.to_vec(),
        version,
        cipher: sh.cipher.0,
        alpn,
        retry: sh.random == HELLO_RETRY_RANDOM,
        extended_master_secret,
        encrypt_then_mac,
    })
}

/// The leaf certificate of a Certificate message, described.
pub fn certificate(message: &[u8], tls13: bool) -> Option<Certificate> {
    describe_certificate(certificate_chain(message, tls13).first()?)
}

/// Certificates a Certificate message may list at most (real chains have 2 to 4).
pub const MAX_CHAIN: usize = 16;

/// The DER bytes of every certificate of a Certificate message, leaf first, as sent: TLS 1.2 and
/// older, or TLS 1.3 (with its request context and per-entry extensions). Empty when the message
/// is not one.
pub fn certificate_chain(message: &[u8], tls13: bool) -> Vec<&[u8]> {
    let mut chain = Vec::new();
    if tls13 {
        // 4-byte header, context length + context, 3-byte list length; then per entry a 3-byte
        // length, the certificate, a 2-byte length and the entry's extensions.
        let Some(body) = message.get(4..) else {
            return chain;
        };
        let Some(&ctx_len) = body.first() else {
            return chain;
        };
        let Some(list) = body.get(1 + usize::from(ctx_len)..) else {
            return chain;
        };
        let Some(len) = u24(list) else {
            return chain;
        };
        let mut rest = list.get(3..3 + len).unwrap_or_default();
        while chain.len() < MAX_CHAIN {
            let Some(len) = u24(rest) else {
                break;
            };
            let Some(der) = rest.get(3..3 + len) else {
                break;
            };
            chain.push(der);
            let Some(ext) = rest.get(3 + len..3 + len + 2) else {
                break;
            };
            let ext_len = usize::from(u16::from_be_bytes([ext[0], ext[1]]));
            rest = rest.get(3 + len + 2 + ext_len..).unwrap_or_default();
        }
    } else if let Some(TlsMessageHandshake::Certificate(c)) = parse(message) {
        chain.extend(c.cert_chain.iter().take(MAX_CHAIN).map(|c| c.data));
    }
    chain
}

/// Descriptions of recently seen leaf certificates, by their DER bytes. A server shows the same
/// certificate to every client, and parsing X.509 again for each connection was 4% of a report's
/// time on a TLS-heavy capture. Bounded: a few dozen entries of at most 16 KiB each.
#[derive(Debug, Default)]
pub struct CertificateCache {
    entries: crate::base::Memo<Vec<u8>, Option<Certificate>, 64>,
}

impl CertificateCache {
    const LARGEST: usize = 16 << 10;

    pub fn describe(&mut self, der: &[u8]) -> Option<Certificate> {
        self.entries
            .get_or_work(der, der.len() <= Self::LARGEST, || {
                describe_certificate(der)
            })
    }
}

fn u24(b: &[u8]) -> Option<usize> {
    let b = b.get(..3)?;
    Some((usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
}

/// Names, dates, key, signature, fingerprint and CA flag of a DER certificate.
pub fn describe_certificate(der: &[u8]) -> Option<Certificate> {
    use sha2::Digest;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = |name: &x509_parser::x509::X509Name<'_>| {
        name.iter_common_name().next().and_then(attribute_text)
    };
    let san = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => Some(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                        16 => <[u8; 16]>::try_from(*ip)
                            .ok()
                            .map(|a| std::net::Ipv6Addr::from(a).to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Certificate {
        subject: rfc4514(cert.subject()),
        issuer: rfc4514(cert.issuer()),
        subject_cn: cn(cert.subject()),
        san,
        issuer_cn: cn(cert.issuer()).unwrap_or_default(),
        not_before: rfc3339(cert.validity().not_before.timestamp()),
        not_after: rfc3339(cert.validity().not_after.timestamp()),
        key: key_name(&cert),
        signature: oid_name(&cert.signature_algorithm.algorithm),
        sha256: hex::encode(sha2::Sha256::digest(der)),
        is_ca: cert.is_ca(),
    })
}

/// A name as RFC 4514 writes it: the last RDN first, attributes of one RDN joined by `+`, known
/// types by their short names (as OpenSSL's `-nameopt RFC2253` prints them), others as a dotted
/// OID with the value's DER in hex; special characters escaped.
pub fn rfc4514(name: &x509_parser::x509::X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    match (attribute_short_name(&oid), attribute_text(attr)) {
                        (Some(short), Some(text)) => format!("{short}={}", escape_rfc4514(&text)),
                        _ => format!("{oid}=#{}", hex::encode(attr.attr_value().as_bytes())),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// Short names of the attribute types certificates use.
fn attribute_short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.5" => "serialNumber",
        "2.5.4.4" => "SN",
        "2.5.4.42" => "GN",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        _ => return None,
    })
}

/// RFC 4514 §2.4: `"+,;<>\` escaped, a leading `#` or space and a trailing space too.
fn escape_rfc4514(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

/// The key: its algorithm and size (`RSA 2048`, `EC P-256`, `Ed25519`).
fn key_name(cert: &X509Certificate<'_>) -> String {
    use x509_parser::public_key::PublicKey;
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    match algorithm.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
            _ => "RSA".to_string(),
        },
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "EC P-256".to_string(),
                Some("1.3.132.0.34") => "EC P-384".to_string(),
                Some("1.3.132.0.35") => "EC P-521".to_string(),
                Some(other) => format!("EC {other}"),
                None => "EC".to_string(),
            }
        }
        "1.3.101.112" => "Ed25519".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        "1.2.840.10040.4.1" => match spki.parsed() {
            Ok(key) => format!("DSA {}", key.key_size()),
            _ => "DSA".to_string(),
        },
        _ => oid_name(&spki.algorithm.algorithm),
    }
}

/// An algorithm's short name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`), or its dotted OID.
fn oid_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map_or_else(|_| oid.to_id_string(), str::to_string)
}

/// An attribute of a name as text, in every string type X.509 allows: UTF8String,
/// PrintableString, IA5String, NumericString, VisibleString, T61String (read as Latin-1, as
/// browsers and OpenSSL do), BMPString (UTF-16) and UniversalString (UTF-32). Real public
/// certificates still carry T61String and BMPString names.
pub fn attribute_text(attr: &x509_parser::x509::AttributeTypeAndValue<'_>) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let value = attr.attr_value();
    let data = value.data;
    Some(match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => String::from_utf8_lossy(data).into_owned(),
        Tag::TeletexString => data.iter().map(|&b| char::from(b)).collect(),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        Tag::UniversalString => data
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
        _ => return None,
    })
}

/// Seconds since the epoch as RFC 3339 in UTC (`2036-11-22T02:30:00Z`).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Splits a stream of handshake bytes into whole messages (header included), bounded.
#[derive(Debug, Default)]
pub struct HandshakeReader {
    buf: Vec<u8>,
}

/// A handshake message larger than this (a huge certificate chain, or garbage) is refused.
pub const MAX_HANDSHAKE_MESSAGE: usize = 256 << 10;

impl HandshakeReader {
    /// Whether part of a message is held, waiting for the rest.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Adds bytes and calls `f(type, message)` for every complete message. Errs when a message
    /// claims more than [`MAX_HANDSHAKE_MESSAGE`].
    pub fn feed(
        &mut self,
        data: &[u8],
        mut f: impl FnMut(u8, &[u8]),
    ) -> Result<(), super::flow::TlsError> {
        self.buf.extend_from_slice(data);
        let mut at = 0;
        while self.buf.len() - at >= 4 {
            let len = u24(&self.buf[at + 1..]).unwrap_or(0);
            if len > MAX_HANDSHAKE_MESSAGE {
                self.buf = Vec::new();
                return Err(super::flow::TlsError::HandshakeTooLong(len));
            }
            if self.buf.len() - at < 4 + len {
                break;
            }
            f(self.buf[at], &self.buf[at..at + 4 + len]);
            at += 4 + len;
        }
        self.buf.drain(..at);
        Ok(())
    }

    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What tls-parser's extension reader made of a block, folded as `client_hello` did
    /// before it read the four extensions it needs by hand: the oracle for `ClientExtensions`.
    fn tls_parser_extensions(block: &[u8]) -> ClientExtensions<'_> {
        let extensions = tls_parser::parse_tls_client_hello_extensions(block)
            .map(|(_, e)| e)
            .unwrap_or_default();
        let mut read = ClientExtensions {
            types: extension_types(block),
            ..Default::default()
        };
        for e in extensions {
            match e {
                TlsExtension::SNI(names) => read.sni = Some(names.first().map(|(_, n)| *n)),
                TlsExtension::ALPN(values) => read.alpn = values,
                TlsExtension::SupportedVersions(v) => {
                    read.supported_versions = v.iter().map(|v| v.0).collect()
                }
                TlsExtension::SignatureAlgorithms(v) => read.signature_algorithms = v,
                _ => {}
            }
        }
        read
    }

    fn framed(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut out = ty.to_be_bytes().to_vec();
        out.extend((data.len() as u16).to_be_bytes());
        out.extend(data);
        out
    }

    fn prefixed(len_bytes: usize, data: &[u8]) -> Vec<u8> {
        let len = data.len().to_be_bytes();
        let mut out = len[len.len() - len_bytes..].to_vec();
        out.extend(data);
        out
    }

    /// One extension as clients send them (the four read by hand, and others tls-parser
    /// knows, well formed), or one of the four with arbitrary content, or an unknown type
    /// (GREASE among them) with arbitrary content.
    fn any_extension() -> impl Strategy<Value = Vec<u8>> {
        let name = proptest::collection::vec(any::<u8>(), 0..12);
        let names = proptest::collection::vec(name.clone(), 0..4);
        let u16s = proptest::collection::vec(any::<u16>(), 0..6);
        let bytes = proptest::collection::vec(any::<u8>(), 0..12);
        prop_oneof![
            (any::<u8>(), names.clone()).prop_map(|(ty, names)| {
                let list: Vec<u8> = names
                    .iter()
                    .flat_map(|n| [vec![ty], prefixed(2, n)].concat())
                    .collect();
                framed(0, &prefixed(2, &list))
            }),
            names.prop_map(|names| {
                let list: Vec<u8> = names.iter().flat_map(|n| prefixed(1, n)).collect();
                framed(16, &prefixed(2, &list))
            }),
            u16s.clone().prop_map(|v| {
                let list: Vec<u8> = v.iter().flat_map(|v| v.to_be_bytes()).collect();
                framed(43, &prefixed(1, &list))
            }),
            u16s.clone().prop_map(|v| {
                let list: Vec<u8> = v.iter().flat_map(|v| v.to_be_bytes()).collect();
                framed(13, &prefixed(2, &list))
            }),
            u16s.prop_map(|groups| {
                let list: Vec<u8> = groups.iter().flat_map(|v| v.to_be_bytes()).collect();
                framed(10, &prefixed(2, &list))
            }),
            Just(framed(23, &[])),
            Just(framed(51, &prefixed(2, &[0, 29, 0, 4, 1, 2, 3, 4]))),
            (
                proptest::sample::select(vec![0u16, 13, 16, 43]),
                bytes.clone()
            )
                .prop_map(|(ty, data)| framed(ty, &data)),
            (any::<u16>(), bytes).prop_map(|(ty, data)| {
                // Types tls-parser has no reader for, and GREASE, which it does not read.
                let ty = if ty % 2 == 0 {
                    (ty & 0xf0f0) | 0x0a0a
                } else {
                    0xfe00 | (ty & 0xfd)
                };
                framed(ty, &data)
            }),
        ]
    }

    /// A supported_groups list that runs past its extension (tls-parser gives up on the block
    /// there) does not hide the server name and ALPN after it; a cut server_name ends the block.
    #[test]
    fn a_malformed_extension_of_another_type_does_not_hide_the_ones_after_it() {
        let sni = framed(
            0,
            &prefixed(2, &[vec![0], prefixed(2, b"bank.test")].concat()),
        );
        let alpn = framed(16, &prefixed(2, &prefixed(1, b"h2")));
        let bad_groups = framed(10, &[0, 40, 0, 29]);
        let block = [bad_groups.clone(), sni, alpn.clone()].concat();
        let read = ClientExtensions::read(&block);
        assert_eq!(read.types, [10, 0, 16]);
        assert_eq!(read.sni, Some(Some(&b"bank.test"[..])));
        assert_eq!(read.alpn, [&b"h2"[..]]);
        assert_eq!(tls_parser_extensions(&block).sni, None);
        let cut_sni = framed(0, &[0, 40, 0]);
        let block = [bad_groups, cut_sni, alpn].concat();
        let read = ClientExtensions::read(&block);
        assert_eq!((read.sni, read.alpn.len()), (None, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        /// The four extensions `client_hello` needs are read as tls-parser reads them, and
        /// the block ends where tls-parser's ends: at the first extension of the four it
        /// cannot read, or a cut one.
        #[test]
        fn client_extensions_are_read_as_tls_parser_reads_them(
            extensions in proptest::collection::vec(any_extension(), 0..7),
            cut in any::<u16>(),
        ) {
            let block = extensions.concat();
            prop_assert_eq!(ClientExtensions::read(&block), tls_parser_extensions(&block));
            let cut = block.get(..usize::from(cut) % (block.len() + 1)).unwrap();
            prop_assert_eq!(ClientExtensions::read(cut), tls_parser_extensions(cut));
        }
    }

    /// Common names in every string type a CA may have used (rcgen writes each as asked).
    #[test]
    fn names_in_every_string_type() {
        use rcgen::{CertificateParams, DnType, DnValue, KeyPair};
        let key = KeyPair::generate().unwrap();
        let bmp = "Zürich – 東京"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let universal = "Ünïcode ✓"
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        let cases: [(DnValue, &str); 5] = [
            (DnValue::Utf8String("utf8 ✓".into()), "utf8 ✓"),
            (
                DnValue::PrintableString("Printable CA".try_into().unwrap()),
                "Printable CA",
            ),
            (
                DnValue::TeletexString("Teletex CA".try_into().unwrap()),
                "Teletex CA",
            ),
            (DnValue::BmpString(bmp_to(bmp)), "Zürich – 東京"),
            (
                DnValue::UniversalString(universal_to(universal)),
                "Ünïcode ✓",
            ),
        ];
        for (value, want) in cases {
            let mut params = CertificateParams::new(vec!["x.test".to_string()]).unwrap();
            params.distinguished_name = rcgen::DistinguishedName::new();
            params.distinguished_name.push(DnType::CommonName, value);
            let cert = params.self_signed(&key).unwrap();
            let described = describe_certificate(cert.der()).unwrap();
            assert_eq!(described.subject_cn.as_deref(), Some(want));
            assert_eq!(described.issuer_cn, want);
        }
    }

    /// A leaf signed by a CA, sent with the CA in one TLS 1.2 Certificate message and in one
    /// TLS 1.3 one: both certificates, in order, named as RFC 4514 writes them.
    #[test]
    fn a_whole_chain_as_sent() {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name = rcgen::DistinguishedName::new();
        ca.distinguished_name.push(DnType::CountryName, "CH");
        ca.distinguished_name
            .push(DnType::OrganizationName, "Lab, Inc.");
        ca.distinguished_name
            .push(DnType::CommonName, "Lab Root CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, &ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["lab.test".to_string()]).unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        let ders = [leaf_cert.der().to_vec(), ca_cert.der().to_vec()];
        let u24 = |n: usize| [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // TLS 1.2: type, length, list length, then each certificate with its length.
        let mut list = Vec::new();
        for d in &ders {
            list.extend(u24(d.len()));
            list.extend_from_slice(d);
        }
        let mut tls12 = vec![CERTIFICATE];
        tls12.extend(u24(list.len() + 3));
        tls12.extend(u24(list.len()));
        tls12.extend_from_slice(&list);
        // TLS 1.3: an empty request context, and empty extensions after each certificate.
        let mut list13 = Vec::new();
        for d in &ders {
            list13.extend(u24(d.len()));
            list13.extend_from_slice(d);
            list13.extend([0, 0]);
        }
        let mut tls13 = vec![CERTIFICATE];
        tls13.extend(u24(list13.len() + 4));
        tls13.push(0);
        tls13.extend(u24(list13.len()));
        tls13.extend_from_slice(&list13);
        for (message, is13) in [(&tls12, false), (&tls13, true)] {
            let chain = certificate_chain(message, is13);
            assert_eq!(chain, [ders[0].as_slice(), ders[1].as_slice()]);
            let leaf = describe_certificate(chain[0]).unwrap();
            let root = describe_certificate(chain[1]).unwrap();
            assert_eq!(root.subject, "CN=Lab Root CA,O=Lab\\, Inc.,C=CH");
            assert_eq!(leaf.issuer, root.subject);
            assert_eq!((leaf.is_ca, root.is_ca), (false, true));
            assert_eq!(leaf.key, "EC P-256");
            assert_eq!(leaf.signature, "ecdsa-with-SHA256");
            assert_eq!(leaf.sha256.len(), 64);
        }
        // Cut anywhere: the certificates whole so far, never a panic.
        for cut in 0..tls13.len() {
            assert!(certificate_chain(&tls13[..cut], true).len() <= 2);
        }
    }

    fn bmp_to(bytes: Vec<u8>) -> rcgen::string::BmpString {
        rcgen::string::BmpString::from_utf16be(bytes).unwrap()
    }

    fn universal_to(bytes: Vec<u8>) -> rcgen::string::UniversalString {
        rcgen::string::UniversalString::from_utf32be(bytes).unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(2_082_758_399), "2035-12-31T23:59:59Z");
    }

    #[test]
    fn handshake_messages_split_anywhere() {
        let msgs = [
            vec![1u8, 0, 0, 2, 0xaa, 0xbb],
            vec![2u8, 0, 0, 0],
            vec![11u8, 0, 0, 1, 7],
        ];
        let stream: Vec<u8> = msgs.concat();
        for cut in 0..stream.len() {
            let mut r = HandshakeReader::default();
            let mut seen = Vec::new();
            r.feed(&stream[..cut], |t, m| seen.push((t, m.len())))
                .unwrap();
            r.feed(&stream[cut..], |t, m| seen.push((t, m.len())))
                .unwrap();
            assert_eq!(seen, [(1, 6), (2, 4), (11, 5)]);
        }
        let mut r = HandshakeReader::default();
        assert!(r.feed(&[11, 0xff, 0xff, 0xff], |_, _| {}).is_err());
    }

    #[test]
    fn garbage_hellos_give_none() {
        for len in 0..80 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 91 + 7) as u8).collect();
            let mut m = vec![1u8, 0, 0, len as u8];
            m.extend_from_slice(&junk);
            assert_eq!(
                client_hello(&m),
                None,
                "ClientHello from {len} bytes of junk"
            );
            m[0] = 2;
            assert_eq!(
                server_hello(&m),
                None,
                "ServerHello from {len} bytes of junk"
            );
            m[0] = 11;
            assert!(certificate(&m, false).is_none(), "certificate from junk");
            assert!(
                certificate(&m, true).is_none(),
                "TLS 1.3 certificate from junk"
            );
            assert!(certificate_chain(&m, false).is_empty(), "chain from junk");
        }
    }
}
