//! The wire view: a flow's bytes as they crossed the wire, each packet marked, client and server
//! apart, every secret highlighted where it lies in the raw bytes (inside a form body, a JSON
//! body, the base64 of `Authorization: Basic`, a telnet password typed one key per packet). A TLS
//! flow shows its records as they crossed the wire beside what the keys decrypted, record by
//! record; cleartext HTTP/2 shows its frames, the header lists decoded.
//!
//! Pure: a flow's view in, lines of styled pieces out ([`WireView`]); `draw` only paints them.

use base64::Engine as _;

use super::app::{FlowView, WirePiece};
use crate::creds::CredentialKind;
use crate::event::{Dir, RecordType};

/// How a piece of a line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Bytes the client sent.
    Client,
    /// Bytes the server sent.
    Server,
    /// A secret, where it lies in the bytes.
    Secret,
    /// Packet boundaries, offsets, labels.
    Faint,
    /// What plainsight says about the bytes (a decoded base64, why nothing is readable).
    Note,
    /// Ciphertext.
    Opaque,
}

/// A run of text shown one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub text: String,
    pub look: Look,
}

/// One screen line.
pub type WireLine = Vec<Seg>;

/// A flow's wire view, as lines: one column, or two (a TLS flow: the wire on the left, the
/// decrypted bytes on the right, row for row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WireView {
    pub title: String,
    pub left: Vec<WireLine>,
    /// Present for TLS flows: as many lines as `left`.
    pub right: Option<Vec<WireLine>>,
    /// The lines where secrets are, in order, for `n` and `N`.
    pub secret_lines: Vec<usize>,
}

/// Options of the view.
#[derive(Debug, Clone, Copy, Default)]
pub struct WireOptions {
    /// A hex dump with offsets (like `xxd`) instead of text.
    pub hex: bool,
    /// Secrets masked (first and last character kept).
    pub redact: bool,
    /// What an eavesdropper without the keys sees: nothing decrypted shown.
    pub hide_keys: bool,
}

/// Bytes shown per hex line.
const HEX_WIDTH: usize = 16;
/// Text lines shown of one decrypted record, at most (the rest is counted).
const RECORD_TEXT_LINES: usize = 24;

/// A secret to find in the bytes: what it looks like on the wire, and what to say about it.
#[derive(Debug, Clone)]
struct Needle {
    bytes: Vec<u8>,
    /// Said beside it when the bytes are an encoding (base64 of `user:password`).
    note: Option<String>,
}

/// The stream ranges where secrets lie, per (direction, decrypted).
#[derive(Debug, Default)]
struct Secrets {
    ranges: Vec<(Dir, bool, u64, u64, Option<String>)>,
    /// The same ranges merged and sorted, per (direction, decrypted), for a lookup per byte
    /// that stays quick however many times a short secret repeats.
    merged: std::collections::HashMap<(Dir, bool), Vec<(u64, u64)>>,
}

/// Ranges found at most per view: a short secret repeated through a large flow is shown
/// highlighted where it is found first.
const MAX_SECRET_RANGES: usize = 100_000;

impl Secrets {
    /// Finds every needle in each direction's stream (the pieces put back together, so a
    /// password typed one key per packet is found whole).
    fn find(flow: &FlowView, redact: bool) -> Secrets {
        let needles = needles(flow, redact);
        let mut ranges = Vec::new();
        for dir in Dir::ALL.iter().copied() {
            for decrypted in [false, true] {
                let (stream, start) = stream_of(&flow.wire.pieces, dir, decrypted);
                for n in &needles {
                    for at in find_all(&stream, &n.bytes) {
                        if ranges.len() >= MAX_SECRET_RANGES {
                            break;
                        }
                        let from = start + at as u64;
                        ranges.push((
                            dir,
                            decrypted,
                            from,
                            from + n.bytes.len() as u64,
                            n.note.clone(),
                        ));
                    }
                }
            }
        }
        let mut merged: std::collections::HashMap<(Dir, bool), Vec<(u64, u64)>> =
            std::collections::HashMap::new();
        for &(dir, decrypted, from, to, _) in &ranges {
            merged.entry((dir, decrypted)).or_default().push((from, to));
        }
        for list in merged.values_mut() {
            list.sort_unstable();
            let mut out: Vec<(u64, u64)> = Vec::with_capacity(list.len());
            for &(from, to) in list.iter() {
                match out.last_mut() {
                    Some(last) if from <= last.1 => last.1 = last.1.max(to),
                    _ => out.push((from, to)),
                }
            }
            *list = out;
        }
        Secrets { ranges, merged }
    }

