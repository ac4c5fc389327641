//! HTTP/2 (RFC 9113) over a reassembled stream: decrypted TLS with ALPN h2, or cleartext with
//! prior knowledge. Frames are read across any split; HEADERS and CONTINUATION blocks are
//! decoded with HPACK (one dynamic table per direction, as the protocol keeps them); DATA is
//! unpadded and counted. Each stream gives the same [`Request`] and [`Response`] as HTTP/1.x, so
//! the credential detectors are the same. A framing or HPACK error is one error, and that
//! direction stops (its compression state is lost); other flows go on.

use crate::flow::Direction;
use crate::proto::{StreamContext, StreamParser};
use std::borrow::Cow;
use std::collections::HashMap;

use super::hpack::HpackDecoder;

use super::http::{HttpError, HttpItem, Request, Response};

/// What a client sends first on an HTTP/2 connection.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frames larger than this are refused (the protocol allows 16 MiB after SETTINGS; nothing real
/// sends that much in one frame).
pub const MAX_FRAME: usize = 1 << 20;
/// A header block (HEADERS plus CONTINUATIONs) larger than this is refused.
const MAX_HEADER_BLOCK: usize = 256 << 10;
/// Streams tracked at once per connection.
const MAX_STREAMS: usize = 1024;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const PUSH_PROMISE: u8 = 0x5;
const CONTINUATION: u8 = 0x9;

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// An HTTP/2 message and the stream it travelled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H2Item {
    pub stream: u32,
    pub item: HttpItem,
}

impl H2Item {
    /// The item with its stream, as HTTP/1.x and HTTP/2 items are handled alike.
    pub fn split(self) -> (Option<u32>, HttpItem) {
        (Some(self.stream), self.item)
    }
}

#[derive(Debug, Default)]
struct Stream {
    request: Option<Request>,
    response: Option<Response>,
}

/// A header block waiting for its CONTINUATION frames.
#[derive(Debug)]
struct PendingBlock {
    stream: u32,
    end_stream: bool,
    /// A PUSH_PROMISE's block: decoded (to keep HPACK in step) and dropped.
    promise: bool,
    block: Vec<u8>,
}

/// Both directions of an HTTP/2 connection.
pub struct Http2Flow {
    buf: [Vec<u8>; 2],
    /// Client bytes of the preface still to skip.
    preface_left: usize,
    decoders: [HpackDecoder; 2],
    pending: [Option<PendingBlock>; 2],
    streams: HashMap<u32, Stream>,
    dead: [bool; 2],
    /// The packet of the bytes being read: a message's frame is the one its HEADERS came in.
    frame: u64,
}

impl std::fmt::Debug for Http2Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http2Flow")
            .field("streams", &self.streams.len())
            .finish()
    }
}

impl Default for Http2Flow {
    fn default() -> Self {
        Http2Flow {
            buf: Default::default(),
            preface_left: PREFACE.len(),
            decoders: [bounded_decoder(), bounded_decoder()],
            pending: Default::default(),
            streams: HashMap::new(),
            dead: [false; 2],
            frame: 0,
        }
    }
}

/// HPACK dynamic tables larger than this are refused (the protocol's default is 4 KiB).
const MAX_TABLE: usize = 64 << 10;
/// Decoded headers of one block, at most (bytes of names and values).
const MAX_DECODED: usize = 256 << 10;
/// Headers kept per message (trailers included).
const MAX_HEADERS: usize = 256;

fn bounded_decoder() -> HpackDecoder {
    HpackDecoder::new(MAX_TABLE)
}

/// Whether a server's first bytes look like HTTP/2: a SETTINGS frame on stream 0.
pub fn looks_like_server_h2(data: &[u8]) -> bool {
    data.len() >= 9 && data[3] == 0x4 && data[5..9] == [0, 0, 0, 0]
}

/// The 9-byte header every HTTP/2 frame starts with (RFC 9113 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The payload's length.
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    /// The stream identifier, reserved bit cleared.
    pub stream: u32,
}

