//! Parsers on arbitrary bytes: whatever arrives, nothing panics and memory stays bounded.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plainsight::capture::LinkType;
use plainsight::creds::http::{from_request, RequestView};
use plainsight::creds::ntlm::parse_authenticate;
use plainsight::decode::decode;
use plainsight::flow::{Chunk, Direction};
use plainsight::proto::analysis::FlowAnalysis;
use plainsight::proto::dns::{parse_query, DnsTcpReader};
use plainsight::proto::http::Http1Flow;
use plainsight::proto::http2::Http2Flow;
use plainsight::proto::http3::Http3Flow;
use plainsight::proto::mail::{LineFlow, LineProtocol};
use plainsight::proto::qpack::QpackDecoder;
use plainsight::proto::quic::frame::Frames;
use plainsight::proto::quic::QuicConnection;
use plainsight::proto::telnet::TelnetFlow;
use plainsight::proto::{StreamContext, StreamParser};
use proptest::prelude::*;

/// Byte soup biased towards the characters protocol parsers care about.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            any::<u8>(),
            Just(b'\r'),
            Just(b'\n'),
            Just(b' '),
            Just(b':'),
            Just(b'{'),
            Just(b'}'),
            Just(b'"'),
            Just(255u8),
        ],
        0..600,
    )
}

fn chunks() -> impl Strategy<Value = Vec<(Direction, Vec<u8>)>> {
    let dir = prop_oneof![
        Just(Direction::ClientToServer),
        Just(Direction::ServerToClient)
    ];
    proptest::collection::vec((dir, soup()), 0..8)
}

const PREFIXES: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"a1 LOGIN {5}\r\n",
    b"AUTH LOGIN\r\n",
    b"USER x\r\nPASS ",
    b"\x16\x03\x01\x02\x00",
    b"\xff\xfb\x01login: ",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x05\x01\x05\x00\x00\x00\x01",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn stream_parsers_never_panic(pieces in chunks(), prefix in 0..PREFIXES.len()) {
        let mut http = Http1Flow::default();
        let mut items = Vec::new();
        let mut lines: Vec<LineFlow> = [LineProtocol::Ftp, LineProtocol::Pop3, LineProtocol::Imap, LineProtocol::Smtp]
            .into_iter().map(LineFlow::new).collect();
        let mut telnet = TelnetFlow::default();
        let mut h2 = Http2Flow::default();
        let mut h2_items = Vec::new();
        let mut dns = DnsTcpReader::default();
        let mut analysis = FlowAnalysis::new(true);
        let mut found = Vec::new();
        let mut outputs = Vec::new();
        let mut questions = Vec::new();
        let all = std::iter::once((Direction::ClientToServer, PREFIXES[prefix].to_vec())).chain(pieces);
        for (dir, bytes) in all {
            http.feed(dir, &bytes, &mut items);
            for l in lines.iter_mut() {
                l.feed(dir, &bytes, &mut found);
            }
            telnet.feed(dir, &bytes, &mut found);
            h2.feed(dir, &bytes, &mut h2_items);
            dns.feed(dir, &bytes, &mut questions);
            analysis.on_chunk(dir, Chunk::Data(&bytes), &StreamContext::default(), &mut outputs);
            if bytes.len() % 7 == 3 {
                http.on_gap(dir, bytes.len() as u64, &mut items);
                analysis.on_chunk(dir, Chunk::Gap(3), &StreamContext::default(), &mut outputs);
            }
        }
        http.on_end(&mut items);
        analysis.on_end(&StreamContext::default(), &mut outputs);
        h2.on_end(&mut h2_items);
        prop_assert!(http.buffered() < 4 << 20);
        prop_assert!(h2.buffered() < 4 << 20);
    }

    #[test]
    fn message_parsers_never_panic(bytes in soup(), link in prop_oneof![Just(0u32), Just(1), Just(101), Just(113), Just(276), Just(228), Just(229), any::<u32>()]) {
        let _ = decode(LinkType(link), &bytes);
        let _ = parse_query(&bytes);
        let _ = parse_authenticate(&bytes);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let headers = vec![
            ("Authorization".to_string(), format!("Basic {text}")),
            ("Authorization".to_string(), format!("Digest {text}")),
            ("Cookie".to_string(), text.clone()),
            ("Content-Type".to_string(), format!("multipart/form-data; boundary={}", text.chars().take(5).collect::<String>())),
        ];
        let _ = from_request(&RequestView { target: &text, headers: &headers, body: &bytes });
        let json = [("Content-Type".to_string(), "application/json".to_string())];
        let _ = from_request(&RequestView { target: "/", headers: &json, body: &bytes });
    }

    /// QUIC datagrams (starting like long headers of known versions), frames, QPACK and HTTP/3
    /// streams on arbitrary bytes.
    #[test]
    fn quic_parsers_never_panic(pieces in chunks(), version in prop_oneof![Just(1u32), Just(0x6b33_43cf), Just(0xff00_001d), Just(0), any::<u32>()]) {
        let mut conn = QuicConnection::default();
        let mut h3 = Http3Flow::default();
        let mut qpack = QpackDecoder::default();
        qpack.set_max_capacity(4096);
        let ctx = StreamContext { frame: 1, payloads: Some(256), ..Default::default() };
        let mut out = Vec::new();
        let mut items = Vec::new();
        for (i, (dir, bytes)) in pieces.iter().enumerate() {
            let mut datagram = vec![0xc0 | (bytes.first().copied().unwrap_or(0) & 0x3f)];
            datagram.extend_from_slice(&version.to_be_bytes());
            datagram.extend_from_slice(bytes);
            conn.on_datagram(*dir, &datagram, &ctx, &mut out);
            conn.on_datagram(*dir, bytes, &ctx, &mut out);
            for _ in Frames::new(bytes) {}
            let _ = qpack.encoder_stream(bytes);
            let _ = qpack.decode(bytes, |_, _| {});
            h3.on_data(*dir, (i % 4) as u64, bytes, 1, &mut items);
            if i % 3 == 2 {
                h3.on_fin(*dir, (i % 4) as u64, &mut items);
            }
        }
        conn.on_end(&ctx, &mut out);
        h3.on_end(&mut items);
    }
}
