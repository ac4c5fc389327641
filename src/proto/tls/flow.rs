//! One TLS connection: records in both directions, the handshake they carry, and — with a key
//! log — the decrypted application data.

use super::decrypt::{master_secret, next_traffic_secret, transcript_hash};
use super::decrypt::{suite, CipherKind, HashKind, KeyLog, Plaintext, RecordDecryptor};
use super::handshake::{
    certificate_chain, cipher_name, client_hello, server_hello, version_name, ClientHello,
    HandshakeReader, ServerHello, CERTIFICATE, CLIENT_HELLO, CLIENT_KEY_EXCHANGE,
    END_OF_EARLY_DATA, FINISHED, KEY_UPDATE, SERVER_HELLO,
};
use super::{DecryptionResult, MAX_RECORD};
use crate::flow::Direction;
use crate::proto::Framed;
use crate::proto::{StreamContext, StreamParser};
use tls_parser::{TlsCipherKx, TlsCipherSuite};

const CHANGE_CIPHER_SPEC: u8 = 20;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

/// What a TLS connection shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsOutput {
    ClientHello(ClientHello),
    ServerHello(ServerHello),
    /// The leaf certificate's DER bytes: described by the engine, which remembers certificates
    /// across connections.
    /// The certificates' DER bytes, leaf first, as sent, and the name the client asked for.
    Certificate {
        chain: Vec<Vec<u8>>,
        server_name: Option<String>,
    },
    /// Once per connection when a key log is in use.
    Decryption {
        result: DecryptionResult,
        detail: String,
    },
    /// A record as it crossed the wire (when payloads are reported).
    Record(RecordSeen),
    /// Decrypted application data of one direction, in order.
    AppData {
        dir: Direction,
        data: Vec<u8>,
    },
    /// Not TLS (any more): a bad record header, an oversized record or handshake message.
    Error(TlsError),
}

/// A TLS record as it crossed the wire: what the wire view and `report --payloads` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSeen {
    pub dir: Direction,
    /// The header's content type.
    pub content_type: u8,
    /// The body's length.
    pub length: usize,
    /// The body's first 16 bytes, as on the wire.
    pub head: Vec<u8>,
    /// The real content type, once decrypted.
    pub inner_type: Option<u8>,
}

/// Handshake bytes kept for the extended master secret at most (certificate chains included).
const MAX_TRANSCRIPT: usize = 512 << 10;

/// The `no_key` detail for a session the key log has nothing for.
pub(crate) fn no_key(client_random: &[u8]) -> String {
    format!(
        "the key log has no secrets for this session (client random {}…)",
        hex::encode(client_random.get(..8).unwrap_or_default())
    )
}

/// Bytes of a record's body shown in its `tls_record` event.
const RECORD_HEAD: usize = 16;

/// Why a byte stream is not (or no longer) TLS: records or handshake messages that break its
/// rules. Reported as a `parse_error` anomaly; that direction is no longer followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("a TLS record claims {0} bytes, more than TLS allows")]
    Oversized(u16),
    #[error("not a TLS record header: {:02x} {:02x} {:02x}", .0[0], .0[1], .0[2])]
    NotARecord([u8; 3]),
    #[error("a TLS handshake message claims {0} bytes")]
    HandshakeTooLong(usize),
}

/// Cuts a byte stream into records, bounded.
#[derive(Debug, Default)]
struct RecordReader {
    buf: Vec<u8>,
    /// The packet where the held partial record began.
    buf_frame: u64,
}

impl RecordReader {
    /// Calls `f(header, body, frame)` for each whole record, `frame` being the packet where the
    /// record began (`data` came in packet `frame`); errs on something that is not a record.
    fn feed(
        &mut self,
        data: &[u8],
        frame: u64,
        mut f: impl FnMut([u8; 5], &[u8], u64),
    ) -> Result<(), TlsError> {
        let mut record_frame = if self.buf.is_empty() {
            frame
        } else {
            self.buf_frame
        };
        let mut owned = std::mem::take(&mut self.buf);
        let mut rest: &[u8] = if owned.is_empty() {
            data
        } else {
            owned.extend_from_slice(data);
            &owned
        };
        while let Some((header, after)) = rest.split_first_chunk::<5>() {
            let Some(len) = super::record_length(header) else {
                let [content_type, major, minor, hi, lo] = *header;
                let len = u16::from_be_bytes([hi, lo]);
                return Err(if usize::from(len) > MAX_RECORD && major == 3 {
                    TlsError::Oversized(len)
                } else {
                    TlsError::NotARecord([content_type, major, minor])
                });
            };
            let Some((body, next)) = after.split_at_checked(len) else {
                break;
            };
            f(*header, body, record_frame);
            record_frame = frame;
            rest = next;
        }
        self.buf = rest.to_vec();
        self.buf_frame = record_frame;
        Ok(())
    }
}

