//! Application protocols: what a flow carries, found from its first bytes (never its port).
//!
//! [`detect`] is a pure function over the first bytes each side sent. The full parsers (HTTP,
//! TLS, the mail protocols, telnet) build on the verdict.

pub mod analysis;
pub mod dns;
pub mod findings;
pub mod hpack;
pub mod html;
pub mod http;
pub mod http2;
pub mod http3;
pub mod mail;
pub mod qpack;
pub mod quic;
pub mod telnet;
pub mod tls;

use crate::flow::Direction;

crate::base::wire_names! {
    /// What a flow carries, found from its bytes rather than its port.
    pub enum Protocol {
        Http = "http",
        Tls = "tls",
        Ftp = "ftp",
        Pop3 = "pop3",
        Imap = "imap",
        Smtp = "smtp",
        Telnet = "telnet",
        /// QUIC (UDP): TLS 1.3 inside, HTTP/3 on top.
        Quic = "quic",
        Unknown = "unknown",
    }
}

/// What a stream parser may need besides the bytes: the run's TLS secrets, and the packet the
/// bytes came in (for the frame number of what they start).
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamContext<'a> {
    pub keys: Option<&'a tls::decrypt::KeyLog>,
    /// The packet that delivered these bytes (1-based in its capture; 0 when unknown).
    pub frame: u64,
    /// `--payload-bytes` when payloads and TLS records are reported (`report --payloads`, the
    /// UI): the first this many bytes of each stream are.
    pub payloads: Option<usize>,
}

/// Something a parser found, with the packet that carried its first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed<T> {
    pub frame: u64,
    pub item: T,
}

/// The one interface of every parser that reads a flow's reassembled streams (HTTP/1.x,
/// HTTP/2, TLS, the mail and FTP commands, telnet, DNS over TCP). The engine hands each parser
/// the bytes of both directions in order, holes as gaps, and the end; parsers are pure state
/// machines over those calls and push what they find to `out`.
pub trait StreamParser {
    /// What the parser finds: messages, credentials, handshakes…
    type Item;

    /// In-order bytes of one direction.
    fn on_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Self::Item>,
    );

    /// `len` bytes of one direction were never seen: the parser resynchronises or gives up on
    /// that direction.
    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut Vec<Self::Item>);

    /// The flow is over: whatever was held is reported as far as it goes.
    fn on_end(&mut self, _out: &mut Vec<Self::Item>) {}

    /// Bytes held for parsing, charged to the memory cap.
    fn buffered(&self) -> usize;

    /// [`StreamParser::on_data`] without keys: for parsers that need none, and for tests.
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<Self::Item>) {
        self.on_data(dir, data, &StreamContext::default(), out);
    }
}

impl Protocol {
    /// Protocols whose bytes an eavesdropper reads as they are.
    pub fn is_plaintext(self) -> bool {
        !matches!(self, Protocol::Tls | Protocol::Quic | Protocol::Unknown)
    }
}

/// How many bytes of each direction the detector looks at.
pub const DETECT_PREFIX: usize = 256;

pub(crate) const HTTP_METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"REPORT ",
    b"SEARCH ",
];

const FTP_COMMANDS: &[&str] = &[
    "USER", "PASS", "AUTH", "FEAT", "SYST", "OPTS", "PWD", "CWD", "TYPE", "PASV", "EPSV", "PORT",
    "EPRT", "LIST", "NLST", "RETR", "STOR", "ACCT", "PBSZ", "PROT", "MLSD", "SIZE", "MDTM", "NOOP",
    "QUIT",
];
const SMTP_COMMANDS: &[&str] = &[
    "EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA", "STARTTLS", "AUTH", "QUIT",
];
const POP3_COMMANDS: &[&str] = &[
    "USER", "PASS", "APOP", "CAPA", "STAT", "LIST", "RETR", "UIDL", "STLS", "AUTH", "TOP", "QUIT",
];
const IMAP_COMMANDS: &[&str] = &[
    "LOGIN",
    "CAPABILITY",
    "AUTHENTICATE",
    "STARTTLS",
    "SELECT",
    "EXAMINE",
    "LIST",
    "LSUB",
    "NOOP",
    "LOGOUT",
    "ID",
    "ENABLE",
    "STATUS",
    "FETCH",
    "UID",
];