impl FrameHeader {
    pub const LEN: usize = 9;

    /// The frame header at the start of `bytes`, if all 9 bytes are there.
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let h: &[u8; 9] = bytes.get(..Self::LEN)?.try_into().ok()?;
        Some(FrameHeader {
            len: (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5] & 0x7f, h[6], h[7], h[8]]),
        })
    }
}

impl Http2Flow {
    /// Handles every whole frame at the start of `bytes`; returns how many bytes they took, or
    /// None once the direction failed.
    fn frames(&mut self, dir: usize, bytes: &[u8], out: &mut Vec<H2Item>) -> Option<usize> {
        let mut at = 0;
        while let Some(FrameHeader {
            len,
            kind,
            flags,
            stream,
        }) = bytes.get(at..).and_then(FrameHeader::parse)
        {
            if len > MAX_FRAME {
                self.fail(dir, HttpError::FrameTooLong(len), out);
                return None;
            }
            let Some(payload) = bytes.get(at + 9..at + 9 + len) else {
                break;
            };
            at += 9 + len;
            if let Err(e) = self.frame(dir, kind, flags, stream, payload, out) {
                self.fail(dir, e, out);
                return None;
            }
        }
        Some(at)
    }

    fn fail(&mut self, dir: usize, e: HttpError, out: &mut Vec<H2Item>) {
        self.dead[dir] = true;
        self.buf[dir] = Vec::new();
        out.push(H2Item {
            stream: 0,
            item: HttpItem::Error(e),
        });
    }

    fn frame(
        &mut self,
        dir: usize,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
        out: &mut Vec<H2Item>,
    ) -> Result<(), HttpError> {
        if self.pending[dir].is_some() && kind != CONTINUATION {
            return Err(HttpError::Framing(
                "an HTTP/2 header block was interrupted by another frame",
            ));
        }
        match kind {
            DATA => {
                let body = unpad(flags, payload)?;
                if let Some(s) = self.streams.get_mut(&stream) {
                    if dir == 0 {
                        if let Some(r) = s.request.as_mut() {
                            r.add_body(body);
                        }
                    } else if let Some(r) = s.response.as_mut() {
                        r.add_body(body);
                    }
                }
                if flags & END_STREAM != 0 {
                    self.finish(dir, stream, out);
                }
            }
            HEADERS | PUSH_PROMISE => {
                let mut block = unpad(flags, payload)?;
                if kind == HEADERS && flags & PRIORITY != 0 {
                    block = block.get(5..).ok_or(HttpError::Framing(
                        "a HEADERS frame's priority is cut short",
                    ))?;
                }
                if kind == PUSH_PROMISE {
                    // The promised stream id comes first; the block is the promised request.
                    block = block
                        .get(4..)
                        .ok_or(HttpError::Framing("a PUSH_PROMISE frame is cut short"))?;
                }
                if block.len() > MAX_HEADER_BLOCK {
                    return Err(HttpError::Framing("an HTTP/2 header block is too large"));
                }
                let pending = PendingBlock {
                    stream,
                    end_stream: kind == HEADERS && flags & END_STREAM != 0,
                    promise: kind == PUSH_PROMISE,
                    block: block.to_vec(),
                };
                if flags & END_HEADERS != 0 {
                    self.header_block(dir, pending, out)?;
                } else {
                    self.pending[dir] = Some(pending);
                }
            }
            CONTINUATION => {
                let Some(mut pending) = self.pending[dir].take() else {
                    return Err(HttpError::Framing(
                        "a CONTINUATION frame without a header block",
                    ));
                };
                if pending.stream != stream {
                    return Err(HttpError::Framing("a CONTINUATION frame on another stream"));
                }
                pending.block.extend_from_slice(payload);
                if pending.block.len() > MAX_HEADER_BLOCK {
                    return Err(HttpError::Framing("an HTTP/2 header block is too large"));
                }
                if flags & END_HEADERS != 0 {
                    self.header_block(dir, pending, out)?;
                } else {
                    self.pending[dir] = Some(pending);
                }
            }
            RST_STREAM => {
                // The stream is abandoned: what was seen of it is reported.
                self.flush_stream(stream, out);
            }
            // SETTINGS, PING, GOAWAY, WINDOW_UPDATE, PRIORITY and unknown frames: nothing to show.
            _ => {}
        }
        Ok(())
    }

