//! The classic line-based protocols: FTP, POP3, IMAP and SMTP. Client commands are read line by
//! line (IMAP literals included) and the login commands give up their credentials.
//! A successful STARTTLS (or FTP's AUTH TLS) ends parsing: what follows is TLS.

use crate::creds::{decode_base64, sasl_plain, CredentialKind, Found};
use crate::flow::Direction;
use crate::proto::{Framed, StreamContext, StreamParser};

/// Longest command or reply line kept; longer lines are cut (their start still counts).
pub const MAX_LINE: usize = 8 << 10;
/// Largest IMAP command with its literals that is assembled.
pub const MAX_IMAP_COMMAND: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineProtocol {
    Ftp,
    Pop3,
    Imap,
    Smtp,
}

impl LineProtocol {
    fn kind(self) -> CredentialKind {
        match self {
            LineProtocol::Ftp => CredentialKind::Ftp,
            LineProtocol::Pop3 => CredentialKind::Pop3,
            LineProtocol::Imap => CredentialKind::Imap,
            LineProtocol::Smtp => CredentialKind::Smtp,
        }
    }
}

/// A SASL exchange waiting for the client's next line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sasl {
    None,
    /// `AUTH PLAIN` (or `AUTHENTICATE PLAIN`) without an initial response.
    Plain {
        location: &'static str,
    },
    /// `AUTH LOGIN`: the user name, then the password, each on its own line.
    LoginUser,
    LoginPassword {
        user: String,
    },
}

/// Splits a byte stream into lines, bounded.
#[derive(Debug, Default)]
struct Lines {
    buf: Vec<u8>,
    overflow: bool,
    /// The packet where the held partial line began.
    buf_frame: u64,
}

impl Lines {
    /// Calls `f(line, frame)` on every complete line (without CR LF), `frame` being the packet
    /// where the line began (`data` came in packet `frame`).
    fn feed(&mut self, mut data: &[u8], frame: u64, mut f: impl FnMut(&[u8], u64)) {
        while let Some(nl) = data.iter().position(|b| *b == b'\n') {
            let part = &data[..nl];
            if self.buf.is_empty() && !self.overflow {
                f(trim_cr(part), frame);
            } else {
                self.push(part, frame);
                let line = std::mem::take(&mut self.buf);
                f(trim_cr(&line), self.buf_frame);
            }
            self.overflow = false;
            data = &data[nl + 1..];
        }
        self.push(data, frame);
    }