    /// Whether stream byte `offset` of that direction is part of a secret.
    fn covers(&self, dir: Dir, decrypted: bool, offset: u64) -> bool {
        let Some(list) = self.merged.get(&(dir, decrypted)) else {
            return false;
        };
        let after = list.partition_point(|&(from, _)| from <= offset);
        after > 0 && list.get(after - 1).is_some_and(|&(_, to)| offset < to)
    }

    /// Notes of the secrets that begin within `from..to` of that direction.
    fn notes_in(&self, dir: Dir, decrypted: bool, from: u64, to: u64) -> Vec<String> {
        self.ranges
            .iter()
            .filter(|&&(d, x, start, _, _)| {
                d == dir && x == decrypted && (from..to).contains(&start)
            })
            .filter_map(|(_, _, _, _, note)| note.clone())
            .collect()
    }
}

/// A direction's stream as one buffer from the first piece's offset (holes left out), and that
/// offset.
fn stream_of(pieces: &[WirePiece], dir: Dir, decrypted: bool) -> (Vec<u8>, u64) {
    let mut stream = Vec::new();
    let mut start = None;
    for p in pieces
        .iter()
        .filter(|p| p.dir == dir && p.decrypted == decrypted)
    {
        let begin = *start.get_or_insert(p.offset);
        // Pieces come in stream order; a hole (a gap) leaves the offsets apart: keep positions
        // right by filling it with bytes no secret contains.
        let at = p.offset.saturating_sub(begin) as usize;
        if at > stream.len() {
            stream.resize(at, 0);
        }
        stream.truncate(at);
        stream.extend_from_slice(&p.data);
    }
    (stream, start.unwrap_or(0))
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.len() < 3 || hay.len() < needle.len() {
        return Vec::new();
    }
    let finder = memchr::memmem::Finder::new(needle);
    finder.find_iter(hay).collect()
}

/// What each credential of the flow looks like on the wire.
fn needles(flow: &FlowView, redact: bool) -> Vec<Needle> {
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let mut out: Vec<Needle> = Vec::new();
    let mut add = |bytes: Vec<u8>, note: Option<String>| {
        if bytes.len() >= 3 && !out.iter().any(|n| n.bytes == bytes) {
            out.push(Needle { bytes, note });
        }
    };
    for c in &flow.credentials {
        let secret = c.secret.as_bytes();
        let shown = |s: &str| crate::creds::shown(s, redact);
        add(secret.to_vec(), None);
        // As a form sends it, and as JSON escapes it.
        let form: String = form_urlencoded::byte_serialize(secret).collect();
        add(form.into_bytes(), None);
        if let Ok(json) = serde_json::to_string(&c.secret) {
            let inner = json.trim_matches('"');
            add(inner.as_bytes().to_vec(), None);
        }
        let user = c.username.clone().unwrap_or_default();
        match c.kind {
            CredentialKind::HttpBasic => {
                let pair = format!("{user}:{}", c.secret);
                let note = format!("base64 of {}:{}", user, shown(&c.secret));
                add(b64(pair.as_bytes()).into_bytes(), Some(note));
            }
            CredentialKind::Smtp | CredentialKind::Imap | CredentialKind::Pop3 => {
                // AUTH PLAIN (with or without an authorisation id) and AUTH LOGIN.
                for plain in [
                    format!("\0{user}\0{}", c.secret),
                    format!("{user}\0{user}\0{}", c.secret),
                ] {
                    let note = format!("base64 of \\0{user}\\0{}", shown(&c.secret));
                    add(b64(plain.as_bytes()).into_bytes(), Some(note));
                }
                add(
                    b64(secret).into_bytes(),
                    Some(format!("base64 of {}", shown(&c.secret))),
                );
            }
            _ => {}
        }
    }
    out
}

