//! TLS decryption with an NSS key log (the `SSLKEYLOGFILE` format browsers and curl write):
//! TLS 1.2 from `CLIENT_RANDOM` master secrets, TLS 1.3 from handshake and traffic secrets.
//! AES, Camellia and ARIA in GCM, AES-CCM and ChaCha20-Poly1305; and (TLS 1.0 to 1.2) AES,
//! Camellia, ARIA and 3DES in CBC mode, RC4 and NULL, each with an HMAC. Every cipher comes from
//! the RustCrypto crates; none is written here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::BlockModeDecrypt;
use ccm::consts::{U12, U16, U8};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};
use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherMac, TlsCipherSuite, TlsPRF};

/// The secrets a key log holds for one client random.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSecrets {
    /// TLS 1.2 and older: `CLIENT_RANDOM`.
    pub master: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
    /// TLS 1.3: the client's 0-RTT data (`CLIENT_EARLY_TRAFFIC_SECRET`).
    pub client_early: Option<Vec<u8>>,
}

/// Secrets by client random. Clones share one table, so secrets added later (a lab server
/// logging its keys while it is being captured) are seen by every holder.
#[derive(Debug, Clone, Default)]
pub struct KeyLog {
    sessions: Arc<RwLock<HashMap<Vec<u8>, SessionSecrets>>>,
    /// `RSA` lines (NSS, for RSA key exchange): the pre-master secret by the first 8 bytes of
    /// its encrypted form in the ClientKeyExchange.
    pre_masters: Arc<RwLock<HashMap<Vec<u8>, Vec<u8>>>>,
    /// Servers' RSA private keys (`--server-key`): they open RSA key exchanges themselves.
    server_keys: Arc<Vec<rsa::RsaPrivateKey>>,
}

impl KeyLog {
    /// A copy that shares nothing with this one: secrets added to either stay there. Each capture
    /// file gets one, so the secrets embedded in one pcapng file decrypt that file only, whatever
    /// order files are analysed in.
    pub fn detached(&self) -> KeyLog {
        let sessions = match self.sessions.read() {
            Ok(map) => map.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let pre_masters = match self.pre_masters.read() {
            Ok(map) => map.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        KeyLog {
            sessions: Arc::new(RwLock::new(sessions)),
            pre_masters: Arc::new(RwLock::new(pre_masters)),
            server_keys: self.server_keys.clone(),
        }
    }

    /// Parses key log text; lines it cannot read are returned as messages (1-based line numbers),
    /// the rest is kept.
    pub fn parse(text: &str) -> (KeyLog, Vec<String>) {
        let log = KeyLog::default();
        let warnings = log.add(text);
        (log, warnings)
    }

    /// Adds the lines of another key log (a pcapng Decryption Secrets Block, say).
    pub fn add(&self, text: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(label), Some(random), Some(secret), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                warnings.push(format!(
                    "line {}: expected LABEL CLIENT_RANDOM SECRET",
                    n + 1
                ));
                continue;
            };
            let (Ok(random), Ok(secret)) = (hex::decode(random), hex::decode(secret)) else {
                warnings.push(format!(
                    "line {}: the client random and secret must be hex",
                    n + 1
                ));
                continue;
            };
            if label == "RSA" {
                // `RSA <first 8 bytes of the encrypted pre-master> <pre-master>`.
                if random.len() != 8 || secret.len() != 48 {
                    warnings.push(format!(
                        "line {}: an RSA line gives 8 bytes of the encrypted pre-master secret and the 48-byte pre-master secret",
                        n + 1
                    ));
                    continue;
                }
                if let Ok(mut map) = self.pre_masters.write() {
                    map.insert(random, secret);
                }
                continue;
            }
            if random.len() != 32 {
                warnings.push(format!(
                    "line {}: a client random is 32 bytes, this one is {}",
                    n + 1,
                    random.len()
                ));
                continue;
            }
            self.insert(label, random, secret);
        }
        warnings
    }

    /// Records one secret (as rustls' key log hook hands them over).
    pub fn insert(&self, label: &str, client_random: Vec<u8>, secret: Vec<u8>) {
        let Ok(mut sessions) = self.sessions.write() else {
            return;
        };
        let entry = sessions.entry(client_random).or_default();
        let slot = match label {
            "CLIENT_RANDOM" => &mut entry.master,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut entry.client_traffic,
            "SERVER_TRAFFIC_SECRET_0" => &mut entry.server_traffic,
            "CLIENT_EARLY_TRAFFIC_SECRET" => &mut entry.client_early,
            // Exporter secrets are not needed to read the traffic.
            _ => return,
        };
        *slot = Some(secret);
    }

    pub fn get(&self, client_random: &[u8]) -> Option<SessionSecrets> {
        self.sessions.read().ok()?.get(client_random).cloned()
    }

    /// The pre-master secret whose encrypted form begins with these 8 bytes (an `RSA` line).
    pub fn pre_master(&self, encrypted_prefix: &[u8]) -> Option<Vec<u8>> {
        self.pre_masters.read().ok()?.get(encrypted_prefix).cloned()
    }

    /// Adds a server's RSA private key (before the key log is shared).
    pub fn add_server_key(&mut self, key: rsa::RsaPrivateKey) {
        Arc::make_mut(&mut self.server_keys).push(key);
    }

    pub fn has_server_keys(&self) -> bool {
        !self.server_keys.is_empty()
    }

    /// The pre-master secret of an RSA key exchange, opened with one of the servers' keys: the
    /// first that decrypts it to the 48 bytes TLS sends.
    pub fn open_pre_master(&self, encrypted: &[u8]) -> Option<Vec<u8>> {
        self.server_keys.iter().find_map(|key| {
            key.decrypt(rsa::Pkcs1v15Encrypt, encrypted)
                .ok()
                .filter(|pms| pms.len() == 48)
        })
    }

