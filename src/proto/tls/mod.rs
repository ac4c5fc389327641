//! TLS: record framing, the handshake (what still leaks: server name, certificate, ALPN, sizes),
//! JA4, and decryption with a key log.

pub mod counter;
pub mod decrypt;
pub mod flow;
pub mod handshake;
pub mod ja4;
pub mod trust;

pub use counter::TlsRecordCounter;

crate::base::wire_names! {
    /// How decrypting a TLS flow with the key log went.
    pub enum DecryptionResult {
        /// A record decrypted: the flow is read.
        Ok = "ok",
        /// The key log has no secret for this session.
        NoKey = "no_key",
        /// The session's version or cipher suite cannot be decrypted.
        Unsupported = "unsupported",
        /// A secret was there, but the records did not decrypt with it.
        Failed = "failed",
    }
}

/// A record body larger than this is not TLS (2^14 plus the most expansion TLS 1.2 allows).
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// The body length of a TLS record header (content type 20..=24, version 3.x, a length TLS
/// allows), or `None` if these five bytes are not one. The one rule the detector, the record
/// counter and the record reader share.
pub fn record_length(header: &[u8; 5]) -> Option<usize> {
    let [content_type, major, _, hi, lo] = *header;
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    ((20..=24).contains(&content_type) && major == 3 && len <= MAX_RECORD).then_some(len)
}