/// The view of one flow.
pub fn view(flow: &FlowView, options: WireOptions) -> WireView {
    if options.hide_keys {
        let mut opaque = flow.clone();
        opaque.wire.pieces.retain(|p| !p.decrypted);
        for r in &mut opaque.wire.records {
            r.inner_type = None;
        }
        opaque.credentials.retain(|c| !c.decrypted);
        return view(
            &opaque,
            WireOptions {
                hide_keys: false,
                ..options
            },
        );
    }
    let secrets = Secrets::find(flow, options.redact);
    let title = format!(
        " The wire: flow {}  {} → {} ",
        flow.id, flow.client, flow.server
    );
    let mut view = if flow.udp {
        quic_view(flow, &secrets, options)
    } else if !flow.wire.records.is_empty() {
        tls_view(flow, &secrets, options)
    } else if let Some(lines) = http2_lines(flow, &secrets, options) {
        WireView {
            left: lines,
            ..WireView::default()
        }
    } else {
        WireView {
            left: stream_lines(&flow.wire.pieces, &secrets, options),
            ..WireView::default()
        }
    };
    view.title = title;
    if view.left.is_empty() {
        view.left.push(vec![Seg {
            text: if flow.wire_trimmed {
                "These bytes were given back to keep memory bounded (the oldest flows go first)."
                    .into()
            } else {
                "No bytes seen in this flow yet.".into()
            },
            look: Look::Note,
        }]);
    }
    let right_secrets = view.right.iter().flatten();
    view.secret_lines = view
        .left
        .iter()
        .enumerate()
        .filter(|(_, l)| l.iter().any(|s| s.look == Look::Secret))
        .map(|(i, _)| i)
        .chain(
            right_secrets
                .enumerate()
                .filter(|(_, l)| l.iter().any(|s| s.look == Look::Secret))
                .map(|(i, _)| i),
        )
        .collect();
    view.secret_lines.sort_unstable();
    view.secret_lines.dedup();
    view
}

fn dir_look(dir: Dir) -> Look {
    match dir {
        Dir::ClientToServer => Look::Client,
        Dir::ServerToClient => Look::Server,
    }
}

fn arrow(dir: Dir) -> &'static str {
    match dir {
        Dir::ClientToServer => "client → server",
        Dir::ServerToClient => "server → client",
    }
}

/// Every piece as it crossed the wire (none decrypted), in arrival order, each under a faint
/// packet line.
fn stream_lines(pieces: &[WirePiece], secrets: &Secrets, options: WireOptions) -> Vec<WireLine> {
    let mut lines = Vec::new();
    for p in pieces.iter().filter(|p| !p.decrypted) {
        lines.push(vec![Seg {
            text: format!(
                "── packet #{}  {}  {} byte{} at {} ──",
                p.frame,
                arrow(p.dir),
                p.data.len(),
                if p.data.len() == 1 { "" } else { "s" },
                p.offset
            ),
            look: Look::Faint,
        }]);
        lines.extend(piece_lines(p, secrets, options));
    }
    lines
}

/// One piece as text (or hex), secrets marked where they lie.
fn piece_lines(p: &WirePiece, secrets: &Secrets, options: WireOptions) -> Vec<WireLine> {
    let mut lines = if options.hex {
        hex_lines(p, secrets, options)
    } else {
        text_lines(p, secrets, options)
    };
    for note in secrets.notes_in(p.dir, p.decrypted, p.offset, p.offset + p.data.len() as u64) {
        lines.push(vec![Seg {
            text: format!("  ⇐ {note}"),
            look: Look::Note,
        }]);
    }
    lines
}