    pub fn len(&self) -> usize {
        self.sessions.read().map_or(0, |s| s.len()) + self.pre_masters.read().map_or(0, |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A block cipher of a TLS suite, under CBC (with an HMAC) or GCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCipher {
    Aes128,
    Aes256,
    Camellia128,
    Camellia256,
    Aria128,
    Aria256,
    /// 3DES-EDE with three keys: 8-byte blocks.
    TripleDes,
}

impl BlockCipher {
    fn key_len(self) -> usize {
        match self {
            BlockCipher::Aes128 | BlockCipher::Camellia128 | BlockCipher::Aria128 => 16,
            BlockCipher::TripleDes => 24,
            BlockCipher::Aes256 | BlockCipher::Camellia256 | BlockCipher::Aria256 => 32,
        }
    }

    fn block_len(self) -> usize {
        match self {
            BlockCipher::TripleDes => 8,
            _ => 16,
        }
    }

    /// From the suite table's cipher and key size; `None` for ciphers plainsight lacks.
    fn from_table(enc: TlsCipherEnc, bits: u16) -> Option<BlockCipher> {
        Some(match (enc, bits) {
            (TlsCipherEnc::Aes, 128) => BlockCipher::Aes128,
            (TlsCipherEnc::Aes, 256) => BlockCipher::Aes256,
            (TlsCipherEnc::Camellia, 128) => BlockCipher::Camellia128,
            (TlsCipherEnc::Camellia, 256) => BlockCipher::Camellia256,
            (TlsCipherEnc::Aria, 128) => BlockCipher::Aria128,
            (TlsCipherEnc::Aria, 256) => BlockCipher::Aria256,
            (TlsCipherEnc::TripleDes, 168) => BlockCipher::TripleDes,
            _ => return None,
        })
    }
}

/// The record protections plainsight can decrypt: AEADs, and (TLS 1.2 and older) a block cipher
/// in CBC mode, RC4 or no cipher at all, each with an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherKind {
    /// GCM over a 16-byte block cipher (AES, Camellia, ARIA).
    Gcm(BlockCipher),
    ChaCha20Poly1305,
    /// AES-CCM with a 16-byte tag (RFC 6655), and with an 8-byte one (`_CCM_8`).
    Aes128Ccm,
    Aes256Ccm,
    Aes128Ccm8,
    Aes256Ccm8,
    Cbc(BlockCipher, MacKind),
    /// RC4-128: one keystream per direction, running on across records.
    Rc4(MacKind),
    /// NULL suites: no encryption, the content in the clear followed by its HMAC.
    Null(MacKind),
}

impl CipherKind {
    fn key_len(self) -> usize {
        match self {
            CipherKind::Gcm(block) | CipherKind::Cbc(block, _) => block.key_len(),
            CipherKind::Aes128Ccm | CipherKind::Aes128Ccm8 | CipherKind::Rc4(_) => 16,
            CipherKind::ChaCha20Poly1305 | CipherKind::Aes256Ccm | CipherKind::Aes256Ccm8 => 32,
            CipherKind::Null(_) => 0,
        }
    }

    /// The HMAC of a suite that is not an AEAD.
    fn mac(self) -> Option<MacKind> {
        match self {
            CipherKind::Cbc(_, mac) | CipherKind::Rc4(mac) | CipherKind::Null(mac) => Some(mac),
            _ => None,
        }
    }
}

/// The HMAC hash of a suite that is not an AEAD (the `_MD5`, `_SHA`, `_SHA256`, `_SHA384`
/// ending of its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacKind {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl MacKind {
    fn len(self) -> usize {
        match self {
            MacKind::Md5 => 16,
            MacKind::Sha1 => 20,
            MacKind::Sha256 => 32,
            MacKind::Sha384 => 48,
        }
    }

    fn hmac(self) -> HmacHash {
        match self {
            MacKind::Md5 => HmacHash::Md5,
            MacKind::Sha1 => HmacHash::Sha1,
            MacKind::Sha256 => HmacHash::Sha256,
            MacKind::Sha384 => HmacHash::Sha384,
        }
    }
}

/// The hash of a suite's PRF or HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Sha256,
    Sha384,
    /// TLS 1.0 and 1.1, whatever the suite: P_MD5 and P_SHA-1 XORed (RFC 2246 5), and MD5 then
    /// SHA-1 of the handshake for the extended master secret.
    Md5Sha1,
}

/// The hash under one HMAC.
#[derive(Debug, Clone, Copy)]
enum HmacHash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

/// Runs `$finish` on an HMAC of `$hash` keyed with `$key` that has read every one of `$parts`.
macro_rules! with_hmac {
    ($hash:expr, $key:expr, $parts:expr, $mac:ident => $finish:expr) => {{
        macro_rules! run {
            ($digest:ty) => {{
                let mut $mac = <Hmac<$digest> as hmac::KeyInit>::new_from_slice($key).ok()?;
                $parts.iter().for_each(|p| $mac.update(p));
                $finish
            }};
        }
        match $hash {
            HmacHash::Md5 => run!(md5::Md5),
            HmacHash::Sha1 => run!(sha1::Sha1),
            HmacHash::Sha256 => run!(Sha256),
            HmacHash::Sha384 => run!(Sha384),
        }
    }};
}

/// An HMAC, for the tests that build records by hand.
#[cfg(test)]
fn hmac(hash: HmacHash, key: &[u8], parts: &[&[u8]]) -> Option<Vec<u8>> {
    Some(with_hmac!(hash, key, parts, m => m.finalize().into_bytes().to_vec()))
}

/// `Some` when the HMAC of `parts` is `expected` (compared in constant time, nothing allocated:
/// this runs for every record of a suite that is not an AEAD).
fn hmac_matches(hash: HmacHash, key: &[u8], parts: &[&[u8]], expected: &[u8]) -> Option<()> {
    with_hmac!(hash, key, parts, m => m.verify_slice(expected).ok())
}