    fn header_block(
        &mut self,
        dir: usize,
        block: PendingBlock,
        out: &mut Vec<H2Item>,
    ) -> Result<(), HttpError> {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut decoded = 0usize;
        self.decoders[dir]
            .decode(&block.block, |n, v| {
                // Indexed headers expand: a small block may name large table entries many times.
                decoded += n.len() + v.len();
                if decoded <= MAX_DECODED && headers.len() < MAX_HEADERS {
                    headers.push((
                        String::from_utf8_lossy(n).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    ))
                }
            })
            .map_err(HttpError::Hpack)?;
        if decoded > MAX_DECODED {
            return Err(HttpError::HeadersTooLarge(MAX_DECODED >> 10));
        }
        if block.promise {
            return Ok(());
        }
        let pseudo = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let stream_id = block.stream;
        if dir == 0 {
            if !self.streams.contains_key(&stream_id) && self.streams.len() >= MAX_STREAMS {
                return Err(HttpError::Framing("too many HTTP/2 streams at once"));
            }
            let entry = self.streams.entry(stream_id).or_default();
            match entry.request.as_mut() {
                // Trailers: added to the request's headers, within the bound.
                Some(r) => {
                    let room = MAX_HEADERS.saturating_sub(r.headers.len());
                    r.headers.extend(headers.into_iter().take(room));
                }
                None => {
                    entry.request = Some(Request {
                        method: pseudo(":method").unwrap_or_default(),
                        target: pseudo(":path").unwrap_or_default(),
                        version: Cow::Borrowed("HTTP/2"),
                        headers,
                        body: Vec::new(),
                        body_len: 0,
                        frame: self.frame,
                    })
                }
            }
        } else {
            let status: u16 = pseudo(":status").and_then(|s| s.parse().ok()).unwrap_or(0);
            if !self.streams.contains_key(&stream_id) && self.streams.len() >= MAX_STREAMS {
                return Err(HttpError::Framing("too many HTTP/2 streams at once"));
            }
            let entry = self.streams.entry(stream_id).or_default();
            if (100..200).contains(&status) {
                // An interim response: reported, and the final one follows.
                out.push(H2Item {
                    stream: stream_id,
                    item: HttpItem::Response(Response {
                        status,
                        reason: String::new(),
                        version: Cow::Borrowed("HTTP/2"),
                        headers,
                        body_len: 0,
                        frame: self.frame,
                        html: None,
                        scan: Default::default(),
                    }),
                });
                return Ok(());
            }
            match entry.response.as_mut() {
                Some(r) => {
                    let room = MAX_HEADERS.saturating_sub(r.headers.len());
                    r.headers.extend(headers.into_iter().take(room));
                }
                None => {
                    let response = entry.response.insert(Response {
                        status,
                        reason: String::new(),
                        version: Cow::Borrowed("HTTP/2"),
                        headers,
                        body_len: 0,
                        frame: self.frame,
                        html: None,
                        scan: Default::default(),
                    });
                    if !block.end_stream {
                        response.scan_html();
                    }
                }
            }
        }
        if block.end_stream {
            self.finish(dir, stream_id, out);
        }
        Ok(())
    }

    /// One side of a stream ended: its message is complete.
    fn finish(&mut self, dir: usize, stream: u32, out: &mut Vec<H2Item>) {
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        let item = if dir == 0 {
            s.request.take().map(HttpItem::Request)
        } else {
            s.response.take().map(|mut r| {
                r.end_body();
                HttpItem::Response(r)
            })
        };
        if let Some(item) = item {
            out.push(H2Item { stream, item });
        }
        // Both sides done (or one never seen): the stream is forgotten; a late side starts anew.
        if s.request.is_none() && s.response.is_none() {
            self.streams.remove(&stream);
        }
    }