/// A byte as the text view shows it: printable ASCII as is, anything else `·` (nothing from the
/// network reaches the terminal raw).
fn shown_byte(b: u8) -> char {
    if (0x20..0x7f).contains(&b) {
        char::from(b)
    } else {
        '·'
    }
}

/// Builds a line from bytes, runs of secret and non-secret bytes in their own pieces.
struct LineBuilder {
    look: Look,
    line: WireLine,
}

impl LineBuilder {
    fn new(look: Look) -> LineBuilder {
        LineBuilder {
            look,
            line: Vec::new(),
        }
    }

    fn push(&mut self, c: char, secret: bool) {
        let look = if secret { Look::Secret } else { self.look };
        match self.line.last_mut() {
            Some(seg) if seg.look == look => seg.text.push(c),
            _ => self.line.push(Seg {
                text: c.to_string(),
                look,
            }),
        }
    }

    fn push_str(&mut self, text: &str, look: Look) {
        self.line.push(Seg {
            text: text.to_string(),
            look,
        });
    }

    fn take(&mut self) -> WireLine {
        std::mem::take(&mut self.line)
    }
}

/// Masks the inside of each secret run of a line: first and last character kept.
fn mask_secrets(line: &mut WireLine) {
    for seg in line.iter_mut().filter(|s| s.look == Look::Secret) {
        seg.text = crate::creds::redact(&seg.text);
    }
}

fn text_lines(p: &WirePiece, secrets: &Secrets, options: WireOptions) -> Vec<WireLine> {
    let mut lines = Vec::new();
    let mut b = LineBuilder::new(dir_look(p.dir));
    let mut bytes = p.data.iter().enumerate().peekable();
    while let Some((i, &byte)) = bytes.next() {
        let secret = secrets.covers(p.dir, p.decrypted, p.offset + i as u64);
        match byte {
            b'\n' => {
                let mut line = b.take();
                if options.redact {
                    mask_secrets(&mut line);
                }
                lines.push(line);
            }
            // CR before LF is the line end; shown as nothing.
            b'\r' if bytes.peek().is_some_and(|(_, &n)| n == b'\n') => {}
            _ => b.push(shown_byte(byte), secret),
        }
    }
    let mut last = b.take();
    if !last.is_empty() {
        if options.redact {
            mask_secrets(&mut last);
        }
        lines.push(last);
    }
    lines
}

fn hex_lines(p: &WirePiece, secrets: &Secrets, options: WireOptions) -> Vec<WireLine> {
    let look = dir_look(p.dir);
    p.data
        .chunks(HEX_WIDTH)
        .enumerate()
        .map(|(row, chunk)| {
            let base = p.offset + (row * HEX_WIDTH) as u64;
            // Which bytes of the row are secret: looked up once, for both columns.
            let secret: Vec<bool> = (0..chunk.len())
                .map(|i| secrets.covers(p.dir, p.decrypted, base + i as u64))
                .collect();
            let mut b = LineBuilder::new(look);
            b.push_str(&format!("{base:08x}: "), Look::Faint);
            for (i, (&byte, &secret)) in chunk.iter().zip(&secret).enumerate() {
                let digits = if secret && options.redact {
                    ['*', '*']
                } else {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    [byte >> 4, byte & 0xf].map(|d| char::from(HEX[usize::from(d)]))
                };
                for c in digits {
                    b.push(c, secret);
                }
                if i % 2 == 1 {
                    b.push(' ', false);
                }
            }
            // Pad a short last row so the text column lines up.
            let width = HEX_WIDTH * 2 + HEX_WIDTH / 2;
            let used = chunk.len() * 2 + chunk.len() / 2;
            b.push_str(&" ".repeat(width.saturating_sub(used) + 1), look);
            let mut text = LineBuilder::new(look);
            for (&byte, &secret) in chunk.iter().zip(&secret) {
                text.push(shown_byte(byte), secret);
            }
            let mut text = text.take();
            if options.redact {
                mask_secrets(&mut text);
            }
            let mut line = b.take();
            line.extend(text);
            line
        })
        .collect()
}