    fn push(&mut self, data: &[u8], frame: u64) {
        if self.buf.is_empty() && !data.is_empty() {
            self.buf_frame = frame;
        }
        let room = MAX_LINE.saturating_sub(self.buf.len());
        if data.len() > room {
            self.overflow = true;
        }
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn clear(&mut self) {
        self.buf = Vec::new();
        self.overflow = false;
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Both directions of an FTP, POP3, IMAP or SMTP session.
#[derive(Debug)]
pub struct LineFlow {
    protocol: LineProtocol,
    client: Lines,
    server: Lines,
    /// IMAP: a command being assembled with its literals.
    imap: Vec<u8>,
    /// The packet where the IMAP command being assembled began.
    imap_frame: u64,
    user: Option<String>,
    sasl: Sasl,
    /// SMTP: inside DATA, client lines are the message, not commands.
    in_data: bool,
    /// The client asked for TLS; the server's next reply says whether it starts.
    tls_requested: bool,
    stopped: bool,
}

impl LineFlow {
    pub fn new(protocol: LineProtocol) -> LineFlow {
        LineFlow {
            protocol,
            client: Lines::default(),
            server: Lines::default(),
            imap: Vec::new(),
            user: None,
            sasl: Sasl::None,
            in_data: false,
            tls_requested: false,
            stopped: false,
            imap_frame: 0,
        }
    }

    /// The server accepted STARTTLS (STLS, AUTH TLS): what follows in both directions is TLS.
    pub fn switched_to_tls(&self) -> bool {
        self.stopped
    }

    pub fn protocol(&self) -> LineProtocol {
        self.protocol
    }

    fn server_line(&mut self, line: &[u8]) {
        if !self.tls_requested {
            return;
        }
        self.tls_requested = false;
        let text = String::from_utf8_lossy(line);
        let accepted = match self.protocol {
            LineProtocol::Ftp => text.starts_with("234"),
            LineProtocol::Smtp => text.starts_with("220"),
            LineProtocol::Pop3 => text.starts_with("+OK"),
            LineProtocol::Imap => text
                .split_whitespace()
                .nth(1)
                .is_some_and(|s| s.eq_ignore_ascii_case("OK")),
        };
        if accepted {
            self.stopped = true;
        }
    }

    fn client_line(&mut self, line: &[u8], out: &mut Vec<Found>) {
        if self.stopped {
            return;
        }
        let kind = self.protocol.kind();
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        // A line answering a SASL challenge.
        match std::mem::replace(&mut self.sasl, Sasl::None) {
            Sasl::None => {}
            _ if text == "*" => return,
            Sasl::Plain { location } => {
                if let Some((user, pass)) = decode_base64(text).as_deref().and_then(sasl_plain) {
                    out.push(Found::new(kind, Some(user), pass, location));
                }
                return;
            }
            Sasl::LoginUser => {
                let user = decode_base64(text).map(|u| String::from_utf8_lossy(&u).into_owned());
                self.sasl = Sasl::LoginPassword {
                    user: user.unwrap_or_default(),
                };
                return;
            }
            Sasl::LoginPassword { user } => {
                if let Some(pass) = decode_base64(text) {
                    out.push(Found::new(
                        kind,
                        Some(user),
                        String::from_utf8_lossy(&pass).into_owned(),
                        "AUTH LOGIN",
                    ));
                }
                return;
            }
        }
        if self.in_data {
            if text == "." {
                self.in_data = false;
            }
            return;
        }
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        let verb = verb.to_ascii_uppercase();
        match (self.protocol, verb.as_str()) {
            (LineProtocol::Ftp | LineProtocol::Pop3, "USER") => self.user = Some(rest.to_string()),
            (LineProtocol::Ftp | LineProtocol::Pop3, "PASS") => {
                out.push(Found::new(
                    kind,
                    self.user.take(),
                    rest.to_string(),
                    "command PASS",
                ));
            }
            (LineProtocol::Pop3, "APOP") => {
                if let Some((name, digest)) = rest.trim().rsplit_once(' ') {
                    out.push(Found::new(
                        kind,
                        Some(name.to_string()),
                        digest.to_string(),
                        "command APOP",
                    ));
                }
            }
            (LineProtocol::Pop3 | LineProtocol::Smtp, "AUTH") => self.auth(rest, out),
            (LineProtocol::Smtp, "DATA") => self.in_data = true,
            (LineProtocol::Smtp, "STARTTLS") | (LineProtocol::Pop3, "STLS") => {
                self.tls_requested = true
            }
            (LineProtocol::Ftp, "AUTH") => {
                let mech = rest.trim().to_ascii_uppercase();
                if mech == "TLS" || mech == "SSL" || mech == "TLS-C" {
                    self.tls_requested = true;
                }
            }
            _ => {}
        }
    }

    /// SMTP / POP3 `AUTH mechanism [initial-response]`.
    fn auth(&mut self, rest: &str, out: &mut Vec<Found>) {
        let kind = self.protocol.kind();
        let mut words = rest.split_whitespace();
        let mech = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next().filter(|s| *s != "=");
        match (mech.as_str(), initial) {
            ("PLAIN", Some(ir)) => {
                if let Some((user, pass)) = decode_base64(ir).as_deref().and_then(sasl_plain) {
                    out.push(Found::new(kind, Some(user), pass, "AUTH PLAIN"));
                }
            }
            ("PLAIN", None) => {
                self.sasl = Sasl::Plain {
                    location: "AUTH PLAIN",
                }
            }
            ("LOGIN", Some(ir)) => {
                let user = decode_base64(ir).map(|u| String::from_utf8_lossy(&u).into_owned());
                self.sasl = Sasl::LoginPassword {
                    user: user.unwrap_or_default(),
                };
            }
            ("LOGIN", None) => self.sasl = Sasl::LoginUser,
            _ => {}
        }
    }

    /// IMAP client bytes: whole commands, literals included, then their arguments.
    fn imap_feed(&mut self, data: &[u8], frame: u64, out: &mut Vec<Framed<Found>>) {
        if self.imap.is_empty() {
            self.imap_frame = frame;
        }
        self.imap.extend_from_slice(data);
        loop {
            match imap_command_len(&self.imap) {
                Some(len) => {
                    let command: Vec<u8> = self.imap.drain(..len).collect();
                    let mut found = Vec::new();
                    self.imap_command(&command, &mut found);
                    framed(found, self.imap_frame, out);
                    // What follows began in this packet.
                    self.imap_frame = frame;
                    if self.sasl != Sasl::None {
                        // The rest (if any) answers the SASL challenge line by line.
                        let rest = std::mem::take(&mut self.imap);
                        self.client_lines(&rest, frame, out);
                        return;
                    }
                }
                None => {
                    if self.imap.len() > MAX_IMAP_COMMAND {
                        self.imap = Vec::new();
                    }
                    return;
                }
            }
        }
    }

    /// Client lines, each handled in turn; what they carry goes out with the packet each began in.
    fn client_lines(&mut self, data: &[u8], frame: u64, out: &mut Vec<Framed<Found>>) {
        let mut lines = std::mem::take(&mut self.client);
        lines.feed(data, frame, |line, frame| {
            let mut found = Vec::new();
            self.client_line(line, &mut found);
            framed(found, frame, out);
        });
        self.client = lines;
    }

    fn imap_command(&mut self, command: &[u8], out: &mut Vec<Found>) {
        if self.stopped {
            return;
        }
        let tokens = imap_tokens(command);
        let Some(verb) = tokens.get(1) else { return };
        let verb = String::from_utf8_lossy(verb).to_ascii_uppercase();
        let text = |i: usize| {
            tokens
                .get(i)
                .map(|t| String::from_utf8_lossy(t).into_owned())
        };
        match verb.as_str() {
            "LOGIN" => {
                if let (Some(user), Some(pass)) = (text(2), text(3)) {
                    out.push(Found::new(
                        CredentialKind::Imap,
                        Some(user),
                        pass,
                        "command LOGIN",
                    ));
                }
            }
            "AUTHENTICATE" if text(2).is_some_and(|m| m.eq_ignore_ascii_case("PLAIN")) => {
                match text(3) {
                    Some(ir) => {
                        if let Some((user, pass)) =
                            decode_base64(&ir).as_deref().and_then(sasl_plain)
                        {
                            out.push(Found::new(
                                CredentialKind::Imap,
                                Some(user),
                                pass,
                                "AUTHENTICATE PLAIN",
                            ));
                        }
                    }
                    None => {
                        self.sasl = Sasl::Plain {
                            location: "AUTHENTICATE PLAIN",
                        }
                    }
                }
            }
            "AUTHENTICATE" if text(2).is_some_and(|m| m.eq_ignore_ascii_case("LOGIN")) => {
                self.sasl = Sasl::LoginUser
            }
            "STARTTLS" => self.tls_requested = true,
            _ => {}
        }
    }
}

/// The length of the first complete IMAP command in `buf` (through its final CRLF, literals
/// included), or `None` if it is not complete yet.
fn imap_command_len(buf: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let nl = at + buf[at..].iter().position(|b| *b == b'\n')?;
        let line = trim_cr(&buf[at..nl]);
        match literal_size(line) {
            Some(n) => {
                let next = nl.checked_add(1)?.checked_add(n)?;
                if next > buf.len() {
                    return None;
                }
                at = next;
            }
            None => return Some(nl + 1),
        }
    }
}

/// `{N}` or `{N+}` at the end of a line.
fn literal_size(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|b| *b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The tokens of an IMAP command: atoms, quoted strings (unescaped) and literals.
fn imap_tokens(cmd: &[u8]) -> Vec<Vec<u8>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < cmd.len() {
        match cmd[i] {
            b' ' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let mut tok = Vec::new();
                i += 1;
                while i < cmd.len() && cmd[i] != b'"' {
                    if cmd[i] == b'\\' && i + 1 < cmd.len() {
                        i += 1;
                    }
                    tok.push(cmd[i]);
                    i += 1;
                }
                i += 1;
                tokens.push(tok);
            }
            b'{' => {
                let close = cmd[i..].iter().position(|b| *b == b'}').map(|p| i + p);
                let size = close.and_then(|c| literal_size(&cmd[i..=c]));
                match (close, size) {
                    (Some(c), Some(n)) => {
                        // Skip CRLF after the marker; the literal follows.
                        let mut start = c + 1;
                        if cmd.get(start) == Some(&b'\r') {
                            start += 1;
                        }
                        if cmd.get(start) == Some(&b'\n') {
                            start += 1;
                        }
                        let end = (start + n).min(cmd.len());
                        tokens.push(cmd[start..end].to_vec());
                        i = end;
                    }
                    _ => {
                        tokens.push(cmd[i..i + 1].to_vec());
                        i += 1;
                    }
                }
            }
            _ => {
                let end = cmd[i..]
                    .iter()
                    .position(|b| matches!(b, b' ' | b'\r' | b'\n'))
                    .map_or(cmd.len(), |p| i + p);
                tokens.push(cmd[i..end].to_vec());
                i = end;
            }
        }
    }
    tokens
}

/// Credentials with the packet their line began in.
fn framed(found: Vec<Found>, frame: u64, out: &mut Vec<Framed<Found>>) {
    out.extend(found.into_iter().map(|item| Framed { frame, item }));
}

impl StreamParser for LineFlow {
    type Item = Framed<Found>;