/// Both directions of a TLS connection.
#[derive(Debug, Default)]
pub struct TlsFlow {
    records: [RecordReader; 2],
    handshake: [HandshakeReader; 2],
    client_random: Option<Vec<u8>>,
    /// The server name the client asked for (SNI): what the certificate must name.
    server_name: Option<String>,
    server_random: Option<Vec<u8>>,
    cipher: u16,
    /// Records from this direction are encrypted (1.2: after ChangeCipherSpec; 1.3: after the
    /// ServerHello).
    encrypted: [bool; 2],
    decryptors: [Option<RecordDecryptor>; 2],
    /// TLS 1.2 and older: the keys each direction takes at its next ChangeCipherSpec (the first
    /// handshake's, or a renegotiation's while the old keys still protect it).
    pending: [Option<RecordDecryptor>; 2],
    /// TLS 1.3: the application traffic secrets, used once each side's Finished is read.
    traffic: [Option<Vec<u8>>; 2],
    /// TLS 1.3: the traffic secret each direction uses now (KeyUpdate derives the next).
    application_secret: [Option<Vec<u8>>; 2],
    suite: Option<(CipherKind, HashKind)>,
    /// A key log was given for this run.
    keyed: bool,
    reported: bool,
    cert_seen: bool,
    /// This direction can no longer be followed (a gap, not TLS).
    dead: [bool; 2],
    /// The packet where a held partial handshake message began, per direction.
    handshake_frame: [u64; 2],
    /// The packet that carried the first byte of what is being reported now.
    frame: u64,
    /// `--payload-bytes` when records are reported.
    payloads: Option<usize>,
    /// TLS 1.2 without a `CLIENT_RANDOM` secret: the ClientKeyExchange may find one.
    awaiting_key_exchange: bool,
    /// The extended master secret was agreed.
    extended_master_secret: bool,
    /// Encrypt-then-MAC was agreed (CBC suites).
    encrypt_then_mac: bool,
    /// The version the ServerHello chose, numeric.
    version: u16,
    /// The keys came from a server's private key, not a key log.
    opened_with_server_key: bool,
    /// TLS 1.2 handshake messages up to the ClientKeyExchange, for the extended master secret.
    transcript: Vec<u8>,
    past_key_exchange: bool,
    /// Record bytes (headers included) seen in each direction.
    record_offset: [u64; 2],
    /// TLS 1.3 0-RTT: the client's early-data keys, one per suite it offered until a record
    /// (or the ServerHello) tells which; emptied at EndOfEarlyData or the first client record
    /// they do not open.
    early: Vec<(u16, RecordDecryptor)>,
    /// TLS 1.3: the client offered 0-RTT and has not sent its Finished: a client record that
    /// does not open is early data without its keys, skipped as a server that refuses it does
    /// (RFC 8446 4.2.10), not a failure.
    early_offered: bool,
}

impl TlsFlow {
    /// The ServerHello chose TLS 1.3.
    fn tls13(&self) -> bool {
        self.version == 0x0304
    }

    /// An item, with the packet of what is being read now.
    fn push(&self, out: &mut Vec<Framed<TlsOutput>>, item: TlsOutput) {
        out.push(Framed {
            frame: self.frame,
            item,
        });
    }

    fn report(
        &mut self,
        result: DecryptionResult,
        detail: String,
        out: &mut Vec<Framed<TlsOutput>>,
    ) {
        if self.keyed && !self.reported {
            self.reported = true;
            self.push(out, TlsOutput::Decryption { result, detail });
        }
    }