/// What a cipher suite needs for decryption, read from the one suite table (tls-parser's, made
/// from IANA's registry): its cipher, mode, key size, MAC and PRF. `None` for what plainsight
/// cannot decrypt (SEED, IDEA, DES, export suites, SM4, GOST…).
pub fn suite(id: u16) -> Option<(CipherKind, HashKind)> {
    let entry = TlsCipherSuite::from_id(id)?;
    let mac = match entry.mac {
        TlsCipherMac::HmacMd5 => Some(MacKind::Md5),
        TlsCipherMac::HmacSha1 => Some(MacKind::Sha1),
        TlsCipherMac::HmacSha256 => Some(MacKind::Sha256),
        TlsCipherMac::HmacSha384 => Some(MacKind::Sha384),
        TlsCipherMac::Aead => None,
        _ => return None,
    };
    let block = || BlockCipher::from_table(entry.enc, entry.enc_size);
    let kind = match (entry.enc, entry.enc_mode, mac) {
        (TlsCipherEnc::Null, _, Some(mac)) => CipherKind::Null(mac),
        (TlsCipherEnc::Rc4, _, Some(mac)) if entry.enc_size == 128 => CipherKind::Rc4(mac),
        (_, TlsCipherEncMode::Cbc, Some(mac)) => CipherKind::Cbc(block()?, mac),
        (_, TlsCipherEncMode::Gcm, None) => match block()? {
            BlockCipher::TripleDes => return None,
            block => CipherKind::Gcm(block),
        },
        (TlsCipherEnc::Aes, TlsCipherEncMode::Ccm, None) => {
            // The table gives CCM_8 a 128-bit MAC too; only the name tells the short tag.
            match (entry.enc_size, entry.name.ends_with("_8")) {
                (128, false) => CipherKind::Aes128Ccm,
                (256, false) => CipherKind::Aes256Ccm,
                (128, true) => CipherKind::Aes128Ccm8,
                (256, true) => CipherKind::Aes256Ccm8,
                _ => return None,
            }
        }
        (TlsCipherEnc::Chacha20_Poly1305, _, None) => CipherKind::ChaCha20Poly1305,
        _ => return None,
    };
    // TLS 1.2's PRF is SHA-256's unless the suite names another (TLS 1.0 and 1.1 have their own
    // whatever the suite; the caller decides that).
    let hash = match entry.prf {
        TlsPRF::Default | TlsPRF::Sha256 => HashKind::Sha256,
        TlsPRF::Sha384 => HashKind::Sha384,
        _ => return None,
    };
    Some((kind, hash))
}

type CamelliaGcm128 = aes_gcm::AesGcm<camellia::Camellia128, U12>;
type CamelliaGcm256 = aes_gcm::AesGcm<camellia::Camellia256, U12>;
type AriaGcm128 = aes_gcm::AesGcm<aria::Aria128, U12>;
type AriaGcm256 = aes_gcm::AesGcm<aria::Aria256, U12>;

pub(crate) enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    Camellia128(Box<CamelliaGcm128>),
    Camellia256(Box<CamelliaGcm256>),
    Aria128(Box<AriaGcm128>),
    Aria256(Box<AriaGcm256>),
    ChaCha(Box<ChaCha20Poly1305>),
    Ccm128(Box<ccm::Ccm<aes::Aes128, U16, U12>>),
    Ccm256(Box<ccm::Ccm<aes::Aes256, U16, U12>>),
    Ccm8128(Box<ccm::Ccm<aes::Aes128, U8, U12>>),
    Ccm8256(Box<ccm::Ccm<aes::Aes256, U8, U12>>),
    Hmac(HmacRecords),
}

/// One direction of a suite with an HMAC (RFC 5246 6.2.3.1-2): CBC records are an explicit IV,
/// then the content, its HMAC and padding, encrypted; or with encrypt-then-MAC (RFC 7366) the
/// HMAC follows the ciphertext instead. RC4 records are the content and its HMAC, encrypted;
/// NULL records the content and its HMAC in the clear.
pub(crate) struct HmacRecords {
    mac_key: Vec<u8>,
    mac: MacKind,
    encrypt_then_mac: bool,
    bulk: Bulk,
}

/// The encryption under an HMAC.
enum Bulk {
    Null,
    Rc4(Box<rc4::Rc4>),
    Cbc {
        keys: BlockKeys,
        /// TLS 1.0: records carry no IV; the first comes from the key block, each next one is
        /// the last ciphertext block of the record before.
        chained_iv: Option<Vec<u8>>,
    },
}

/// A block cipher with its key schedule done once per direction.
enum BlockKeys {
    Aes128(Box<aes::Aes128>),
    Aes256(Box<aes::Aes256>),
    Camellia128(Box<camellia::Camellia128>),
    Camellia256(Box<camellia::Camellia256>),
    Aria128(Box<aria::Aria128>),
    Aria256(Box<aria::Aria256>),
    TripleDes(Box<des::TdesEde3>),
}

/// Runs `$body` with `$c` bound to the block cipher inside `$keys`, whatever its type.
macro_rules! with_block_keys {
    ($keys:expr, $c:ident => $body:expr) => {
        match $keys {
            BlockKeys::Aes128($c) => $body,
            BlockKeys::Aes256($c) => $body,
            BlockKeys::Camellia128($c) => $body,
            BlockKeys::Camellia256($c) => $body,
            BlockKeys::Aria128($c) => $body,
            BlockKeys::Aria256($c) => $body,
            BlockKeys::TripleDes($c) => $body,
        }
    };
}

