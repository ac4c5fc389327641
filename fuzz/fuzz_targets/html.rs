//! HTML response bodies on arbitrary bytes: decompressed (none, gzip, deflate, br, picked by the
//! first byte) and parsed as they stream in, in chunks of varying size, as the findings detector
//! reads them; and the same bytes as a `Set-Cookie` header. Memory stays within what the scan
//! declares, URLs within their cut. The seeds (fuzz/seeds/html) are the lab's pages, plain and
//! compressed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::proto::findings::SetCookie;
use plainsight::proto::html::{Encoding, HtmlScan};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else { return };
    let encoding = [
        Encoding::Identity,
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Brotli,
    ][usize::from(flags % 4)];
    let chunk = 1 + usize::from(flags >> 2) * 61;
    let Some(mut scan) = HtmlScan::new(encoding) else { return };
    // The decoder's window is charged from the start; the held start of the page (16 KiB at
    // most, before the parser starts) and the parser's buffers come on top.
    let bound = scan.held() + (64 << 10);
    for piece in body.chunks(chunk) {
        scan.feed(piece);
        assert!(scan.held() <= bound, "{} > {bound}", scan.held());
    }
    if let Some(facts) = scan.finish() {
        let urls = facts
            .http_form_action
            .iter()
            .chain(facts.http_subresource.iter().map(|(_, u)| u));
        for url in urls {
            assert!(url.len() <= 256 + '…'.len_utf8());
        }
    }
    let header = String::from_utf8_lossy(body);
    let cookie = SetCookie::parse(&header);
    let _ = cookie.session_like();
});
