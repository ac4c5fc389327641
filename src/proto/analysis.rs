//! A flow's application layer: the protocol verdict, then that protocol's parser, fed with the
//! reassembled streams in order. Its outputs become events in the engine.

use super::dns::{DnsQuestion, DnsTcpReader};
use super::http::{Http1Flow, HttpItem, Request, Response};
use super::http2::{looks_like_server_h2, H2Item, Http2Flow, PREFACE};
use super::mail::{LineFlow, LineProtocol};
use super::quic::QuicConnection;
use super::telnet::TelnetFlow;
use super::tls::flow::{TlsFlow, TlsOutput};
use super::tls::handshake::{ClientHello, ServerHello};
use super::tls::TlsRecordCounter;
use super::{Framed, Held, ProtocolDetector, StreamContext, StreamParser};
use crate::creds::http::{from_request, RequestView};
use crate::creds::Found;
use crate::event::Protocol;
use crate::flow::{Chunk, Direction};

/// What the application layer found in a flow.
#[derive(Debug, Clone, PartialEq)]
pub enum AppOutput {
    /// An HTTP request; `decrypted` when read thanks to the key log; `stream` for HTTP/2.
    Request {
        request: Request,
        decrypted: bool,
        stream: Option<u32>,
    },
    Response {
        response: Response,
        decrypted: bool,
        stream: Option<u32>,
    },
    Credential {
        found: Found,
        decrypted: bool,
    },
    Dns(DnsQuestion),
    ClientHello(ClientHello),
    ServerHello(ServerHello),
    /// A Certificate message's certificates (DER), leaf first, as sent, and the server name the
    /// client asked for (SNI).
    Certificate {
        chain: Vec<Vec<u8>>,
        server_name: Option<String>,
    },
    Decryption {
        result: super::tls::DecryptionResult,
        detail: String,
    },
    /// Malformed protocol data: a `parse_error` anomaly for the flow.
    ParseError(String),
    /// Stream bytes as they crossed the wire, or as decrypted (when payloads are reported).
    Payload {
        dir: Direction,
        offset: u64,
        data: Vec<u8>,
        decrypted: bool,
    },
    /// A TLS record as it crossed the wire (when payloads are reported).
    Record(super::tls::flow::RecordSeen),
}

/// Where each direction's stream stands, to report its first bytes as payloads.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PayloadTap {
    /// Bytes of each direction so far (holes included).
    offset: [u64; 2],
}

impl PayloadTap {
    /// Reports what of `data` falls within the first `limit` bytes, and moves on past it.
    pub(crate) fn data(
        &mut self,
        dir: Direction,
        data: &[u8],
        frame: u64,
        limit: Option<usize>,
        decrypted: bool,
        out: &mut Vec<Output>,
    ) {
        let offset = &mut self.offset[dir.index()];
        if let Some(limit) = limit {
            let room = (limit as u64).saturating_sub(*offset);
            let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            if take > 0 {
                out.push(Framed {
                    frame,
                    item: AppOutput::Payload {
                        dir,
                        offset: *offset,
                        data: data[..take].to_vec(),
                        decrypted,
                    },
                });
            }
        }
        *offset += data.len() as u64;
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        self.offset[dir.index()] += len;
    }
}

/// What the application layer found, with the packet that carried its first byte.
pub type Output = Framed<AppOutput>;

/// HTTP of either version, on one connection: HTTP/1.x, or HTTP/2 (prior knowledge, or h2
/// inside TLS), chosen from the first bytes seen.
#[derive(Debug)]
enum HttpParser {
    H1(Box<Http1Flow>),
    H2(Box<Http2Flow>),
}

impl HttpParser {
    /// The version a connection speaks, from its first bytes in direction `dir`.
    fn for_first_bytes(dir: Direction, data: &[u8]) -> HttpParser {
        let h2 = match dir {
            // At least "PRI": one byte alone could as well be the start of POST or PUT.
            Direction::ClientToServer => {
                data.len() >= 3 && data.starts_with(&PREFACE[..data.len().min(PREFACE.len())])
            }
            Direction::ServerToClient => looks_like_server_h2(data),
        };
        if h2 {
            HttpParser::H2(Box::default())
        } else {
            HttpParser::H1(Box::default())
        }
    }

