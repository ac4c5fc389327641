//! QUIC (RFC 9000, 9001; v2: RFC 9369; drafts 23 to 34): one connection's packets, as an
//! eavesdropper reads them.
//!
//! Without keys, the Initial packets open anyway: their keys come from the client's first
//! Destination Connection ID, which travels in the clear (RFC 9001 §5.2). So the ClientHello and
//! ServerHello are read as in TLS over TCP: this first exchange is only obfuscated. With the
//! session's TLS 1.3 secrets (`--keylog`, or a pcapng's), the Handshake, 0-RTT and 1-RTT
//! packets open too (key updates followed), their STREAM frames are reassembled per stream,
//! and HTTP/3 is read from them.

pub mod frame;
pub mod packet;

use std::collections::HashMap;

use frame::{Frame, Frames};
use packet::{HeaderKey, Keys, LongType, Packet, PacketError, Suite, Version};

use super::analysis::{http_outputs, AppOutput, Output, PayloadTap};
use super::http::{Http1Flow, HttpItem};
use super::http3::Http3Flow;
use super::tls::flow::no_key;
use super::tls::handshake::{
    certificate_chain, cipher_name, client_hello, server_hello, HandshakeReader, CERTIFICATE,
    CLIENT_HELLO, SERVER_HELLO,
};
use super::tls::DecryptionResult;
use super::{Framed, StreamContext, StreamParser};
use crate::flow::{Chunk, Direction, MemoryBudget, TcpReassembler};

/// Streams (each direction apart) reassembled at once per connection.
const MAX_STREAMS: usize = 512;
/// Ended streams remembered per connection, to ignore their retransmitted frames.
const MAX_CLOSED_STREAMS: usize = 4096;
/// CRYPTO data beyond this offset is not read (a handshake is a few KiB, a chain tens).
const MAX_CRYPTO_OFFSET: u64 = 1 << 20;
/// Memory charged per set of packet keys (the AEAD's and header protection's key schedules).
const KEYS_BYTES: usize = 1024;
/// Packets whose AEAD fails under the key log's secrets before the flow says `failed`.
const FAILURES_BEFORE_VERDICT: u32 = 3;

/// Encryption levels, each with its keys and its crypto stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Initial = 0,
    Handshake = 1,
    Application = 2,
}

/// A direction's 1-RTT keys, through key updates.
#[derive(Debug)]
struct AppKeys {
    version: Version,
    suite: Suite,
    /// The secret of the current phase.
    secret: Vec<u8>,
    /// Header protection: the first phase's, for good.
    header: HeaderKey,
    current: Keys,
    /// The phase before (packets reordered across an update).
    previous: Option<Keys>,
    /// The next phase's secret and keys, derived once, the first time a packet needs them.
    next: Option<(Vec<u8>, Keys)>,
}

/// One level's handshake bytes of one direction: reassembled, then split into messages.
#[derive(Debug, Default)]
struct CryptoStream {
    reassembler: TcpReassembler,
    reader: HandshakeReader,
    /// The packet that carried the first byte of the message the reader holds part of.
    started: u64,
}

/// Where decryption with the key log stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    /// No key log, or no ServerHello yet.
    #[default]
    NotYet,
    /// Keys set up from the key log: the first packet under them says whether they are right.
    Set,
    /// The `tls_decryption` event is out.
    Reported,
}

