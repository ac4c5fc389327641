//! HTTP/1.0 and 1.1 over a reassembled TCP stream, with `httparse`.
//!
//! Requests and responses are framed as RFC 9112 says: Content-Length, chunked, bodiless
//! responses (HEAD, 1xx, 204, 304), and responses that end when the connection does. Pipelined
//! requests are paired with their responses in order. Heads are bounded ([`MAX_HEAD`]) and bodies
//! are kept only up to [`MAX_BODY_KEPT`] (counted in full), so memory stays bounded whatever a
//! peer claims. Malformed input gives one [`HttpItem::Error`] and that direction stops.

use crate::flow::Direction;
use crate::proto::html::{self, HtmlFacts, HtmlScan};
use crate::proto::{StreamContext, StreamParser};
use std::borrow::Cow;
use std::collections::VecDeque;

/// A request or response head larger than this is an error (httparse needs it whole).
pub const MAX_HEAD: usize = 64 << 10;
/// Request bodies are kept up to this size for the credential detectors; the rest is counted.
pub const MAX_BODY_KEPT: usize = 1 << 20;
/// Headers per message at most.
const MAX_HEADERS: usize = 128;
/// A chunk-size line longer than this is an error.
const MAX_CHUNK_LINE: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// As seen on the wire: `HTTP/1.1`, `HTTP/1.0`, `HTTP/0.9`, or an odd token a device sent.
    pub version: Cow<'static, str>,
    pub headers: Vec<(String, String)>,
    /// The body as kept (at most [`MAX_BODY_KEPT`] bytes).
    pub body: Vec<u8>,
    pub body_len: u64,
    /// The packet that carried the message's first byte.
    pub frame: u64,
}