    fn buffered(&self) -> usize {
        self.client.buf.capacity() + self.server.buf.capacity() + self.imap.capacity()
    }

    fn on_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Framed<Found>>,
    ) {
        if self.stopped {
            return;
        }
        if dir == Direction::ServerToClient {
            let mut lines = std::mem::take(&mut self.server);
            lines.feed(data, ctx.frame, |line, _| self.server_line(line));
            self.server = lines;
        } else if self.protocol == LineProtocol::Imap && self.sasl == Sasl::None {
            self.imap_feed(data, ctx.frame, out);
        } else {
            self.client_lines(data, ctx.frame, out);
        }
    }

    /// Bytes were lost: partial lines are dropped, the exchange starts afresh.
    fn on_gap(&mut self, dir: Direction, _: u64, _: &mut Vec<Framed<Found>>) {
        if dir == Direction::ClientToServer {
            self.client.clear();
            self.imap = Vec::new();
            self.sasl = Sasl::None;
        } else {
            self.server.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a session given as (direction, bytes), each piece split at every byte boundary.
    fn run(protocol: LineProtocol, session: &[(usize, &[u8])]) -> Vec<Found> {
        let mut all: Option<Vec<Found>> = None;
        let longest = session.iter().map(|(_, d)| d.len()).max().unwrap_or(0);
        for cut in 0..=longest {
            let mut flow = LineFlow::new(protocol);
            let mut out = Vec::new();
            for &(dir, data) in session {
                let dir = if dir == 0 {
                    Direction::ClientToServer
                } else {
                    Direction::ServerToClient
                };
                let c = cut.min(data.len());
                flow.feed(dir, &data[..c], &mut out);
                flow.feed(dir, &data[c..], &mut out);
            }
            let out: Vec<Found> = out.into_iter().map(|f| f.item).collect();
            match &all {
                None => all = Some(out),
                Some(prev) => assert_eq!(prev, &out, "cut at {cut}"),
            }
        }
        all.unwrap_or_default()
    }

    fn f(kind: CredentialKind, user: &str, secret: &str, location: &str) -> Found {
        Found::new(kind, Some(user.into()), secret.into(), location)
    }

    #[test]
    fn ftp_user_pass() {
        let found = run(
            LineProtocol::Ftp,
            &[
                (1, b"220 ready\r\n"),
                (0, b"USER ftpuser\r\n"),
                (1, b"331 ok\r\n"),
                (0, b"PASS Ftp-Pass-1\r\n"),
            ],
        );
        assert_eq!(
            found,
            [f(
                CredentialKind::Ftp,
                "ftpuser",
                "Ftp-Pass-1",
                "command PASS"
            )]
        );
    }

    #[test]
    fn pop3_user_pass_and_apop() {
        let found = run(
            LineProtocol::Pop3,
            &[(
                0,
                b"USER kate\r\nPASS P0p3-Pass\r\nAPOP leo c4c9334bac560ecc979e58001b3e22fb\r\n",
            )],
        );
        assert_eq!(
            found,
            [
                f(CredentialKind::Pop3, "kate", "P0p3-Pass", "command PASS"),
                f(
                    CredentialKind::Pop3,
                    "leo",
                    "c4c9334bac560ecc979e58001b3e22fb",
                    "command APOP"
                )
            ]
        );
    }

    #[test]
    fn imap_login_quoted_literal_and_authenticate() {
        let found = run(
            LineProtocol::Imap,
            &[
                (0, b"a1 CAPABILITY\r\na2 LOGIN mallory Imap-Pass-3\r\n"),
                (
                    0,
                    b"a3 LOGIN \"nina\" \"pass with \\\"quotes\\\" and spaces\"\r\n",
                ),
                (0, b"a4 LOGIN {5}\r\n"),
                (1, b"+ Ready\r\n"),
                (0, b"peggy {9}\r\n"),
                (0, b"Lit-Pass!\r\n"),
                (0, b"a5 AUTHENTICATE PLAIN\r\n"),
                (1, b"+ \r\n"),
                (0, b"AG9zY2FyAFBsYWluLUF1dGgtNA==\r\n"),
                (0, b"a6 LOGOUT\r\n"),
            ],
        );
        assert_eq!(
            found,
            [
                f(
                    CredentialKind::Imap,
                    "mallory",
                    "Imap-Pass-3",
                    "command LOGIN"
                ),
                f(
                    CredentialKind::Imap,
                    "nina",
                    "pass with \"quotes\" and spaces",
                    "command LOGIN"
                ),
                f(CredentialKind::Imap, "peggy", "Lit-Pass!", "command LOGIN"),
                f(
                    CredentialKind::Imap,
                    "oscar",
                    "Plain-Auth-4",
                    "AUTHENTICATE PLAIN"
                ),
            ]
        );
    }

    #[test]
    fn smtp_auth_plain_and_login_over_prompts() {
        let found = run(
            LineProtocol::Smtp,
            &[
                (0, b"EHLO me\r\nAUTH PLAIN AHF1ZW50aW4AU210cC1QbGFpbi01\r\n"),
                (
                    0,
                    b"DATA\r\nAUTH PLAIN AHF1ZW50aW4AU210cC1QbGFpbi01\r\n.\r\n",
                ),
                (0, b"AUTH LOGIN\r\n"),
                (1, b"334 VXNlcm5hbWU6\r\n"),
                (0, b"cmFjaGVs\r\n"),
                (1, b"334 UGFzc3dvcmQ6\r\n"),
                (0, b"U210cC1Mb2dpbi02\r\n"),
            ],
        );
        assert_eq!(
            found,
            [
                f(
                    CredentialKind::Smtp,
                    "quentin",
                    "Smtp-Plain-5",
                    "AUTH PLAIN"
                ),
                f(CredentialKind::Smtp, "rachel", "Smtp-Login-6", "AUTH LOGIN"),
            ]
        );
    }

    #[test]
    fn starttls_ends_parsing_and_negatives_find_nothing() {
        let found = run(
            LineProtocol::Smtp,
            &[
                (0, b"STARTTLS\r\n"),
                (1, b"220 go ahead\r\n"),
                (0, b"AUTH PLAIN AHF1ZW50aW4AU210cC1QbGFpbi01\r\n"),
            ],
        );
        assert!(found.is_empty());
        assert!(run(
            LineProtocol::Ftp,
            &[(0, b"USERS\r\nLIST\r\nRETR password.txt\r\n")]
        )
        .is_empty());
        assert!(run(
            LineProtocol::Imap,
            &[(0, b"a1 SELECT password\r\na2 LOGIN onlyuser\r\n")]
        )
        .is_empty());
        assert!(run(
            LineProtocol::Smtp,
            &[(0, b"AUTH LOGIN\r\n*\r\nMAIL FROM:<a@b>\r\n")]
        )
        .is_empty());
    }

    #[test]
    fn hostile_literals_are_bounded() {
        let mut flow = LineFlow::new(LineProtocol::Imap);
        let mut out = Vec::new();
        flow.feed(
            Direction::ClientToServer,
            b"a1 LOGIN {999999999}\r\n",
            &mut out,
        );
        for _ in 0..100 {
            flow.feed(Direction::ClientToServer, &[b'x'; 4096], &mut out);
        }
        assert!(flow.buffered() <= MAX_IMAP_COMMAND + 8192);
        assert!(out.is_empty());
    }
}
