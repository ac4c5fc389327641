//! Certificate chains on arbitrary bytes: a Certificate message (TLS 1.2 or 1.3 layout) cut into
//! DER certificates, each described (names in every string type, key, validity), the chain judged
//! for a server name at some time against Mozilla's roots and, sometimes, one of the chain's own
//! certificates given as a root (`--ca`). The seeds (fuzz/seeds/certificates) are real chains from
//! the bundled captures.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use plainsight::proto::tls::handshake::{certificate_chain, describe_certificate};
use plainsight::proto::tls::trust::{judge, Anchors};

fn mozilla() -> &'static Anchors {
    static ROOTS: OnceLock<Anchors> = OnceLock::new();
    ROOTS.get_or_init(Anchors::default)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, message)) = data.split_first() else { return };
    let chain = certificate_chain(message, flags & 1 == 1);
    for der in &chain {
        if let Some(c) = describe_certificate(der) {
            assert_eq!(c.sha256.len(), 64);
        }
    }
    let owned: Vec<Vec<u8>> = chain.iter().map(|d| d.to_vec()).collect();
    let name = match (flags >> 2) % 4 {
        0 => None,
        1 => Some("lab.plainsight.test"),
        2 => Some("127.0.0.1"),
        _ => Some("*.invalid"),
    };
    // 2026-12-02, 1975 or far ahead.
    let secs = [1_796_200_000, 160_000_000, 4_000_000_000][usize::from(flags >> 4) % 3];
    let verdict = if flags & 2 == 2 {
        let extra = Anchors::new(&owned[owned.len().saturating_sub(1)..]);
        judge(&owned, name, secs, &extra.0)
    } else {
        judge(&owned, name, secs, &mozilla().0)
    };
    assert!(!verdict.detail.is_empty());
});