    fn record(
        &mut self,
        way: Direction,
        header: [u8; 5],
        body: &[u8],
        keys: Option<&KeyLog>,
        out: &mut Vec<Framed<TlsOutput>>,
    ) {
        let dir = way.index();
        if self.dead[dir] {
            return;
        }
        let start = self.record_offset[dir];
        self.record_offset[dir] += 5 + body.len() as u64;
        let reported = self.payloads.is_some_and(|limit| start < limit as u64);
        let record_at = reported.then(|| {
            self.push(
                out,
                TlsOutput::Record(RecordSeen {
                    dir: way,
                    content_type: header[0],
                    length: body.len(),
                    head: body[..body.len().min(RECORD_HEAD)].to_vec(),
                    inner_type: None,
                }),
            );
            out.len() - 1
        });
        let content_type = header[0];
        if content_type == CHANGE_CIPHER_SPEC {
            // TLS 1.3 sends a dummy one for middleboxes; in 1.2 it turns encryption on, under the
            // keys just agreed (or none the key log could give).
            if !self.tls13() {
                self.encrypted[dir] = true;
                self.decryptors[dir] = self.pending[dir].take();
            }
            return;
        }
        if dir == 0 && content_type == APPLICATION_DATA && !self.early.is_empty() {
            // 0-RTT data, sent before the ServerHello and readable before it arrives.
            if let Some((suite_id, plain)) = self.open_early(&header, body) {
                self.plaintext(way, suite_id, plain, record_at, keys, out);
                return;
            }
        }
        if !self.encrypted[dir] {
            if content_type == HANDSHAKE {
                self.handshake_bytes(dir, body, keys, out);
            }
            return;
        }
        let Some(decryptor) = self.decryptors[dir].as_mut() else {
            return;
        };
        match decryptor.decrypt(&header, body) {
            Some(plain) => self.plaintext(way, self.cipher, plain, record_at, keys, out),
            None if dir == 0 && self.early_offered => {}
            None => {
                self.decryptors[dir] = None;
                self.report(
                    DecryptionResult::Failed,
                    format!(
                        "a record did not decrypt with the key log's secrets ({}): the key log may belong to another session, or the capture misses records",
                        cipher_name(self.cipher)
                    ),
                    out,
                );
            }
        }
    }

    /// A client record under the early traffic secret: the first suite whose keys open it
    /// stays. A record none opens is the client's first under its handshake keys (or the
    /// server refused 0-RTT): the early keys are done.
    fn open_early(&mut self, header: &[u8; 5], body: &[u8]) -> Option<(u16, Plaintext)> {
        let found = self
            .early
            .iter_mut()
            .enumerate()
            .find_map(|(i, (id, d))| Some((i, *id, d.decrypt(header, body)?)));
        match found {
            Some((i, id, plain)) => {
                if self.early.len() > 1 {
                    let kept = self.early.swap_remove(i);
                    self.early = vec![kept];
                }
                Some((id, plain))
            }
            None => {
                self.early.clear();
                None
            }
        }
    }

    /// What a decrypted record carries, read like cleartext.
    fn plaintext(
        &mut self,
        way: Direction,
        suite_id: u16,
        plain: Plaintext,
        record_at: Option<usize>,
        keys: Option<&KeyLog>,
        out: &mut Vec<Framed<TlsOutput>>,
    ) {
        if let Some(Framed {
            item: TlsOutput::Record(record),
            ..
        }) = record_at.and_then(|i| out.get_mut(i))
        {
            record.inner_type = Some(plain.content_type);
        }
        // Reported once, at the first record: not formatted for every record after.
        if !self.reported {
            let with = if self.opened_with_server_key {
                "the server's private key (RSA key exchange: no forward secrecy)"
            } else {
                "the key log"
            };
            self.report(
                DecryptionResult::Ok,
                format!("decrypted with {with} ({})", cipher_name(suite_id)),
                out,
            );
        }
        match plain.content_type {
            HANDSHAKE => self.handshake_bytes(way.index(), &plain.data, keys, out),
            APPLICATION_DATA if !plain.data.is_empty() => self.push(
                out,
                TlsOutput::AppData {
                    dir: way,
                    data: plain.data,
                },
            ),
            _ => {}
        }
    }

