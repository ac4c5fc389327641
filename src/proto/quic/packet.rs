//! QUIC packets (RFC 9000 §17, v2: RFC 9369): headers, coalesced packets, header protection
//! (RFC 9001 §5.4), packet numbers, and packet protection with the keys of each level. Pure
//! functions over bytes; every length is read against the bytes there are.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use sha2::Sha256;

use crate::proto::tls::decrypt::{
    hkdf_expand_label, hkdf_expand_labels, suite, BlockCipher, Cipher, CipherKind, HashKind,
};

/// Reads QUIC's fields in order: bytes, big-endian integers and variable-length integers.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    pub fn u32(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let b = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    /// `n` bytes, `n` read from the wire (a length that does not fit is no length at all).
    pub fn bytes_u64(&mut self, n: u64) -> Option<&'a [u8]> {
        self.bytes(usize::try_from(n).ok()?)
    }

    /// A variable-length integer (RFC 9000 §16): two bits say 1, 2, 4 or 8 bytes.
    pub fn varint(&mut self) -> Option<u64> {
        let first = self.peek()?;
        let bytes = self.bytes(1 << (first >> 6))?;
        Some(
            bytes[1..]
                .iter()
                .fold(u64::from(first & 0x3f), |v, b| v << 8 | u64::from(*b)),
        )
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        rest
    }
}

/// The QUIC versions plainsight reads: they share the packet layout and differ in the Initial
/// salt, the key labels and the long-header type bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
    /// An IETF draft (23 to 34), as browsers spoke before RFC 9000.
    Draft(u8),
}

/// The Initial salts (RFC 9001 §5.2, RFC 9369 §3.3.1, and the drafts').
const SALT_V1: [u8; 20] = hex20(b"38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
const SALT_V2: [u8; 20] = hex20(b"0dede3def700a6db819381be6e269dcbf9bd2ed9");
const SALT_DRAFT_29: [u8; 20] = hex20(b"afbfec289993d24c9e9786f19c6111e04390a899");
const SALT_DRAFT_23: [u8; 20] = hex20(b"c3eef712c72ebb5a11a7d2432bb46365bef9f502");

/// Twenty bytes from forty hex digits, at compile time.
const fn hex20(text: &[u8; 40]) -> [u8; 20] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < 20 {
        out[i] = digit(text[2 * i]) << 4 | digit(text[2 * i + 1]);
        i += 1;
    }
    out
}

impl Version {
    pub fn from_wire(v: u32) -> Option<Version> {
        match v {
            0x0000_0001 => Some(Version::V1),
            0x6b33_43cf => Some(Version::V2),
            0xff00_0017..=0xff00_0022 => Some(Version::Draft((v & 0xff) as u8)),
            _ => None,
        }
    }

    pub fn name(self) -> String {
        match self {
            Version::V1 => "QUIC v1".into(),
            Version::V2 => "QUIC v2".into(),
            Version::Draft(d) => format!("QUIC draft-{d}"),
        }
    }

    fn salt(self) -> &'static [u8; 20] {
        match self {
            Version::V1 => &SALT_V1,
            Version::V2 => &SALT_V2,
            Version::Draft(33..) => &SALT_V1,
            Version::Draft(29..) => &SALT_DRAFT_29,
            Version::Draft(_) => &SALT_DRAFT_23,
        }
    }

    /// The HKDF label prefix of packet keys: `quic ` (`quicv2 ` in v2).
    fn label(self, what: &str) -> Vec<u8> {
        let prefix = match self {
            Version::V2 => "quicv2 ",
            _ => "quic ",
        };
        [prefix.as_bytes(), what.as_bytes()].concat()
    }

    /// The long-header packet type from the two type bits of the first byte.
    fn long_type(self, bits: u8) -> LongType {
        match (self, bits & 3) {
            (Version::V2, 0) => LongType::Retry,
            (Version::V2, 1) => LongType::Initial,
            (Version::V2, 2) => LongType::ZeroRtt,
            (Version::V2, _) => LongType::Handshake,
            (_, 0) => LongType::Initial,
            (_, 1) => LongType::ZeroRtt,
            (_, 2) => LongType::Handshake,
            (_, _) => LongType::Retry,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// One packet of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A packet whose number and payload are protected: `bytes` is the whole packet, its
    /// protected number at `pn_offset`.
    Protected {
        /// `None` for a short header (1-RTT).
        long: Option<(Version, LongType)>,
        dcid: &'a [u8],
        scid: &'a [u8],
        bytes: &'a [u8],
        pn_offset: usize,
    },
    /// The server asks the client to prove its address (no packet number, no payload).
    Retry {
        version: Version,
        dcid: &'a [u8],
        scid: &'a [u8],
        /// The whole packet, its 16-byte integrity tag last.
        bytes: &'a [u8],
    },
    /// The server speaks none of the client's versions: the ones it does.
    VersionNegotiation { versions: Vec<u32> },
    /// A long header of a version plainsight does not read: the rest of the datagram.
    UnknownVersion(u32),
}

/// Why the rest of a datagram could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("a QUIC header ends early")]
    Truncated,
    #[error("a QUIC connection ID of {0} bytes (at most 20)")]
    ConnectionIdTooLong(usize),
    #[error("a QUIC packet's length field runs past its datagram")]
    LengthPastEnd,
    #[error("a short-header QUIC packet before its connection's IDs are known")]
    UnknownShortHeader,
    #[error("padding after the QUIC packets")]
    Padding,
}

