//! HTTP/3 (RFC 9114) over the reassembled streams of a decrypted QUIC connection. Request
//! streams carry HEADERS and DATA frames; the control streams carry SETTINGS (the QPACK table
//! capacity each side allows); the QPACK encoder streams fill the dynamic tables the header
//! sections refer to. Each request and response becomes the same [`Request`] and [`Response`]
//! as HTTP/1.x and HTTP/2, so the credential detectors are the same.

use std::borrow::Cow;
use std::collections::HashMap;

use super::http::{HttpError, HttpItem, Request, Response};
use super::qpack::{QpackDecoder, QpackError};
use crate::flow::Direction;

const DATA: u64 = 0x0;
const HEADERS: u64 = 0x1;
const SETTINGS: u64 = 0x4;
const SETTINGS_QPACK_MAX_TABLE_CAPACITY: u64 = 0x1;

const CONTROL_STREAM: u64 = 0x0;
const ENCODER_STREAM: u64 = 0x2;

/// A HEADERS (or SETTINGS) frame larger than this is refused.
const MAX_HEADER_FRAME: u64 = 256 << 10;
/// Decoded header bytes per message at most (indexed lines expand).
const MAX_DECODED: usize = 256 << 10;
const MAX_HEADERS: usize = 256;
/// Streams tracked at once per connection.
const MAX_STREAMS: usize = 1024;
/// Header sections waiting for QPACK inserts at once.
const MAX_BLOCKED: usize = 64;
/// Encoder-stream bytes held while an instruction is incomplete (one insert may be as large as
/// the table).
const MAX_ENCODER_HELD: usize = super::qpack::MAX_TABLE + (64 << 10);
/// Bytes a stream holds behind a header section that waits for QPACK inserts.
const MAX_HELD_WHILE_BLOCKED: usize = 1 << 20;
/// The QPACK table capacity assumed while the decoder's SETTINGS are not in the capture.
const UNKNOWN_MAX_TABLE: u64 = 64 << 10;

/// An HTTP/3 message and its QUIC stream.
pub type H3Item = (Option<u32>, HttpItem);

#[derive(Debug)]
enum Kind {
    /// A request stream: the request one way, the response the other.
    Request,
    /// A unidirectional stream whose type has not arrived yet.
    Untyped,
    Control,
    Encoder,
    /// Push, QPACK decoder and unknown stream types: nothing to show.
    Ignored,
}

#[derive(Debug)]
enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    fn add_body(&mut self, bytes: &[u8]) {
        match self {
            Message::Request(r) => r.add_body(bytes),
            Message::Response(r) => r.add_body(bytes),
        }
    }
}

/// One direction of one stream.
#[derive(Debug)]
struct Stream {
    kind: Kind,
    buf: Vec<u8>,
    /// Bytes of a DATA frame still to come, and of a frame being skipped.
    data_left: u64,
    skip_left: u64,
    message: Option<Message>,
    /// The packet of the first byte of the message being read.
    frame: u64,
    /// Header sections of this message waiting for table inserts.
    blocked: usize,
    /// The stream ended (FIN): the message is complete once its headers are decoded.
    finished: bool,
    /// A framing error: the rest of this stream is not read.
    dead: bool,
}

impl Stream {
    fn new(kind: Kind) -> Stream {
        Stream {
            kind,
            buf: Vec::new(),
            data_left: 0,
            skip_left: 0,
            message: None,
            frame: 0,
            blocked: 0,
            finished: false,
            dead: false,
        }
    }
}

/// What a stream's next frame asks of the connection.
enum Step {
    /// Everything buffered is read.
    Wait,
    /// A HEADERS frame's field section (and the packet of the message's first byte).
    Section(Vec<u8>, u64),
    Settings(Vec<u8>),
}

/// A header section waiting for the inserts it refers to.
#[derive(Debug)]
struct Blocked {
    key: (u64, usize),
    block: Vec<u8>,
    frame: u64,
}

/// Both directions of an HTTP/3 connection.
#[derive(Debug, Default)]
pub struct Http3Flow {
    streams: HashMap<(u64, usize), Stream, ahash::RandomState>,
    /// By the direction the header sections travel.
    decoders: [QpackDecoder; 2],
    /// Whether each decoder's SETTINGS were seen.
    settings_seen: [bool; 2],
    blocked: Vec<Blocked>,
    /// Encoder-stream bytes of each direction waiting for the rest of an instruction.
    encoder_held: [Vec<u8>; 2],
    /// A QPACK table went out of step: that direction's header sections are no longer read.
    table_broken: [bool; 2],
}