    fn handshake_bytes(
        &mut self,
        dir: usize,
        bytes: &[u8],
        keys: Option<&KeyLog>,
        out: &mut Vec<Framed<TlsOutput>>,
    ) {
        // The first message completed here may have begun in an earlier record.
        let record_frame = self.frame;
        let start = if self.handshake[dir].is_empty() {
            record_frame
        } else {
            self.handshake_frame[dir]
        };
        let mut messages: Vec<(u8, Vec<u8>)> = Vec::new();
        if let Err(e) = self.handshake[dir].feed(bytes, |t, m| messages.push((t, m.to_vec()))) {
            self.dead[dir] = true;
            self.push(out, TlsOutput::Error(e));
        }
        self.handshake_frame[dir] = if messages.is_empty() {
            start
        } else {
            record_frame
        };
        for (i, (t, m)) in messages.into_iter().enumerate() {
            self.frame = if i == 0 { start } else { record_frame };
            self.handshake_message(dir, t, &m, keys, out);
        }
        self.frame = record_frame;
    }

    fn handshake_message(
        &mut self,
        dir: usize,
        msg_type: u8,
        msg: &[u8],
        keys: Option<&KeyLog>,
        out: &mut Vec<Framed<TlsOutput>>,
    ) {
        if dir == 0 && msg_type == CLIENT_HELLO {
            // A new handshake (a renegotiation, inside the old keys' records) hashes anew.
            self.transcript.clear();
            self.past_key_exchange = false;
        }
        // TLS 1.2's extended master secret hashes the handshake up to the ClientKeyExchange;
        // kept only when there are keys to use it with, and dropped once that message is read.
        if keys.is_some()
            && !self.tls13()
            && !self.past_key_exchange
            && self.transcript.len() + msg.len() <= MAX_TRANSCRIPT
        {
            self.transcript.extend_from_slice(msg);
        }
        match (dir, msg_type) {
            (0, CLIENT_KEY_EXCHANGE) if !self.tls13() => {
                self.past_key_exchange = true;
                if let (true, Some(keys)) = (self.awaiting_key_exchange, keys) {
                    self.key_exchange(msg, keys, out);
                }
                self.transcript = Vec::new();
            }
            (0, CLIENT_HELLO) => {
                if let Some(ch) = client_hello(msg) {
                    self.client_random = Some(ch.random.clone());
                    self.server_name = ch.sni.clone();
                    if ch.early_data {
                        self.early_offered = true;
                        self.early_keys(&ch, keys);
                    }
                    self.push(out, TlsOutput::ClientHello(ch));
                }
            }
            (1, SERVER_HELLO) => {
                let Some(sh) = server_hello(msg) else { return };
                let retry = sh.retry;
                self.extended_master_secret = sh.extended_master_secret;
                self.encrypt_then_mac = sh.encrypt_then_mac;
                self.version = sh.version;
                self.cipher = sh.cipher;
                if !retry {
                    self.server_random = Some(sh.random.clone());
                }
                self.push(out, TlsOutput::ServerHello(sh));
                if retry {
                    return;
                }
                if self.tls13() {
                    self.encrypted = [true, true];
                    // 0-RTT data is under the suite the server resumes with.
                    let cipher = self.cipher;
                    self.early.retain(|(id, _)| *id == cipher);
                } else {
                    self.early.clear();
                    self.early_offered = false;
                }
                if let Some(keys) = keys {
                    self.set_up_keys(keys, out);
                }
            }
            (1, CERTIFICATE) if !self.cert_seen => {
                self.cert_seen = true;
                let chain = certificate_chain(msg, self.tls13());
                if !chain.is_empty() {
                    let chain = chain.into_iter().map(<[u8]>::to_vec).collect();
                    let server_name = self.server_name.clone();
                    self.push(out, TlsOutput::Certificate { chain, server_name });
                }
            }
            (_, FINISHED) if self.tls13() => {
                if dir == 0 {
                    self.early_offered = false;
                }
                // After its Finished, each side switches to its application traffic keys. A key
                // log that grows while the capture runs may only have them now.
                let late = || {
                    let secrets = keys?.get(self.client_random.as_deref()?)?;
                    if dir == 0 {
                        secrets.client_traffic
                    } else {
                        secrets.server_traffic
                    }
                };
                let secret = self.traffic[dir].take().or_else(late);
                if let (Some((kind, hash)), Some(secret)) = (self.suite, secret) {
                    self.decryptors[dir] = RecordDecryptor::tls13(kind, hash, &secret);
                    self.application_secret[dir] = Some(secret);
                }
            }
            (0, END_OF_EARLY_DATA) => self.early.clear(),
            (_, KEY_UPDATE) if self.tls13() => {
                // The sender's next records use the next generation of its traffic secret
                // (RFC 8446 7.2): derived from the current one, no key log needed.
                let next = match (self.suite, self.application_secret[dir].take()) {
                    (Some((kind, hash)), Some(current)) => next_traffic_secret(hash, &current)
                        .map(|next| (RecordDecryptor::tls13(kind, hash, &next), next)),
                    _ => None,
                };
                match next {
                    Some((decryptor, secret)) => {
                        self.decryptors[dir] = decryptor;
                        self.application_secret[dir] = Some(secret);
                    }
                    None => self.decryptors[dir] = None,
                }
            }
            _ => {}
        }
    }