/// A TLS flow: each record as it crossed the wire on the left; on the right, what the keys
/// decrypted from it (or why nothing could be read).
fn tls_view(flow: &FlowView, secrets: &Secrets, options: WireOptions) -> WireView {
    let decrypted_any = flow.wire.pieces.iter().any(|p| p.decrypted);
    let mut left = vec![vec![Seg {
        text: "On the wire: TLS records".into(),
        look: Look::Faint,
    }]];
    let mut right = vec![vec![Seg {
        text: if decrypted_any {
            "Decrypted with the key log".into()
        } else {
            "Opaque without the keys".into()
        },
        look: if decrypted_any {
            Look::Note
        } else {
            Look::Faint
        },
    }]];
    if !decrypted_any {
        for text in [
            "A key log with this session's secrets",
            "(a browser's SSLKEYLOGFILE, given to",
            "plainsight with --keylog) opens them.",
        ] {
            right.push(vec![Seg {
                text: text.into(),
                look: Look::Note,
            }]);
        }
    }
    // What went in the clear before TLS began (SMTP's EHLO and STARTTLS, say): as it was.
    if let Some(first) = flow.wire.records.first().map(|r| r.frame) {
        let before: Vec<WirePiece> = flow
            .wire
            .pieces
            .iter()
            .filter(|p| !p.decrypted && p.frame < first)
            .cloned()
            .collect();
        if !before.is_empty() {
            let lines = stream_lines(&before, secrets, options);
            right.resize(left.len(), Vec::new());
            left.push(vec![Seg {
                text: "In the clear, before TLS:".into(),
                look: Look::Faint,
            }]);
            left.extend(lines);
            right.resize(left.len(), Vec::new());
        }
    }
    // Decrypted pieces in order, per direction: one per application-data record.
    let mut plain: [std::collections::VecDeque<&WirePiece>; 2] = Default::default();
    for p in flow.wire.pieces.iter().filter(|p| p.decrypted) {
        plain[dir_index(p.dir)].push_back(p);
    }
    for r in &flow.wire.records {
        let mut l = vec![vec![
            Seg {
                text: format!("#{} {} ", r.frame, arrow_short(r.dir)),
                look: Look::Faint,
            },
            Seg {
                text: format!("{} {} B", r.content_type, r.length),
                look: dir_look(r.dir),
            },
        ]];
        l.push(vec![Seg {
            text: format!("  {}", spaced_hex(&r.head, r.length)),
            look: Look::Opaque,
        }]);
        let mut rl: Vec<WireLine> = Vec::new();
        if r.inner_type == Some(RecordType::ApplicationData) {
            if let Some(p) = plain[dir_index(r.dir)].pop_front() {
                let mut text = piece_lines(p, secrets, options);
                let more = text.len().saturating_sub(RECORD_TEXT_LINES);
                text.truncate(RECORD_TEXT_LINES);
                if more > 0 {
                    text.push(vec![Seg {
                        text: format!("  … {more} more lines"),
                        look: Look::Faint,
                    }]);
                }
                rl = text;
            }
        } else if let Some(inner) = r.inner_type {
            rl.push(vec![Seg {
                text: format!("({inner}, decrypted)"),
                look: Look::Faint,
            }]);
        }
        side_by_side(&mut left, &mut right, l, rl);
    }
    let rows = left.len().max(right.len());
    left.resize(rows, Vec::new());
    right.resize(rows, Vec::new());
    WireView {
        left,
        right: Some(right),
        ..WireView::default()
    }
}