fn stream_number(id: u64) -> Option<u32> {
    u32::try_from(id).ok()
}

impl Http3Flow {
    /// Bytes held for streams, tables and waiting sections.
    pub fn buffered(&self) -> usize {
        self.streams
            .values()
            .map(|s| {
                let scan = match &s.message {
                    Some(Message::Response(r)) => r.held(),
                    _ => 0,
                };
                s.buf.capacity() + 256 + scan
            })
            .sum::<usize>()
            + self.decoders.iter().map(QpackDecoder::size).sum::<usize>()
            + self.blocked.iter().map(|b| b.block.len()).sum::<usize>()
            + self.encoder_held.iter().map(Vec::capacity).sum::<usize>()
    }

    /// In-order bytes of stream `id` in direction `dir`, from packet `frame`.
    pub fn on_data(
        &mut self,
        dir: Direction,
        id: u64,
        data: &[u8],
        frame: u64,
        out: &mut Vec<H3Item>,
    ) {
        let key = (id, dir.index());
        if !self.streams.contains_key(&key) {
            if self.streams.len() >= MAX_STREAMS {
                out.push((
                    stream_number(id),
                    HttpItem::Error(HttpError::Framing("too many HTTP/3 streams at once")),
                ));
                return;
            }
            let kind = if id & 0x2 == 0 {
                Kind::Request
            } else {
                Kind::Untyped
            };
            self.streams.insert(key, Stream::new(kind));
        }
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if stream.dead {
            return;
        }
        if stream.message.is_none() && stream.buf.is_empty() {
            stream.frame = frame;
        }
        stream.buf.extend_from_slice(data);
        if let Err(e) = self.read_stream(key, dir, out) {
            if let Some(s) = self.streams.get_mut(&key) {
                s.dead = true;
                s.buf = Vec::new();
            }
            out.push((stream_number(id), HttpItem::Error(e)));
        }
    }

    /// Bytes of a stream never seen: its framing is lost, so the rest of it is not read.
    pub fn on_gap(&mut self, dir: Direction, id: u64) {
        if let Some(s) = self.streams.get_mut(&(id, dir.index())) {
            s.dead = true;
            s.buf = Vec::new();
        }
    }

    /// The stream ended in direction `dir` (FIN, or reset): its message is complete.
    pub fn on_fin(&mut self, dir: Direction, id: u64, out: &mut Vec<H3Item>) {
        let key = (id, dir.index());
        if let Some(s) = self.streams.get_mut(&key) {
            s.finished = true;
            if s.blocked == 0 {
                if let Some(s) = self.streams.remove(&key) {
                    emit(id, s.message, out);
                }
            }
        }
    }