    /// A ClientHello offering 0-RTT: keys for the early data under each TLS 1.3 suite offered,
    /// when the key log has the session's early traffic secret.
    fn early_keys(&mut self, ch: &ClientHello, keys: Option<&KeyLog>) {
        let Some(secret) = keys
            .and_then(|k| k.get(&ch.random))
            .and_then(|s| s.client_early)
        else {
            return;
        };
        self.early = ch
            .tls13_suites
            .iter()
            .filter_map(|&id| {
                let (kind, hash) = suite(id)?;
                Some((id, RecordDecryptor::tls13(kind, hash, &secret)?))
            })
            .collect();
    }

    fn set_up_keys(&mut self, keys: &KeyLog, out: &mut Vec<Framed<TlsOutput>>) {
        let name = cipher_name(self.cipher);
        if self.version < 0x0301 {
            self.report(
                DecryptionResult::Unsupported,
                format!(
                    "{} cannot be decrypted: plainsight reads TLS 1.0 to 1.3",
                    version_name(self.version)
                ),
                out,
            );
            return;
        }
        let Some((kind, hash)) = suite(self.cipher) else {
            self.report(
                DecryptionResult::Unsupported,
                format!("{name} cannot be decrypted: plainsight reads AES, Camellia and ARIA (GCM and CBC), AES-CCM, ChaCha20-Poly1305, 3DES-CBC, RC4 and NULL suites"),
                out,
            );
            return;
        };
        // TLS 1.0 and 1.1 have one PRF whatever the suite.
        let hash = if self.version < 0x0303 {
            HashKind::Md5Sha1
        } else {
            hash
        };
        self.suite = Some((kind, hash));
        let (Some(client_random), Some(server_random)) =
            (self.client_random.clone(), self.server_random.clone())
        else {
            self.report(
                DecryptionResult::NoKey,
                "the ClientHello is not in the capture".into(),
                out,
            );
            return;
        };
        let Some(secrets) = keys.get(&client_random) else {
            if !self.tls13() {
                // RSA key exchange: an `RSA` line of the key log may match the ClientKeyExchange.
                self.awaiting_key_exchange = true;
                return;
            }
            self.report(DecryptionResult::NoKey, no_key(&client_random), out);
            return;
        };
        if self.tls13() {
            match (&secrets.client_handshake, &secrets.server_handshake) {
                (Some(c), Some(s)) => {
                    self.decryptors = [
                        RecordDecryptor::tls13(kind, hash, c),
                        RecordDecryptor::tls13(kind, hash, s),
                    ];
                    self.traffic = [
                        secrets.client_traffic.clone(),
                        secrets.server_traffic.clone(),
                    ];
                }
                _ => self.report(DecryptionResult::NoKey, no_key(&client_random), out),
            }
        } else {
            match &secrets.master {
                Some(master) => match RecordDecryptor::tls12_pair(
                    kind,
                    hash,
                    master,
                    &client_random,
                    &server_random,
                    self.encrypt_then_mac,
                    self.version == 0x0301,
                ) {
                    Some((c, s)) => self.pending = [Some(c), Some(s)],
                    None => self.report(
                        DecryptionResult::Failed,
                        "the master secret could not be expanded into keys".into(),
                        out,
                    ),
                },
                None => self.awaiting_key_exchange = true,
            }
        }
    }