    /// Bytes of one direction (from packet `frame`); what they complete becomes outputs (with
    /// the HTTP/2 stream).
    fn data(
        &mut self,
        dir: Direction,
        data: &[u8],
        frame: u64,
        decrypted: bool,
        out: &mut Vec<Output>,
    ) {
        let ctx = StreamContext {
            frame,
            ..StreamContext::default()
        };
        match self {
            HttpParser::H1(h) => {
                let mut items = Vec::new();
                h.on_data(dir, data, &ctx, &mut items);
                http_outputs(items.into_iter().map(|i| (None, i)), frame, decrypted, out);
            }
            HttpParser::H2(h) => {
                let mut items = Vec::new();
                h.on_data(dir, data, &ctx, &mut items);
                http_outputs(items.into_iter().map(H2Item::split), frame, decrypted, out);
            }
        }
    }

    fn gap(
        &mut self,
        dir: Direction,
        len: u64,
        frame: u64,
        decrypted: bool,
        out: &mut Vec<Output>,
    ) {
        match self {
            HttpParser::H1(h) => {
                let mut items = Vec::new();
                h.on_gap(dir, len, &mut items);
                http_outputs(items.into_iter().map(|i| (None, i)), frame, decrypted, out);
            }
            HttpParser::H2(h) => {
                let mut items = Vec::new();
                h.on_gap(dir, len, &mut items);
                http_outputs(items.into_iter().map(H2Item::split), frame, decrypted, out);
            }
        }
    }

    fn end(&mut self, frame: u64, decrypted: bool, out: &mut Vec<Output>) {
        match self {
            HttpParser::H1(h) => {
                let mut items = Vec::new();
                h.on_end(&mut items);
                http_outputs(items.into_iter().map(|i| (None, i)), frame, decrypted, out);
            }
            HttpParser::H2(h) => {
                let mut items = Vec::new();
                h.on_end(&mut items);
                http_outputs(items.into_iter().map(H2Item::split), frame, decrypted, out);
            }
        }
    }

    fn held(&self) -> usize {
        match self {
            HttpParser::H1(h) => h.buffered(),
            HttpParser::H2(h) => h.buffered(),
        }
    }
}

/// What TLS carries, read from its decrypted data: HTTP (of either version), or, after
/// STARTTLS, the mail or FTP commands that went on inside.
#[derive(Debug)]
enum Inner {
    Http(HttpParser),
    Lines(Box<LineFlow>),
}

impl Inner {
    fn data(&mut self, dir: Direction, data: &[u8], frame: u64, out: &mut Vec<Output>) {
        match self {
            Inner::Http(h) => h.data(dir, data, frame, true, out),
            Inner::Lines(l) => {
                let mut found = Vec::new();
                let ctx = StreamContext {
                    frame,
                    ..StreamContext::default()
                };
                l.on_data(dir, data, &ctx, &mut found);
                credentials(found, true, out);
            }
        }
    }

    fn end(&mut self, frame: u64, out: &mut Vec<Output>) {
        if let Inner::Http(h) = self {
            h.end(frame, true, out);
        }
    }

    fn held(&self) -> usize {
        match self {
            Inner::Http(h) => h.held(),
            Inner::Lines(l) => l.buffered(),
        }
    }
}

#[derive(Debug, Default)]
enum Parser {
    /// No verdict yet, or a protocol without a parser (unknown).
    #[default]
    None,
    /// HTTP in the clear; the version is chosen on the first bytes.
    Http(Option<HttpParser>),
    Lines(Box<LineFlow>),
    Telnet(Box<TelnetFlow>),
    /// TLS, what is read from its decrypted data, and where the decrypted streams stand.
    Tls(Box<TlsFlow>, Option<Inner>, PayloadTap),
}

