//! The packet decoder and the single-message parsers (DNS, NTLM, TLS handshake messages,
//! credentials in a request) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::capture::LinkType;
use plainsight::creds::http::{from_request, RequestView};
use plainsight::creds::ntlm::parse_authenticate;
use plainsight::decode::decode;
use plainsight::proto::dns::parse_query;
use plainsight::proto::tls::handshake::{certificate, client_hello, server_hello};

fuzz_target!(|data: &[u8]| {
    for link in [0u32, 1, 9, 50, 101, 104, 105, 108, 113, 119, 127, 163, 192, 204, 205, 239, 276] {
        let _ = decode(LinkType(link), data);
    }
    let _ = parse_query(data);
    let _ = parse_authenticate(data);
    let _ = client_hello(data);
    let _ = server_hello(data);
    let _ = certificate(data, false);
    let _ = certificate(data, true);
    let text = String::from_utf8_lossy(data).into_owned();
    let headers = vec![
        ("Authorization".to_string(), text.clone()),
        ("Cookie".to_string(), text.clone()),
        ("Content-Type".to_string(), "multipart/form-data; boundary=x".to_string()),
    ];
    let _ = from_request(&RequestView { target: &text, headers: &headers, body: data });
    let json = [("Content-Type".to_string(), "application/json".to_string())];
    let _ = from_request(&RequestView { target: "/", headers: &json, body: data });
});
