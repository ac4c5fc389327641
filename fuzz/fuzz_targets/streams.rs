//! Every stream parser on arbitrary bytes split into arbitrary chunks and directions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::flow::{Chunk, Direction};
use plainsight::proto::{StreamContext, StreamParser};
use plainsight::proto::analysis::FlowAnalysis;
use plainsight::proto::http::Http1Flow;
use plainsight::proto::http2::Http2Flow;
use plainsight::proto::mail::{LineFlow, LineProtocol};
use plainsight::proto::telnet::TelnetFlow;
use plainsight::proto::tls::flow::TlsFlow;

fuzz_target!(|data: &[u8]| {
    let mut http = Http1Flow::default();
    let mut h2 = Http2Flow::default();
    let mut tls = TlsFlow::default();
    let mut telnet = TelnetFlow::default();
    let mut lines: Vec<LineFlow> = [LineProtocol::Ftp, LineProtocol::Pop3, LineProtocol::Imap, LineProtocol::Smtp]
        .into_iter()
        .map(LineFlow::new)
        .collect();
    let mut analysis = FlowAnalysis::new(true);
    let (mut a, mut b, mut c, mut d, mut e, mut f) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    // The first byte of each chunk says its direction and length.
    let mut rest = data;
    while let Some((&head, tail)) = rest.split_first() {
        let dir = if head & 1 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        let len = usize::from(head >> 1).min(tail.len());
        let (chunk, next) = tail.split_at(len);
        rest = next;
        http.feed(dir, chunk, &mut a);
        h2.feed(dir, chunk, &mut b);
        tls.feed(dir, chunk, &mut c);
        telnet.feed(dir, chunk, &mut d);
        for l in lines.iter_mut() {
            l.feed(dir, chunk, &mut e);
        }
        analysis.on_chunk(dir, Chunk::Data(chunk), &StreamContext::default(), &mut f);
    }
    http.on_end(&mut a);
    h2.on_end(&mut b);
    tls.on_end(&mut c);
    analysis.on_end(&StreamContext::default(), &mut f);
});