impl BlockKeys {
    fn new(block: BlockCipher, key: &[u8]) -> Option<BlockKeys> {
        use cbc::cipher::KeyInit as _;
        Some(match block {
            BlockCipher::Aes128 => {
                BlockKeys::Aes128(Box::new(aes::Aes128::new_from_slice(key).ok()?))
            }
            BlockCipher::Aes256 => {
                BlockKeys::Aes256(Box::new(aes::Aes256::new_from_slice(key).ok()?))
            }
            BlockCipher::Camellia128 => {
                BlockKeys::Camellia128(Box::new(camellia::Camellia128::new_from_slice(key).ok()?))
            }
            BlockCipher::Camellia256 => {
                BlockKeys::Camellia256(Box::new(camellia::Camellia256::new_from_slice(key).ok()?))
            }
            BlockCipher::Aria128 => {
                BlockKeys::Aria128(Box::new(aria::Aria128::new_from_slice(key).ok()?))
            }
            BlockCipher::Aria256 => {
                BlockKeys::Aria256(Box::new(aria::Aria256::new_from_slice(key).ok()?))
            }
            BlockCipher::TripleDes => {
                BlockKeys::TripleDes(Box::new(des::TdesEde3::new_from_slice(key).ok()?))
            }
        })
    }

    fn block_len(&self) -> usize {
        match self {
            BlockKeys::TripleDes(_) => 8,
            _ => 16,
        }
    }

    /// CBC-decrypts whole blocks in place.
    fn decrypt_cbc(&self, iv: &[u8], buf: &mut [u8]) -> Option<()> {
        use cbc::cipher::InnerIvInit;
        with_block_keys!(self, c => {
            let (blocks, tail) = cbc::cipher::inout::InOutBuf::from(&mut *buf).into_chunks();
            if !tail.is_empty() {
                return None;
            }
            cbc::Decryptor::inner_iv_slice_init((**c).clone(), iv)
                .ok()?
                .decrypt_blocks_inout(blocks);
        });
        Some(())
    }
}

impl HmacRecords {
    /// The record's plaintext, if its padding and HMAC check out.
    fn open(&mut self, seq: u64, header: &[u8; 5], fragment: &[u8]) -> Option<Vec<u8>> {
        let HmacRecords {
            mac_key,
            mac,
            encrypt_then_mac,
            bulk,
        } = self;
        let (mac, mac_key, mac_len) = (*mac, mac_key.as_slice(), mac.len());
        let (keys, chained_iv) = match bulk {
            Bulk::Null => {
                // The content, then its HMAC (encrypt-then-MAC is for CBC only).
                let (content, tag) =
                    fragment.split_at_checked(fragment.len().checked_sub(mac_len)?)?;
                mac_matches(mac, mac_key, seq, header, content, tag)?;
                return Some(content.to_vec());
            }
            Bulk::Rc4(rc4) => {
                // The keystream runs on whatever the MAC says: the next record follows it.
                use rc4::StreamCipher;
                let mut buf = fragment.to_vec();
                rc4.apply_keystream(&mut buf);
                let content_len = buf.len().checked_sub(mac_len)?;
                let (content, tag) = buf.split_at(content_len);
                mac_matches(mac, mac_key, seq, header, content, tag)?;
                buf.truncate(content_len);
                return Some(buf);
            }
            Bulk::Cbc { keys, chained_iv } => (&*keys, chained_iv),
        };
        let block = keys.block_len();
        let (encrypted, trailing_mac) = if *encrypt_then_mac {
            let (encrypted, tag) =
                fragment.split_at_checked(fragment.len().checked_sub(mac_len)?)?;
            (encrypted, Some(tag))
        } else {
            (fragment, None)
        };
        // The IV (TLS 1.1 and later), then at least one whole block.
        let iv_len = if chained_iv.is_some() { 0 } else { block };
        if encrypted.len() < iv_len + block || encrypted.len() % block != 0 {
            return None;
        }
        if let Some(tag) = trailing_mac {
            mac_matches(mac, mac_key, seq, header, encrypted, tag)?;
        }
        let (iv, body) = match chained_iv.as_deref() {
            Some(iv) => (iv, encrypted),
            None => encrypted.split_at(block),
        };
        let mut buf = body.to_vec();
        keys.decrypt_cbc(iv, &mut buf)?;
        // Padding: `pad` bytes of value `pad`, then `pad` itself.
        let pad = *buf.last()?;
        let unpadded = buf.len().checked_sub(usize::from(pad) + 1)?;
        if buf.get(unpadded..)?.iter().any(|b| *b != pad) {
            return None;
        }
        buf.truncate(unpadded);
        if !*encrypt_then_mac {
            let content_len = buf.len().checked_sub(mac_len)?;
            let (content, tag) = buf.split_at(content_len);
            mac_matches(mac, mac_key, seq, header, content, tag)?;
            buf.truncate(content_len);
        }
        if let Some(iv) = chained_iv {
            // TLS 1.0: the next record's IV is this one's last ciphertext block.
            iv.copy_from_slice(encrypted.get(encrypted.len() - block..)?);
        }
        Some(buf)
    }
}

/// `Some` when `tag` is HMAC(seq_num + type + version + length + data); `data` is the content
/// (MAC-then-encrypt) or the IV and ciphertext (encrypt-then-MAC).
fn mac_matches(
    mac: MacKind,
    key: &[u8],
    seq: u64,
    header: &[u8; 5],
    data: &[u8],
    tag: &[u8],
) -> Option<()> {
    let len = u16::try_from(data.len()).ok()?.to_be_bytes();
    let parts: [&[u8]; 5] = [&seq.to_be_bytes(), &header[..1], &header[1..3], &len, data];
    hmac_matches(mac.hmac(), key, &parts, tag)
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cipher::Aes128(_) => "AES-128-GCM",
            Cipher::Aes256(_) => "AES-256-GCM",
            Cipher::Camellia128(_) => "Camellia-128-GCM",
            Cipher::Camellia256(_) => "Camellia-256-GCM",
            Cipher::Aria128(_) => "ARIA-128-GCM",
            Cipher::Aria256(_) => "ARIA-256-GCM",
            Cipher::ChaCha(_) => "ChaCha20-Poly1305",
            Cipher::Ccm128(_) => "AES-128-CCM",
            Cipher::Ccm256(_) => "AES-256-CCM",
            Cipher::Ccm8128(_) => "AES-128-CCM-8",
            Cipher::Ccm8256(_) => "AES-256-CCM-8",
            Cipher::Hmac(r) => match r.bulk {
                Bulk::Null => "NULL",
                Bulk::Rc4(_) => "RC4-128",
                Bulk::Cbc { .. } => "CBC",
            },
        })
    }
}