/// A QUIC flow: each datagram as it crossed the wire on the left (its first bytes, opaque), and
/// on the right what opened in that packet: the Initial's handshake (anyone can open it), and
/// with the key log the HTTP/3 streams.
fn quic_view(flow: &FlowView, secrets: &Secrets, options: WireOptions) -> WireView {
    let mut left = vec![vec![Seg {
        text: "On the wire: QUIC packets".into(),
        look: Look::Faint,
    }]];
    let mut right = vec![vec![Seg {
        text: "Opened: the Initial by anyone, the rest with the key log".into(),
        look: Look::Note,
    }]];
    for p in flow.wire.pieces.iter().filter(|p| !p.decrypted) {
        let l = vec![
            vec![
                Seg {
                    text: format!("#{} {} ", p.frame, arrow_short(p.dir)),
                    look: Look::Faint,
                },
                Seg {
                    text: format!("datagram {} B", p.data.len()),
                    look: dir_look(p.dir),
                },
            ],
            vec![Seg {
                text: format!(
                    "  {}",
                    spaced_hex(
                        &hex::encode(p.data.iter().take(16).copied().collect::<Vec<u8>>()),
                        p.data.len() as u64
                    )
                ),
                look: Look::Opaque,
            }],
        ];
        let mut rl: Vec<WireLine> = Vec::new();
        for plain in flow
            .wire
            .pieces
            .iter()
            .filter(|q| q.decrypted && q.frame == p.frame && q.dir == p.dir)
        {
            rl.extend(piece_lines(plain, secrets, options));
        }
        let more = rl.len().saturating_sub(RECORD_TEXT_LINES);
        rl.truncate(RECORD_TEXT_LINES);
        if more > 0 {
            rl.push(vec![Seg {
                text: format!("  … {more} more lines"),
                look: Look::Faint,
            }]);
        }
        side_by_side(&mut left, &mut right, l, rl);
    }
    WireView {
        left,
        right: Some(right),
        ..WireView::default()
    }
}

/// Appends two blocks of lines side by side, the shorter padded to the longer.
fn side_by_side(
    left: &mut Vec<WireLine>,
    right: &mut Vec<WireLine>,
    mut l: Vec<WireLine>,
    mut r: Vec<WireLine>,
) {
    let rows = l.len().max(r.len());
    l.resize(rows, Vec::new());
    r.resize(rows, Vec::new());
    left.extend(l);
    right.extend(r);
}

fn dir_index(dir: Dir) -> usize {
    match dir {
        Dir::ClientToServer => 0,
        Dir::ServerToClient => 1,
    }
}

fn arrow_short(dir: Dir) -> &'static str {
    match dir {
        Dir::ClientToServer => "→",
        Dir::ServerToClient => "←",
    }
}

/// A record's first bytes, as the `tls_record` event carries them, spaced; `…` when it goes on.
fn spaced_hex(head_hex: &str, length: u64) -> String {
    let bytes: Vec<&str> = head_hex
        .as_bytes()
        .chunks(2)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let more = if length as usize > bytes.len() {
        " …"
    } else {
        ""
    };
    format!("{}{more}", bytes.join(" "))
}

/// HTTP/2 frame names, by type.
fn h2_frame_name(kind: u8) -> &'static str {
    match kind {
        0 => "DATA",
        1 => "HEADERS",
        2 => "PRIORITY",
        3 => "RST_STREAM",
        4 => "SETTINGS",
        5 => "PUSH_PROMISE",
        6 => "PING",
        7 => "GOAWAY",
        8 => "WINDOW_UPDATE",
        9 => "CONTINUATION",
        _ => "UNKNOWN",
    }
}