/// The state of one QUIC connection (a UDP flow).
#[derive(Debug, Default)]
pub struct QuicConnection {
    version: Option<Version>,
    /// The Initial keys (client, server), the connection ID they come from and their version.
    initial: Option<(Vec<u8>, Version, [Keys; 2])>,
    /// The Destination Connection ID of the client's first Initial (a Retry's tag covers it).
    original_dcid: Option<Vec<u8>>,
    /// The client's Source Connection ID (a Retry is sent to it).
    client_scid: Option<Vec<u8>>,
    /// The server's Source Connection ID: the client's later Initials are sent to it, under
    /// the keys of its first Initial's (RFC 9001 5.2).
    server_scid: Option<Vec<u8>>,
    /// Streams (id, direction) that ended, and the order they ended in: retransmitted frames of
    /// them are not read again.
    closed: std::collections::HashSet<(u64, usize), ahash::RandomState>,
    closed_order: std::collections::VecDeque<(u64, usize)>,
    handshake: [Option<Keys>; 2],
    /// 0-RTT keys under each TLS 1.3 suite the client offered (the one in use opens).
    early: Vec<Keys>,
    app: [Option<AppKeys>; 2],
    /// Largest packet number opened, by direction and packet number space.
    largest: [[Option<u64>; 3]; 2],
    /// The connection ID length of short headers sent in each direction.
    short_cid_len: [Option<usize>; 2],
    crypto: [[Option<Box<CryptoStream>>; 3]; 2],
    client_random: Option<Vec<u8>>,
    /// The server name the client asked for (SNI).
    server_name: Option<String>,
    /// What the streams carry, from the ALPN the server chose.
    carries: AppProtocol,
    /// HTTP/0.9 over QUIC (`hq-interop`): each request stream's bytes until its end.
    hq: HashMap<u64, Vec<u8>, ahash::RandomState>,
    keys: KeyState,
    failures: u32,
    streams: HashMap<(u64, usize), TcpReassembler, ahash::RandomState>,
    h3: Http3Flow,
    /// Memory held by this connection's reassemblers.
    budget: MemoryBudget,
    /// UDP payload bytes of each direction.
    bytes: [u64; 2],
    /// Payloads reported: each direction's datagrams, and what opened of them.
    wire: PayloadTap,
    plain: PayloadTap,
    /// One `parse_error` per connection is enough to say its packets stopped making sense.
    error_reported: bool,
    stream_cap_reported: bool,
    /// A Retry was taken.
    retried: bool,
    /// The cipher suite the ServerHello chose.
    suite: Option<u16>,
    /// Key updates followed, each direction.
    key_updates: [u32; 2],
    /// A buffer packets are opened in, kept between packets.
    scratch: Vec<u8>,
}

/// How a UDP payload starts a QUIC connection ([`opens_connection`]).
pub struct QuicStart {
    /// It is a client's Initial (its keys, from its own connection ID, open it): the sender is
    /// the client.
    pub client_initial: bool,
    /// Those Initial keys (client, server), their connection ID and version, for the connection
    /// to use rather than derive again.
    keys: Option<(Vec<u8>, Version, [Keys; 2])>,
}

/// Whether a UDP payload starts a QUIC connection: a long header of a version plainsight reads.
pub fn opens_connection(payload: &[u8]) -> Option<QuicStart> {
    let Ok((
        Packet::Protected {
            long: Some((version, kind)),
            dcid,
            bytes,
            pn_offset,
            ..
        },
        _,
    )) = packet::parse(payload, None)
    else {
        return None;
    };
    let not_a_client_initial = QuicStart {
        client_initial: false,
        keys: None,
    };
    if kind != LongType::Initial {
        return Some(not_a_client_initial);
    }
    let keys = packet::initial_keys(version, dcid)?;
    if !client_key_opens(&keys, bytes, pn_offset) {
        return Some(not_a_client_initial);
    }
    Some(QuicStart {
        client_initial: true,
        keys: Some((dcid.to_vec(), version, keys)),
    })
}

/// The client's key of a pair of Initial keys opens this Initial packet (a copy of it): the
/// packet is a client's Initial sent to the connection ID the keys come from.
fn client_key_opens(keys: &[Keys; 2], bytes: &[u8], pn_offset: usize) -> bool {
    let mut copy = bytes.to_vec();
    packet::open(&mut copy, pn_offset, &keys[0], None).is_some()
}

impl QuicConnection {
    /// A connection from its first datagram, with the Initial keys found in it, if any.
    pub fn starting(start: QuicStart) -> QuicConnection {
        let mut connection = QuicConnection::default();
        if let Some((dcid, version, keys)) = start.keys {
            connection.client_initial_opened(dcid, version, keys);
        }
        connection
    }

    /// Initial keys that opened a client's Initial: the keys in use, and (the first time) the
    /// connection ID a Retry's integrity tag covers.
    fn client_initial_opened(&mut self, dcid: Vec<u8>, version: Version, keys: [Keys; 2]) {
        self.original_dcid.get_or_insert_with(|| dcid.clone());
        self.initial = Some((dcid, version, keys));
    }

    /// UDP payload bytes of each direction (client to server first).
    pub fn bytes(&self) -> [u64; 2] {
        self.bytes
    }

    /// Key updates followed so far in each direction (client to server first).
    pub fn key_updates(&self) -> [u32; 2] {
        self.key_updates
    }