    /// TLS 1.2 with RSA key exchange: the pre-master secret from an `RSA` line of the key log,
    /// found by the first 8 bytes of its encrypted form, then the master secret (extended, over
    /// the handshake so far, when agreed) and the keys.
    fn key_exchange(&mut self, msg: &[u8], keys: &KeyLog, out: &mut Vec<Framed<TlsOutput>>) {
        self.awaiting_key_exchange = false;
        let (Some((kind, hash)), Some(client_random), Some(server_random)) = (
            self.suite,
            self.client_random.clone(),
            self.server_random.clone(),
        ) else {
            return;
        };
        // The body: a 2-byte length, then the pre-master secret encrypted to the server's key.
        let encrypted = msg.get(6..).unwrap_or_default();
        let rsa_exchange =
            TlsCipherSuite::from_id(self.cipher).is_some_and(|c| c.kx == TlsCipherKx::Rsa);
        let (pre_master, by_server_key) = match encrypted
            .get(..8)
            .and_then(|prefix| keys.pre_master(prefix))
        {
            Some(pre_master) => (Some(pre_master), false),
            None => (
                rsa_exchange
                    .then(|| keys.open_pre_master(encrypted))
                    .flatten(),
                true,
            ),
        };
        let Some(pre_master) = pre_master else {
            let detail = if keys.has_server_keys() && !rsa_exchange {
                format!(
                    "forward secrecy: {} agreed its keys with (EC)DHE, so no server key can open it afterwards; only a key log of the session can",
                    cipher_name(self.cipher)
                )
            } else if keys.has_server_keys() {
                "none of the server keys given opens this session's pre-master secret (another server's key?), and the key log has no secrets for it".to_string()
            } else {
                no_key(&client_random)
            };
            self.report(DecryptionResult::NoKey, detail, out);
            return;
        };
        let session_hash = self
            .extended_master_secret
            .then(|| transcript_hash(hash, &self.transcript));
        let pair = master_secret(
            hash,
            &pre_master,
            &client_random,
            &server_random,
            session_hash.as_deref(),
        )
        .and_then(|master| {
            RecordDecryptor::tls12_pair(
                kind,
                hash,
                &master,
                &client_random,
                &server_random,
                self.encrypt_then_mac,
                self.version == 0x0301,
            )
        });
        match pair {
            Some((c, s)) => {
                self.pending = [Some(c), Some(s)];
                self.opened_with_server_key = by_server_key;
            }
            None => self.report(
                DecryptionResult::Failed,
                "the pre-master secret could not be expanded into keys".into(),
                out,
            ),
        }
    }
}

impl StreamParser for TlsFlow {
    type Item = Framed<TlsOutput>;