/// The verdict from the first bytes of each direction. `None` while more bytes could still change
/// it; with `final_call` (the flow is over, or enough was seen) the best answer is always given.
pub fn detect(client: &[u8], server: &[u8], final_call: bool) -> Option<Protocol> {
    if is_tls(client) || is_tls(server) {
        return Some(Protocol::Tls);
    }
    if is_telnet(client) || is_telnet(server) {
        return Some(Protocol::Telnet);
    }
    // RTSP and SIP borrow HTTP's syntax (and OPTIONS): their version token or URI says which.
    if [&b"RTSP/"[..], b"SIP/"]
        .iter()
        .any(|p| server.starts_with(p))
    {
        return Some(Protocol::Unknown);
    }
    if HTTP_METHODS.iter().any(|m| client.starts_with(m)) {
        if first_line_complete(client) {
            return Some(if borrows_http_syntax(first_line(client)) {
                Protocol::Unknown
            } else {
                Protocol::Http
            });
        }
        if !final_call && client.len() < DETECT_PREFIX && !server.starts_with(b"HTTP/1.") {
            return None;
        }
        return Some(Protocol::Http);
    }
    if client.starts_with(b"PRI * HTTP/2.0") || server.starts_with(b"HTTP/1.") {
        return Some(Protocol::Http);
    }
    if server.starts_with(b"+OK") {
        return Some(Protocol::Pop3);
    }
    if server.starts_with(b"* OK")
        || server.starts_with(b"* PREAUTH")
        || server.starts_with(b"* BYE")
    {
        return Some(Protocol::Imap);
    }
    if imap_tagged_command(client) {
        return Some(Protocol::Imap);
    }
    let command = first_word(client);
    if server.starts_with(b"220") {
        // FTP and SMTP both greet with 220: the client's first command or the banner tells.
        if let Some(cmd) = &command {
            if ["EHLO", "HELO", "LHLO"].contains(&cmd.as_str()) {
                return Some(Protocol::Smtp);
            }
            if FTP_COMMANDS.contains(&cmd.as_str()) && cmd != "AUTH" && cmd != "QUIT" {
                return Some(Protocol::Ftp);
            }
            // An SMTP client says EHLO before anything else; `AUTH TLS` first is FTPS (RFC 4217).
            let line = String::from_utf8_lossy(first_line(client)).to_ascii_uppercase();
            if matches!(line.trim_end(), "AUTH TLS" | "AUTH SSL" | "AUTH TLS-C") {
                return Some(Protocol::Ftp);
            }
        }
        let banner = String::from_utf8_lossy(first_line(server)).to_ascii_uppercase();
        if banner.contains("SMTP") || banner.contains("MAIL") {
            return Some(Protocol::Smtp);
        }
        if banner.contains("FTP") {
            return Some(Protocol::Ftp);
        }
        if final_call || first_line_complete(client) {
            return Some(match command.as_deref() {
                Some(c) if SMTP_COMMANDS.contains(&c) => Protocol::Smtp,
                _ => Protocol::Ftp,
            });
        }
        return None;
    }
    if server.is_empty() {
        // Only the client was seen (a one-sided capture): its first command is the clue.
        if let Some(cmd) = &command {
            if first_line_complete(client) || final_call {
                if ["EHLO", "HELO"].contains(&cmd.as_str()) {
                    return Some(Protocol::Smtp);
                }
                if cmd == "APOP" || cmd == "CAPA" {
                    return Some(Protocol::Pop3);
                }
                if FTP_COMMANDS.contains(&cmd.as_str()) && !POP3_COMMANDS.contains(&cmd.as_str()) {
                    return Some(Protocol::Ftp);
                }
            }
        }
    }
    let enough = |b: &[u8]| b.len() >= DETECT_PREFIX || first_line_complete(b);
    if final_call || (enough(client) && enough(server)) {
        return Some(Protocol::Unknown);
    }
    None
}

/// A TLS record header (change cipher spec, alert, handshake or application data, version 3.x,
/// a length TLS allows), or an SSLv2-framed ClientHello. Application data counts too: a capture
/// that starts mid-connection sees no handshake.
fn is_tls(b: &[u8]) -> bool {
    match b {
        [a, b, c @ 0x00..=0x04, d, e, ..]
            if tls::record_length(&[*a, *b, *c, *d, *e]).is_some() =>
        {
            true
        }
        [hi, _, 0x01, 0x03, 0x00..=0x03, ..] if hi & 0x80 != 0 => true,
        _ => false,
    }
}

/// Telnet option negotiation: IAC followed by WILL, WONT, DO or DONT.
fn is_telnet(b: &[u8]) -> bool {
    matches!(b, [0xff, 0xfb..=0xfe, ..])
}

fn imap_tagged_command(b: &[u8]) -> bool {
    let line = first_line(b);
    let mut words = line.split(|c| *c == b' ');
    let (Some(tag), Some(cmd)) = (words.next(), words.next()) else {
        return false;
    };
    !tag.is_empty()
        && tag.len() <= 16
        && tag.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.')
        && IMAP_COMMANDS.iter().any(|known| {
            known
                .as_bytes()
                .eq_ignore_ascii_case(cmd.strip_suffix(b"\r").unwrap_or(cmd))
        })
        && !FTP_COMMANDS
            .iter()
            .any(|f| f.as_bytes().eq_ignore_ascii_case(tag))
}