    /// Bytes held: reassembly, HTTP/3 state, handshake messages in pieces.
    pub fn held(&self) -> usize {
        let crypto: usize = self
            .crypto
            .iter()
            .flatten()
            .flatten()
            .map(|c| c.reader.buffered() + 256)
            .sum();
        let keys = 2 * usize::from(self.initial.is_some())
            + self.handshake.iter().flatten().count()
            + self.early.len()
            + self
                .app
                .iter()
                .flatten()
                .map(|a| 2 + usize::from(a.previous.is_some()))
                .sum::<usize>();
        std::mem::size_of::<Self>()
            + keys * KEYS_BYTES
            + self.closed_order.len() * 48
            + self.budget.used
            + self.h3.buffered()
            + crypto
            + self.streams.len() * 256
            + self.scratch.capacity()
    }

    /// One UDP datagram of the connection (it may hold several coalesced packets).
    pub fn on_datagram(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        let d = dir.index();
        self.bytes[d] += data.len() as u64;
        self.wire
            .data(dir, data, ctx.frame, ctx.payloads, false, out);
        let mut rest = data;
        while !rest.is_empty() {
            match packet::parse(rest, self.short_cid_len[d]) {
                Ok((packet, used)) => {
                    self.packet(dir, packet, ctx, out);
                    rest = rest.get(used..).unwrap_or_default();
                }
                // Zeros after the packets, or a short header before the handshake was seen.
                Err(PacketError::Padding | PacketError::UnknownShortHeader) => break,
                Err(e) => {
                    self.parse_error(e.to_string(), ctx.frame, out);
                    break;
                }
            }
        }
    }

    fn parse_error(&mut self, detail: String, frame: u64, out: &mut Vec<Output>) {
        if std::mem::replace(&mut self.error_reported, true) {
            return;
        }
        out.push(Framed {
            frame,
            item: AppOutput::ParseError(detail),
        });
    }

    fn packet(
        &mut self,
        dir: Direction,
        packet: Packet<'_>,
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        let d = dir.index();
        match packet {
            Packet::VersionNegotiation { .. } | Packet::UnknownVersion(_) => {}
            Packet::Retry {
                version,
                dcid,
                scid,
                bytes,
            } => {
                // The client's next Initial goes to the Retry's connection ID, and its keys with
                // it. A client takes one Retry, sent to it before any server Initial, whose
                // integrity tag holds, and ignores any other (RFC 9000 §17.2.5.2).
                let genuine = dir == Direction::ServerToClient
                    && !self.retried
                    && self.largest[1][Level::Initial as usize].is_none()
                    && self.client_scid.as_deref().is_none_or(|c| c == dcid)
                    && self
                        .original_dcid
                        .as_deref()
                        .is_none_or(|o| packet::retry_is_genuine(version, o, bytes));
                if genuine {
                    self.retried = true;
                    if let Some(keys) = packet::initial_keys(version, scid) {
                        self.initial = Some((scid.to_vec(), version, keys));
                    }
                    // The client starts its handshake again (some clients with a new
                    // ClientHello): its Initial crypto stream starts over at offset 0.
                    let stream = &mut self.crypto[0][Level::Initial as usize];
                    if let Some(mut old) = stream.take() {
                        old.reassembler.release(&mut self.budget);
                    }
                }
            }
            Packet::Protected {
                long,
                dcid,
                scid,
                bytes,
                pn_offset,
            } => {
                let level = match long {
                    Some((version, kind)) => {
                        // The server's version is the connection's (compatible version
                        // negotiation may move a v1 ClientHello to v2, RFC 9368).
                        if dir == Direction::ServerToClient {
                            self.version = Some(version);
                        } else {
                            self.version.get_or_insert(version);
                        }
                        // Short headers sent back to this side carry the ID it names itself by;
                        // a Handshake packet names the peer's.
                        self.short_cid_len[dir.reverse().index()] = Some(scid.len());
                        if kind == LongType::Handshake {
                            self.short_cid_len[d].get_or_insert(dcid.len());
                        }
                        match kind {
                            LongType::Initial => {
                                if dir == Direction::ClientToServer {
                                    self.client_scid.get_or_insert_with(|| scid.to_vec());
                                    self.client_initial_keys(version, dcid, bytes, pn_offset);
                                } else {
                                    self.server_scid.get_or_insert_with(|| scid.to_vec());
                                }
                                self.initial_version(version);
                                Level::Initial
                            }
                            LongType::Handshake => Level::Handshake,
                            LongType::ZeroRtt => {
                                self.zero_rtt(bytes, pn_offset, ctx, out);
                                return;
                            }
                            LongType::Retry => return,
                        }
                    }
                    None => Level::Application,
                };
                self.protected(dir, level, bytes, pn_offset, ctx, out);
            }
        }
    }