/// The first packet of `buf` and how many bytes it takes (packets are coalesced in datagrams:
/// long headers carry a length; a short header runs to the datagram's end). `short_dcid_len`:
/// the connection ID length of short headers in this direction, once known.
pub fn parse(
    buf: &[u8],
    short_dcid_len: Option<usize>,
) -> Result<(Packet<'_>, usize), PacketError> {
    let mut r = Reader::new(buf);
    let first = r.u8().ok_or(PacketError::Truncated)?;
    if first & 0x80 == 0 {
        if first == 0 {
            // Zeros after the last packet (some stacks pad the datagram, not the packet).
            return Err(PacketError::Padding);
        }
        let len = short_dcid_len.ok_or(PacketError::UnknownShortHeader)?;
        let dcid = r.bytes(len).ok_or(PacketError::Truncated)?;
        let pn_offset = r.pos();
        return Ok((
            Packet::Protected {
                long: None,
                dcid,
                scid: &[],
                bytes: buf,
                pn_offset,
            },
            buf.len(),
        ));
    }
    let wire_version = r.u32().ok_or(PacketError::Truncated)?;
    let version = Version::from_wire(wire_version);
    // Connection IDs longer than 20 bytes are allowed to other versions and to Version
    // Negotiation (RFC 8999 §5.1), not to the versions read here.
    let limit = if version.is_some() { 20 } else { 255 };
    let dcid = connection_id(&mut r, limit)?;
    let scid = connection_id(&mut r, limit)?;
    if wire_version == 0 {
        let mut versions = Vec::new();
        while let Some(v) = r.u32() {
            versions.push(v);
        }
        return Ok((Packet::VersionNegotiation { versions }, buf.len()));
    }
    let Some(version) = version else {
        return Ok((Packet::UnknownVersion(wire_version), buf.len()));
    };
    let kind = version.long_type(first >> 4);
    match kind {
        LongType::Retry => {
            return Ok((
                Packet::Retry {
                    version,
                    dcid,
                    scid,
                    bytes: buf,
                },
                buf.len(),
            ))
        }
        LongType::Initial => {
            let token_len = r.varint().ok_or(PacketError::Truncated)?;
            r.bytes_u64(token_len).ok_or(PacketError::Truncated)?;
        }
        LongType::ZeroRtt | LongType::Handshake => {}
    }
    let length = r.varint().ok_or(PacketError::Truncated)?;
    let pn_offset = r.pos();
    let end = usize::try_from(length)
        .ok()
        .and_then(|l| pn_offset.checked_add(l))
        .filter(|end| *end <= buf.len())
        .ok_or(PacketError::LengthPastEnd)?;
    Ok((
        Packet::Protected {
            long: Some((version, kind)),
            dcid,
            scid,
            bytes: &buf[..end],
            pn_offset,
        },
        end,
    ))
}

fn connection_id<'a>(r: &mut Reader<'a>, limit: usize) -> Result<&'a [u8], PacketError> {
    let len = usize::from(r.u8().ok_or(PacketError::Truncated)?);
    if len > limit {
        return Err(PacketError::ConnectionIdTooLong(len));
    }
    r.bytes(len).ok_or(PacketError::Truncated)
}

