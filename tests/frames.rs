//! Frame numbers: every event from packets names the packet (1-based, as Wireshark numbers
//! frames) that carried its first byte. Checked against tshark on the bundled captures: for each
//! HTTP request, tshark's `frame.number`, or the first of its `tcp.segment` list when tshark put
//! the request together from several packets.

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

/// tshark's answer: the packet that carried each request's first byte, in order.
fn tshark_request_frames(capture: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .current_dir(common::root())
        .args(["-r", capture, "-Y", "http.request", "-T", "fields"])
        .args(["-e", "frame.number", "-e", "tcp.segment"])
        .output()
        .expect("tshark is installed by `make test`");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (frame, segments) = line.split_once('\t').unwrap_or((line, ""));
            let first = segments.split(',').next().filter(|s| !s.is_empty());
            first.unwrap_or(frame).trim().parse().unwrap()
        })
        .collect()
}

#[test]
fn http_request_frames_are_tsharks() {
    let captures = [
        "captures/http-forms.pcap",
        "captures/http-basic.pcap",
        "captures/http-ipv4.pcap",
        "captures/http-ipv6.pcap",
        "captures/http-digest.pcap",
        "captures/http-ntlm.pcap",
        "captures/http-bearer-cookie.pcap",
    ];
    let mut spanning = 0;
    for capture in captures {
        let (_, events) = common::run_json(&["report", "--json", capture]);
        let ours: Vec<u64> = common::of(&events, "http_request")
            .iter()
            .map(|e| e["frame"].as_u64().unwrap())
            .collect();
        let theirs = tshark_request_frames(capture);
        assert!(!theirs.is_empty(), "tshark saw no request in {capture}");
        assert_eq!(ours, theirs, "{capture}");
        // Credentials name the request that carried them.
        for c in common::of(&events, "credential") {
            let frame = c["frame"].as_u64().unwrap();
            assert!(ours.contains(&frame), "{capture}: credential at {frame}");
        }
        spanning += Command::new("tshark")
            .current_dir(common::root())
            .args(["-r", capture, "-Y", "http.request and tcp.segment"])
            .output()
            .map(|o| o.stdout.iter().filter(|b| **b == b'\n').count())
            .unwrap_or(0);
    }
    // The check covers requests that span packets too (their first packet is the frame).
    assert!(spanning > 0, "no request spanning packets was checked");
}

#[test]
fn every_event_from_packets_has_a_frame_and_the_summary_none() {
    for capture in [
        "captures/tls12-aes128.pcap",
        "captures/dns.pcap",
        "captures/telnet.pcap",
        "captures/smtp.pcap",
    ] {
        let (_, events) = common::run_json(&["report", "--json", capture]);
        let packets = events.last().unwrap()["packets"].as_u64().unwrap();
        for e in &events {
            if e["type"] == "summary" {
                assert!(e.get("frame").is_none());
                continue;
            }
            let frame = e["frame"].as_u64().unwrap_or_else(|| panic!("{e}"));
            assert!((1..=packets).contains(&frame), "{capture}: {e}");
        }
    }
}

#[test]
fn tls_and_dns_frames_are_tsharks() {
    let (_, events) = common::run_json(&["report", "--json", "captures/dns.pcap"]);
    let ours: Vec<u64> = common::of(&events, "dns_query")
        .iter()
        .map(|e| e["frame"].as_u64().unwrap())
        .collect();
    let theirs = common::tshark_frames("captures/dns.pcap", &[], "dns.flags.response == 0");
    assert_eq!(ours, theirs);
    // The ClientHello and the server's first flight, where tshark finds them.
    let (_, events) = common::run_json(&["report", "--json", "captures/tls12-aes128.pcap"]);
    let hello = common::of(&events, "tls_client_hello")[0]["frame"].as_u64();
    let server = common::of(&events, "tls_server_hello")[0]["frame"].as_u64();
    let theirs = common::tshark_frames(
        "captures/tls12-aes128.pcap",
        &["tcp.port==8443,tls"],
        "tls.handshake.type == 1 or tls.handshake.type == 2",
    );
    assert_eq!(vec![hello.unwrap(), server.unwrap()], theirs);
}