    /// The connection is over: messages still open are reported as seen.
    pub fn on_end(&mut self, out: &mut Vec<H3Item>) {
        let mut keys: Vec<_> = self.streams.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            if let Some(s) = self.streams.remove(&key) {
                emit(key.0, s.message, out);
            }
        }
        self.blocked.clear();
    }

    /// Reads what a stream's buffer holds: frames in order, each HEADERS section decoded before
    /// the DATA after it is counted.
    fn read_stream(
        &mut self,
        key: (u64, usize),
        dir: Direction,
        out: &mut Vec<H3Item>,
    ) -> Result<(), HttpError> {
        loop {
            match self.next_frame(key, dir, out)? {
                Step::Wait => return Ok(()),
                Step::Section(block, frame) => self.header_section(key, dir, block, frame, out)?,
                Step::Settings(payload) => self.settings(dir, &payload),
            }
        }
    }

    /// Consumes the stream's buffer up to the next HEADERS or SETTINGS frame (DATA counted,
    /// other frames skipped), and returns it; [`Step::Wait`] once the buffer is used up.
    fn next_frame(
        &mut self,
        key: (u64, usize),
        dir: Direction,
        out: &mut Vec<H3Item>,
    ) -> Result<Step, HttpError> {
        let Some(stream) = self.streams.get_mut(&key) else {
            return Ok(Step::Wait);
        };
        let mut at = 0usize;
        if let Kind::Untyped = stream.kind {
            let mut r = super::quic::packet::Reader::new(&stream.buf);
            let Some(ty) = r.varint() else {
                return Ok(Step::Wait);
            };
            at = r.pos();
            stream.kind = match ty {
                CONTROL_STREAM => Kind::Control,
                ENCODER_STREAM => Kind::Encoder,
                _ => Kind::Ignored,
            };
        }
        match stream.kind {
            Kind::Ignored => {
                stream.buf = Vec::new();
                return Ok(Step::Wait);
            }
            Kind::Encoder => {
                let bytes = stream.buf.split_off(at);
                stream.buf.clear();
                self.encoder_data(dir, bytes, out)?;
                return Ok(Step::Wait);
            }
            Kind::Request | Kind::Control | Kind::Untyped => {}
        }
        let mut step = Step::Wait;
        // A section waiting for table inserts holds the rest of its stream back (RFC 9204
        // §2.1.2): the DATA after it belongs to the message it starts.
        if stream.blocked > 0 {
            if stream.buf.len() > MAX_HELD_WHILE_BLOCKED {
                return Err(HttpError::Framing(
                    "an HTTP/3 stream waits for QPACK inserts with too much data behind it",
                ));
            }
            return Ok(Step::Wait);
        }
        loop {
            let rest = stream.buf.get(at..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            if stream.data_left > 0 {
                let take = rest
                    .len()
                    .min(usize::try_from(stream.data_left).unwrap_or(usize::MAX));
                if let Some(m) = stream.message.as_mut() {
                    m.add_body(&rest[..take]);
                }
                stream.data_left -= take as u64;
                at += take;
                continue;
            }
            if stream.skip_left > 0 {
                let take = rest
                    .len()
                    .min(usize::try_from(stream.skip_left).unwrap_or(usize::MAX));
                stream.skip_left -= take as u64;
                at += take;
                continue;
            }
            let mut r = super::quic::packet::Reader::new(rest);
            let (Some(ty), Some(len)) = (r.varint(), r.varint()) else {
                break;
            };
            let header = r.pos();
            match (ty, &stream.kind) {
                (DATA, Kind::Request) => {
                    stream.data_left = len;
                    at += header;
                }
                (HEADERS, Kind::Request) | (SETTINGS, Kind::Control) => {
                    if len > MAX_HEADER_FRAME {
                        return Err(HttpError::Framing(
                            "an HTTP/3 HEADERS or SETTINGS frame is too large",
                        ));
                    }
                    let Some(payload) = r.bytes_u64(len) else {
                        break;
                    };
                    step = if ty == HEADERS {
                        Step::Section(payload.to_vec(), stream.frame)
                    } else {
                        Step::Settings(payload.to_vec())
                    };
                    at += header + payload.len();
                    break;
                }
                _ => {
                    stream.skip_left = len;
                    at += header;
                }
            }
        }
        stream.buf.drain(..at.min(stream.buf.len()));
        Ok(step)
    }

    /// A SETTINGS frame from the endpoint sending in `dir`: it decodes what travels the other way.
    fn settings(&mut self, dir: Direction, payload: &[u8]) {
        let mut r = super::quic::packet::Reader::new(payload);
        while let (Some(id), Some(value)) = (r.varint(), r.varint()) {
            if id == SETTINGS_QPACK_MAX_TABLE_CAPACITY {
                let other = dir.reverse().index();
                self.decoders[other].set_max_capacity(value);
                self.settings_seen[other] = true;
            }
        }
    }

    /// Encoder-stream bytes of `dir`: table inserts, then sections they unblock.
    fn encoder_data(
        &mut self,
        dir: Direction,
        bytes: Vec<u8>,
        out: &mut Vec<H3Item>,
    ) -> Result<(), HttpError> {
        let d = dir.index();
        if self.table_broken[d] {
            return Ok(());
        }
        let held = &mut self.encoder_held[d];
        held.extend_from_slice(&bytes);
        match self.decoders[d].encoder_stream(held) {
            Ok(used) => {
                held.drain(..used);
                if held.len() > MAX_ENCODER_HELD {
                    self.table_broken[d] = true;
                    *held = Vec::new();
                    return Err(HttpError::Framing(
                        "a QPACK encoder instruction is too long",
                    ));
                }
            }
            Err(e) => {
                self.table_broken[d] = true;
                *held = Vec::new();
                return Err(HttpError::Qpack(e));
            }
        }
        // Sections of this direction that waited for these inserts.
        let waiting: Vec<Blocked> = {
            let (mine, others) = std::mem::take(&mut self.blocked)
                .into_iter()
                .partition(|b| b.key.1 == d);
            self.blocked = others;
            mine
        };
        for b in waiting {
            if let Some(s) = self.streams.get_mut(&b.key) {
                s.blocked = s.blocked.saturating_sub(1);
            }
            let id = b.key.0;
            let mut result = self.header_section(b.key, dir, b.block, b.frame, out);
            let unblocked = self.streams.get(&b.key).is_some_and(|s| s.blocked == 0);
            if result.is_ok() && unblocked {
                // What the stream held back behind the section.
                result = self.read_stream(b.key, dir, out);
            }
            if let Err(e) = result {
                if let Some(s) = self.streams.get_mut(&b.key) {
                    s.dead = true;
                    s.buf = Vec::new();
                }
                out.push((stream_number(id), HttpItem::Error(e)));
            }
            // A stream that ended while it waited is complete now.
            let done = self
                .streams
                .get(&b.key)
                .is_some_and(|s| s.finished && s.blocked == 0);
            if done {
                if let Some(s) = self.streams.remove(&b.key) {
                    emit(id, s.message, out);
                }
            }
        }
        Ok(())
    }

    /// One HEADERS frame's field section: the message's head (or trailers).
    fn header_section(
        &mut self,
        key: (u64, usize),
        dir: Direction,
        block: Vec<u8>,
        frame: u64,
        out: &mut Vec<H3Item>,
    ) -> Result<(), HttpError> {
        let d = dir.index();
        if self.table_broken[d] {
            return Ok(());
        }
        if !self.settings_seen[d] {
            self.decoders[d].set_max_capacity(UNKNOWN_MAX_TABLE);
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut decoded = 0usize;
        let result = self.decoders[d].decode(&block, |n, v| {
            decoded += n.len() + v.len();
            if decoded <= MAX_DECODED && headers.len() < MAX_HEADERS {
                headers.push((
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                ));
            }
        });
        match result {
            Ok(()) => {}
            Err(QpackError::Blocked(_)) => {
                if self.blocked.len() >= MAX_BLOCKED {
                    return Err(HttpError::Framing(
                        "too many HTTP/3 header sections wait for QPACK inserts",
                    ));
                }
                if let Some(s) = self.streams.get_mut(&key) {
                    s.blocked += 1;
                }
                self.blocked.push(Blocked { key, block, frame });
                return Ok(());
            }
            Err(e) => return Err(HttpError::Qpack(e)),
        }
        if decoded > MAX_DECODED {
            return Err(HttpError::HeadersTooLarge(MAX_DECODED >> 10));
        }
        let Some(stream) = self.streams.get_mut(&key) else {
            return Ok(());
        };
        let pseudo = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        match (&mut stream.message, dir) {
            // Trailers: added to the message's headers, within the bound.
            (Some(Message::Request(r)), _) => {
                let room = MAX_HEADERS.saturating_sub(r.headers.len());
                r.headers.extend(headers.into_iter().take(room));
            }
            (Some(Message::Response(r)), _) => {
                let room = MAX_HEADERS.saturating_sub(r.headers.len());
                r.headers.extend(headers.into_iter().take(room));
            }
            (None, Direction::ClientToServer) => {
                stream.message = Some(Message::Request(Request {
                    method: pseudo(":method").unwrap_or_default(),
                    target: pseudo(":path").unwrap_or_default(),
                    version: Cow::Borrowed("HTTP/3"),
                    headers,
                    body: Vec::new(),
                    body_len: 0,
                    frame,
                }));
            }
            (None, Direction::ServerToClient) => {
                let status: u16 = pseudo(":status").and_then(|s| s.parse().ok()).unwrap_or(0);
                let response = Response {
                    status,
                    reason: String::new(),
                    version: Cow::Borrowed("HTTP/3"),
                    headers,
                    body_len: 0,
                    frame,
                    html: None,
                    scan: Default::default(),
                };
                if (100..200).contains(&status) {
                    // An interim response: reported, and the final one follows.
                    out.push((stream_number(key.0), HttpItem::Response(response)));
                } else {
                    let mut response = response;
                    response.scan_html();
                    stream.message = Some(Message::Response(response));
                }
            }
        }
        Ok(())
    }
}

fn emit(id: u64, message: Option<Message>, out: &mut Vec<H3Item>) {
    let item = match message {
        Some(Message::Request(r)) => HttpItem::Request(r),
        Some(Message::Response(mut r)) => {
            r.end_body();
            HttpItem::Response(r)
        }
        None => return,
    };
    out.push((stream_number(id), item));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![ty, payload.len() as u8];
        f.extend_from_slice(payload);
        f
    }

    /// A POST with a form body, split across calls anywhere, and its response.
    #[test]
    fn a_request_and_its_response() {
        // :method POST (static 20), :path /login (literal with static name 1), :authority lab.
        let mut section = vec![0x00, 0x00, 0xd4, 0x51, 0x06];
        section.extend_from_slice(b"/login");
        section.extend_from_slice(&[0x50, 0x03]);
        section.extend_from_slice(b"lab");
        let mut bytes = frame(0x01, &section);
        bytes.extend(frame(0x00, b"user=ann&password=s3cret"));
        let mut h3 = Http3Flow::default();
        let mut out = Vec::new();
        for piece in bytes.chunks(3) {
            h3.on_data(Direction::ClientToServer, 0, piece, 7, &mut out);
        }
        assert!(out.is_empty());
        h3.on_fin(Direction::ClientToServer, 0, &mut out);
        let [(Some(0), HttpItem::Request(r))] = out.as_slice() else {
            panic!("{out:?}");
        };
        assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/login"));
        assert_eq!(r.host(), Some("lab"));
        assert_eq!(r.body, b"user=ann&password=s3cret");
        assert_eq!(r.version, "HTTP/3");
        out.clear();
        // :status 200 (static 25).
        let response = frame(0x01, &[0x00, 0x00, 0xd9]);
        h3.on_data(Direction::ServerToClient, 0, &response, 9, &mut out);
        h3.on_fin(Direction::ServerToClient, 0, &mut out);
        assert!(matches!(out.as_slice(), [(Some(0), HttpItem::Response(r))] if r.status == 200));
    }

    /// A section that refers to the dynamic table waits for the encoder stream's insert.
    #[test]
    fn blocked_sections_wait_for_their_inserts() {
        let mut h3 = Http3Flow::default();
        let mut out = Vec::new();
        // The server's SETTINGS: QPACK_MAX_TABLE_CAPACITY 220 (client-to-server sections).
        let mut control = vec![0x03]; // server-initiated unidirectional stream, type control
        control[0] = 0x00;
        control.extend(frame(0x04, &[0x01, 0x40, 0xdc]));
        h3.on_data(Direction::ServerToClient, 3, &control, 1, &mut out);
        // Request on stream 0: Required Insert Count 1 (encoded 2), base 1, dynamic index 0.
        let headers = frame(0x01, &[0x02, 0x00, 0x80, 0xd1]);
        h3.on_data(Direction::ClientToServer, 0, &headers, 2, &mut out);
        h3.on_fin(Direction::ClientToServer, 0, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // The client's encoder stream (stream 2, type 0x02): capacity 220, insert :path=/a.
        let mut encoder = vec![0x02, 0x3f, 0xbd, 0x01, 0xc1, 0x02];
        encoder.extend_from_slice(b"/a");
        h3.on_data(Direction::ClientToServer, 2, &encoder, 3, &mut out);
        let [(Some(0), HttpItem::Request(r))] = out.as_slice() else {
            panic!("{out:?}");
        };
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/a"));
        // Stream 4: a blocked POST whose body follows; the body stays with its request.
        out.clear();
        let mut bytes = frame(0x01, &[0x03, 0x00, 0x80, 0xd4]);
        bytes.extend(frame(0x00, b"password=kept"));
        h3.on_data(Direction::ClientToServer, 4, &bytes, 4, &mut out);
        h3.on_fin(Direction::ClientToServer, 4, &mut out);
        assert!(out.is_empty(), "{out:?}");
        let mut insert = vec![0xc1, 0x02];
        insert.extend_from_slice(b"/b");
        h3.on_data(Direction::ClientToServer, 2, &insert, 5, &mut out);
        let [(Some(4), HttpItem::Request(r))] = out.as_slice() else {
            panic!("{out:?}");
        };
        assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/b"));
        assert_eq!(r.body, b"password=kept");
    }
}
