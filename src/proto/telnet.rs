//! Telnet: option negotiation stripped, and the login and password typed after the server's
//! prompts, whether typed a byte per packet or a line at a time.

use crate::creds::{CredentialKind, Found};
use crate::flow::Direction;
use crate::proto::{Framed, StreamContext, StreamParser};

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
/// Bytes of server output kept to recognise a prompt.
const PROMPT_WINDOW: usize = 64;
/// Longest typed line kept.
const MAX_TYPED: usize = 256;

/// Strips IAC sequences from one direction, across chunk boundaries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Iac {
    #[default]
    Data,
    Command,
    Option,
    Sub,
    /// IAC inside a subnegotiation: SE ends it.
    SubEnd,
}

impl Iac {
    /// Feeds one byte; returns it if it is data.
    fn byte(&mut self, b: u8) -> Option<u8> {
        match (*self, b) {
            (Iac::Data, IAC) => *self = Iac::Command,
            (Iac::Data, b) => return Some(b),
            (Iac::Command, IAC) => {
                *self = Iac::Data;
                return Some(IAC);
            }
            (Iac::Command, SB) => *self = Iac::Sub,
            (Iac::Command, 251..=254) => *self = Iac::Option,
            (Iac::Command, _) | (Iac::Option, _) => *self = Iac::Data,
            (Iac::Sub, IAC) => *self = Iac::SubEnd,
            (Iac::Sub, _) => {}
            (Iac::SubEnd, SE) => *self = Iac::Data,
            (Iac::SubEnd, _) => *self = Iac::Sub,
        }
        None
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Expect {
    #[default]
    Nothing,
    User,
    Password,
}

#[derive(Debug, Default)]
pub struct TelnetFlow {
    iac: [Iac; 2],
    /// The end of the server's output, lower-cased, to spot prompts.
    window: Vec<u8>,
    typed: Vec<u8>,
    expect: Expect,
    user: Option<String>,
    /// The last typed byte was CR: a following LF or NUL belongs to it.
    after_cr: bool,
    /// The packet that carried the first key of the line being typed.
    line_frame: u64,
}

impl TelnetFlow {
    fn line_done(&mut self, out: &mut Vec<Found>) {
        let line = String::from_utf8_lossy(&self.typed).into_owned();
        self.typed.clear();
        match std::mem::take(&mut self.expect) {
            Expect::User => self.user = Some(line),
            Expect::Password => out.push(Found::new(
                CredentialKind::Telnet,
                self.user.take(),
                line,
                "typed after Password:",
            )),
            Expect::Nothing => {}
        }
    }
}

impl StreamParser for TelnetFlow {
    type Item = Framed<Found>;

    /// A flat estimate: the prompt window and the typed line are bounded by [`PROMPT_WINDOW`]
    /// and [`MAX_TYPED`].
    fn buffered(&self) -> usize {
        512
    }

    fn on_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Framed<Found>>,
    ) {
        if dir == Direction::ServerToClient {
            for &b in data {
                if let Some(b) = self.iac[1].byte(b) {
                    if self.window.len() >= PROMPT_WINDOW {
                        self.window.drain(..PROMPT_WINDOW / 2);
                    }
                    self.window.push(b.to_ascii_lowercase());
                }
            }
            let text = self.window.trim_ascii_end();
            let prompt = if text.ends_with(b"password:") || text.ends_with(b"passcode:") {
                Some(Expect::Password)
            } else if text.ends_with(b"login:")
                || text.ends_with(b"username:")
                || text.ends_with(b"user name:")
            {
                Some(Expect::User)
            } else {
                None
            };
            if let Some(p) = prompt {
                self.expect = p;
                self.typed.clear();
                self.window.clear();
            }
            return;
        }
        for &b in data {
            let Some(b) = self.iac[0].byte(b) else {
                continue;
            };
            if self.after_cr && (b == b'\n' || b == 0) {
                self.after_cr = false;
                continue;
            }
            self.after_cr = b == b'\r';
            match b {
                b'\r' | b'\n' => {
                    // A password typed one key per packet: its first key's packet is its frame.
                    let mut found = Vec::new();
                    self.line_done(&mut found);
                    out.extend(found.into_iter().map(|item| Framed {
                        frame: self.line_frame,
                        item,
                    }));
                }
                0x7f | 0x08 => {
                    self.typed.pop();
                }
                0 => {}
                b if self.typed.len() < MAX_TYPED => {
                    if self.typed.is_empty() {
                        self.line_frame = ctx.frame;
                    }
                    self.typed.push(b)
                }
                _ => {}
            }
        }
    }

    fn on_gap(&mut self, dir: Direction, _: u64, _: &mut Vec<Framed<Found>>) {
        self.iac[dir.index()] = Iac::Data;
        if dir == Direction::ClientToServer {
            self.typed.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystrokes_one_per_packet_with_echo_and_negotiation() {
        let mut t = TelnetFlow::default();
        let mut out = Vec::new();
        t.feed(
            Direction::ServerToClient,
            &[IAC, 253, 24, IAC, 251, 1, IAC, 251, 3],
            &mut out,
        );
        t.feed(
            Direction::ClientToServer,
            &[IAC, 251, 24, IAC, SB, 24, 0, b'x', b't', IAC, SE],
            &mut out,
        );
        t.feed(
            Direction::ServerToClient,
            b"Debian GNU/Linux\r\nlab login: ",
            &mut out,
        );
        for b in b"sax\x7fm\r\0" {
            t.feed(Direction::ClientToServer, &[*b], &mut out);
            if *b != b'\r' && *b != 0 && *b != 0x7f {
                t.feed(Direction::ServerToClient, &[*b], &mut out);
            }
        }
        t.feed(Direction::ServerToClient, b"\r\nPassword: ", &mut out);
        for b in b"Tel-Pass-8\r\n" {
            t.feed(Direction::ClientToServer, &[*b], &mut out);
        }
        t.feed(Direction::ServerToClient, b"\r\nWelcome\r\n$ ", &mut out);
        t.feed(Direction::ClientToServer, b"ls\r\n", &mut out);
        assert_eq!(
            out.iter().map(|f| f.item.clone()).collect::<Vec<_>>(),
            [Found::new(
                CredentialKind::Telnet,
                Some("sam".into()),
                "Tel-Pass-8".into(),
                "typed after Password:"
            )]
        );
    }

    #[test]
    fn no_prompt_no_credential() {
        let mut t = TelnetFlow::default();
        let mut out = Vec::new();
        t.feed(
            Direction::ServerToClient,
            b"the password: is not asked here\r\n",
            &mut out,
        );
        t.feed(Direction::ClientToServer, b"hello\r\n", &mut out);
        assert!(out.is_empty());
    }
}