    /// The Initial keys for a client Initial: those in use, or (a Retry, or a capture that
    /// missed the first Initial) those of this packet's own connection ID when they open it.
    /// Not for an Initial sent to the ID the server chose: its keys are still the first
    /// Initial's (deriving and trying others for each of them was 1.4% of a report).
    fn client_initial_keys(
        &mut self,
        version: Version,
        dcid: &[u8],
        bytes: &[u8],
        pn_offset: usize,
    ) {
        if self.initial.as_ref().is_some_and(|(cid, _, _)| cid == dcid)
            || self.server_scid.as_deref() == Some(dcid)
        {
            return;
        }
        let Some(keys) = packet::initial_keys(version, dcid) else {
            return;
        };
        if client_key_opens(&keys, bytes, pn_offset) {
            self.client_initial_opened(dcid.to_vec(), version, keys);
        }
    }

    /// Initial packets of another version than the keys' (the server answering a v1 ClientHello
    /// in v2): the same connection ID, that version's salt.
    fn initial_version(&mut self, version: Version) {
        let Some((cid, current, _)) = &self.initial else {
            return;
        };
        if *current == version {
            return;
        }
        if let Some(keys) = packet::initial_keys(version, cid) {
            let cid = cid.clone();
            self.initial = Some((cid, version, keys));
        }
    }

    /// Opens a packet at `level` and reads its frames.
    fn protected(
        &mut self,
        dir: Direction,
        level: Level,
        bytes: &[u8],
        pn_offset: usize,
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        let d = dir.index();
        let largest = self.largest[d][level as usize];
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(bytes);
        let opened = match level {
            Level::Initial => self
                .initial
                .as_ref()
                .and_then(|(_, _, keys)| packet::open(&mut buf, pn_offset, &keys[d], largest)),
            Level::Handshake => match &self.handshake[d] {
                Some(keys) => {
                    let opened = packet::open(&mut buf, pn_offset, keys, largest);
                    self.keyed_result(opened.is_some(), ctx, out);
                    opened
                }
                None => None,
            },
            Level::Application => match self.app[d].as_mut() {
                Some(app) => {
                    let opened = open_app(app, &mut buf, bytes, pn_offset, largest).map(
                        |(opened, updated)| {
                            self.key_updates[d] += u32::from(updated);
                            opened
                        },
                    );
                    self.keyed_result(opened.is_some(), ctx, out);
                    opened
                }
                None => None,
            },
        };
        if let Some(opened) = opened {
            let slot = &mut self.largest[d][level as usize];
            *slot = Some(slot.map_or(opened.number, |l| l.max(opened.number)));
            let payload = buf
                .get(opened.payload.0..opened.payload.1)
                .unwrap_or_default();
            self.frames(dir, level, payload, ctx, out);
        }
        self.scratch = buf;
    }

    /// A 0-RTT packet: opened with the early keys of whichever suite the client uses.
    fn zero_rtt(
        &mut self,
        bytes: &[u8],
        pn_offset: usize,
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        let dir = Direction::ClientToServer;
        let largest = self.largest[0][Level::Application as usize];
        let mut buf = std::mem::take(&mut self.scratch);
        let mut found = None;
        for (i, keys) in self.early.iter().enumerate() {
            buf.clear();
            buf.extend_from_slice(bytes);
            if let Some(opened) = packet::open(&mut buf, pn_offset, keys, largest) {
                found = Some((i, opened));
                break;
            }
        }
        if let Some((i, opened)) = found {
            // The suite in use is known now: keep its keys only.
            let keys = self.early.swap_remove(i);
            self.early = vec![keys];
            let slot = &mut self.largest[0][Level::Application as usize];
            *slot = Some(slot.map_or(opened.number, |l| l.max(opened.number)));
            let payload = buf
                .get(opened.payload.0..opened.payload.1)
                .unwrap_or_default();
            self.frames(dir, Level::Application, payload, ctx, out);
        }
        self.scratch = buf;
    }