    /// Reports what was seen of a stream and forgets it.
    fn flush_stream(&mut self, id: u32, out: &mut Vec<H2Item>) {
        if let Some(s) = self.streams.remove(&id) {
            if let Some(r) = s.request {
                out.push(H2Item {
                    stream: id,
                    item: HttpItem::Request(r),
                });
            }
            if let Some(mut r) = s.response {
                r.end_body();
                out.push(H2Item {
                    stream: id,
                    item: HttpItem::Response(r),
                });
            }
        }
    }
}

/// A frame's payload without its padding (PADDED flag).
fn unpad(flags: u8, payload: &[u8]) -> Result<&[u8], HttpError> {
    if flags & PADDED == 0 {
        return Ok(payload);
    }
    let pad = usize::from(
        *payload
            .first()
            .ok_or(HttpError::Framing("a padded frame without its pad length"))?,
    );
    let end = payload
        .len()
        .checked_sub(pad)
        .filter(|e| *e >= 1)
        .ok_or(HttpError::Framing("HTTP/2 padding longer than the frame"))?;
    Ok(&payload[1..end])
}

impl StreamParser for Http2Flow {
    type Item = H2Item;

    fn on_data(
        &mut self,
        dir: Direction,
        mut data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<H2Item>,
    ) {
        let dir = dir.index();
        self.frame = ctx.frame;
        if self.dead[dir] {
            return;
        }
        if dir == 0 && self.preface_left > 0 {
            let done = PREFACE.len() - self.preface_left;
            let n = self.preface_left.min(data.len());
            if data[..n] != PREFACE[done..done + n] {
                self.fail(dir, HttpError::NoPreface, out);
                return;
            }
            self.preface_left -= n;
            data = &data[n..];
        }
        // Whole frames are read where they lie; only a frame cut by a segment end is copied, and
        // only until the rest of it arrives.
        let mut pending = std::mem::take(&mut self.buf[dir]);
        if pending.is_empty() {
            let Some(used) = self.frames(dir, data, out) else {
                return;
            };
            pending.extend_from_slice(&data[used..]);
        } else {
            pending.extend_from_slice(data);
            let Some(used) = self.frames(dir, &pending, out) else {
                return;
            };
            pending.drain(..used);
        }
        self.buf[dir] = pending;
    }

    /// Bytes lost: frame boundaries and the compression state of that direction are gone.
    fn on_gap(&mut self, dir: Direction, _: u64, _: &mut Vec<H2Item>) {
        self.dead[dir.index()] = true;
        self.buf[dir.index()] = Vec::new();
    }

