//! TLS: record framing, the handshake (what still leaks: server name, certificate, ALPN, sizes),
//! JA4, and decryption with a key log.

pub mod counter;
pub mod decrypt;
pub mod flow;
pub mod handshake;
pub mod ja4;

pub use counter::TlsRecordCounter;