/// Credentials found by a parser of commands (FTP, mail, telnet) as outputs; `decrypted` when
/// read inside TLS thanks to the keys.
fn credentials(found: Vec<Framed<Found>>, decrypted: bool, out: &mut Vec<Output>) {
    out.extend(found.into_iter().map(|f| Framed {
        frame: f.frame,
        item: AppOutput::Credential {
            found: f.item,
            decrypted,
        },
    }));
}

impl Parser {
    fn for_protocol(p: Protocol) -> Parser {
        match p {
            Protocol::Http => Parser::Http(None),
            Protocol::Ftp => Parser::Lines(Box::new(LineFlow::new(LineProtocol::Ftp))),
            Protocol::Pop3 => Parser::Lines(Box::new(LineFlow::new(LineProtocol::Pop3))),
            Protocol::Imap => Parser::Lines(Box::new(LineFlow::new(LineProtocol::Imap))),
            Protocol::Smtp => Parser::Lines(Box::new(LineFlow::new(LineProtocol::Smtp))),
            Protocol::Telnet => Parser::Telnet(Box::default()),
            Protocol::Tls => Parser::Tls(Box::default(), None, PayloadTap::default()),
            Protocol::Quic | Protocol::Unknown => Parser::None,
        }
    }

    fn data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        let mut found = Vec::new();
        match self {
            Parser::None => {}
            Parser::Http(h) => h
                .get_or_insert_with(|| HttpParser::for_first_bytes(dir, data))
                .data(dir, data, ctx.frame, false, out),
            Parser::Tls(tls, inner, tap) => {
                let mut items = Vec::new();
                tls.on_data(dir, data, ctx, &mut items);
                tls_outputs(items, inner, tap, ctx.payloads, out);
            }
            Parser::Lines(l) => l.on_data(dir, data, ctx, &mut found),
            Parser::Telnet(t) => t.on_data(dir, data, ctx, &mut found),
        }
        credentials(found, false, out);
    }

    fn gap(&mut self, dir: Direction, len: u64, frame: u64, out: &mut Vec<Output>) {
        let mut found = Vec::new();
        match self {
            Parser::None | Parser::Http(None) => {}
            Parser::Http(Some(h)) => h.gap(dir, len, frame, false, out),
            Parser::Lines(l) => l.on_gap(dir, len, &mut found),
            Parser::Telnet(t) => t.on_gap(dir, len, &mut found),
            Parser::Tls(tls, _, _) => {
                let mut items = Vec::new();
                tls.on_gap(dir, len, &mut items);
            }
        }
        credentials(found, false, out);
    }

    fn end(&mut self, frame: u64, out: &mut Vec<Output>) {
        match self {
            Parser::Http(Some(h)) => h.end(frame, false, out),
            Parser::Tls(tls, inner, tap) => {
                let mut items = Vec::new();
                tls.on_end(&mut items);
                tls_outputs(items, inner, tap, None, out);
                if let Some(inner) = inner {
                    inner.end(frame, out);
                }
            }
            _ => {}
        }
    }

    fn held(&self) -> usize {
        match self {
            Parser::None => 0,
            Parser::Http(h) => h.as_ref().map_or(0, HttpParser::held),
            Parser::Lines(l) => l.buffered(),
            Parser::Telnet(t) => t.buffered(),
            Parser::Tls(t, inner, _) => t.buffered() + inner.as_ref().map_or(0, Inner::held),
        }
    }
}

/// TLS findings as outputs; decrypted application data goes through HTTP (either version).
fn tls_outputs(
    items: Vec<Framed<TlsOutput>>,
    inner: &mut Option<Inner>,
    tap: &mut PayloadTap,
    payloads: Option<usize>,
    out: &mut Vec<Output>,
) {
    for Framed { frame, item } in items {
        let output = match item {
            TlsOutput::ClientHello(c) => AppOutput::ClientHello(c),
            TlsOutput::ServerHello(s) => AppOutput::ServerHello(s),
            TlsOutput::Certificate { chain, server_name } => {
                AppOutput::Certificate { chain, server_name }
            }
            TlsOutput::Decryption { result, detail } => AppOutput::Decryption { result, detail },
            TlsOutput::Error(e) => AppOutput::ParseError(e.to_string()),
            TlsOutput::Record(record) => AppOutput::Record(record),
            TlsOutput::AppData { dir, data } => {
                tap.data(dir, &data, frame, payloads, true, out);
                inner
                    .get_or_insert_with(|| Inner::Http(HttpParser::for_first_bytes(dir, &data)))
                    .data(dir, &data, frame, out);
                continue;
            }
        };
        out.push(Framed {
            frame,
            item: output,
        });
    }
}