    /// A packet under the key log's keys opened or not: the first success is the verdict `ok`;
    /// a few failures and no success, `failed`.
    fn keyed_result(&mut self, ok: bool, ctx: &StreamContext<'_>, out: &mut Vec<Output>) {
        if self.keys != KeyState::Set {
            return;
        }
        if ok {
            let cipher = self
                .suite
                .map_or_else(String::new, |id| format!(" ({})", cipher_name(id)));
            self.report(
                DecryptionResult::Ok,
                format!("decrypted with the key log{cipher}"),
                ctx.frame,
                out,
            );
        } else {
            self.failures += 1;
            if self.failures >= FAILURES_BEFORE_VERDICT {
                self.report(
                    DecryptionResult::Failed,
                    "the key log's secrets for this session do not open its QUIC packets".into(),
                    ctx.frame,
                    out,
                );
            }
        }
    }

    fn report(
        &mut self,
        result: DecryptionResult,
        detail: String,
        frame: u64,
        out: &mut Vec<Output>,
    ) {
        if self.keys == KeyState::Reported {
            return;
        }
        self.keys = KeyState::Reported;
        out.push(Framed {
            frame,
            item: AppOutput::Decryption { result, detail },
        });
    }

    fn frames(
        &mut self,
        dir: Direction,
        level: Level,
        payload: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        for frame in Frames::new(payload) {
            match frame {
                Ok(Frame::Crypto { offset, data }) => {
                    self.crypto(dir, level, offset, data, ctx, out)
                }
                Ok(Frame::Stream {
                    id,
                    offset,
                    data,
                    fin,
                }) if level == Level::Application => {
                    self.stream(dir, id, offset, data, fin, ctx, out)
                }
                Ok(Frame::ResetStream { id }) if level == Level::Application => {
                    // The sender gave up on its side of the stream: what was read of it stands.
                    let key = (id, dir.index());
                    if let Some(mut s) = self.streams.remove(&key) {
                        s.release(&mut self.budget);
                    }
                    let mut items = Vec::new();
                    self.h3.on_fin(dir, id, &mut items);
                    http_outputs(items, ctx.frame, true, out);
                    self.close_stream(key);
                }
                Ok(_) => {}
                Err(e) => {
                    self.parse_error(e.to_string(), ctx.frame, out);
                    break;
                }
            }
        }
    }

    /// Handshake bytes at `offset` of one level's crypto stream.
    fn crypto(
        &mut self,
        dir: Direction,
        level: Level,
        offset: u64,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        if offset.saturating_add(data.len() as u64) > MAX_CRYPTO_OFFSET {
            return;
        }
        let stream = self.crypto[dir.index()][level as usize].get_or_insert_with(|| {
            let mut s = Box::<CryptoStream>::default();
            // Offset 0 is sequence number 0.
            s.reassembler.syn(u32::MAX);
            s
        });
        let CryptoStream {
            reassembler,
            reader,
            started,
        } = &mut **stream;
        let mut messages = Vec::new();
        let mut failed = None;
        // The Initial's handshake bytes are shown as read: anyone on the path reads them so.
        let show = level == Level::Initial && ctx.payloads.is_some();
        let mut shown = Vec::new();
        reassembler.segment(offset as u32, data, false, &mut self.budget, &mut |chunk| {
            if let Chunk::Data(bytes) = chunk {
                if show {
                    shown.push(bytes.to_vec());
                }
                // A message under way began in an earlier packet; any other, in this one.
                let mut first = if reader.is_empty() {
                    ctx.frame
                } else {
                    *started
                };
                let fed = reader.feed(bytes, |ty, msg| {
                    messages.push((ty, msg.to_vec(), first));
                    first = ctx.frame;
                });
                *started = first;
                if let Err(e) = fed {
                    failed = Some(e);
                }
            }
        });
        for bytes in shown {
            self.plain
                .data(dir, &bytes, ctx.frame, ctx.payloads, true, out);
        }
        if let Some(e) = failed {
            self.parse_error(e.to_string(), ctx.frame, out);
        }
        for (ty, msg, frame) in messages {
            let ctx = StreamContext { frame, ..*ctx };
            self.handshake_message(dir, ty, &msg, &ctx, out);
        }
    }

