//! `cargo bench --bench decrypt`: TLS 1.2 record decryption per cipher family, on 64 full-size
//! (16 KiB) records sealed here with the keys plainsight derives from one master secret, so each
//! figure is the record path alone: AEAD open, CBC decryption with padding and HMAC checks, or
//! RC4 with its HMAC check. And QUIC: 1,024 1-RTT packets of 1,300 bytes of stream data each,
//! opened one by one (header protection, packet number, AES-128-GCM).

// A failed unwrap here is a failed bench, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes128Gcm;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use plainsight::proto::quic::packet::{self, Keys, Suite, Version};
use plainsight::proto::tls::decrypt::{
    hkdf_expand_label, prf, BlockCipher, CipherKind, HashKind, MacKind, RecordDecryptor,
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

/// QUIC 1-RTT packets as browsers send them in bulk: a short header with an 8-byte connection
/// ID, a 4-byte packet number, one STREAM frame of 1,300 bytes, sealed here under AES-128-GCM
/// with header protection (RFC 9001 §5): the figure is plainsight's per-packet path (header
/// protection off, packet number, AEAD open).
const QUIC_PACKETS: u64 = 1024;
const QUIC_DATA: usize = 1300;

fn quic_packets(secret: &[u8]) -> Vec<Vec<u8>> {
    use aes::cipher::{BlockCipherEncrypt, KeyInit as _};
    let key = hkdf_expand_label(HashKind::Sha256, secret, b"quic key", 16).unwrap();
    let iv = hkdf_expand_label(HashKind::Sha256, secret, b"quic iv", 12).unwrap();
    let hp = hkdf_expand_label(HashKind::Sha256, secret, b"quic hp", 16).unwrap();
    let aead = Aes128Gcm::new_from_slice(&key).unwrap();
    let hp = aes::Aes128::new_from_slice(&hp).unwrap();
    (0..QUIC_PACKETS)
        .map(|pn| {
            let mut packet = vec![0x43];
            packet.extend_from_slice(&[7; 8]);
            packet.extend_from_slice(&u32::try_from(pn).unwrap().to_be_bytes());
            let header_len = packet.len();
            // STREAM, offset and length present: id 0, offset, length (2-byte varint), data.
            let mut payload = vec![0x0e, 0x00];
            payload.extend_from_slice(
                &(0x8000_0000u32 | (u32::try_from(pn).unwrap() * 1300)).to_be_bytes(),
            );
            payload
                .extend_from_slice(&(0x4000u16 | u16::try_from(QUIC_DATA).unwrap()).to_be_bytes());
            payload.extend(std::iter::repeat_n(b'q', QUIC_DATA));
            let mut nonce: [u8; 12] = iv.as_slice().try_into().unwrap();
            for (n, b) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
                *n ^= b;
            }
            let tag = aead
                .encrypt_inout_detached((&nonce).into(), &packet, payload.as_mut_slice().into())
                .unwrap();
            packet.extend_from_slice(&payload);
            packet.extend_from_slice(&tag);
            // The sample starts 4 bytes after the packet number's start (RFC 9001 §5.4.2).
            let sample: [u8; 16] = packet[header_len..header_len + 16].try_into().unwrap();
            let mut mask = aes::Block::from(sample);
            hp.encrypt_block(&mut mask);
            packet[0] ^= mask[0] & 0x1f;
            for i in 0..4 {
                packet[9 + i] ^= mask[1 + i];
            }
            packet
        })
        .collect()
}

fn quic(c: &mut Criterion) {
    let secret = [0x5a; 32];
    let packets = quic_packets(&secret);
    let keys = Keys::from_secret(Version::V1, Suite::from_id(0x1301).unwrap(), &secret).unwrap();
    let mut group = c.benchmark_group("quic-1rtt-open");
    group.throughput(Throughput::Bytes(QUIC_PACKETS * QUIC_DATA as u64));
    group.bench_function("AES-128-GCM", |b| {
        let mut buf = Vec::with_capacity(1500);
        b.iter(|| {
            let mut largest = None;
            for packet in &packets {
                buf.clear();
                buf.extend_from_slice(packet);
                let opened = packet::open(&mut buf, 9, &keys, largest).unwrap();
                largest = Some(opened.number);
            }
            largest
        })
    });
    group.finish();
}

criterion_group!(benches, decrypt, quic);
criterion_main!(benches);