/// HTTP messages (with their HTTP/2 stream) as outputs; each request is followed by the
/// credentials it carries — one path for both versions.
/// `frame` is the packet being read, for errors; messages carry their own.
pub(crate) fn http_outputs(
    items: impl IntoIterator<Item = (Option<u32>, HttpItem)>,
    frame: u64,
    decrypted: bool,
    out: &mut Vec<Output>,
) {
    for (stream, item) in items {
        match item {
            HttpItem::Request(request) => {
                let found = from_request(&RequestView {
                    target: &request.target,
                    headers: &request.headers,
                    body: &request.body,
                });
                let frame = request.frame;
                out.push(Framed {
                    frame,
                    item: AppOutput::Request {
                        request,
                        decrypted,
                        stream,
                    },
                });
                out.extend(found.into_iter().map(|found| Framed {
                    frame,
                    item: AppOutput::Credential { found, decrypted },
                }));
            }
            HttpItem::Response(response) => out.push(Framed {
                frame: response.frame,
                item: AppOutput::Response {
                    response,
                    decrypted,
                    stream,
                },
            }),
            HttpItem::Error(e) => out.push(Framed {
                frame,
                item: AppOutput::ParseError(e.to_string()),
            }),
        }
    }
}

/// The application layer of one flow.
#[derive(Debug, Default)]
pub struct FlowAnalysis {
    detector: ProtocolDetector,
    tls: [TlsRecordCounter; 2],
    parser: Parser,
    /// DNS over TCP (the server port is a DNS port): queries read from the client's stream.
    dns_tcp: Option<Box<DnsTcpReader>>,
    /// The streams as they crossed the wire.
    wire: PayloadTap,
    /// The flow switched to TLS inside its protocol (STARTTLS, STLS, AUTH TLS).
    starttls: bool,
    /// A QUIC connection (a UDP flow): read datagram by datagram, none of the above is used.
    quic: Option<Box<QuicConnection>>,
}

impl FlowAnalysis {
    pub fn new(dns_over_tcp: bool) -> FlowAnalysis {
        FlowAnalysis {
            dns_tcp: dns_over_tcp.then(Box::default),
            ..Default::default()
        }
    }

    /// The application layer of a QUIC connection, from its first datagram.
    pub fn quic(start: crate::proto::quic::QuicStart) -> FlowAnalysis {
        FlowAnalysis {
            quic: Some(Box::new(crate::proto::quic::QuicConnection::starting(
                start,
            ))),
            ..Default::default()
        }
    }

    /// UDP payload bytes of each direction, for a QUIC flow.
    pub fn datagram_bytes(&self) -> Option<[u64; 2]> {
        self.quic.as_ref().map(|q| q.bytes())
    }

    /// One UDP datagram of a QUIC flow, read while reading packet `ctx.frame`.
    pub fn on_datagram(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        if let Some(q) = self.quic.as_mut() {
            q.on_datagram(dir, data, ctx, out);
        }
    }

    /// Records and bytes of TLS framing seen, both directions.
    pub fn tls_totals(&self) -> (u64, u64) {
        let [a, b] = &self.tls;
        (a.records + b.records, a.bytes + b.bytes)
    }

    /// Bytes held by parsers and the detector, for the memory cap.
    pub fn held(&self) -> usize {
        self.detector.held_bytes()
            + self.parser.held()
            + self.quic.as_ref().map_or(0, |q| q.held())
            + self.dns_tcp.as_ref().map_or(0, |d| d.buffered())
    }

