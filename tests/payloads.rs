//! `report --json --payloads`: the bytes of every stream as they crossed the wire (and as
//! decrypted), and every TLS record. Checked against tshark's `-z follow,tcp,raw`.

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

/// Our payload bytes per (flow, dir), for one kind (`decrypted` or not), in stream order; each
/// piece must start where the one before ended.
fn streams(events: &[Value], decrypted: bool) -> BTreeMap<(u64, String), Vec<u8>> {
    let mut out: BTreeMap<(u64, String), Vec<u8>> = BTreeMap::new();
    for p in common::of(events, "payload") {
        if p["decrypted"].as_bool() != Some(decrypted) {
            continue;
        }
        let key = (
            p["flow"].as_u64().unwrap(),
            p["dir"].as_str().unwrap().to_string(),
        );
        let data = base64::engine::general_purpose::STANDARD
            .decode(p["data"].as_str().unwrap())
            .unwrap();
        let stream = out.entry(key).or_default();
        assert_eq!(p["offset"].as_u64().unwrap(), stream.len() as u64, "{p}");
        stream.extend_from_slice(&data);
    }
    out
}

/// tshark's bytes of TCP stream `index`: (first node's address, its bytes, the other's bytes).
fn tshark_follow(capture: &str, index: usize) -> (String, Vec<u8>, Vec<u8>) {
    let out = Command::new("tshark")
        .current_dir(common::root())
        .args(["-r", capture, "-q", "-z"])
        .arg(format!("follow,tcp,raw,{index}"))
        .output()
        .expect("tshark is installed by `make test`");
    let text = String::from_utf8(out.stdout).unwrap();
    let node0 = text
        .lines()
        .find_map(|l| l.strip_prefix("Node 0: "))
        .unwrap()
        .to_string();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let (to, hex) = match line.strip_prefix('\t') {
            Some(hex) => (&mut second, hex),
            None => (&mut first, line),
        };
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            to.extend(hex::decode(hex).unwrap());
        }
    }
    (node0, first, second)
}

#[test]
fn payloads_are_the_streams_tshark_follows() {
    let mut compared = 0;
    for capture in [
        "captures/http-basic.pcap",
        "captures/http-forms.pcap",
        "captures/telnet.pcap",
        "captures/ftp.pcap",
        "captures/smtp.pcap",
        "captures/tls12-aes128.pcap",
        "captures/tls13-aes128.pcap",
    ] {
        let (_, events) = common::run_json(&[
            "report",
            "--json",
            "--payloads",
            "--payload-bytes",
            "1MiB",
            capture,
        ]);
        let ours = streams(&events, false);
        for (index, open) in common::of(&events, "flow_open").iter().enumerate() {
            let flow = open["flow"].as_u64().unwrap();
            let client = open["client"].as_str().unwrap();
            let (node0, first, second) = tshark_follow(capture, index);
            let (c2s, s2c) = if node0 == client {
                (first, second)
            } else {
                (second, first)
            };
            let get = |dir: &str| {
                ours.get(&(flow, dir.to_string()))
                    .cloned()
                    .unwrap_or_default()
            };
            assert_eq!(get("c2s"), c2s, "{capture} flow {flow} client to server");
            assert_eq!(get("s2c"), s2c, "{capture} flow {flow} server to client");
            compared += c2s.len() + s2c.len();
        }
    }
    assert!(compared > 10_000, "only {compared} bytes compared");
}

#[test]
fn payload_bytes_bound_each_direction_and_nothing_without_the_option() {
    let (_, plain) = common::run_json(&["report", "--json", "captures/http-forms.pcap"]);
    assert!(common::of(&plain, "payload").is_empty());
    assert!(common::of(&plain, "tls_record").is_empty());
    let (_, events) = common::run_json(&[
        "report",
        "--json",
        "--payloads",
        "--payload-bytes",
        "100",
        "captures/http-forms.pcap",
    ]);
    let closes: BTreeMap<u64, (u64, u64)> = common::of(&events, "flow_close")
        .iter()
        .map(|c| {
            (
                c["flow"].as_u64().unwrap(),
                (
                    c["bytes_c2s"].as_u64().unwrap(),
                    c["bytes_s2c"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let ours = streams(&events, false);
    for (flow, (c2s, s2c)) in closes {
        let len = |dir: &str| ours.get(&(flow, dir.to_string())).map_or(0, Vec::len) as u64;
        assert_eq!(len("c2s"), c2s.min(100), "flow {flow}");
        assert_eq!(len("s2c"), s2c.min(100), "flow {flow}");
    }
    // With --redact, --payloads is a usage error: raw bytes cannot be masked.
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(common::root())
        .args([
            "report",
            "--json",
            "--payloads",
            "--redact",
            "captures/http-forms.pcap",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Without --json, --payloads is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(common::root())
        .args(["report", "--payloads", "captures/http-forms.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn tls_records_and_decrypted_bytes() {
    let capture = "captures/tls12-aes128.pcap";
    let (_, opaque) = common::run_json(&["report", "--json", "--payloads", capture]);
    let records = common::of(&opaque, "tls_record");
    let close = common::of(&opaque, "flow_close")[0];
    assert_eq!(records.len() as u64, close["tls_records"].as_u64().unwrap());
    let bytes: u64 = records
        .iter()
        .map(|r| r["length"].as_u64().unwrap() + 5)
        .sum();
    assert_eq!(bytes, close["tls_bytes"].as_u64().unwrap());
    let first = records[0];
    assert_eq!(
        (first["dir"].as_str(), first["content_type"].as_str()),
        (Some("c2s"), Some("handshake"))
    );
    // A ClientHello record's body starts with the message type 1.
    assert!(first["head"].as_str().unwrap().starts_with("01"));
    assert!(records.iter().all(|r| r["inner_type"].is_null()));
    // Without keys the password never shows in the bytes; with them it does, decrypted.
    let wire = streams(&opaque, false);
    let secret = b"Tls-Secret-9";
    assert!(wire
        .values()
        .all(|s| !s.windows(secret.len()).any(|w| w == secret)));
    assert!(streams(&opaque, true).is_empty());
    let (_, keyed) = common::run_json(&[
        "report",
        "--json",
        "--payloads",
        "--keylog",
        "captures/tls12-aes128.keys",
        capture,
    ]);
    let plain = streams(&keyed, true);
    let c2s = plain.get(&(1, "c2s".to_string())).unwrap();
    assert!(c2s.starts_with(b"POST /login HTTP/1.1\r\n"));
    assert!(c2s.windows(secret.len()).any(|w| w == secret));
    let decrypted: Vec<&Value> = common::of(&keyed, "tls_record")
        .into_iter()
        .filter(|r| !r["inner_type"].is_null())
        .collect();
    assert!(decrypted
        .iter()
        .any(|r| r["inner_type"] == "application_data"));
}