fn first_line(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|c| *c == b'\n').unwrap_or(b.len());
    &b[..end]
}

/// A request line of RTSP or SIP: `OPTIONS rtsp://cam/ RTSP/1.0`, `OPTIONS sip:bob@lab SIP/2.0`.
fn borrows_http_syntax(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line.split(|b| *b == b' ').filter(|w| !w.is_empty());
    let target = words.nth(1).unwrap_or_default();
    let version = words.next_back().unwrap_or_default();
    let starts = |w: &[u8], p: &[u8]| w.len() >= p.len() && w[..p.len()].eq_ignore_ascii_case(p);
    starts(version, b"RTSP/")
        || starts(version, b"SIP/")
        || starts(target, b"rtsp://")
        || starts(target, b"rtsps://")
        || starts(target, b"sip:")
        || starts(target, b"sips:")
}

fn first_line_complete(b: &[u8]) -> bool {
    b.contains(&b'\n')
}

fn first_word(b: &[u8]) -> Option<String> {
    let line = first_line(b);
    let word: Vec<u8> = line
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!word.is_empty()).then(|| String::from_utf8_lossy(&word).into_owned())
}

/// Bytes of each direction kept while the verdict is pending, to hand to the protocol's parser
/// once it is known. Past this, the flow is judged on what was seen.
pub const DETECT_HOLD: usize = 16 << 10;

/// What the detector saw before its verdict, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Data {
        dir: Direction,
        len: usize,
        frame: u64,
    },
    Gap {
        dir: Direction,
        len: u64,
        frame: u64,
    },
}

/// Per-flow detection state: the bytes of each direction seen until a verdict, in order, so the
/// parser chosen by the verdict can read them from the start.
#[derive(Debug, Default)]
pub struct ProtocolDetector {
    held: [Vec<u8>; 2],
    order: Vec<Held>,
    verdict: Option<Protocol>,
}

impl ProtocolDetector {
    pub fn verdict(&self) -> Option<Protocol> {
        self.verdict
    }

    /// Feeds in-order bytes of one direction. Returns the verdict when it is reached with this
    /// chunk (or was already).
    pub fn feed(&mut self, dir: Direction, data: &[u8], frame: u64) -> Option<Protocol> {
        if self.verdict.is_some() {
            return self.verdict;
        }
        let held = &mut self.held[dir.index()];
        held.extend_from_slice(data);
        let full = held.len() >= DETECT_HOLD;
        self.order.push(Held::Data {
            dir,
            len: data.len(),
            frame,
        });
        self.verdict = detect(&self.held[0], &self.held[1], full);
        self.verdict
    }

    /// What the client sent while the verdict was pending.
    pub fn held_client(&self) -> &[u8] {
        &self.held[0]
    }

    /// What the server sent while the verdict was pending.
    pub fn held_server(&self) -> &[u8] {
        &self.held[1]
    }

    /// Bytes lost before a verdict.
    pub fn gap(&mut self, dir: Direction, len: u64, frame: u64) {
        if self.verdict.is_none() {
            self.order.push(Held::Gap { dir, len, frame });
        }
    }

    /// Bytes held while waiting, for memory accounting.
    pub fn held_bytes(&self) -> usize {
        self.held[0].capacity()
            + self.held[1].capacity()
            + self.order.capacity() * std::mem::size_of::<Held>()
    }

    /// The flow is over: the best verdict from what was seen.
    pub fn finish(&mut self) -> Protocol {
        let v = self
            .verdict
            .or_else(|| detect(&self.held[0], &self.held[1], true))
            .unwrap_or(Protocol::Unknown);
        self.verdict = Some(v);
        v
    }

