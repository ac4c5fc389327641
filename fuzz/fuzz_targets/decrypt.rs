//! The TLS decryption record path: keys derived from fuzzer bytes (TLS 1.2 PRF and TLS 1.3
//! HKDF-Expand-Label, every family of supported cipher: AEADs, CBC with and without encrypt-then-MAC and TLS 1.0's chained IVs, RC4, NULL), then arbitrary records decrypted in sequence.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::proto::tls::decrypt::{BlockCipher, CipherKind, HashKind, MacKind, RecordDecryptor};

fuzz_target!(|data: &[u8]| {
    let Some((&[which, choice], rest)) = data.split_first_chunk::<2>() else { return };
    let kinds = [
        CipherKind::Gcm(BlockCipher::Aes128),
        CipherKind::Gcm(BlockCipher::Aes256),
        CipherKind::Gcm(BlockCipher::Camellia128),
        CipherKind::Gcm(BlockCipher::Aria256),
        CipherKind::ChaCha20Poly1305,
        CipherKind::Cbc(BlockCipher::Aes128, MacKind::Sha1),
        CipherKind::Cbc(BlockCipher::Aes256, MacKind::Sha256),
        CipherKind::Cbc(BlockCipher::Aes256, MacKind::Sha384),
        CipherKind::Cbc(BlockCipher::Camellia256, MacKind::Sha1),
        CipherKind::Cbc(BlockCipher::TripleDes, MacKind::Sha1),
        CipherKind::Rc4(MacKind::Md5),
        CipherKind::Rc4(MacKind::Sha1),
        CipherKind::Aes128Ccm,
        CipherKind::Aes256Ccm8,
        CipherKind::Null(MacKind::Sha1),
        CipherKind::Null(MacKind::Md5),
    ];
    let kind = kinds[usize::from(which) % kinds.len()];
    let hash = match choice & 3 {
        0 => HashKind::Sha256,
        1 => HashKind::Sha384,
        _ => HashKind::Md5Sha1,
    };
    let (secret, records) = rest.split_at(rest.len().min(48));
    let decryptor = if choice & 0x20 == 0 {
        RecordDecryptor::tls13(kind, hash, secret)
    } else {
        // The top bits of the choice: encrypt-then-MAC and TLS 1.0's chained IVs, for CBC.
        RecordDecryptor::tls12_pair(
            kind,
            hash,
            secret,
            &[1; 32],
            &[2; 32],
            choice & 0x80 != 0,
            choice & 0x40 != 0,
        )
            .map(|(c, _)| c)
    };
    let Some(mut d) = decryptor else { return };
    // Records: 1 byte of length, then that many bytes.
    let mut rest = records;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (fragment, next) = tail.split_at(len);
        rest = next;
        let header = [23, 3, 3, 0, len as u8];
        let _ = d.decrypt(&header, fragment);
    }
});