    fn handshake_message(
        &mut self,
        dir: Direction,
        ty: u8,
        msg: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        let item = match (ty, dir) {
            (CLIENT_HELLO, Direction::ClientToServer) => {
                let Some(mut hello) = client_hello(msg) else {
                    return;
                };
                // JA4 names the transport first: `q` for QUIC.
                if hello.ja4.starts_with('t') {
                    hello.ja4.replace_range(..1, "q");
                }
                if self.client_random.as_ref() == Some(&hello.random) {
                    // The same ClientHello again, after a Retry.
                    return;
                }
                self.client_random = Some(hello.random.clone());
                self.server_name = hello.sni.clone();
                self.early_keys(&hello.random, &hello.tls13_suites, ctx);
                AppOutput::ClientHello(hello)
            }
            (SERVER_HELLO, Direction::ServerToClient) => {
                let Some(hello) = server_hello(msg) else {
                    return;
                };
                if let Some(alpn) = &hello.alpn {
                    self.carries = AppProtocol::from_alpn(alpn.as_bytes());
                }
                if !hello.retry {
                    self.suite = Some(hello.cipher);
                    self.set_up_keys(hello.cipher, ctx, out);
                }
                AppOutput::ServerHello(hello)
            }
            (ENCRYPTED_EXTENSIONS, Direction::ServerToClient) => {
                // TLS 1.3 sends the chosen ALPN here, under the Handshake keys: only a key log
                // shows whether the streams are HTTP/3 (or DNS over QUIC, or something else).
                if let Some(alpn) = encrypted_extensions_alpn(msg) {
                    self.carries = AppProtocol::from_alpn(alpn);
                }
                return;
            }
            (CERTIFICATE, Direction::ServerToClient) => {
                let chain = certificate_chain(msg, true);
                if chain.is_empty() {
                    return;
                }
                AppOutput::Certificate {
                    chain: chain.into_iter().map(<[u8]>::to_vec).collect(),
                    server_name: self.server_name.clone(),
                }
            }
            _ => return,
        };
        out.push(Framed {
            frame: ctx.frame,
            item,
        });
    }

    fn early_keys(&mut self, random: &[u8], suites: &[u16], ctx: &StreamContext<'_>) {
        let (Some(version), Some(secret)) = (
            self.version,
            ctx.keys
                .and_then(|k| k.get(random))
                .and_then(|s| s.client_early),
        ) else {
            return;
        };
        self.early = suites
            .iter()
            .filter_map(|&id| Keys::from_secret(version, Suite::from_id(id)?, &secret))
            .collect();
    }

    /// The ServerHello chose the suite: the Handshake and 1-RTT keys from the key log.
    fn set_up_keys(&mut self, cipher: u16, ctx: &StreamContext<'_>, out: &mut Vec<Output>) {
        let Some(keylog) = ctx.keys else {
            return;
        };
        let Some(version) = self.version else {
            return;
        };
        let Some(suite) = Suite::from_id(cipher) else {
            self.report(
                DecryptionResult::Unsupported,
                format!(
                    "{} cannot be decrypted in QUIC: plainsight reads AES-GCM, AES-CCM and ChaCha20-Poly1305",
                    cipher_name(cipher)
                ),
                ctx.frame,
                out,
            );
            return;
        };
        let Some(random) = self.client_random.clone() else {
            self.report(
                DecryptionResult::NoKey,
                "the ClientHello is not in the capture".into(),
                ctx.frame,
                out,
            );
            return;
        };
        let secrets = keylog.get(&random).unwrap_or_default();
        let keys = |secret: &Option<Vec<u8>>| {
            secret
                .as_deref()
                .and_then(|s| Keys::from_secret(version, suite, s))
        };
        self.handshake = [
            keys(&secrets.client_handshake),
            keys(&secrets.server_handshake),
        ];
        let app = |secret: &Option<Vec<u8>>| {
            let secret = secret.clone()?;
            Some(AppKeys {
                version,
                suite,
                header: HeaderKey::from_secret(version, suite, &secret)?,
                current: Keys::from_secret(version, suite, &secret)?,
                secret,
                previous: None,
                next: None,
            })
        };
        self.app = [app(&secrets.client_traffic), app(&secrets.server_traffic)];
        if self.handshake.iter().all(Option::is_none) && self.app.iter().all(Option::is_none) {
            self.report(DecryptionResult::NoKey, no_key(&random), ctx.frame, out);
        } else {
            self.keys = KeyState::Set;
        }
    }