/// Header protection: a mask from a sample of the ciphertext (RFC 9001 §5.4).
pub enum HeaderKey {
    Aes128(Box<aes::Aes128>),
    Aes256(Box<aes::Aes256>),
    ChaCha([u8; 32]),
}

impl std::fmt::Debug for HeaderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderKey::Aes128(_) => "AES-128",
            HeaderKey::Aes256(_) => "AES-256",
            HeaderKey::ChaCha(_) => "ChaCha20",
        })
    }
}

impl HeaderKey {
    /// The header protection key of a secret ("quic hp"): AES for the AES suites, ChaCha20 for
    /// ChaCha20-Poly1305. It stays the same through key updates.
    pub fn from_secret(version: Version, suite: Suite, secret: &[u8]) -> Option<HeaderKey> {
        let hp = hkdf_expand_label(suite.hash, secret, &version.label("hp"), suite.key_len())?;
        HeaderKey::from_key(suite, &hp)
    }

    /// The header protection key from its bytes ("quic hp" expanded).
    fn from_key(suite: Suite, hp: &[u8]) -> Option<HeaderKey> {
        Some(match suite.kind {
            CipherKind::ChaCha20Poly1305 => HeaderKey::ChaCha(hp.try_into().ok()?),
            CipherKind::Gcm(BlockCipher::Aes256) => {
                HeaderKey::Aes256(Box::new(aes::Aes256::new_from_slice(hp).ok()?))
            }
            _ => HeaderKey::Aes128(Box::new(aes::Aes128::new_from_slice(hp).ok()?)),
        })
    }

    fn mask(&self, sample: &[u8; 16]) -> [u8; 5] {
        let mut mask = [0u8; 5];
        match self {
            HeaderKey::Aes128(c) => {
                let mut block = aes::Block::from(*sample);
                c.encrypt_block(&mut block);
                mask.copy_from_slice(&block[..5]);
            }
            HeaderKey::Aes256(c) => {
                let mut block = aes::Block::from(*sample);
                c.encrypt_block(&mut block);
                mask.copy_from_slice(&block[..5]);
            }
            HeaderKey::ChaCha(key) => {
                // The sample's first 4 bytes are the block counter, the other 12 the nonce.
                let counter = u32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]);
                let mut nonce = [0u8; 12];
                nonce.copy_from_slice(&sample[4..]);
                let mut c = chacha20::ChaCha20::new(key.into(), &nonce.into());
                c.seek(u64::from(counter) * 64);
                c.apply_keystream(&mut mask);
            }
        }
        mask
    }
}

/// The keys of one direction at one encryption level.
#[derive(Debug)]
pub struct Keys {
    aead: Cipher,
    iv: [u8; 12],
    pub header: HeaderKey,
}

/// What a TLS 1.3 cipher suite means for QUIC packets: the AEAD, its key length, the hash of
/// the key schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    kind: CipherKind,
    pub hash: HashKind,
}

impl Suite {
    /// The suites QUIC uses (RFC 9001 §5.3): AES-GCM, ChaCha20-Poly1305, AES-128-CCM.
    pub fn from_id(id: u16) -> Option<Suite> {
        let (kind, hash) = suite(id)?;
        match kind {
            CipherKind::Gcm(BlockCipher::Aes128 | BlockCipher::Aes256)
            | CipherKind::ChaCha20Poly1305
            | CipherKind::Aes128Ccm => Some(Suite { id, kind, hash }),
            _ => None,
        }
    }

    pub fn initial() -> Suite {
        Suite {
            id: 0x1301,
            kind: CipherKind::Gcm(BlockCipher::Aes128),
            hash: HashKind::Sha256,
        }
    }

    fn key_len(self) -> usize {
        match self.kind {
            CipherKind::Gcm(BlockCipher::Aes128) | CipherKind::Aes128Ccm => 16,
            _ => 32,
        }
    }

    pub fn hash_len(self) -> usize {
        match self.hash {
            HashKind::Sha384 => 48,
            _ => 32,
        }
    }
}