impl Request {
    /// Adds body bytes: all counted, kept up to [`MAX_BODY_KEPT`] for the credential detectors.
    pub fn add_body(&mut self, bytes: &[u8]) {
        self.body_len += bytes.len() as u64;
        let room = MAX_BODY_KEPT.saturating_sub(self.body.len());
        self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The `Host` header, or HTTP/2's `:authority`.
    pub fn host(&self) -> Option<&str> {
        header(&self.headers, "host").or_else(|| header(&self.headers, ":authority"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// As seen on the wire: `HTTP/1.1`, `HTTP/1.0`, `HTTP/0.9`, or an odd token a device sent.
    pub version: Cow<'static, str>,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
    /// The packet that carried the message's first byte.
    pub frame: u64,
    /// What the body's HTML holds for findings, once the body is complete.
    pub html: Option<HtmlFacts>,
    /// The body's HTML scan while the body arrives.
    pub scan: BodyScan,
}

impl Response {
    /// Starts scanning the body if it is HTML in an encoding the scan can undo.
    pub fn scan_html(&mut self) {
        if !html::is_html(header(&self.headers, "content-type")) {
            return;
        }
        if let Some(encoding) =
            html::Encoding::from_header(header(&self.headers, "content-encoding"))
        {
            self.scan = BodyScan(HtmlScan::new(encoding).map(Box::new));
        }
    }

    /// Adds body bytes: all counted, HTML scanned.
    pub fn add_body(&mut self, bytes: &[u8]) {
        self.body_len += bytes.len() as u64;
        if let Some(scan) = self.scan.0.as_mut() {
            scan.feed(bytes);
        }
    }

    /// Counts body bytes the capture lost: the HTML scan cannot go on after them.
    pub fn skip_body(&mut self, n: u64) {
        self.body_len += n;
        if let Some(scan) = self.scan.0.as_mut() {
            scan.gap();
        }
    }

    /// The body is complete (or ends here): what its HTML holds.
    pub fn end_body(&mut self) {
        if let Some(scan) = self.scan.0.take() {
            self.html = scan.finish();
        }
    }

    /// Memory the body's scan holds.
    pub fn held(&self) -> usize {
        self.scan.0.as_ref().map_or(0, |s| s.held())
    }
}

/// A response body's HTML scan in progress. Clones and comparisons leave it out: what a
/// response says is [`Response::html`], filled when the body ends.
#[derive(Debug, Default)]
pub struct BodyScan(Option<Box<HtmlScan>>);

impl Clone for BodyScan {
    fn clone(&self) -> Self {
        BodyScan(None)
    }
}

impl PartialEq for BodyScan {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for BodyScan {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpItem {
    Request(Request),
    Response(Response),
    /// Malformed HTTP in one direction: parsing of that direction stops.
    Error(HttpError),
}

/// What breaks HTTP in one direction (HTTP/1.x and HTTP/2). Reported as a `parse_error` anomaly;
/// the words are the detail people read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("malformed HTTP {0}: {1}")]
    Malformed(Side, httparse::Error),
    #[error("an HTTP {0} head is longer than {1} KiB")]
    HeadTooLong(Side, usize),
    #[error("bad Content-Length {0:?}")]
    BadContentLength(String),
    #[error("bad chunk size line {0:?}")]
    BadChunkSize(String),
    #[error("the HTTP/2 connection preface is missing")]
    NoPreface,
    #[error("an HTTP/2 frame claims {0} bytes")]
    FrameTooLong(usize),
    /// A rule of message framing broken (chunked encoding, HTTP/2 frames): the words say which.
    #[error("{0}")]
    Framing(&'static str),
    #[error("HPACK: {0}")]
    Hpack(crate::proto::hpack::HpackError),
    #[error("an HTTP/2 header block decodes to more than {0} KiB")]
    HeadersTooLarge(usize),
    #[error("HTTP/3 {0}")]
    Qpack(crate::proto::qpack::QpackError),
}

/// The first value of a header, by case-insensitive name.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Which of an HTTP connection's two message streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Request => "request",
            Side::Response => "response",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    /// The CRLF after a chunk's data: bytes of it still to skip.
    DataEnd(u8),
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    /// A request that may carry a body (POST, PUT, PATCH) but declares no length, as some
    /// devices send: what follows is its body unless it starts the next request, and it ends
    /// when the server answers.
    Unframed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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

    fn skip_body(&mut self, n: u64) {
        match self {
            Message::Request(r) => r.body_len += n,
            Message::Response(r) => r.skip_body(n),
        }
    }

    fn set_frame(&mut self, frame: u64) {
        match self {
            Message::Request(r) => r.frame = frame,
            Message::Response(r) => r.frame = frame,
        }
    }

    fn into_item(self) -> HttpItem {
        match self {
            Message::Request(r) => HttpItem::Request(r),
            Message::Response(mut r) => {
                r.end_body();
                HttpItem::Response(r)
            }
        }
    }
}

#[derive(Debug)]
enum State {
    Head,
    Body(Framing, Message),
    /// After a request asking to switch protocols (Upgrade, CONNECT): the client's next bytes
    /// are held until the response says whether HTTP/1.x goes on.
    Paused(Vec<u8>),
    /// Not HTTP any more (an error, a tunnel, an upgrade, lost framing): bytes are ignored.
    Stopped,
}

/// One direction of an HTTP/1.x connection.
#[derive(Debug)]
struct MessageReader {
    side: Side,
    buf: Vec<u8>,
    state: State,
    /// A CONNECT was answered with 2xx: what follows is a tunnel.
    tunnel_opened: bool,
    /// The message being read asked to switch protocols: pause after it.
    pause_after: bool,
    /// The packet of the chunk being read, and the one where the current head began.
    frame: u64,
    head_frame: u64,
}

/// What the response side must know of each request, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    head: bool,
    connect: bool,
    /// An HTTP/0.9 request: its answer is the bare document, with no status line.
    http09: bool,
}

/// Both directions of an HTTP/1.x connection.
#[derive(Debug)]
pub struct Http1Flow {
    requests: MessageReader,
    responses: MessageReader,
    pending: VecDeque<Pending>,
}

impl Default for Http1Flow {
    fn default() -> Self {
        Http1Flow {
            requests: MessageReader::new(Side::Request),
            responses: MessageReader::new(Side::Response),
            pending: VecDeque::new(),
        }
    }
}

/// Requests remembered for pairing at most (a flood of pipelined requests is not kept).
const MAX_PENDING: usize = 1024;

impl Http1Flow {
    /// A response decides what a paused client direction does: a 101 or an opened tunnel ends
    /// HTTP/1.x; any other final response lets it go on with the bytes it held.
    fn after(&mut self, start: usize, out: &mut Vec<HttpItem>) {
        let mut i = start;
        while i < out.len() {
            if let HttpItem::Response(r) = &out[i] {
                let status = r.status;
                if let State::Paused(_) = self.requests.state {
                    if status == 101 || self.responses.tunnel_opened {
                        self.requests.state = State::Stopped;
                    } else if status >= 200 {
                        if let State::Paused(held) =
                            std::mem::replace(&mut self.requests.state, State::Head)
                        {
                            // Held since the switch was asked: they carry the frame they came in.
                            let frame = self.requests.frame;
                            self.requests
                                .feed(&held, frame, &mut self.pending, false, out);
                        }
                    }
                }
            }
            i += 1;
        }
    }
}

impl MessageReader {
    fn new(side: Side) -> Self {
        MessageReader {
            side,
            buf: Vec::new(),
            state: State::Head,
            tunnel_opened: false,
            pause_after: false,
            frame: 0,
            head_frame: 0,
        }
    }

    fn held(&self) -> usize {
        self.buf.capacity()
            + match &self.state {
                State::Body(_, Message::Request(r)) => r.body.capacity(),
                State::Body(_, Message::Response(r)) => r.held(),
                State::Paused(held) => held.capacity(),
                _ => 0,
            }
    }

    /// Reads messages from `data`; with `one_final`, stops after the first final response.
    /// Returns the bytes used.
    fn feed(
        &mut self,
        data: &[u8],
        frame: u64,
        pending: &mut VecDeque<Pending>,
        one_final: bool,
        out: &mut Vec<HttpItem>,
    ) -> usize {
        self.frame = frame;
        let total = data.len();
        let first_new = out.len();
        let mut data = data;
        while !data.is_empty() {
            if one_final
                && out.len() > first_new
                && out.last().is_some_and(
                    |i| matches!(i, HttpItem::Response(r) if r.status >= 200 || r.status == 101),
                )
                && matches!(self.state, State::Head | State::Stopped)
            {
                break;
            }
            match std::mem::replace(&mut self.state, State::Stopped) {
                State::Stopped => return total,
                State::Paused(mut held) => {
                    if held.len() + data.len() <= MAX_HEAD {
                        held.extend_from_slice(data);
                        self.state = State::Paused(held);
                    }
                    return total;
                }
                State::Head => {
                    if self.side == Side::Request
                        && self.buf.is_empty()
                        && data.starts_with(b"PRI * HTTP/2.0")
                    {
                        // HTTP/2 with prior knowledge: not HTTP/1.x.
                        return total;
                    }
                    let consumed = match self.head(data, pending, out) {
                        Some(n) => n,
                        None => return total,
                    };
                    data = &data[consumed..];
                }
                State::Body(framing, mut msg) => {
                    let (used, next) = body(framing, data, &mut msg, &mut self.buf);
                    data = &data[used..];
                    match next {
                        Ok(Some(f)) => self.state = State::Body(f, msg),
                        Ok(None) => {
                            out.push(msg.into_item());
                            self.state = self.next_state();
                        }
                        Err(e) => {
                            out.push(msg.into_item());
                            out.push(HttpItem::Error(e));
                            return total;
                        }
                    }
                }
            }
        }
        total - data.len()
    }

    /// Parses a head from `buf` + `data`. Returns how many bytes of `data` it used (all of them
    /// while the head is incomplete), or `None` when this direction stops.
    fn head(
        &mut self,
        data: &[u8],
        pending: &mut VecDeque<Pending>,
        out: &mut Vec<HttpItem>,
    ) -> Option<usize> {
        let buffered = self.buf.len();
        if buffered == 0 {
            // The head starts in this chunk.
            self.head_frame = self.frame;
        }
        let parsed = if buffered == 0 {
            parse_head(self.side, data)
        } else {
            let room = (MAX_HEAD + 1).saturating_sub(buffered);
            self.buf.extend_from_slice(&data[..data.len().min(room)]);
            parse_head(self.side, &self.buf)
        };
        match parsed {
            Ok(Some((len, mut msg))) => {
                msg.set_frame(self.head_frame);
                let used = len - buffered;
                self.buf = Vec::new();
                self.start_message(msg, pending, out);
                Some(used)
            }
            Ok(None) => {
                if buffered == 0 {
                    self.buf
                        .extend_from_slice(&data[..data.len().min(MAX_HEAD + 1)]);
                }
                if self.buf.len() > MAX_HEAD {
                    out.push(HttpItem::Error(HttpError::HeadTooLong(
                        self.side,
                        MAX_HEAD >> 10,
                    )));
                    self.buf = Vec::new();
                    return None;
                }
                self.state = State::Head;
                Some(data.len())
            }
            Err(e) => {
                // An HTTP/0.9 document comes without a status line: not an error, not parsed.
                let http09_answer =
                    self.side == Side::Response && pending.front().is_some_and(|p| p.http09);
                if !http09_answer {
                    out.push(HttpItem::Error(e));
                }
                self.buf = Vec::new();
                None
            }
        }
    }

    /// The server answers: a request without a declared length has all its body.
    fn end_unframed(&mut self, out: &mut Vec<HttpItem>) {
        if let State::Body(Framing::Unframed, _) = self.state {
            if let State::Body(_, msg) = std::mem::replace(&mut self.state, State::Stopped) {
                out.push(msg.into_item());
                self.state = self.next_state();
            }
        }
    }

    /// Decides how the message's body is framed, and emits bodiless messages at once.
    fn start_message(
        &mut self,
        msg: Message,
        pending: &mut VecDeque<Pending>,
        out: &mut Vec<HttpItem>,
    ) {
        let framing = match &msg {
            Message::Request(r) => {
                if pending.len() < MAX_PENDING {
                    pending.push_back(Pending {
                        head: r.method.eq_ignore_ascii_case("HEAD"),
                        connect: r.method.eq_ignore_ascii_case("CONNECT"),
                        http09: r.version == "HTTP/0.9",
                    });
                }
                match declared_framing(&r.headers) {
                    Ok(Some(f)) => Ok(f),
                    Ok(None) if carries_body(&r.method) => Ok(Framing::Unframed),
                    Ok(None) => Ok(Framing::Length(0)),
                    Err(e) => Err(e),
                }
            }
            Message::Response(r) => {
                // Interim responses (1xx but 101) do not answer the request.
                let interim = (100..200).contains(&r.status) && r.status != 101;
                let request = if interim {
                    pending.front().copied()
                } else {
                    pending.pop_front()
                }
                .unwrap_or(Pending {
                    head: false,
                    connect: false,
                    http09: false,
                });
                if request.connect && (200..300).contains(&r.status) {
                    self.tunnel_opened = true;
                }
                if request.head
                    || (100..200).contains(&r.status)
                    || r.status == 204
                    || r.status == 304
                    || self.tunnel_opened
                {
                    Ok(Framing::Length(0))
                } else {
                    declared_framing(&r.headers).map(|f| f.unwrap_or(Framing::UntilClose))
                }
            }
        };
        self.pause_after = match &msg {
            Message::Request(r) => {
                r.method.eq_ignore_ascii_case("CONNECT") || header(&r.headers, "upgrade").is_some()
            }
            Message::Response(_) => false,
        };
        let switching = matches!(&msg, Message::Response(r) if r.status == 101);
        match framing {
            Ok(Framing::Length(0)) => {
                out.push(msg.into_item());
                self.state = if self.tunnel_opened || switching {
                    State::Stopped
                } else {
                    self.next_state()
                };
            }
            Ok(f) => {
                let mut msg = msg;
                if let Message::Response(r) = &mut msg {
                    r.scan_html();
                }
                self.state = State::Body(f, msg)
            }
            Err(e) => {
                out.push(msg.into_item());
                out.push(HttpItem::Error(e));
                self.state = State::Stopped;
            }
        }
    }

    /// Where a reader goes after a complete message.
    fn next_state(&mut self) -> State {
        if std::mem::take(&mut self.pause_after) {
            State::Paused(Vec::new())
        } else {
            State::Head
        }
    }

    fn gap(&mut self, n: u64, out: &mut Vec<HttpItem>) {
        match std::mem::replace(&mut self.state, State::Stopped) {
            State::Body(Framing::Length(rem), mut msg) if n <= rem => {
                // The framing survives a hole inside a body of known length.
                msg.skip_body(n);
                if rem == n {
                    out.push(msg.into_item());
                    self.state = self.next_state();
                } else {
                    self.state = State::Body(Framing::Length(rem - n), msg);
                }
            }
            State::Body(framing @ (Framing::UntilClose | Framing::Unframed), mut msg) => {
                // Bytes held in case they began a request were body after all.
                msg.add_body(&self.buf);
                msg.skip_body(n);
                self.state = State::Body(framing, msg);
            }
            State::Body(_, msg) => out.push(msg.into_item()),
            _ => {}
        }
        self.buf = Vec::new();
    }

    fn end(&mut self, out: &mut Vec<HttpItem>) {
        if let State::Body(framing, mut msg) = std::mem::replace(&mut self.state, State::Stopped) {
            if framing == Framing::Unframed {
                // Bytes held in case they began a request were body after all.
                msg.add_body(&self.buf);
            }
            out.push(msg.into_item());
        }
        self.buf = Vec::new();
    }
}

/// Consumes body bytes under `framing`. Returns the bytes used and the framing still to go
/// (`None` once the message is complete).
fn body(
    framing: Framing,
    data: &[u8],
    msg: &mut Message,
    line: &mut Vec<u8>,
) -> (usize, Result<Option<Framing>, HttpError>) {
    match framing {
        Framing::Length(rem) => {
            let n = (rem.min(data.len() as u64)) as usize;
            msg.add_body(&data[..n]);
            let left = rem - n as u64;
            (n, Ok((left > 0).then_some(Framing::Length(left))))
        }
        Framing::Unframed => {
            // `line` holds the start of a chunk that could still begin a request ("GE"): it
            // stays for the head parser if one follows, and is body otherwise.
            let held = line.len();
            line.extend_from_slice(&data[..data.len().min(MAX_METHOD + 1)]);
            if starts_request(line) {
                line.truncate(held);
                return (0, Ok(None));
            }
            if line.len() == held + data.len() && could_start_request(line) {
                return (data.len(), Ok(Some(Framing::Unframed)));
            }
            line.truncate(held);
            msg.add_body(line);
            line.clear();
            msg.add_body(data);
            (data.len(), Ok(Some(Framing::Unframed)))
        }
        Framing::UntilClose => {
            msg.add_body(data);
            (data.len(), Ok(Some(Framing::UntilClose)))
        }
        Framing::Chunked(state) => chunked(state, data, msg, line),
    }
}

fn chunked(
    mut state: Chunk,
    data: &[u8],
    msg: &mut Message,
    line: &mut Vec<u8>,
) -> (usize, Result<Option<Framing>, HttpError>) {
    let mut used = 0;
    while used < data.len() {
        let rest = &data[used..];
        match state {
            Chunk::Size | Chunk::Trailers => {
                let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                    line.extend_from_slice(rest);
                    if line.len() > MAX_CHUNK_LINE && state == Chunk::Size {
                        return (
                            data.len(),
                            Err(HttpError::Framing("a chunk-size line is too long")),
                        );
                    }
                    if line.len() > MAX_HEAD {
                        return (
                            data.len(),
                            Err(HttpError::Framing("chunked trailers are too long")),
                        );
                    }
                    return (data.len(), Ok(Some(Framing::Chunked(state))));
                };
                line.extend_from_slice(&rest[..=nl]);
                used += nl + 1;
                let text = std::mem::take(line);
                if state == Chunk::Trailers {
                    if text == b"\r\n" || text == b"\n" {
                        return (used, Ok(None));
                    }
                    continue;
                }
                let size = match httparse::parse_chunk_size(&text) {
                    Ok(httparse::Status::Complete((_, size))) => size,
                    _ => {
                        return (
                            used,
                            Err(HttpError::BadChunkSize(
                                String::from_utf8_lossy(&text).trim_end().to_string(),
                            )),
                        )
                    }
                };
                state = if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                };
            }
            Chunk::Data(rem) => {
                let n = (rem.min(rest.len() as u64)) as usize;
                msg.add_body(&rest[..n]);
                used += n;
                state = if rem == n as u64 {
                    Chunk::DataEnd(2)
                } else {
                    Chunk::Data(rem - n as u64)
                };
            }
            Chunk::DataEnd(left) => {
                // Tolerate a bare LF as the end of the chunk data.
                if rest[0] == b'\n' {
                    used += 1;
                    state = Chunk::Size;
                } else if rest[0] == b'\r' && left == 2 {
                    used += 1;
                    state = Chunk::DataEnd(1);
                } else {
                    return (
                        used,
                        Err(HttpError::Framing("chunk data not followed by CRLF")),
                    );
                }
            }
        }
    }
    (used, Ok(Some(Framing::Chunked(state))))
}

/// The framing the headers declare: chunked, a Content-Length, or none.
fn declared_framing(headers: &[(String, String)]) -> Result<Option<Framing>, HttpError> {
    if let Some(te) = header(headers, "transfer-encoding") {
        if te
            .rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        {
            return Ok(Some(Framing::Chunked(Chunk::Size)));
        }
    }
    match header(headers, "content-length") {
        Some(v) => {
            let first = v.split(',').next().unwrap_or(v).trim();
            first
                .parse::<u64>()
                .map(|n| Some(Framing::Length(n)))
                .map_err(|_| HttpError::BadContentLength(v.to_string()))
        }
        None => Ok(None),
    }
}

/// One head from the start of `bytes`: its length and the message, `None` if incomplete.
fn parse_head(side: Side, bytes: &[u8]) -> Result<Option<(usize, Message)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let owned = |hs: &[httparse::Header<'_>]| -> Vec<(String, String)> {
        hs.iter()
            .map(|h| {
                // `from_utf8` first: its ASCII fast path is several times quicker than the lossy
                // decoder's byte loop, and header values are nearly always ASCII.
                let value = match std::str::from_utf8(h.value) {
                    Ok(text) => text.trim().to_string(),
                    Err(_) => String::from_utf8_lossy(h.value).trim().to_string(),
                };
                (h.name.to_string(), value)
            })
            .collect()
    };
    let version = |v: Option<u8>| Cow::Borrowed(if v == Some(0) { "HTTP/1.0" } else { "HTTP/1.1" });
    let err = |e: httparse::Error| HttpError::Malformed(side, e);
    match side {
        Side::Request => {
            let mut req = httparse::Request::new(&mut headers);
            let status = match req.parse(bytes) {
                Ok(status) => status,
                Err(e) => return lenient_head(side, bytes).ok_or_else(|| err(e)),
            };
            match status {
                httparse::Status::Partial => Ok(None),
                httparse::Status::Complete(n) => Ok(Some((
                    n,
                    Message::Request(Request {
                        method: req.method.unwrap_or("").to_string(),
                        target: req.path.unwrap_or("").to_string(),
                        version: version(req.version),
                        headers: owned(req.headers),
                        body: Vec::new(),
                        body_len: 0,
                        frame: 0,
                    }),
                ))),
            }
        }
        Side::Response => {
            let mut resp = httparse::Response::new(&mut headers);
            let status = match resp.parse(bytes) {
                Ok(status) => status,
                Err(e) => return lenient_head(side, bytes).ok_or_else(|| err(e)),
            };
            match status {
                httparse::Status::Partial => Ok(None),
                httparse::Status::Complete(n) => Ok(Some((
                    n,
                    Message::Response(Response {
                        status: resp.code.unwrap_or(0),
                        reason: resp.reason.unwrap_or("").to_string(),
                        version: version(resp.version),
                        headers: owned(resp.headers),
                        body_len: 0,
                        frame: 0,
                        html: None,
                        scan: Default::default(),
                    }),
                ))),
            }
        }
    }
}

/// Methods whose requests carry a body: without a declared length, the bytes after the head
/// are taken as the body ([`Framing::Unframed`]).
fn carries_body(method: &str) -> bool {
    ["POST", "PUT", "PATCH"]
        .iter()
        .any(|m| method.eq_ignore_ascii_case(m))
}

/// The longest request method the lenient parser takes.
const MAX_METHOD: usize = 24;

/// A strict prefix of a request line's start (`GE`, `POST`): more bytes will tell.
fn could_start_request(data: &[u8]) -> bool {
    crate::proto::HTTP_METHODS
        .iter()
        .any(|m| m.len() > data.len() && m.starts_with(data))
}

/// Bytes that begin a request line (a method of the detector's list and a space): the end of an
/// unframed body.
fn starts_request(data: &[u8]) -> bool {
    crate::proto::HTTP_METHODS
        .iter()
        .any(|m| data.starts_with(m))
}

/// A head that httparse refuses but devices send, or `None` when it is not HTTP after all (then
/// httparse's error stands). Tried only after httparse fails, so the usual path costs nothing.
/// It accepts a version token as seen (`HTTP/1.0.8`, `HTTP/1.2`), HTTP/0.9's `GET /path` with no
/// version, spaces, tabs or NULs inside the target, folded header lines (joined with a space, as
/// RFC 9112 §5.2 allows a recipient to do), and skips header lines that have no name. Line ends
/// are CRLF or a bare LF. `Ok(None)`: more bytes are needed.
fn lenient_head(side: Side, bytes: &[u8]) -> Option<Option<(usize, Message)>> {
    let Some((first, mut used)) = line_at(bytes, 0) else {
        return plausible_start(side, bytes).then_some(None);
    };
    let words = words(first);
    let word = |i: usize| words.get(i).map(|r| &first[r.clone()]);
    let mut msg = match side {
        Side::Request => {
            let method = word(0)?;
            if method.len() > MAX_METHOD || !method.iter().all(|b| is_method_byte(*b)) {
                return None;
            }
            let (version, target) = match words.len() {
                // HTTP/0.9 (only GET existed): `GET /path`, no version, no headers.
                2 if method == b"GET" => (Cow::Borrowed("HTTP/0.9"), word(1)?),
                n if n >= 3 && http_version(word(n - 1)?) => {
                    // The target runs from the first word after the method to the version.
                    let (from, to) = (words.get(1)?.start, words.get(n - 2)?.end);
                    // A NUL that ends it is a C string's terminator, written along.
                    let target = trim_nul(first.get(from..to)?);
                    (Cow::Owned(lossy(trim_nul(word(n - 1)?))), target)
                }
                _ => return None,
            };
            let http09 = version == "HTTP/0.9";
            let request = Request {
                method: lossy(method),
                target: lossy(target),
                version,
                headers: Vec::new(),
                body: Vec::new(),
                body_len: 0,
                frame: 0,
            };
            if http09 {
                match header_follows(bytes, used) {
                    Some(true) => {}
                    Some(false) => return Some(Some((used, Message::Request(request)))),
                    None => return Some(None),
                }
            }
            Message::Request(request)
        }
        Side::Response => {
            let version = word(0)?;
            let code = word(1)?;
            if !http_version(version) || code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let reason = words
                .get(1)
                .and_then(|r| first.get(r.end..))
                .unwrap_or_default();
            Message::Response(Response {
                status: lossy(code).parse().ok()?,
                reason: lossy(trim_blank(reason)),
                version: Cow::Owned(lossy(trim_nul(version))),
                headers: Vec::new(),
                body_len: 0,
                frame: 0,
                html: None,
                scan: Default::default(),
            })
        }
    };
    let headers = match &mut msg {
        Message::Request(r) => &mut r.headers,
        Message::Response(r) => &mut r.headers,
    };
    loop {
        let Some((line, next)) = line_at(bytes, used) else {
            return Some(None);
        };
        used = next;
        if line.is_empty() {
            return Some(Some((used, msg)));
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            // A folded line continues the header before it.
            if let Some((_, value)) = headers.last_mut() {
                let more = lossy(trim_blank(line));
                if !more.is_empty() {
                    value.push(' ');
                    value.push_str(&more);
                }
            }
            continue;
        }
        let Some((name, value)) = line
            .iter()
            .position(|b| *b == b':')
            .and_then(|colon| Some((line.get(..colon)?, line.get(colon + 1..)?)))
        else {
            continue;
        };
        let name = trim_blank(name);
        if name.is_empty() || !name.iter().all(|b| is_token(*b)) || headers.len() >= MAX_HEADERS {
            continue;
        }
        headers.push((lossy(name), lossy(trim_blank(value))));
    }
}

/// The line starting at `from` (without its CR LF or bare LF) and where the next one starts;
/// `None` while it is incomplete.
fn line_at(bytes: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(from..)?;
    let lf = rest.iter().position(|b| *b == b'\n')?;
    let line = rest.get(..lf)?;
    Some((line.strip_suffix(b"\r").unwrap_or(line), from + lf + 1))
}

/// Where the words of a line are: runs of bytes between spaces and tabs.
fn words(line: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in line.iter().enumerate() {
        match (start, *b == b' ' || *b == b'\t') {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..line.len());
    }
    out
}

/// `HTTP/` and a version of digits and dots, as seen (`HTTP/1.0.8`); NULs after it are padding.
fn http_version(word: &[u8]) -> bool {
    let word = trim_nul(word);
    word.len() <= 16
        && word.strip_prefix(b"HTTP/").is_some_and(|v| {
            v.first().is_some_and(u8::is_ascii_digit)
                && v.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        })
}

/// What a head could still become while its first line is incomplete.
fn plausible_start(side: Side, bytes: &[u8]) -> bool {
    let bytes = bytes.get(..MAX_HEAD).unwrap_or(bytes);
    match side {
        Side::Request => {
            let method_len = bytes.iter().take_while(|b| is_method_byte(**b)).count();
            method_len > 0
                && method_len <= MAX_METHOD
                && bytes.get(method_len).is_none_or(|b| *b == b' ')
        }
        Side::Response => {
            let n = bytes.len().min(5);
            bytes.get(..n) == b"HTTP/".get(..n)
        }
    }
}

/// After an HTTP/0.9-looking request line: does a header line follow (`Name:` before any
/// space)? Then it is a request that forgot its version, read with its headers. `Some(false)`
/// when nothing follows yet or the next line is no header; `None` while that line is incomplete.
fn header_follows(bytes: &[u8], from: usize) -> Option<bool> {
    if bytes.len() <= from {
        return Some(false);
    }
    let (line, _) = line_at(bytes, from)?;
    let name_len = line.iter().take_while(|b| is_token(**b)).count();
    Some(name_len > 0 && line.get(name_len) == Some(&b':'))
}

fn is_method_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'-' || b == b'_'
}