impl Cipher {
    /// An AEAD; `None` for suites with an HMAC, which need MAC keys too.
    pub(crate) fn new(kind: CipherKind, key: &[u8]) -> Option<Cipher> {
        Some(match kind {
            CipherKind::Gcm(block) => match block {
                BlockCipher::Aes128 => {
                    Cipher::Aes128(Box::new(Aes128Gcm::new_from_slice(key).ok()?))
                }
                BlockCipher::Aes256 => {
                    Cipher::Aes256(Box::new(Aes256Gcm::new_from_slice(key).ok()?))
                }
                BlockCipher::Camellia128 => {
                    Cipher::Camellia128(Box::new(CamelliaGcm128::new_from_slice(key).ok()?))
                }
                BlockCipher::Camellia256 => {
                    Cipher::Camellia256(Box::new(CamelliaGcm256::new_from_slice(key).ok()?))
                }
                BlockCipher::Aria128 => {
                    Cipher::Aria128(Box::new(AriaGcm128::new_from_slice(key).ok()?))
                }
                BlockCipher::Aria256 => {
                    Cipher::Aria256(Box::new(AriaGcm256::new_from_slice(key).ok()?))
                }
                BlockCipher::TripleDes => return None,
            },
            CipherKind::ChaCha20Poly1305 => {
                Cipher::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
            CipherKind::Aes128Ccm => Cipher::Ccm128(Box::new(ccm::Ccm::new_from_slice(key).ok()?)),
            CipherKind::Aes256Ccm => Cipher::Ccm256(Box::new(ccm::Ccm::new_from_slice(key).ok()?)),
            CipherKind::Aes128Ccm8 => {
                Cipher::Ccm8128(Box::new(ccm::Ccm::new_from_slice(key).ok()?))
            }
            CipherKind::Aes256Ccm8 => {
                Cipher::Ccm8256(Box::new(ccm::Ccm::new_from_slice(key).ok()?))
            }
            CipherKind::Cbc(..) | CipherKind::Rc4(_) | CipherKind::Null(_) => return None,
        })
    }

    /// The AEAD tag's length: 8 for CCM_8, else 16.
    fn tag_len(&self) -> usize {
        match self {
            Cipher::Ccm8128(_) | Cipher::Ccm8256(_) => 8,
            _ => 16,
        }
    }

    /// Decrypts `buf` (ciphertext then tag) in place; returns the plaintext length.
    pub(crate) fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<usize> {
        let len = buf.len().checked_sub(self.tag_len())?;
        let (data, tag) = buf.split_at_mut(len);
        macro_rules! open {
            ($c:expr) => {
                $c.decrypt_inout_detached(nonce.into(), aad, data.into(), (&*tag).try_into().ok()?)
                    .is_ok()
            };
        }
        let ok = match self {
            Cipher::Aes128(c) => open!(c),
            Cipher::Aes256(c) => open!(c),
            Cipher::Camellia128(c) => open!(c),
            Cipher::Camellia256(c) => open!(c),
            Cipher::Aria128(c) => open!(c),
            Cipher::Aria256(c) => open!(c),
            Cipher::ChaCha(c) => open!(c),
            Cipher::Ccm128(c) => open!(c),
            Cipher::Ccm256(c) => open!(c),
            Cipher::Ccm8128(c) => open!(c),
            Cipher::Ccm8256(c) => open!(c),
            Cipher::Hmac(_) => false,
        };
        ok.then_some(len)
    }
}

/// Decrypts one direction's records in order.
#[derive(Debug)]
pub struct RecordDecryptor {
    cipher: Cipher,
    /// TLS 1.3 and ChaCha20 in 1.2: the 12-byte IV XORed with the sequence number. AES-GCM in
    /// 1.2: a 4-byte salt followed by the record's 8-byte explicit nonce.
    iv: [u8; 12],
    tls13: bool,
    explicit_nonce: bool,
    seq: u64,
}

/// A decrypted record: its real content type and plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plaintext {
    pub content_type: u8,
    pub data: Vec<u8>,
}

impl RecordDecryptor {
    /// TLS 1.3 keys from a traffic secret (RFC 8446 7.3).
    pub fn tls13(kind: CipherKind, hash: HashKind, secret: &[u8]) -> Option<RecordDecryptor> {
        let [key, iv] = hkdf_expand_labels(
            hash,
            secret,
            [(b"key".as_slice(), kind.key_len()), (b"iv", 12)],
        )?;
        Some(RecordDecryptor {
            cipher: Cipher::new(kind, &key)?,
            iv: iv.try_into().ok()?,
            tls13: true,
            explicit_nonce: false,
            seq: 0,
        })
    }