impl Keys {
    /// Packet and header keys from a TLS secret (RFC 9001 §5.1): "quic key", "quic iv", "quic
    /// hp" (with v2's labels in v2).
    pub fn from_secret(version: Version, suite: Suite, secret: &[u8]) -> Option<Keys> {
        // The three from one keying of the HMAC.
        let [key, iv, hp] = hkdf_expand_labels(
            suite.hash,
            secret,
            [
                (version.label("key").as_slice(), suite.key_len()),
                (version.label("iv").as_slice(), 12),
                (version.label("hp").as_slice(), suite.key_len()),
            ],
        )?;
        Some(Keys {
            aead: Cipher::new(suite.kind, &key)?,
            iv: iv.as_slice().try_into().ok()?,
            header: HeaderKey::from_key(suite, &hp)?,
        })
    }

    /// The secret of the next key phase (RFC 9001 §6.1): "quic ku".
    pub fn next_secret(version: Version, suite: Suite, secret: &[u8]) -> Option<Vec<u8>> {
        hkdf_expand_label(suite.hash, secret, &version.label("ku"), suite.hash_len())
    }
}

/// The client's and the server's Initial secrets, from the Destination Connection ID of the
/// client's first Initial packet (RFC 9001 §5.2): anyone on the path can compute them.
pub fn initial_secrets(version: Version, dcid: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (prk, _) = hkdf::Hkdf::<Sha256>::extract(Some(version.salt()), dcid);
    let [client, server] = hkdf_expand_labels(
        HashKind::Sha256,
        &prk,
        [(b"client in".as_slice(), 32), (b"server in", 32)],
    )?;
    Some((client, server))
}

/// Whether a Retry packet is the server's: its integrity tag (RFC 9001 §5.8, RFC 9369 §3.3.3)
/// is AES-128-GCM under a key every implementation knows, over the client's original
/// Destination Connection ID and the packet. Drafts before 29 used other keys: not checked.
pub fn retry_is_genuine(version: Version, original_dcid: &[u8], retry: &[u8]) -> bool {
    let (key, nonce) = match version {
        Version::V1 | Version::Draft(33..) => (RETRY_KEY_V1, RETRY_NONCE_V1),
        Version::V2 => (RETRY_KEY_V2, RETRY_NONCE_V2),
        Version::Draft(29..) => (RETRY_KEY_DRAFT_29, RETRY_NONCE_DRAFT_29),
        Version::Draft(_) => return true,
    };
    let Some(split) = retry.len().checked_sub(16) else {
        return false;
    };
    let (packet, tag) = retry.split_at(split);
    let Ok(len) = u8::try_from(original_dcid.len()) else {
        return false;
    };
    let mut pseudo = Vec::with_capacity(1 + original_dcid.len() + packet.len());
    pseudo.push(len);
    pseudo.extend_from_slice(original_dcid);
    pseudo.extend_from_slice(packet);
    let Some(aead) = Cipher::new(CipherKind::Gcm(BlockCipher::Aes128), &key) else {
        return false;
    };
    let mut tag = tag.to_vec();
    aead.open(&nonce, &pseudo, &mut tag) == Some(0)
}

/// The Retry integrity keys and nonces (RFC 9001 §5.8, RFC 9369 §3.3.3, draft-29 §5.8).
const RETRY_KEY_V1: [u8; 16] = [
    0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e,
];
const RETRY_NONCE_V1: [u8; 12] = [
    0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
];
const RETRY_KEY_V2: [u8; 16] = [
    0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92,
];
const RETRY_NONCE_V2: [u8; 12] = [
    0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a,
];
const RETRY_KEY_DRAFT_29: [u8; 16] = [
    0xcc, 0xce, 0x18, 0x7e, 0xd0, 0x9a, 0x09, 0xd0, 0x57, 0x28, 0x15, 0x5a, 0x6c, 0xb9, 0x6b, 0xe1,
];
const RETRY_NONCE_DRAFT_29: [u8; 12] = [
    0xe5, 0x49, 0x30, 0xf9, 0x7f, 0x21, 0x36, 0xf0, 0x53, 0x0a, 0x8c, 0x1c,
];

/// The Initial keys of both sides.
pub fn initial_keys(version: Version, dcid: &[u8]) -> Option<[Keys; 2]> {
    let (client, server) = initial_secrets(version, dcid)?;
    Some([
        Keys::from_secret(version, Suite::initial(), &client)?,
        Keys::from_secret(version, Suite::initial(), &server)?,
    ])
}

/// A packet with its protection removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    pub number: u64,
    /// The key phase bit of a short header.
    pub key_phase: bool,
    /// Where the payload is in the buffer opened.
    pub payload: (usize, usize),
}

