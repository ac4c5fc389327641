//! The frames of a decrypted QUIC packet (RFC 9000 §19, RFC 9221 DATAGRAM, the ACK_FREQUENCY
//! extension). Only CRYPTO and STREAM frames carry what plainsight shows; the others are read
//! to find where the next frame starts.

use super::packet::Reader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// One or more PADDING bytes.
    Padding,
    Ping,
    Ack,
    /// Handshake bytes at `offset` of this level's crypto stream.
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    Stream {
        id: u64,
        offset: u64,
        data: &'a [u8],
        fin: bool,
    },
    ResetStream {
        id: u64,
    },
    ConnectionClose {
        error: u64,
        /// The application's close (0x1d) rather than the transport's (0x1c).
        application: bool,
        reason: &'a [u8],
    },
    HandshakeDone,
    /// Flow control, connection IDs, paths, tokens, datagrams: nothing to show.
    Other,
}

/// Why the rest of a packet's frames could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a QUIC frame of type 0x{0:x} ends past its packet")]
    Truncated(u64),
    #[error("an unknown QUIC frame type 0x{0:x}")]
    UnknownType(u64),
}

/// The frames of one packet payload, in order; after an error, nothing more.
pub struct Frames<'a> {
    r: Reader<'a>,
    failed: bool,
}

impl<'a> Frames<'a> {
    pub fn new(payload: &'a [u8]) -> Frames<'a> {
        Frames {
            r: Reader::new(payload),
            failed: false,
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.r.is_empty() {
            return None;
        }
        let result = frame(&mut self.r);
        self.failed = result.is_err();
        Some(result)
    }
}

fn frame<'a>(r: &mut Reader<'a>) -> Result<Frame<'a>, FrameError> {
    let ty = r.varint().ok_or(FrameError::Truncated(0))?;
    let short = FrameError::Truncated(ty);
    // Skips `n` varints.
    let skip = |r: &mut Reader<'a>, n: usize| -> Result<(), FrameError> {
        for _ in 0..n {
            r.varint().ok_or(short)?;
        }
        Ok(())
    };
    Ok(match ty {
        0x00 => {
            while r.peek() == Some(0) {
                r.u8();
            }
            Frame::Padding
        }
        0x01 => Frame::Ping,
        0x02 | 0x03 => {
            // Largest acknowledged, delay, range count, first range; then the ranges.
            skip(r, 2)?;
            let ranges = r.varint().ok_or(short)?;
            r.varint().ok_or(short)?;
            for _ in 0..ranges {
                skip(r, 2)?;
            }
            if ty == 0x03 {
                skip(r, 3)?;
            }
            Frame::Ack
        }
        0x04 => {
            let id = r.varint().ok_or(short)?;
            skip(r, 2)?;
            Frame::ResetStream { id }
        }
        0x05 => {
            skip(r, 2)?;
            Frame::Other
        }
        0x06 => {
            let offset = r.varint().ok_or(short)?;
            let len = r.varint().ok_or(short)?;
            let data = r.bytes_u64(len).ok_or(short)?;
            Frame::Crypto { offset, data }
        }
        0x07 => {
            let len = r.varint().ok_or(short)?;
            r.bytes_u64(len).ok_or(short)?;
            Frame::Other
        }
        0x08..=0x0f => {
            let id = r.varint().ok_or(short)?;
            let offset = if ty & 0x04 != 0 {
                r.varint().ok_or(short)?
            } else {
                0
            };
            let data = if ty & 0x02 != 0 {
                let len = r.varint().ok_or(short)?;
                r.bytes_u64(len).ok_or(short)?
            } else {
                r.rest()
            };
            Frame::Stream {
                id,
                offset,
                data,
                fin: ty & 0x01 != 0,
            }
        }
        0x10 | 0x12 | 0x13 | 0x14 | 0x16 | 0x17 | 0x19 => {
            skip(r, 1)?;
            Frame::Other
        }
        0x11 | 0x15 => {
            skip(r, 2)?;
            Frame::Other
        }
        0x18 => {
            // Sequence, retire prior to, a length byte and the ID, a 16-byte reset token.
            skip(r, 2)?;
            let len = r.u8().ok_or(short)?;
            r.bytes(usize::from(len) + 16).ok_or(short)?;
            Frame::Other
        }
        0x1a | 0x1b => {
            r.bytes(8).ok_or(short)?;
            Frame::Other
        }
        0x1c | 0x1d => {
            let error = r.varint().ok_or(short)?;
            if ty == 0x1c {
                skip(r, 1)?;
            }
            let len = r.varint().ok_or(short)?;
            let reason = r.bytes_u64(len).ok_or(short)?;
            Frame::ConnectionClose {
                error,
                application: ty == 0x1d,
                reason,
            }
        }
        0x1e => Frame::HandshakeDone,
        // IMMEDIATE_ACK (ACK frequency extension).
        0x1f => Frame::Other,
        // DATAGRAM (RFC 9221): without, then with a length.
        0x30 => {
            r.rest();
            Frame::Other
        }
        0x31 => {
            let len = r.varint().ok_or(short)?;
            r.bytes_u64(len).ok_or(short)?;
            Frame::Other
        }
        // RESET_STREAM_AT (reliable stream resets): id, error, final size, reliable size.
        0x24 => {
            let id = r.varint().ok_or(short)?;
            skip(r, 3)?;
            Frame::ResetStream { id }
        }
        // ACK_FREQUENCY: sequence, threshold, max ack delay, reordering threshold.
        0xaf => {
            skip(r, 4)?;
            Frame::Other
        }
        other => return Err(FrameError::UnknownType(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_in_order() {
        let payload = [
            0x00, 0x00, // padding
            0x06, 0x00, 0x03, b'a', b'b', b'c', // CRYPTO at 0
            0x02, 0x05, 0x00, 0x00, 0x00, // ACK
            0x0b, 0x04, 0x02, b'h', b'i', // STREAM 4, LEN, FIN
            0x0c, 0x08, 0x40, 0x10, b'x', b'y', // STREAM 8, OFF 16, to the end
        ];
        let frames: Vec<_> = Frames::new(&payload).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            frames,
            vec![
                Frame::Padding,
                Frame::Crypto {
                    offset: 0,
                    data: b"abc"
                },
                Frame::Ack,
                Frame::Stream {
                    id: 4,
                    offset: 0,
                    data: b"hi",
                    fin: true
                },
                Frame::Stream {
                    id: 8,
                    offset: 16,
                    data: b"xy",
                    fin: false
                },
            ]
        );
    }

    #[test]
    fn lengths_past_the_packet_stop_the_frames() {
        // A CRYPTO frame claiming 2^62-1 bytes: no underflow, no panic, an error.
        let payload = [
            0x06, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
        ];
        let frames: Vec<_> = Frames::new(&payload).collect();
        assert_eq!(frames, vec![Err(FrameError::Truncated(0x06))]);
        let frames: Vec<_> = Frames::new(&[0x40, 0x21, 0x00]).collect();
        assert_eq!(frames, vec![Err(FrameError::UnknownType(0x21))]);
        let frames: Vec<_> = Frames::new(&[0x24, 0x04, 0x00, 0x05, 0x02, 0x01]).collect();
        assert_eq!(
            frames,
            vec![Ok(Frame::ResetStream { id: 4 }), Ok(Frame::Ping)]
        );
    }
}