    /// TLS 1.0 to 1.2 keys for both directions from the master secret (RFC 5246 6.3): client's
    /// first. `encrypt_then_mac` is whether the ServerHello agreed RFC 7366 (CBC suites only);
    /// `implicit_iv` is TLS 1.0's IV chaining.
    pub fn tls12_pair(
        kind: CipherKind,
        hash: HashKind,
        master: &[u8],
        client_random: &[u8],
        server_random: &[u8],
        encrypt_then_mac: bool,
        implicit_iv: bool,
    ) -> Option<(RecordDecryptor, RecordDecryptor)> {
        let key_len = kind.key_len();
        let mut seed = server_random.to_vec();
        seed.extend_from_slice(client_random);
        if let Some(mac) = kind.mac() {
            // The key block: both MAC keys, both cipher keys, then both IVs (a block each for
            // CBC: TLS 1.0's first IVs; later versions send one with each record).
            let iv_len = match kind {
                CipherKind::Cbc(block, _) => block.block_len(),
                _ => 0,
            };
            let block = prf(
                hash,
                master,
                b"key expansion",
                &seed,
                2 * mac.len() + 2 * key_len + 2 * iv_len,
            )?;
            let (client_mac, rest) = block.split_at(mac.len());
            let (server_mac, rest) = rest.split_at(mac.len());
            let (client_key, rest) = rest.split_at(key_len);
            let (server_key, ivs) = rest.split_at(key_len);
            let (client_iv, server_iv) = ivs.split_at(iv_len);
            let make = |key: &[u8], mac_key: &[u8], iv: &[u8]| -> Option<RecordDecryptor> {
                let bulk = match kind {
                    CipherKind::Cbc(block, _) => Bulk::Cbc {
                        keys: BlockKeys::new(block, key)?,
                        chained_iv: implicit_iv.then(|| iv.to_vec()),
                    },
                    CipherKind::Rc4(_) => {
                        Bulk::Rc4(Box::new(<rc4::Rc4 as KeyInit>::new_from_slice(key).ok()?))
                    }
                    _ => Bulk::Null,
                };
                Some(RecordDecryptor {
                    cipher: Cipher::Hmac(HmacRecords {
                        mac_key: mac_key.to_vec(),
                        mac,
                        // RFC 7366 3: encrypt-then-MAC is for block ciphers only.
                        encrypt_then_mac: encrypt_then_mac && matches!(kind, CipherKind::Cbc(..)),
                        bulk,
                    }),
                    iv: [0; 12],
                    tls13: false,
                    explicit_nonce: false,
                    seq: 0,
                })
            };
            return Some((
                make(client_key, client_mac, client_iv)?,
                make(server_key, server_mac, server_iv)?,
            ));
        }
        let iv_len = if kind == CipherKind::ChaCha20Poly1305 {
            12
        } else {
            4
        };
        let block = prf(
            hash,
            master,
            b"key expansion",
            &seed,
            2 * key_len + 2 * iv_len,
        )?;
        let (client_key, rest) = block.split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_iv, server_iv) = rest.split_at(iv_len);
        let make = |key: &[u8], iv: &[u8]| -> Option<RecordDecryptor> {
            let mut full = [0u8; 12];
            full[..iv.len()].copy_from_slice(iv);
            Some(RecordDecryptor {
                cipher: Cipher::new(kind, key)?,
                iv: full,
                tls13: false,
                explicit_nonce: kind != CipherKind::ChaCha20Poly1305,
                seq: 0,
            })
        };
        Some((make(client_key, client_iv)?, make(server_key, server_iv)?))
    }

    /// Decrypts the next record of this direction (`header` is its 5-byte record header).
    pub fn decrypt(&mut self, header: &[u8; 5], fragment: &[u8]) -> Option<Plaintext> {
        if let Cipher::Hmac(keys) = &mut self.cipher {
            let data = keys.open(self.seq, header, fragment)?;
            self.seq += 1;
            return Some(Plaintext {
                content_type: header[0],
                data,
            });
        }
        let mut nonce = self.iv;
        let body: &[u8] = if self.explicit_nonce {
            let explicit = fragment.get(..8)?;
            nonce[4..].copy_from_slice(explicit);
            &fragment[8..]
        } else {
            for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
                *n ^= s;
            }
            fragment
        };
        let mut buf = body.to_vec();
        let plain_len = buf.len().checked_sub(self.cipher.tag_len())?;
        let aad: Vec<u8> = if self.tls13 {
            header.to_vec()
        } else {
            let mut a = self.seq.to_be_bytes().to_vec();
            a.extend_from_slice(&header[..3]);
            a.extend_from_slice(&(plain_len as u16).to_be_bytes());
            a
        };
        let len = self.cipher.open(&nonce, &aad, &mut buf)?;
        self.seq += 1;
        buf.truncate(len);
        if self.tls13 {
            // TLSInnerPlaintext: content, the real type, then zero padding.
            let end = buf.iter().rposition(|b| *b != 0)?;
            let content_type = buf[end];
            buf.truncate(end);
            Some(Plaintext {
                content_type,
                data: buf,
            })
        } else {
            Some(Plaintext {
                content_type: header[0],
                data: buf,
            })
        }
    }
}

/// The master secret from a pre-master secret (RFC 5246 8.1), or, with the extended master
/// secret (RFC 7627), from the hash of the handshake up to the ClientKeyExchange.
pub fn master_secret(
    hash: HashKind,
    pre_master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
    session_hash: Option<&[u8]>,
) -> Option<Vec<u8>> {
    match session_hash {
        Some(h) => prf(hash, pre_master, b"extended master secret", h, 48),
        None => {
            let mut seed = client_random.to_vec();
            seed.extend_from_slice(server_random);
            prf(hash, pre_master, b"master secret", &seed, 48)
        }
    }
}

/// The next generation of a TLS 1.3 application traffic secret, after a KeyUpdate (RFC 8446
/// 7.2): HKDF-Expand-Label(secret, "traffic upd", "", Hash.length).
pub fn next_traffic_secret(hash: HashKind, secret: &[u8]) -> Option<Vec<u8>> {
    let len = match hash {
        HashKind::Sha256 => 32,
        HashKind::Sha384 => 48,
        HashKind::Md5Sha1 => return None,
    };
    hkdf_expand_label(hash, secret, b"traffic upd", len)
}

/// The hash of the handshake messages so far, for the extended master secret.
pub fn transcript_hash(hash: HashKind, messages: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match hash {
        HashKind::Sha256 => Sha256::digest(messages).to_vec(),
        HashKind::Sha384 => Sha384::digest(messages).to_vec(),
        HashKind::Md5Sha1 => {
            let mut both = md5::Md5::digest(messages).to_vec();
            both.extend_from_slice(&sha1::Sha1::digest(messages));
            both
        }
    }
}

