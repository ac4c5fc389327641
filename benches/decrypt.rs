//! `cargo bench --bench decrypt`: TLS 1.2 record decryption per cipher family, on 64 full-size
//! (16 KiB) records sealed here with the keys plainsight derives from one master secret, so each
//! figure is the record path alone: AEAD open, CBC decryption with padding and HMAC checks, or
//! RC4 with its HMAC check.

// A failed unwrap here is a failed bench, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes128Gcm;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use plainsight::proto::tls::decrypt::{
    prf, BlockCipher, CipherKind, HashKind, MacKind, RecordDecryptor,
};

const RECORDS: u64 = 64;
const RECORD_LEN: usize = 16 * 1024;
const MASTER: [u8; 48] = [0x42; 48];
const CLIENT_RANDOM: [u8; 32] = [1; 32];
const SERVER_RANDOM: [u8; 32] = [2; 32];

fn key_block(len: usize) -> Vec<u8> {
    let mut seed = SERVER_RANDOM.to_vec();
    seed.extend_from_slice(&CLIENT_RANDOM);
    prf(HashKind::Sha256, &MASTER, b"key expansion", &seed, len).unwrap()
}

fn header(len: usize) -> [u8; 5] {
    let [hi, lo] = u16::try_from(len).unwrap().to_be_bytes();
    [23, 3, 3, hi, lo]
}

/// The client's records under AES-128-GCM: explicit nonce, ciphertext, tag.
fn gcm_records() -> Vec<([u8; 5], Vec<u8>)> {
    let block = key_block(2 * 16 + 2 * 4);
    let cipher = Aes128Gcm::new_from_slice(&block[..16]).unwrap();
    let salt = &block[32..36];
    (0..RECORDS)
        .map(|seq| {
            let mut nonce = salt.to_vec();
            nonce.extend_from_slice(&seq.to_be_bytes());
            let mut aad = seq.to_be_bytes().to_vec();
            aad.extend_from_slice(&[23, 3, 3]);
            aad.extend_from_slice(&u16::try_from(RECORD_LEN).unwrap().to_be_bytes());
            let mut data = vec![b'a'; RECORD_LEN];
            let tag = cipher
                .encrypt_inout_detached(
                    nonce.as_slice().try_into().unwrap(),
                    &aad,
                    data.as_mut_slice().into(),
                )
                .unwrap();
            let mut fragment = seq.to_be_bytes().to_vec();
            fragment.extend_from_slice(&data);
            fragment.extend_from_slice(&tag);
            (header(fragment.len()), fragment)
        })
        .collect()
}

/// How a family without an AEAD encrypts the content and its HMAC.
#[derive(Clone, Copy)]
enum Bulk {
    Aes128Cbc,
    TripleDesCbc,
    Rc4,
}

/// The client's records with HMAC-SHA1, MAC-then-encrypt: for CBC an IV, then the content, its
/// HMAC and padding, encrypted; for RC4 the content and its HMAC, encrypted with one running
/// keystream.
fn hmac_sha1_records(bulk: Bulk) -> Vec<([u8; 5], Vec<u8>)> {
    let (key_len, iv_len) = match bulk {
        Bulk::Aes128Cbc => (16, 16),
        Bulk::TripleDesCbc => (24, 8),
        Bulk::Rc4 => (16, 0),
    };
    let block = key_block(2 * 20 + 2 * key_len + 2 * iv_len);
    let (mac_key, key) = (&block[..20], &block[40..40 + key_len]);
    let mut rc4 = <rc4::Rc4 as cbc::cipher::KeyInit>::new_from_slice(key).unwrap();
    (0..RECORDS)
        .map(|seq| {
            let content = vec![b'a'; RECORD_LEN];
            let mut mac = <Hmac<sha1::Sha1> as hmac::KeyInit>::new_from_slice(mac_key).unwrap();
            mac.update(&seq.to_be_bytes());
            mac.update(&[23, 3, 3]);
            mac.update(&u16::try_from(RECORD_LEN).unwrap().to_be_bytes());
            mac.update(&content);
            let mut plain = content;
            plain.extend_from_slice(&mac.finalize().into_bytes());
            if let Bulk::Rc4 = bulk {
                use rc4::StreamCipher;
                rc4.apply_keystream(&mut plain);
                return (header(plain.len()), plain);
            }
            let pad = iv_len - 1 - plain.len() % iv_len;
            plain.extend(std::iter::repeat_n(pad as u8, pad + 1));
            let iv = vec![seq as u8; iv_len];
            match bulk {
                Bulk::Aes128Cbc => {
                    let (blocks, _) =
                        cbc::cipher::inout::InOutBuf::from(&mut plain[..]).into_chunks();
                    cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
                        .unwrap()
                        .encrypt_blocks_inout(blocks);
                }
                _ => {
                    let (blocks, _) =
                        cbc::cipher::inout::InOutBuf::from(&mut plain[..]).into_chunks();
                    cbc::Encryptor::<des::TdesEde3>::new_from_slices(key, &iv)
                        .unwrap()
                        .encrypt_blocks_inout(blocks);
                }
            }
            let mut fragment = iv;
            fragment.extend_from_slice(&plain);
            (header(fragment.len()), fragment)
        })
        .collect()
}

fn decrypt(c: &mut Criterion) {
    let mut group = c.benchmark_group("tls12 record decryption");
    group.throughput(Throughput::Bytes(RECORDS * RECORD_LEN as u64));
    let families = [
        (
            "AES-128-GCM",
            CipherKind::Gcm(BlockCipher::Aes128),
            gcm_records(),
        ),
        (
            "AES-128-CBC-SHA1",
            CipherKind::Cbc(BlockCipher::Aes128, MacKind::Sha1),
            hmac_sha1_records(Bulk::Aes128Cbc),
        ),
        (
            "3DES-CBC-SHA1",
            CipherKind::Cbc(BlockCipher::TripleDes, MacKind::Sha1),
            hmac_sha1_records(Bulk::TripleDesCbc),
        ),
        (
            "RC4-128-SHA1",
            CipherKind::Rc4(MacKind::Sha1),
            hmac_sha1_records(Bulk::Rc4),
        ),
    ];
    for (name, kind, records) in families {
        group.bench_function(name, |b| {
            b.iter(|| {
                let (mut client, _) = RecordDecryptor::tls12_pair(
                    kind,
                    HashKind::Sha256,
                    &MASTER,
                    &CLIENT_RANDOM,
                    &SERVER_RANDOM,
                    false,
                    false,
                )
                .unwrap();
                let mut bytes = 0;
                for (header, fragment) in &records {
                    bytes += client.decrypt(header, fragment).unwrap().data.len();
                }
                assert_eq!(bytes, RECORDS as usize * RECORD_LEN);
                bytes
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decrypt);
criterion_main!(benches);