/// Removes header protection from `buf` (a copy of one packet) in place: the packet number's
/// length, the truncated number and the first byte's low bits. Returns the header's length and
/// the truncated number.
pub fn unprotect(buf: &mut [u8], pn_offset: usize, header: &HeaderKey) -> Option<(usize, u64, u8)> {
    let sample_at = pn_offset.checked_add(4)?;
    let sample: [u8; 16] = buf.get(sample_at..sample_at + 16)?.try_into().ok()?;
    let mask = header.mask(&sample);
    let first = buf.first_mut()?;
    *first ^= mask[0] & if *first & 0x80 != 0 { 0x0f } else { 0x1f };
    let first = *first;
    let pn_len = usize::from(first & 3) + 1;
    let pn_bytes = buf.get_mut(pn_offset..pn_offset + pn_len)?;
    let mut truncated = 0u64;
    for (b, m) in pn_bytes.iter_mut().zip(&mask[1..]) {
        *b ^= m;
        truncated = truncated << 8 | u64::from(*b);
    }
    Some((pn_offset + pn_len, truncated, first))
}

/// The full packet number from its truncated form and the largest one received in its space
/// (RFC 9000 Appendix A.3).
pub fn decode_packet_number(largest: Option<u64>, truncated: u64, bits: u32) -> u64 {
    let expected = largest.map_or(0, |l| l + 1);
    let window = 1u64 << bits;
    let half = window / 2;
    let candidate = (expected & !(window - 1)) | truncated;
    if candidate + half <= expected && candidate < (1u64 << 62) - window {
        candidate + window
    } else if candidate > expected + half && candidate >= window {
        candidate - window
    } else {
        candidate
    }
}

/// Opens a protected packet copied into `buf`: header protection off, then the AEAD checked
/// (which is what tells right keys from wrong ones). `None` when these keys do not open it.
pub fn open(buf: &mut [u8], pn_offset: usize, keys: &Keys, largest: Option<u64>) -> Option<Opened> {
    open_with(buf, pn_offset, &keys.header, keys, largest)
}