    fn on_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Framed<TlsOutput>>,
    ) {
        let keys = ctx.keys;
        let way = dir;
        let dir = dir.index();
        self.keyed |= keys.is_some();
        if self.dead[dir] {
            return;
        }
        // The reader is taken out so records are handled in place, without a copy.
        let mut reader = std::mem::take(&mut self.records[dir]);
        self.frame = ctx.frame;
        self.payloads = ctx.payloads;
        let fed = reader.feed(data, ctx.frame, |header, body, frame| {
            self.frame = frame;
            self.record(way, header, body, keys, out)
        });
        match fed {
            Ok(()) => self.records[dir] = reader,
            Err(e) => {
                self.dead[dir] = true;
                self.push(out, TlsOutput::Error(e));
            }
        }
    }

    /// Bytes were lost: record boundaries in that direction are gone.
    fn on_gap(&mut self, dir: Direction, _: u64, _: &mut Vec<Framed<TlsOutput>>) {
        self.dead[dir.index()] = true;
        self.records[dir.index()] = RecordReader::default();
    }

    /// The connection is over: with a key log, say why nothing was decrypted if nothing was.
    fn on_end(&mut self, out: &mut Vec<Framed<TlsOutput>>) {
        if self.keyed && !self.reported {
            let detail = if self.awaiting_key_exchange {
                "the key log has no secrets for this session, and the ClientKeyExchange is not in the capture".to_string()
            } else if self.server_random.is_none() {
                "the TLS handshake is not in the capture, so the session cannot be matched with the key log".to_string()
            } else {
                "the keys were set up, but no encrypted record of this flow could be read (the capture may end after the handshake)".to_string()
            };
            // "ok" is only ever said once a record really decrypted.
            let result = if self.server_random.is_none() || self.awaiting_key_exchange {
                DecryptionResult::NoKey
            } else {
                DecryptionResult::Failed
            };
            self.report(result, detail, out);
        }
    }

    fn buffered(&self) -> usize {
        self.records.iter().map(|r| r.buf.capacity()).sum::<usize>()
            + self.handshake.iter().map(|h| h.buffered()).sum::<usize>()
            + self.transcript.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(out: &[Framed<TlsOutput>]) -> Vec<TlsOutput> {
        out.iter().map(|f| f.item.clone()).collect()
    }

    /// A ClientHello of `pad` extra bytes (a padding extension), as a handshake message.
    fn client_hello_message(pad: usize) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02]);
        body.extend_from_slice(&[1, 0]);
        let mut ext = Vec::new();
        let name = b"big.plainsight.test";
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
        ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
        ext.extend_from_slice(name);
        ext.extend_from_slice(&[0, 0x2b, 0, 3, 2, 3, 4]);
        ext.extend_from_slice(&[0, 0x15]);
        ext.extend_from_slice(&(pad as u16).to_be_bytes());
        ext.extend(std::iter::repeat_n(0u8, pad));
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut msg = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        msg[1] = (body.len() >> 16) as u8;
        msg.extend_from_slice(&body);
        msg
    }

    fn records(msg: &[u8], per_record: usize) -> Vec<u8> {
        msg.chunks(per_record)
            .flat_map(|c| {
                let mut r = vec![22, 3, 1, (c.len() >> 8) as u8, c.len() as u8];
                r.extend_from_slice(c);
                r
            })
            .collect()
    }

    /// A post-quantum sized ClientHello (a few KB): split over several records, and those split
    /// over several TCP segments at any point, it is still read whole.
    #[test]
    fn large_client_hello_across_records_and_segments() {
        let msg = client_hello_message(3000);
        let stream = records(&msg, 1200);
        for cut in (0..stream.len()).step_by(97) {
            let mut tls = TlsFlow::default();
            let mut out = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                for seg in piece.chunks(1448) {
                    tls.feed(Direction::ClientToServer, seg, &mut out);
                }
            }
            match &items(&out)[..] {
                [TlsOutput::ClientHello(ch)] => {
                    assert_eq!(ch.sni.as_deref(), Some("big.plainsight.test"));
                    assert_eq!(ch.offered_versions, ["TLS1.3"]);
                    assert_eq!(ch.cipher_suites, 2);
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn oversized_records_and_garbage_are_errors_not_buffers() {
        let mut tls = TlsFlow::default();
        let mut out = Vec::new();
        tls.feed(Direction::ClientToServer, &[23, 3, 3, 0xff, 0xff], &mut out);
        assert!(matches!(
            &items(&out)[..],
            [TlsOutput::Error(TlsError::Oversized(65535))]
        ));
        tls.feed(Direction::ClientToServer, &[0u8; 100_000], &mut out);
        assert_eq!(out.len(), 1);
        assert!(tls.buffered() < 1024);
        let mut tls = TlsFlow::default();
        let mut out = Vec::new();
        tls.feed(Direction::ServerToClient, b"HTTP/1.1 200 OK\r\n", &mut out);
        assert!(matches!(&items(&out)[..], [TlsOutput::Error(_)]));
    }

    #[test]
    fn with_a_key_log_a_flow_without_handshake_says_no_key() {
        let keys = KeyLog::default();
        let mut tls = TlsFlow::default();
        let mut out = Vec::new();
        tls.on_data(
            Direction::ClientToServer,
            &[23, 3, 3, 0, 2, 1, 2],
            &StreamContext {
                keys: Some(&keys),
                frame: 1,
                payloads: None,
            },
            &mut out,
        );
        tls.on_end(&mut out);
        assert!(matches!(
            &items(&out)[..],
            [TlsOutput::Decryption {
                result: DecryptionResult::NoKey,
                ..
            }]
        ));
    }
}