    /// STREAM frame data of stream `id`, sent in `dir`.
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &mut self,
        dir: Direction,
        id: u64,
        offset: u64,
        data: &[u8],
        fin: bool,
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        if self.carries == AppProtocol::Other {
            return;
        }
        let key = (id, dir.index());
        if self.closed.contains(&key) {
            // A retransmission of a stream already read to its end.
            return;
        }
        if !self.streams.contains_key(&key) {
            if self.streams.len() >= MAX_STREAMS {
                if !std::mem::replace(&mut self.stream_cap_reported, true) {
                    out.push(Framed {
                        frame: ctx.frame,
                        item: AppOutput::ParseError(format!(
                            "more than {MAX_STREAMS} QUIC streams open at once; later ones are not read"
                        )),
                    });
                }
                return;
            }
            let mut r = TcpReassembler::new();
            r.syn(u32::MAX);
            self.streams.insert(key, r);
        }
        let Self {
            streams,
            h3,
            hq,
            carries,
            budget,
            plain,
            ..
        } = self;
        let Some(reassembler) = streams.get_mut(&key) else {
            return;
        };
        let mut items = Vec::new();
        // HTTP/0.9 requests: what the client sends on its bidirectional streams.
        let hq_request =
            *carries == AppProtocol::Hq && dir == Direction::ClientToServer && id & 3 == 0;
        reassembler.segment(offset as u32, data, fin, budget, &mut |chunk| match chunk {
            Chunk::Data(bytes) => {
                plain.data(dir, bytes, ctx.frame, ctx.payloads, true, out);
                if *carries == AppProtocol::Hq {
                    if hq_request {
                        let kept = hq.entry(id).or_default();
                        let room = MAX_HQ_REQUEST.saturating_sub(kept.len());
                        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
                    }
                } else {
                    h3.on_data(dir, id, bytes, ctx.frame, &mut items);
                }
            }
            Chunk::Gap(_) => h3.on_gap(dir, id),
        });
        let finished = reassembler.is_finished();
        if finished {
            if let Some(mut r) = streams.remove(&key) {
                r.release(budget);
            }
            if let Some(request) = hq.remove(&id).filter(|_| hq_request) {
                items.extend(hq_items(id, &request, ctx.frame));
            } else {
                h3.on_fin(dir, id, &mut items);
            }
        }
        http_outputs(items, ctx.frame, true, out);
        if finished {
            self.close_stream(key);
        }
    }

    /// A stream ended in one direction: later copies of its frames are not read again.
    fn close_stream(&mut self, key: (u64, usize)) {
        if self.closed.insert(key) {
            self.closed_order.push_back(key);
            if self.closed_order.len() > MAX_CLOSED_STREAMS {
                if let Some(old) = self.closed_order.pop_front() {
                    self.closed.remove(&old);
                }
            }
        }
    }

    /// The connection is over: what streams hold is read, and the key log's verdict given.
    pub fn on_end(&mut self, ctx: &StreamContext<'_>, out: &mut Vec<Output>) {
        let mut items = Vec::new();
        self.h3.on_end(&mut items);
        http_outputs(items, ctx.frame, true, out);
        for (_, mut s) in self.streams.drain() {
            s.release(&mut self.budget);
        }
        if ctx.keys.is_none() || self.keys == KeyState::Reported {
            return;
        }
        let (result, detail) = match (&self.client_random, self.keys) {
            (None, _) => (
                DecryptionResult::NoKey,
                "the ClientHello is not in the capture".to_string(),
            ),
            (Some(_), KeyState::Set) => (
                DecryptionResult::Failed,
                "the key log has this session's secrets, but no packet under them is in the capture"
                    .to_string(),
            ),
            (Some(_), _) => (
                DecryptionResult::NoKey,
                "the ServerHello is not in the capture".to_string(),
            ),
        };
        self.report(result, detail, ctx.frame, out);
    }
}

/// What a QUIC connection's streams carry, by the ALPN the server chose.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum AppProtocol {
    /// HTTP/3 (`h3`, `h3-29`…), and what is assumed until the ALPN is known.
    #[default]
    H3,
    /// HTTP/0.9 over QUIC (`hq-interop`, `hq-29`…), as the QUIC interop runner speaks it.
    Hq,
    /// DNS over QUIC, SMB, and the rest: not read.
    Other,
}