    /// The connection is over: streams cut short are reported with what was seen.
    fn on_end(&mut self, out: &mut Vec<H2Item>) {
        let mut ids: Vec<u32> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.flush_stream(id, out);
        }
    }

    fn buffered(&self) -> usize {
        self.buf.iter().map(Vec::capacity).sum::<usize>()
            + self
                .pending
                .iter()
                .flatten()
                .map(|p| p.block.capacity())
                .sum::<usize>()
            + self
                .streams
                .values()
                .map(|s| {
                    let headers = |h: &[(String, String)]| {
                        h.iter().map(|(n, v)| n.len() + v.len() + 48).sum::<usize>()
                    };
                    s.request
                        .as_ref()
                        .map_or(0, |r| r.body.capacity() + headers(&r.headers))
                        + s.response
                            .as_ref()
                            .map_or(0, |r| headers(&r.headers) + r.held())
                        + 64
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loona_hpack::Encoder;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn block(enc: &mut Encoder<'_>, headers: &[(&str, &str)]) -> Vec<u8> {
        enc.encode(headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
    }

    fn summary(items: &[H2Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match &i.item {
                HttpItem::Request(r) => format!(
                    "{} req {} {} body={:?}",
                    i.stream,
                    r.method,
                    r.target,
                    String::from_utf8_lossy(&r.body)
                ),
                HttpItem::Response(r) => {
                    format!("{} resp {} body={}", i.stream, r.status, r.body_len)
                }
                HttpItem::Error(e) => format!("error {e}"),
            })
            .collect()
    }

    /// A POST whose header block is continued by CONTINUATION, split across segments at every
    /// byte; and two streams whose DATA frames alternate.
    #[test]
    fn continuation_across_segments_and_interleaved_streams() {
        let mut enc = Encoder::new();
        let mut client = PREFACE.to_vec();
        client.extend(frame(0x4, 0, 0, &[]));
        let b1 = block(
            &mut enc,
            &[
                (":method", "POST"),
                (":path", "/login"),
                (":authority", "lab"),
                (":scheme", "https"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
        );
        let (first, rest) = b1.split_at(b1.len() / 2);
        client.extend(frame(HEADERS, 0, 1, first));
        client.extend(frame(CONTINUATION, END_HEADERS, 1, rest));
        let b3 = block(
            &mut enc,
            &[
                (":method", "POST"),
                (":path", "/other"),
                (":authority", "lab"),
                (":scheme", "https"),
            ],
        );
        client.extend(frame(HEADERS, END_HEADERS, 3, &b3));
        client.extend(frame(DATA, 0, 1, b"username=uma&"));
        client.extend(frame(DATA, PADDED, 3, &[2, b'x', 0, 0]));
        client.extend(frame(DATA, END_STREAM, 1, b"password=H2-Form-Secret"));
        client.extend(frame(DATA, END_STREAM, 3, b"y"));
        let mut senc = Encoder::new();
        let mut server = frame(0x4, 0, 0, &[]);
        let r1 = block(&mut senc, &[(":status", "200")]);
        server.extend(frame(HEADERS, END_HEADERS, 1, &r1));
        let r3 = block(&mut senc, &[(":status", "404")]);
        server.extend(frame(HEADERS, END_HEADERS, 3, &r3));
        server.extend(frame(DATA, 0, 1, b"abc"));
        server.extend(frame(DATA, END_STREAM, 3, b"de"));
        server.extend(frame(DATA, END_STREAM, 1, b"f"));
        let expected = [
            "1 req POST /login body=\"username=uma&password=H2-Form-Secret\"",
            "3 req POST /other body=\"xy\"",
            "3 resp 404 body=2",
            "1 resp 200 body=4",
        ];
        for cut in 0..client.len() {
            let mut h2 = Http2Flow::default();
            let mut out = Vec::new();
            h2.feed(Direction::ClientToServer, &client[..cut], &mut out);
            h2.feed(Direction::ClientToServer, &client[cut..], &mut out);
            h2.feed(Direction::ServerToClient, &server, &mut out);
            h2.on_end(&mut out);
            assert_eq!(summary(&out), expected, "cut at {cut}");
        }
    }

    #[test]
    fn errors_stop_one_direction() {
        let mut h2 = Http2Flow::default();
        let mut out = Vec::new();
        h2.feed(Direction::ClientToServer, b"GET / HTTP/1.1\r\n", &mut out);
        assert!(
            matches!(&out[..], [H2Item { item: HttpItem::Error(e), .. }] if e.to_string().contains("preface"))
        );
        let mut h2 = Http2Flow::default();
        let mut out = Vec::new();
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(HEADERS, END_HEADERS, 1, &[0xff, 0xff, 0xff, 0xff]));
        h2.feed(Direction::ClientToServer, &bytes, &mut out);
        assert!(
            matches!(&out[..], [H2Item { item: HttpItem::Error(e), .. }] if e.to_string().contains("HPACK"))
        );
        let mut h2 = Http2Flow::default();
        let mut out = Vec::new();
        h2.feed(
            Direction::ServerToClient,
            &[0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0],
            &mut out,
        );
        assert!(matches!(
            &out[..],
            [H2Item {
                item: HttpItem::Error(_),
                ..
            }]
        ));
        assert!(h2.buffered() < 1024);
    }
}