/// [`open`] with another header key than the packet keys': after a key update, the first
/// phase's header key goes on.
pub fn open_with(
    buf: &mut [u8],
    pn_offset: usize,
    header: &HeaderKey,
    keys: &Keys,
    largest: Option<u64>,
) -> Option<Opened> {
    let (header_len, truncated, first) = unprotect(buf, pn_offset, header)?;
    let bits = 8 * (u32::from(first & 3) + 1);
    let number = decode_packet_number(largest, truncated, bits);
    let mut nonce = keys.iv;
    for (n, b) in nonce[4..].iter_mut().zip(number.to_be_bytes()) {
        *n ^= b;
    }
    let (aad, payload) = buf.split_at_mut(header_len);
    let len = keys.aead.open(&nonce, aad, payload)?;
    Some(Opened {
        number,
        key_phase: first & 0x80 == 0 && first & 0x04 != 0,
        payload: (header_len, header_len + len),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    #[test]
    fn varints_of_every_length() {
        // RFC 9000 Appendix A.1's examples.
        for (bytes, value) in [
            ("c2197c5eff14e88c", 151_288_809_941_952_652u64),
            ("9d7f3e7d", 494_878_333),
            ("7bbd", 15_293),
            ("25", 37),
            ("4025", 37),
        ] {
            let b = unhex(bytes);
            let mut r = Reader::new(&b);
            assert_eq!(r.varint(), Some(value));
            assert!(r.is_empty());
        }
        assert_eq!(Reader::new(&[0xc2, 0x19]).varint(), None);
    }

    #[test]
    fn packet_numbers_as_rfc9000_a3() {
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 16),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 0, 8), 0);
        assert_eq!(decode_packet_number(Some(0xff), 0x01, 8), 0x101);
    }

    /// RFC 9001 Appendix A.1: the Initial keys for DCID 0x8394c8f03e515708.
    #[test]
    fn rfc9001_initial_secrets() {
        let (client, server) = initial_secrets(Version::V1, &unhex("8394c8f03e515708")).unwrap();
        assert_eq!(
            client,
            unhex("c00cf151ca5be075ed0ebfb5c80323c4 2d6b7db67881289af4008f1f6c357aea")
        );
        assert_eq!(
            server,
            unhex("3c199828fd139efd216c155ad844cc81 fb82fa8d7446fa7d78be803acdda951b")
        );
        let c = Keys::from_secret(Version::V1, Suite::initial(), &client).unwrap();
        let mask = c.header.mask(
            &unhex("d1b1c98dd7689fb8ec11d242b123dc9b")
                .try_into()
                .unwrap(),
        );
        assert_eq!(mask.to_vec(), unhex("437b9aec36"));
        assert_eq!(c.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
    }

    /// RFC 9001 Appendix A.5: a ChaCha20-Poly1305 short-header packet, key phase 1.
    #[test]
    fn rfc9001_chacha20_short_header() {
        let secret = unhex("9ac312a7f877468ebe69422748ad00a1 5443f18203a07d6060f688f30f21632b");
        let keys =
            Keys::from_secret(Version::V1, Suite::from_id(0x1303).unwrap(), &secret).unwrap();
        let mut packet = unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb");
        let opened = open(&mut packet, 1, &keys, Some(654_360_560)).unwrap();
        assert_eq!(opened.number, 654_360_564);
        assert!(!opened.key_phase);
        assert_eq!(&packet[opened.payload.0..opened.payload.1], &[0x01]);
        let next =
            Keys::next_secret(Version::V1, Suite::from_id(0x1303).unwrap(), &secret).unwrap();
        assert_eq!(
            next,
            unhex("1223504755036d556342ee9361d25342 1a826c9ecdf3c7148684b36b714881f9")
        );
    }

    /// RFC 9369 Appendix A.1: QUIC v2's Initial secrets for the same DCID.
    #[test]
    fn rfc9369_v2_initial_secrets() {
        let (client, server) = initial_secrets(Version::V2, &unhex("8394c8f03e515708")).unwrap();
        assert_eq!(
            client,
            unhex("14ec9d6eb9fd7af83bf5a668bc17a7e2 83766aade7ecd0891f70f9ff7f4bf47b")
        );
        assert_eq!(
            server,
            unhex("0263db1782731bf4588e7e4d93b74639 07cb8cd8200b5da55a8bd488eafc37c1")
        );
        let c = Keys::from_secret(Version::V2, Suite::initial(), &client).unwrap();
        assert_eq!(c.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
    }

    /// RFC 9001 Appendix A.4: a Retry for the client's DCID 0x8394c8f03e515708.
    #[test]
    fn rfc9001_retry_integrity() {
        let retry =
            unhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba");
        let odcid = unhex("8394c8f03e515708");
        assert!(retry_is_genuine(Version::V1, &odcid, &retry));
        assert!(!retry_is_genuine(
            Version::V1,
            &unhex("8394c8f03e515709"),
            &retry
        ));
        let (p, _) = parse(&retry, None).unwrap();
        assert!(matches!(p, Packet::Retry { scid, .. } if scid == unhex("f067a5502a4262b5")));
    }

    #[test]
    fn headers_are_read_against_their_bytes() {
        // A Version Negotiation packet: version 0, empty IDs, two versions.
        let vn = unhex("80 00000000 00 00 00000001 6b3343cf");
        let (p, used) = parse(&vn, None).unwrap();
        assert_eq!(used, vn.len());
        assert_eq!(
            p,
            Packet::VersionNegotiation {
                versions: vec![1, 0x6b3343cf]
            }
        );
        // An Initial whose length runs past the datagram.
        let bad = unhex("c0 00000001 08 0001020304050607 00 00 4400 00");
        assert_eq!(parse(&bad, None).unwrap_err(), PacketError::LengthPastEnd);
        // A connection ID longer than 20 bytes.
        let long_cid = unhex("c0 00000001 15");
        assert_eq!(
            parse(&long_cid, None).unwrap_err(),
            PacketError::ConnectionIdTooLong(21)
        );
        // Another version may use longer IDs: the packet is that version's, not an error.
        let mut other = unhex("c0 0a0a0a0a 15");
        other.extend([7; 21]);
        other.push(0);
        assert_eq!(
            parse(&other, None).unwrap().0,
            Packet::UnknownVersion(0x0a0a0a0a)
        );
        assert_eq!(
            parse(&[0x40, 1, 2], None).unwrap_err(),
            PacketError::UnknownShortHeader
        );
    }
}