impl AppProtocol {
    fn from_alpn(alpn: &[u8]) -> AppProtocol {
        if alpn.starts_with(b"h3") {
            AppProtocol::H3
        } else if alpn.starts_with(b"hq") {
            AppProtocol::Hq
        } else {
            AppProtocol::Other
        }
    }
}

/// Bytes of an HTTP/0.9 request kept (a request line, and whatever a client adds).
const MAX_HQ_REQUEST: usize = 8 << 10;

/// An HTTP/0.9 request stream's bytes (`GET /path`), as the HTTP/1.x parser reads them.
fn hq_items(id: u64, request: &[u8], frame: u64) -> Vec<(Option<u32>, HttpItem)> {
    let ctx = StreamContext {
        frame,
        ..StreamContext::default()
    };
    let mut parser = Http1Flow::default();
    let mut items = Vec::new();
    parser.on_data(Direction::ClientToServer, request, &ctx, &mut items);
    parser.on_end(&mut items);
    let stream = u32::try_from(id).ok();
    items
        .into_iter()
        .filter(|i| matches!(i, HttpItem::Request(_)))
        .map(|i| (stream, i))
        .collect()
}

/// TLS 1.3's EncryptedExtensions message type.
const ENCRYPTED_EXTENSIONS: u8 = 8;
/// The ALPN extension (RFC 7301).
const ALPN_EXTENSION: u16 = 16;

/// The protocol an EncryptedExtensions message (header included) says the server chose.
fn encrypted_extensions_alpn(msg: &[u8]) -> Option<&[u8]> {
    let mut r = packet::Reader::new(msg.get(4..)?);
    let total = r.bytes(2)?;
    let mut r =
        packet::Reader::new(r.bytes(usize::from(u16::from_be_bytes([total[0], total[1]])))?);
    while !r.is_empty() {
        let head = r.bytes(4)?;
        let ty = u16::from_be_bytes([head[0], head[1]]);
        let body = r.bytes(usize::from(u16::from_be_bytes([head[2], head[3]])))?;
        if ty == ALPN_EXTENSION {
            // A 2-byte list length, then one length-prefixed name.
            let len = usize::from(*body.get(2)?);
            return body.get(3..3 + len);
        }
    }
    None
}

/// A 1-RTT packet under the current keys, the next phase's (a key update: they become current,
/// and the flag says so), or the previous phase's (a packet from before the update, late).
fn open_app(
    app: &mut AppKeys,
    buf: &mut Vec<u8>,
    bytes: &[u8],
    pn_offset: usize,
    largest: Option<u64>,
) -> Option<(packet::Opened, bool)> {
    if let Some(opened) = packet::open_with(buf, pn_offset, &app.header, &app.current, largest) {
        return Some((opened, false));
    }
    // A packet the current keys do not open (an update, or one that is not ours, such as a
    // stateless reset): the next phase's keys are derived once, not for every such packet.
    if app.next.is_none() {
        let secret = Keys::next_secret(app.version, app.suite, &app.secret)?;
        let keys = Keys::from_secret(app.version, app.suite, &secret)?;
        app.next = Some((secret, keys));
    }
    buf.clear();
    buf.extend_from_slice(bytes);
    let opened = app
        .next
        .as_ref()
        .and_then(|(_, next)| packet::open_with(buf, pn_offset, &app.header, next, largest));
    if let Some(opened) = opened {
        if let Some((secret, next)) = app.next.take() {
            app.previous = Some(std::mem::replace(&mut app.current, next));
            app.secret = secret;
            return Some((opened, true));
        }
    }
    let previous = app.previous.as_ref()?;
    buf.clear();
    buf.extend_from_slice(bytes);
    packet::open_with(buf, pn_offset, &app.header, previous, largest).map(|o| (o, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alpn_of_encrypted_extensions() {
        // EncryptedExtensions: ALPN h3, then QUIC transport parameters (57).
        let msg = [
            8, 0, 0, 15, 0, 13, 0, 16, 0, 5, 0, 3, 2, b'h', b'3', 0, 57, 0, 0,
        ];
        assert_eq!(encrypted_extensions_alpn(&msg), Some(&b"h3"[..]));
        assert_eq!(encrypted_extensions_alpn(&msg[..12]), None);
        assert_eq!(encrypted_extensions_alpn(&[8, 0, 0, 2, 0, 0]), None);
    }
}