    /// A chunk of one direction's stream, delivered while reading packet `ctx.frame`.
    pub fn on_chunk(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        ctx: &StreamContext<'_>,
        out: &mut Vec<Output>,
    ) {
        let client = dir == Direction::ClientToServer;
        match chunk {
            Chunk::Data(data) => {
                self.wire
                    .data(dir, data, ctx.frame, ctx.payloads, false, out);
                if self.starttls || matches!(self.detector.verdict(), None | Some(Protocol::Tls)) {
                    self.tls[dir.index()].feed(data);
                }
                if let Some(dns) = self.dns_tcp.as_mut().filter(|_| client) {
                    let mut questions = Vec::new();
                    dns.on_data(dir, data, ctx, &mut questions);
                    out.extend(questions.into_iter().map(|q| Framed {
                        frame: q.frame,
                        item: AppOutput::Dns(q.item),
                    }));
                }
                if self.detector.verdict().is_some() {
                    self.parser.data(dir, data, ctx, out);
                } else if let Some(p) = self.detector.feed(dir, data, ctx.frame) {
                    self.start_parser(p, ctx, out);
                }
                self.check_starttls();
            }
            Chunk::Gap(len) => {
                self.wire.gap(dir, len);
                self.tls[dir.index()].gap();
                if let Some(dns) = self.dns_tcp.as_mut() {
                    dns.on_gap(dir, len, &mut Vec::new());
                }
                if self.detector.verdict().is_some() {
                    self.parser.gap(dir, len, ctx.frame, out);
                } else {
                    self.detector.gap(dir, len, ctx.frame);
                }
            }
        }
    }

    /// Whether the flow switched to TLS inside its protocol (STARTTLS and the like).
    pub fn starttls(&self) -> bool {
        self.starttls
    }

    /// Once the server accepted STARTTLS, the rest of the flow is read as TLS, and what TLS
    /// carries (once decrypted) as the same protocol's commands, starting afresh.
    fn check_starttls(&mut self) {
        let Parser::Lines(lines) = &self.parser else {
            return;
        };
        if !lines.switched_to_tls() {
            return;
        }
        let inside = Inner::Lines(Box::new(LineFlow::new(lines.protocol())));
        self.parser = Parser::Tls(Box::default(), Some(inside), PayloadTap::default());
        self.starttls = true;
        // Records are counted from the switch (the counters gave up on the plaintext before).
        self.tls = Default::default();
    }

    /// The flow is over (its last packet was `ctx.frame`): the verdict is settled and the parser
    /// told.
    pub fn on_end(&mut self, ctx: &StreamContext<'_>, out: &mut Vec<Output>) -> Protocol {
        if let Some(q) = self.quic.as_mut() {
            q.on_end(ctx, out);
            return Protocol::Quic;
        }
        if self.detector.verdict().is_none() {
            let p = self.detector.finish();
            self.start_parser(p, ctx, out);
        }
        self.parser.end(ctx.frame, out);
        self.parser = Parser::None;
        self.detector.verdict().unwrap_or(Protocol::Unknown)
    }

    /// The verdict is in: the parser reads everything held so far, in order, each piece with the
    /// packet it came in.
    fn start_parser(&mut self, p: Protocol, ctx: &StreamContext<'_>, out: &mut Vec<Output>) {
        let mut parser = Parser::for_protocol(p);
        if let Parser::Http(version) = &mut parser {
            // The version from everything the client sent so far, not from its first chunk.
            *version = Some(
                if self.detector.held_client().starts_with(b"PRI * HTTP/2.0") {
                    HttpParser::H2(Box::default())
                } else if self.detector.held_client().is_empty() {
                    HttpParser::for_first_bytes(
                        Direction::ServerToClient,
                        self.detector.held_server(),
                    )
                } else {
                    HttpParser::H1(Box::default())
                },
            );
        }
        self.detector.replay(|item, bytes| match item {
            Held::Data { dir, frame, .. } => {
                let held = StreamContext { frame, ..*ctx };
                parser.data(dir, bytes, &held, out)
            }
            Held::Gap { dir, len, frame } => parser.gap(dir, len, frame, out),
        });
        self.parser = parser;
    }
}