/// The TLS PRF: P_hash(secret, label + seed) in TLS 1.2 (RFC 5246 5); in TLS 1.0 and 1.1
/// (RFC 2246 5), P_MD5 over the secret's first half XORed with P_SHA-1 over its second (the
/// halves share the middle byte when the length is odd).
pub fn prf(
    hash: HashKind,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let mut label_seed = label.to_vec();
    label_seed.extend_from_slice(seed);
    match hash {
        HashKind::Sha256 => p_hash(HmacHash::Sha256, secret, &label_seed, len),
        HashKind::Sha384 => p_hash(HmacHash::Sha384, secret, &label_seed, len),
        HashKind::Md5Sha1 => {
            let half = secret.len().div_ceil(2);
            let first = secret.get(..half)?;
            let second = secret.get(secret.len() - half..)?;
            let mut out = p_hash(HmacHash::Md5, first, &label_seed, len)?;
            let sha = p_hash(HmacHash::Sha1, second, &label_seed, len)?;
            out.iter_mut().zip(sha).for_each(|(o, s)| *o ^= s);
            Some(out)
        }
    }
}

/// P_hash (RFC 5246 5): HMAC(secret, A(i) + seed) for A(1), A(2)… until `len` bytes.
fn p_hash(hash: HmacHash, secret: &[u8], label_seed: &[u8], len: usize) -> Option<Vec<u8>> {
    // Keyed once and cloned for each HMAC: keying costs two of the hash's blocks, as much as
    // the rest of a short HMAC (profiled: a third of a TLS 1.2 handshake's key derivation).
    macro_rules! run {
        ($digest:ty) => {{
            let keyed = <Hmac<$digest> as hmac::KeyInit>::new_from_slice(secret).ok()?;
            let mac = |parts: &[&[u8]]| {
                let mut m = keyed.clone();
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes()
            };
            let mut out = Vec::with_capacity(len + 64);
            let mut a = mac(&[label_seed]);
            loop {
                out.extend_from_slice(&mac(&[&a, label_seed]));
                if out.len() >= len {
                    break;
                }
                a = mac(&[&a]);
            }
            out.truncate(len);
            Some(out)
        }};
    }
    match hash {
        HmacHash::Md5 => run!(md5::Md5),
        HmacHash::Sha1 => run!(sha1::Sha1),
        HmacHash::Sha256 => run!(Sha256),
        HmacHash::Sha384 => run!(Sha384),
    }
}

/// HKDF-Expand-Label (RFC 8446 7.1) with an empty context.
pub fn hkdf_expand_label(
    hash: HashKind,
    secret: &[u8],
    label: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    hkdf_expand_labels(hash, secret, [(label, len)]).map(|[out]| out)
}

