//! QUIC and HTTP/3 parsers on arbitrary bytes: datagrams through a whole connection (coalesced
//! packets, headers, Initial keys), the frames of a decrypted payload, QPACK's encoder stream and
//! field sections, and HTTP/3 streams cut anywhere. Length fields are the known underflow site.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::flow::Direction;
use plainsight::proto::http3::Http3Flow;
use plainsight::proto::qpack::QpackDecoder;
use plainsight::proto::quic::frame::Frames;
use plainsight::proto::quic::{packet, QuicConnection};
use plainsight::proto::StreamContext;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 5 {
        0 => {
            // Datagrams separated by 0xff 0xfe, alternating directions.
            let mut conn = QuicConnection::default();
            let mut out = Vec::new();
            let ctx = StreamContext { frame: 1, payloads: Some(64), ..Default::default() };
            for (i, datagram) in split(rest).enumerate() {
                let dir = if i % 2 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
                conn.on_datagram(dir, datagram, &ctx, &mut out);
            }
            conn.on_end(&ctx, &mut out);
        }
        1 => {
            let mut at = rest;
            while let Ok((_, used)) = packet::parse(at, Some(8)) {
                at = at.get(used.max(1)..).unwrap_or_default();
            }
            if let Some(keys) = packet::initial_keys(packet::Version::V1, &[1, 2, 3, 4, 5, 6, 7, 8]) {
                let mut copy = rest.to_vec();
                let _ = packet::open(&mut copy, 9, &keys[0], Some(7));
            }
        }
        2 => for _ in Frames::new(rest) {},
        3 => {
            let mut d = QpackDecoder::default();
            d.set_max_capacity(4096);
            let mut parts = split(rest);
            if let Some(encoder) = parts.next() {
                let _ = d.encoder_stream(encoder);
            }
            for block in parts {
                let _ = d.decode(block, |_, _| {});
            }
        }
        _ => {
            // Pieces of streams: each begins with a stream id byte and a direction bit.
            let mut h3 = Http3Flow::default();
            let mut out = Vec::new();
            for piece in split(rest) {
                let Some((&head, bytes)) = piece.split_first() else { continue };
                let dir = if head & 0x80 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
                let id = u64::from(head & 0x0f);
                if head & 0x40 != 0 {
                    h3.on_fin(dir, id, &mut out);
                } else {
                    h3.on_data(dir, id, bytes, 1, &mut out);
                }
            }
            h3.on_end(&mut out);
        }
    }
});

fn split(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let d = rest?;
        match d.windows(2).position(|w| w == [0xff, 0xfe]) {
            Some(i) => {
                rest = Some(&d[i + 2..]);
                Some(&d[..i])
            }
            None => {
                rest = None;
                Some(d)
            }
        }
    })
}