/// RFC 9110 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim_blank(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|c| *c != 0).map_or(0, |e| e + 1);
    b.get(..end).unwrap_or_default()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl StreamParser for Http1Flow {
    type Item = HttpItem;

    /// Bytes held for parsing, for memory accounting.
    fn buffered(&self) -> usize {
        self.requests.held() + self.responses.held()
    }

    fn on_data(
        &mut self,
        dir: Direction,
        mut data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<HttpItem>,
    ) {
        if dir == Direction::ClientToServer {
            self.requests
                .feed(data, ctx.frame, &mut self.pending, false, out);
            return;
        }
        self.requests.end_unframed(out);
        // While the client waits on a switch of protocols, responses are read one at a time so
        // the held requests resume in their place.
        while !data.is_empty() {
            let start = out.len();
            let paused = matches!(self.requests.state, State::Paused(_));
            let used = self
                .responses
                .feed(data, ctx.frame, &mut self.pending, paused, out);
            data = &data[used..];
            self.after(start, out);
            if used == 0 {
                break;
            }
        }
    }

    /// `n` bytes of one direction were lost.
    fn on_gap(&mut self, dir: Direction, n: u64, out: &mut Vec<HttpItem>) {
        let start = out.len();
        let reader = if dir == Direction::ClientToServer {
            &mut self.requests
        } else {
            &mut self.responses
        };
        reader.gap(n, out);
        self.after(start, out);
    }

    /// The connection is over: a response that runs until the close is complete, and a message
    /// cut short is reported with what was seen of it.
    fn on_end(&mut self, out: &mut Vec<HttpItem>) {
        self.requests.end(out);
        self.responses.end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds client and server bytes, each split at `cut`, and returns the items.
    fn run(client: &[u8], server: &[u8], cut: usize) -> Vec<HttpItem> {
        let mut flow = Http1Flow::default();
        let mut out = Vec::new();
        let (c1, c2) = client.split_at(cut.min(client.len()));
        let (s1, s2) = server.split_at(cut.min(server.len()));
        flow.feed(Direction::ClientToServer, c1, &mut out);
        flow.feed(Direction::ClientToServer, c2, &mut out);
        flow.feed(Direction::ServerToClient, s1, &mut out);
        flow.feed(Direction::ServerToClient, s2, &mut out);
        flow.on_end(&mut out);
        out
    }

    fn summary(items: &[HttpItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                HttpItem::Request(r) => format!(
                    "{} {} {} body={} kept={:?}",
                    r.method,
                    r.target,
                    r.version,
                    r.body_len,
                    String::from_utf8_lossy(&r.body)
                ),
                HttpItem::Response(r) => format!("{} {} body={}", r.status, r.reason, r.body_len),
                HttpItem::Error(e) => format!("error: {e}"),
            })
            .collect()
    }

    const PIPELINE_REQ: &[u8] = b"GET /a HTTP/1.1\r\nHost: lab\r\n\r\nHEAD /b HTTP/1.1\r\nHost: lab\r\n\r\nPOST /login HTTP/1.1\r\nHost: lab\r\nContent-Length: 24\r\nExpect: 100-continue\r\n\r\nuser=bob&password=hunter\
GET /c HTTP/1.0\r\n\r\n";
    const PIPELINE_RESP: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil the end";

    #[test]
    fn pipelined_exchange_split_at_every_byte() {
        let expected = [
            "GET /a HTTP/1.1 body=0 kept=\"\"",
            "HEAD /b HTTP/1.1 body=0 kept=\"\"",
            "POST /login HTTP/1.1 body=24 kept=\"user=bob&password=hunter\"",
            "GET /c HTTP/1.0 body=0 kept=\"\"",
            "200 OK body=11",
            "200 OK body=0",
            "100 Continue body=0",
            "204 No Content body=0",
            "200 OK body=13",
        ];
        for cut in 0..PIPELINE_RESP.len() {
            assert_eq!(
                summary(&run(PIPELINE_REQ, PIPELINE_RESP, cut)),
                expected,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn byte_at_a_time() {
        let mut flow = Http1Flow::default();
        let mut out = Vec::new();
        for b in PIPELINE_REQ {
            flow.feed(Direction::ClientToServer, std::slice::from_ref(b), &mut out);
        }
        for b in PIPELINE_RESP {
            flow.feed(Direction::ServerToClient, std::slice::from_ref(b), &mut out);
        }
        flow.on_end(&mut out);
        assert_eq!(out.len(), 9);
    }

    #[test]
    fn malformed_is_one_error_and_stops_that_direction() {
        let items = run(
            b"GET / SIP/2.0\r\nBad Header\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
            b"",
            5,
        );
        assert_eq!(items.len(), 1);
        assert!(
            matches!(&items[0], HttpItem::Error(e) if e.to_string().contains("malformed HTTP request"))
        );
        let items = run(b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n", b"", 0);
        assert!(
            matches!(items.last(), Some(HttpItem::Error(e)) if e.to_string().contains("Content-Length"))
        );
    }

    #[test]
    fn huge_content_length_and_endless_chunks_stay_bounded() {
        let mut flow = Http1Flow::default();
        let mut out = Vec::new();
        flow.feed(
            Direction::ClientToServer,
            b"POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
            &mut out,
        );
        let block = vec![b'x'; 64 << 10];
        for _ in 0..40 {
            flow.feed(Direction::ClientToServer, &block, &mut out);
        }
        assert!(flow.buffered() <= MAX_BODY_KEPT + (64 << 10));
        flow.on_end(&mut out);
        assert!(
            matches!(&out[..], [HttpItem::Request(r)] if r.body_len == 40 * 65536 && r.body.len() == MAX_BODY_KEPT)
        );
        let huge_head = vec![b'a'; MAX_HEAD + 10];
        let items = run(b"GET / HTTP/1.1\r\nX: ", &huge_head, 0);
        assert!(items.is_empty() || matches!(items[0], HttpItem::Error(_)));
        let mut flow = Http1Flow::default();
        let mut out = Vec::new();
        flow.feed(
            Direction::ClientToServer,
            b"GET / HTTP/1.1\r\nX: ",
            &mut out,
        );
        flow.feed(Direction::ClientToServer, &huge_head, &mut out);
        assert!(matches!(&out[..], [HttpItem::Error(e)] if e.to_string().contains("longer than")));
    }

    #[test]
    fn upgrade_and_connect_stop_parsing() {
        let items = run(
            b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi",
            0,
        );
        assert_eq!(
            summary(&items),
            [
                "GET /chat HTTP/1.1 body=0 kept=\"\"",
                "101 Switching Protocols body=0"
            ]
        );
        let items = run(
            b"CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01",
            b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03",
            0,
        );
        assert_eq!(items.len(), 2);
        // An upgrade the server declines: HTTP/1.1 goes on with the bytes held meanwhile.
        let items = run(
            b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            0,
        );
        assert_eq!(
            summary(&items),
            [
                "GET / HTTP/1.1 body=0 kept=\"\"",
                "200 OK body=0",
                "GET /next HTTP/1.1 body=0 kept=\"\"",
                "404 Not Found body=0"
            ]
        );
    }

    #[test]
    fn gap_inside_a_known_length_body_keeps_framing() {
        let mut flow = Http1Flow::default();
        let mut out = Vec::new();
        flow.feed(
            Direction::ServerToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            &mut out,
        );
        flow.on_gap(Direction::ServerToClient, 5, &mut out);
        flow.feed(
            Direction::ServerToClient,
            b"fghHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &mut out,
        );
        assert_eq!(summary(&out), ["200 OK body=10", "404 Not Found body=0"]);
    }

    /// Every split of the client's and the server's bytes gives `expected`.
    fn every_split(client: &[u8], server: &[u8], expected: &[&str]) {
        for cut in 0..=client.len().max(server.len()) {
            assert_eq!(
                summary(&run(client, server, cut)),
                expected,
                "cut at {cut} of {:?}",
                String::from_utf8_lossy(client)
            );
        }
    }

    #[test]
    fn odd_version_tokens_are_reported_as_seen() {
        every_split(
            b"GET /cam HTTP/1.0.8\r\nAuthorization: Basic YWRtaW46MTIzNA==\r\n\r\nGET /b HTTP/1.2\r\n\r\n",
            b"HTTP/1.0.8 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n",
            &[
                "GET /cam HTTP/1.0.8 body=0 kept=\"\"",
                "GET /b HTTP/1.2 body=0 kept=\"\"",
                "200 OK body=2",
                "204 No Content body=0",
            ],
        );
        let items = run(
            b"GET /cam HTTP/1.0.8\r\nAuthorization: Basic YWRtaW46MTIzNA==\r\n\r\n",
            b"",
            0,
        );
        let HttpItem::Request(r) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            header(&r.headers, "authorization"),
            Some("Basic YWRtaW46MTIzNA==")
        );
    }

    #[test]
    fn http09_requests_and_their_bare_answers() {
        every_split(
            b"GET /secret.txt\r\n",
            b"the whole document, no status line\n",
            &["GET /secret.txt HTTP/0.9 body=0 kept=\"\""],
        );
        // No version but headers after it: read with its headers, however the bytes are cut
        // (only a cut right after the first line leaves it a bare HTTP/0.9 request).
        let client = b"GET /x\r\nAuthorization: Basic Ym9iOnB3\r\n\r\n";
        for cut in (0..=client.len()).filter(|c| *c != 8) {
            let items = run(client, b"", cut);
            assert_eq!(
                summary(&items),
                ["GET /x HTTP/0.9 body=0 kept=\"\""],
                "cut {cut}"
            );
            let HttpItem::Request(r) = &items[0] else {
                panic!()
            };
            assert_eq!(
                header(&r.headers, "authorization"),
                Some("Basic Ym9iOnB3"),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn bare_lf_folding_and_nul_in_the_request_line() {
        every_split(
            b"GET /a HTTP/1.1\nHost: cam\n\nGET /cgi?x=1\0 HTTP/1.1\r\nAuthorization: Basic\r\n \t YWRtaW46YWRtaW4=\r\nX-Nameless\r\n\r\n",
            b"",
            &[
                "GET /a HTTP/1.1 body=0 kept=\"\"",
                "GET /cgi?x=1 HTTP/1.1 body=0 kept=\"\"",
            ],
        );
        let items = run(
            b"GET / HTTP/1.1\r\nAuthorization: Basic\r\n YWRtaW46YWRtaW4=\r\n\r\n",
            b"",
            0,
        );
        let HttpItem::Request(r) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(r.headers.len(), 1);
        assert_eq!(
            header(&r.headers, "authorization"),
            Some("Basic YWRtaW46YWRtaW4=")
        );
    }

    #[test]
    fn a_post_without_content_length_keeps_its_body_until_the_answer() {
        every_split(
            b"POST /login HTTP/1.0\r\nHost: cam\r\n\r\nuser=admin&pass=1234",
            b"HTTP/1.0 200 OK\r\n\r\nwelcome",
            &[
                "POST /login HTTP/1.0 body=20 kept=\"user=admin&pass=1234\"",
                "200 OK body=7",
            ],
        );
        // What follows is the next request, not a body.
        every_split(
            b"POST /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
            b"",
            &[
                "POST /a HTTP/1.1 body=0 kept=\"\"",
                "GET /b HTTP/1.1 body=0 kept=\"\"",
            ],
        );
        // A body cut by the end of the capture is reported with what was seen.
        let items = run(b"PUT /cfg HTTP/1.1\r\n\r\npassword=x", b"", 3);
        assert_eq!(
            summary(&items),
            ["PUT /cfg HTTP/1.1 body=10 kept=\"password=x\""]
        );
        // A last segment that could have begun a request ("P") was body.
        let mut flow = Http1Flow::default();
        let mut out = Vec::new();
        flow.feed(
            Direction::ClientToServer,
            b"POST /a HTTP/1.0\r\n\r\nx=1&y=",
            &mut out,
        );
        flow.feed(Direction::ClientToServer, b"P", &mut out);
        flow.on_end(&mut out);
        assert_eq!(summary(&out), ["POST /a HTTP/1.0 body=7 kept=\"x=1&y=P\""]);
    }

    #[test]
    fn what_is_not_http_stays_an_error() {
        for bad in [
            &b"GET / RTSP/1.0\r\n\r\n"[..],
            b"\x16\x03\x01\x00\x05hello\r\n\r\n",
            b"get / HTTP/1.1 trailing\r\n\r\n",
            b"POST /x HTTP/one\r\n\r\n",
        ] {
            let items = run(bad, b"", 0);
            assert!(
                matches!(items.as_slice(), [HttpItem::Error(_)]),
                "{:?}: {items:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let items = run(b"", b"RTSP/1.0 200 OK\r\n\r\n", 0);
        assert!(
            matches!(items.as_slice(), [HttpItem::Error(_)]),
            "{items:?}"
        );
    }
}