    /// Hands what was held, in order, to `f` (data or gaps), and forgets it.
    pub fn replay(&mut self, mut f: impl FnMut(Held, &[u8])) {
        let held = std::mem::take(&mut self.held);
        let mut at = [0usize; 2];
        for item in std::mem::take(&mut self.order) {
            match item {
                Held::Data { dir, len, .. } => {
                    let (bytes, from) = (&held[dir.index()], &mut at[dir.index()]);
                    // Every length in `order` was appended to `held` with it.
                    f(item, bytes.get(*from..*from + len).unwrap_or_default());
                    *from += len;
                }
                Held::Gap { .. } => f(item, &[]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_content_not_port() {
        assert_eq!(
            detect(b"GET / HTTP/1.1\r\n", b"", false),
            Some(Protocol::Http)
        );
        assert_eq!(
            detect(b"", b"HTTP/1.0 200 OK\r\n", false),
            Some(Protocol::Http)
        );
        assert_eq!(
            detect(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"", false),
            Some(Protocol::Http)
        );
        assert_eq!(
            detect(&[0x16, 3, 1, 0, 200, 1], b"", false),
            Some(Protocol::Tls)
        );
        assert_eq!(
            detect(b"", &[0xff, 0xfd, 0x18], false),
            Some(Protocol::Telnet)
        );
        assert_eq!(
            detect(b"", b"+OK POP3 ready\r\n", false),
            Some(Protocol::Pop3)
        );
        assert_eq!(
            detect(b"", b"* OK [CAPABILITY IMAP4rev1] ready\r\n", false),
            Some(Protocol::Imap)
        );
        assert_eq!(
            detect(b"a1 LOGIN bob secret\r\n", b"", false),
            Some(Protocol::Imap)
        );
        assert_eq!(
            detect(b"EHLO me\r\n", b"220 host ESMTP\r\n", false),
            Some(Protocol::Smtp)
        );
        assert_eq!(
            detect(b"USER bob\r\n", b"220 pyftpdlib ready\r\n", false),
            Some(Protocol::Ftp)
        );
        assert_eq!(
            detect(b"AUTH TLS\r\n", b"220 Welcome\r\n", false),
            Some(Protocol::Ftp)
        );
        assert_eq!(
            detect(b"", b"220 (vsFTPd 3.0.3)\r\n", false),
            Some(Protocol::Ftp)
        );
        assert_eq!(
            detect(b"", b"220 mail.example.com\r\n", false),
            Some(Protocol::Smtp)
        );
        assert_eq!(detect(b"", b"220 host.example.com ready\r\n", false), None);
        assert_eq!(
            detect(b"", b"220 host.example.com ready\r\n", true),
            Some(Protocol::Ftp)
        );
    }

    #[test]
    fn undecided_until_enough_then_unknown() {
        assert_eq!(detect(b"\x00\x01", b"", false), None);
        assert_eq!(detect(b"\x00\x01", b"", true), Some(Protocol::Unknown));
        assert_eq!(
            detect(b"hello\n", b"world\n", false),
            Some(Protocol::Unknown)
        );
    }

    #[test]
    fn rtsp_and_sip_are_not_http() {
        let cases: [(&[u8], &[u8], Option<Protocol>); 7] = [
            (
                b"OPTIONS rtsp://cam/live RTSP/1.0\r\nCSeq: 1\r\n\r\n",
                b"",
                Some(Protocol::Unknown),
            ),
            (
                b"DESCRIBE rtsp://cam/live RTSP/1.0\r\n",
                b"RTSP/1.0 200 OK\r\n",
                Some(Protocol::Unknown),
            ),
            (
                b"OPTIONS sip:bob@lab SIP/2.0\r\n",
                b"",
                Some(Protocol::Unknown),
            ),
            (
                b"REGISTER sip:lab SIP/2.0\r\n",
                b"SIP/2.0 401 Unauthorized\r\n",
                Some(Protocol::Unknown),
            ),
            (b"OPTIONS * HTTP/1.1\r\n", b"", Some(Protocol::Http)),
            // The first line is not complete yet: wait, unless the server already answered.
            (b"OPTIONS rtsp://cam", b"", None),
            (b"GET /a", b"HTTP/1.1 200 OK\r\n", Some(Protocol::Http)),
        ];
        for (client, server, want) in cases {
            assert_eq!(
                detect(client, server, false),
                want,
                "{:?}",
                String::from_utf8_lossy(client)
            );
        }
        assert_eq!(detect(b"GET /a", b"", true), Some(Protocol::Http));
    }

    #[test]
    fn detector_decides_across_chunks_and_replays_in_order() {
        let mut d = ProtocolDetector::default();
        assert_eq!(
            d.feed(Direction::ServerToClient, b"220 host ready\r\n", 1),
            None
        );
        d.gap(Direction::ServerToClient, 3, 2);
        assert_eq!(
            d.feed(Direction::ClientToServer, b"USER bob\r\n", 3),
            Some(Protocol::Ftp)
        );
        let mut seen = Vec::new();
        d.replay(|item, bytes| {
            seen.push(format!(
                "{item:?} {}",
                String::from_utf8_lossy(bytes).trim()
            ))
        });
        assert_eq!(
            seen,
            [
                "Data { dir: ServerToClient, len: 16, frame: 1 } 220 host ready",
                "Gap { dir: ServerToClient, len: 3, frame: 2 } ",
                "Data { dir: ClientToServer, len: 10, frame: 3 } USER bob"
            ]
        );
        assert_eq!(d.finish(), Protocol::Ftp);
    }
}