/// HKDF-Expand-Label for several labels of one secret (a key and its IV), keyed once: keying
/// costs two of the hash's blocks, as much as a short expansion.
pub fn hkdf_expand_labels<const N: usize>(
    hash: HashKind,
    secret: &[u8],
    labels: [(&[u8], usize); N],
) -> Option<[Vec<u8>; N]> {
    macro_rules! run {
        ($digest:ty) => {{
            let keyed = hkdf::Hkdf::<$digest>::from_prk(secret).ok()?;
            let mut outs: [Vec<u8>; N] = std::array::from_fn(|_| Vec::new());
            for (out, (label, len)) in outs.iter_mut().zip(labels) {
                let mut info = Vec::with_capacity(10 + label.len());
                info.extend_from_slice(&(len as u16).to_be_bytes());
                info.push((6 + label.len()) as u8);
                info.extend_from_slice(b"tls13 ");
                info.extend_from_slice(label);
                info.push(0);
                *out = vec![0u8; len];
                keyed.expand(&info, out).ok()?;
            }
            Some(outs)
        }};
    }
    match hash {
        HashKind::Md5Sha1 => None,
        HashKind::Sha256 => run!(Sha256),
        HashKind::Sha384 => run!(Sha384),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_lines_give_pre_masters_by_their_encrypted_prefix() {
        let pms = "03".repeat(48);
        let (log, warnings) = KeyLog::parse(&format!(
            "RSA 0011223344556677 {pms}\nRSA 00112233 {pms}\nRSA 0011223344556677 0303\n"
        ));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("line 2"));
        assert_eq!(
            log.pre_master(&hex::decode("0011223344556677").unwrap()),
            Some(vec![3; 48])
        );
        assert!(!log.is_empty());
    }

    #[test]
    fn key_log_lines() {
        let random = "a".repeat(64);
        let text = format!(
            "# comment\nCLIENT_RANDOM {random} {}\nSERVER_TRAFFIC_SECRET_0 {random} 0102\nEXPORTER_SECRET {random} 03\nbogus line\nCLIENT_RANDOM zz 00\nCLIENT_RANDOM abcd 00\n",
            "b".repeat(96)
        );
        let (log, warnings) = KeyLog::parse(&text);
        assert_eq!(log.len(), 1);
        let s = log.get(&hex::decode(&random).unwrap()).unwrap();
        assert_eq!(s.master.as_ref().map(Vec::len), Some(48));
        assert_eq!(s.server_traffic.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].starts_with("line 5:"));
    }

    /// RFC 8448 (Example Handshake Traces for TLS 1.3), "Simple 1-RTT Handshake": the server
    /// handshake traffic secret and the key and IV derived from it.
    #[test]
    fn rfc8448_key_schedule() {
        let secret =
            hex::decode("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
                .unwrap();
        assert_eq!(
            hex::encode(hkdf_expand_label(HashKind::Sha256, &secret, b"key", 16).unwrap()),
            "3fce516009c21727d0f2e4e86ee403bc"
        );
        assert_eq!(
            hex::encode(hkdf_expand_label(HashKind::Sha256, &secret, b"iv", 12).unwrap()),
            "5d313eb2671276ee13000b30"
        );
    }

    /// A MAC-then-encrypt CBC record made here: it opens with its sequence number only, and a
    /// flipped bit or a cut record gives nothing.
    #[test]
    fn cbc_records_check_their_padding_and_mac() {
        use cbc::cipher::BlockModeEncrypt;
        let mut keys = HmacRecords {
            mac_key: vec![9; 20],
            mac: MacKind::Sha1,
            encrypt_then_mac: false,
            bulk: Bulk::Cbc {
                keys: BlockKeys::new(BlockCipher::Aes128, &[7; 16]).unwrap(),
                chained_iv: None,
            },
        };
        let header = [23, 3, 3, 0, 0];
        let content = b"password=hunter2";
        let mut plain = content.to_vec();
        let len = (content.len() as u16).to_be_bytes();
        let parts: [&[u8]; 5] = [&5u64.to_be_bytes(), &[23], &[3, 3], &len, content];
        plain.extend(hmac(HmacHash::Sha1, &keys.mac_key, &parts).unwrap());
        let pad = 15 - plain.len() % 16;
        plain.extend(std::iter::repeat_n(pad as u8, pad + 1));
        let iv = [3u8; 16];
        let (blocks, tail) = cbc::cipher::inout::InOutBuf::from(&mut plain[..]).into_chunks();
        assert!(tail.is_empty());
        use cbc::cipher::KeyIvInit;
        cbc::Encryptor::<aes::Aes128>::new_from_slices(&[7; 16], &iv)
            .unwrap()
            .encrypt_blocks_inout(blocks);
        let mut record = iv.to_vec();
        record.extend_from_slice(&plain);
        assert_eq!(
            keys.open(5, &header, &record).as_deref(),
            Some(&content[..])
        );
        assert_eq!(
            keys.open(6, &header, &record),
            None,
            "another sequence number"
        );
        assert_eq!(keys.open(5, &header, &record[..32]), None, "cut short");
        assert_eq!(
            keys.open(5, &header, &record[..17]),
            None,
            "not whole blocks"
        );
        record[20] ^= 1;
        assert_eq!(keys.open(5, &header, &record), None, "a flipped bit");
    }

    /// RC4 records: the keystream runs on from one record to the next, and a record whose
    /// MAC fails gives nothing.
    #[test]
    fn rc4_records_share_one_keystream() {
        use rc4::StreamCipher;
        let key = [5u8; 16];
        let mac_key = [6u8; 16];
        let mut sender = <rc4::Rc4 as KeyInit>::new_from_slice(&key).unwrap();
        let mut keys = HmacRecords {
            mac_key: mac_key.to_vec(),
            mac: MacKind::Md5,
            encrypt_then_mac: true,
            bulk: Bulk::Rc4(Box::new(
                <rc4::Rc4 as KeyInit>::new_from_slice(&key).unwrap(),
            )),
        };
        let header = [23, 3, 1, 0, 0];
        for (seq, content) in [&b"GET / HTTP/1.1\r\n"[..], b"Authorization: Basic dGVzcw=="]
            .into_iter()
            .enumerate()
        {
            let len = (content.len() as u16).to_be_bytes();
            let seq_bytes = (seq as u64).to_be_bytes();
            let parts: [&[u8]; 5] = [&seq_bytes, &[23], &[3, 1], &len, content];
            let mut record = content.to_vec();
            record.extend(hmac(HmacHash::Md5, &mac_key, &parts).unwrap());
            sender.apply_keystream(&mut record);
            assert_eq!(
                keys.open(seq as u64, &header, &record).as_deref(),
                Some(content),
                "record {seq}"
            );
        }
        let mut record = b"one more, cut".to_vec();
        sender.apply_keystream(&mut record);
        assert_eq!(keys.open(2, &header, &record), None, "no MAC");
    }

    #[test]
    fn suites() {
        use BlockCipher::*;
        for (id, kind, hash) in [
            (0x1303, CipherKind::ChaCha20Poly1305, HashKind::Sha256),
            (0x1302, CipherKind::Gcm(Aes256), HashKind::Sha384),
            (0xc030, CipherKind::Gcm(Aes256), HashKind::Sha384),
            (0xcca8, CipherKind::ChaCha20Poly1305, HashKind::Sha256),
            (
                0x002f,
                CipherKind::Cbc(Aes128, MacKind::Sha1),
                HashKind::Sha256,
            ),
            (
                0xc028,
                CipherKind::Cbc(Aes256, MacKind::Sha384),
                HashKind::Sha384,
            ),
            (0xc0ae, CipherKind::Aes128Ccm8, HashKind::Sha256),
            (0xc09d, CipherKind::Aes256Ccm, HashKind::Sha256),
            (
                0x000a,
                CipherKind::Cbc(TripleDes, MacKind::Sha1),
                HashKind::Sha256,
            ),
            (0x0004, CipherKind::Rc4(MacKind::Md5), HashKind::Sha256),
            (0xc011, CipherKind::Rc4(MacKind::Sha1), HashKind::Sha256),
            (
                0x0041,
                CipherKind::Cbc(Camellia128, MacKind::Sha1),
                HashKind::Sha256,
            ),
            (
                0xc077,
                CipherKind::Cbc(Camellia256, MacKind::Sha384),
                HashKind::Sha384,
            ),
            (0xc08a, CipherKind::Gcm(Camellia128), HashKind::Sha256),
            (0xc061, CipherKind::Gcm(Aria256), HashKind::Sha384),
            (0x0001, CipherKind::Null(MacKind::Md5), HashKind::Sha256),
            (0xc0b5, CipherKind::Null(MacKind::Sha384), HashKind::Sha384),
        ] {
            assert_eq!(suite(id), Some((kind, hash)), "0x{id:04x}");
        }
        // SEED, DES, an export suite, IDEA, the renegotiation SCSV, NULL_WITH_NULL_NULL, an
        // unassigned value.
        for id in [0x0096, 0x0009, 0x0003, 0x0007, 0x00ff, 0x0000, 0x5a5a] {
            assert_eq!(suite(id), None, "0x{id:04x}");
        }
    }
}