/// A cleartext HTTP/2 connection (prior knowledge): every frame, its header list
/// decoded (from the requests the engine read) beside the raw bytes. `None` when the client did
/// not start with the HTTP/2 preface.
fn http2_lines(flow: &FlowView, secrets: &Secrets, options: WireOptions) -> Option<Vec<WireLine>> {
    use crate::proto::http2::{FrameHeader, PREFACE};
    let (client, _) = stream_of(&flow.wire.pieces, Dir::ClientToServer, false);
    if !client.starts_with(PREFACE) {
        return None;
    }
    let mut lines = Vec::new();
    for dir in Dir::ALL.iter().copied() {
        let (stream, start) = stream_of(&flow.wire.pieces, dir, false);
        let mut at = if dir == Dir::ClientToServer {
            PREFACE.len()
        } else {
            0
        };
        lines.push(vec![Seg {
            text: format!("── HTTP/2 frames, {} ──", arrow(dir)),
            look: Look::Faint,
        }]);
        while let Some(header) = stream.get(at..at + FrameHeader::LEN) {
            let Some(FrameHeader {
                len,
                kind,
                flags,
                stream: id,
            }) = FrameHeader::parse(header)
            else {
                break;
            };
            let payload = stream
                .get(at + 9..(at + 9 + len).min(stream.len()))
                .unwrap_or_default();
            lines.push(vec![
                Seg {
                    text: format!(
                        "{} stream {id} flags {flags:#04x} {len} B  ",
                        h2_frame_name(kind)
                    ),
                    look: dir_look(dir),
                },
                Seg {
                    text: spaced_hex(&hex::encode(header), 9),
                    look: Look::Faint,
                },
            ]);
            match kind {
                1 if dir == Dir::ClientToServer => {
                    if let Some(r) = flow.requests.iter().find(|r| r.stream == Some(id)) {
                        for (name, value) in
                            std::iter::once((":method".to_string(), r.method.clone()))
                                .chain(std::iter::once((":path".to_string(), r.target.clone())))
                                .chain(r.headers.iter().cloned())
                        {
                            lines.push(vec![Seg {
                                text: format!("    {name}: {value}"),
                                look: Look::Note,
                            }]);
                        }
                    }
                }
                0 if !payload.is_empty() => {
                    let piece = WirePiece {
                        dir,
                        offset: start + (at + 9) as u64,
                        frame: 0,
                        decrypted: false,
                        data: payload.to_vec(),
                    };
                    lines.extend(
                        piece_lines(&piece, secrets, options)
                            .into_iter()
                            .map(|mut l| {
                                l.insert(
                                    0,
                                    Seg {
                                        text: "    ".into(),
                                        look: Look::Faint,
                                    },
                                );
                                l
                            }),
                    );
                }
                _ => {}
            }
            at += 9 + len;
        }
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Credential, Endpoint, Timestamp};

    fn flow(pieces: Vec<WirePiece>, creds: Vec<Credential>) -> FlowView {
        FlowView {
            id: 1,
            client: "10.0.0.1:5000".into(),
            server: "10.0.0.2:80".into(),
            protocol: None,
            open: false,
            reason: None,
            bytes_c2s: 0,
            bytes_s2c: 0,
            packets: 0,
            findings: Vec::new(),
            credentials: creds,
            requests: Vec::new(),
            tls: None,
            wire: super::super::app::Wire {
                pieces,
                records: Vec::new(),
            },
            wire_trimmed: false,
            first_ts: Timestamp(0),
            udp: false,
        }
    }

    fn piece(dir: Dir, offset: u64, data: &[u8]) -> WirePiece {
        WirePiece {
            dir,
            offset,
            frame: offset + 1,
            decrypted: false,
            data: data.to_vec(),
        }
    }

    fn cred(kind: CredentialKind, user: &str, secret: &str) -> Credential {
        let e = Endpoint("10.0.0.1:5000".parse().unwrap());
        Credential {
            flow: 1,
            ts: Timestamp(0),
            frame: 1,
            kind,
            username: Some(user.into()),
            secret: secret.into(),
            client: e,
            server: e,
            location: String::new(),
            decrypted: false,
        }
    }

    fn secret_texts(view: &WireView) -> Vec<String> {
        view.left
            .iter()
            .flatten()
            .filter(|s| s.look == Look::Secret)
            .map(|s| s.text.clone())
            .collect()
    }

    #[test]
    fn a_form_password_is_marked_inside_the_body_as_sent() {
        let body =
            b"POST /login HTTP/1.1\r\nContent-Length: 34\r\n\r\nusername=alice&password=S3cret%21x";
        let f = flow(
            vec![piece(Dir::ClientToServer, 0, body)],
            vec![cred(CredentialKind::HttpForm, "alice", "S3cret!x")],
        );
        let v = view(&f, WireOptions::default());
        assert_eq!(secret_texts(&v), ["S3cret%21x"]);
        // The packet line, the request line, the header, the blank line, then the body.
        assert_eq!(v.secret_lines, [4]);
        let masked = view(
            &f,
            WireOptions {
                redact: true,
                ..Default::default()
            },
        );
        assert_eq!(secret_texts(&masked), ["S********x"]);
    }

    /// A QUIC flow: datagrams opaque on the left; beside each, what opened in that packet (the
    /// form body of an HTTP/3 request, its password marked); without the keys, nothing beside.
    #[test]
    fn quic_datagrams_sit_beside_what_opened_in_them() {
        let mut sealed = piece(Dir::ClientToServer, 0, &[0x41; 300]);
        sealed.frame = 9;
        let mut opened = piece(
            Dir::ClientToServer,
            0,
            b"\x00\x2ausername=alice&password=S3cret-h3",
        );
        opened.frame = 9;
        opened.decrypted = true;
        let mut f = flow(
            vec![sealed, opened],
            vec![Credential {
                decrypted: true,
                ..cred(CredentialKind::HttpForm, "alice", "S3cret-h3")
            }],
        );
        f.udp = true;
        let v = view(&f, WireOptions::default());
        let left: String = v.left.iter().flatten().map(|s| s.text.as_str()).collect();
        assert!(left.contains("#9 → datagram 300 B"), "{left}");
        assert!(left.contains("41 41 41"), "{left}");
        let right = v.right.as_ref().unwrap();
        assert_eq!(right.len(), v.left.len());
        let marked: Vec<&str> = right
            .iter()
            .flatten()
            .filter(|s| s.look == Look::Secret)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(marked, ["S3cret-h3"]);
        assert!(!v.secret_lines.is_empty());
        let hidden = view(
            &f,
            WireOptions {
                hide_keys: true,
                ..Default::default()
            },
        );
        assert!(hidden
            .right
            .iter()
            .flatten()
            .flatten()
            .all(|s| s.look != Look::Secret));
    }

    #[test]
    fn basic_is_marked_in_its_base64_with_the_decoded_pair_beside() {
        let req = b"GET / HTTP/1.1\r\nAuthorization: Basic YWxpY2U6V29uZGVybGFuZC00Mg==\r\n\r\n";
        let f = flow(
            vec![piece(Dir::ClientToServer, 0, req)],
            vec![cred(CredentialKind::HttpBasic, "alice", "Wonderland-42")],
        );
        let v = view(&f, WireOptions::default());
        assert_eq!(secret_texts(&v), ["YWxpY2U6V29uZGVybGFuZC00Mg=="]);
        let notes: Vec<&str> = v
            .left
            .iter()
            .flatten()
            .filter(|s| s.look == Look::Note)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(notes, ["  ⇐ base64 of alice:Wonderland-42"]);
    }

    #[test]
    fn a_password_typed_one_key_per_packet_is_found_across_packets() {
        let mut pieces = vec![piece(Dir::ServerToClient, 0, b"Password: ")];
        for (i, b) in b"hunter2\r\n".iter().enumerate() {
            pieces.push(piece(Dir::ClientToServer, i as u64, &[*b]));
        }
        let f = flow(pieces, vec![cred(CredentialKind::Telnet, "bob", "hunter2")]);
        let v = view(&f, WireOptions::default());
        assert_eq!(secret_texts(&v).concat(), "hunter2");
        assert_eq!(v.secret_lines.len(), 7, "one line per key");
    }

    #[test]
    fn hex_dump_like_xxd_with_unprintable_bytes_as_dots() {
        let f = flow(
            vec![piece(Dir::ClientToServer, 0, b"GET /\x00\x01\r\n")],
            vec![],
        );
        let v = view(
            &f,
            WireOptions {
                hex: true,
                ..Default::default()
            },
        );
        let text: String = v.left[1].iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            text,
            "00000000: 4745 5420 2f00 010d 0a                   GET /····"
        );
        let plain = view(&f, WireOptions::default());
        let text: String = plain.left[1].iter().map(|s| s.text.as_str()).collect();
        assert_eq!(text, "GET /··");
    }
}
