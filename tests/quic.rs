//! QUIC and HTTP/3 on real captures (aioquic client and server on loopback,
//! captures/make-quic-captures.sh): what anyone reads from the Initial packets, what the key log
//! opens (Handshake and 1-RTT packets, key updates, HTTP/3 with QPACK's dynamic table), checked
//! against tshark where tshark 4.0 can say (QUIC v1; it neither reads v2 nor decodes QPACK).

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::Command;

use base64::Engine as _;
use plainsight::flow::Direction;
use plainsight::proto::analysis::AppOutput;
use plainsight::proto::quic::QuicConnection;
use plainsight::proto::tls::decrypt::KeyLog;
use plainsight::proto::StreamContext;
use serde_json::Value;

mod common;
use common::{of, root, run_json};

/// A request: method, target, QUIC stream.
type Request = (&'static str, &'static str, u64);

/// (capture stem, the cipher the server chose, the requests).
const CAPTURES: &[(&str, &str, &[Request])] = &[
    (
        "quic-h3-login",
        "TLS_AES_256_GCM_SHA384",
        &[("POST", "/login", 0), ("GET", "/account", 4)],
    ),
    (
        "quic-v2-keyupdate",
        "TLS_CHACHA20_POLY1305_SHA256",
        &[("POST", "/login", 0), ("GET", "/account", 4)],
    ),
    (
        "quic-retry",
        "TLS_AES_256_GCM_SHA384",
        &[("POST", "/login", 0), ("GET", "/account", 4)],
    ),
    (
        "quic-bighello",
        "TLS_AES_256_GCM_SHA384",
        &[("GET", "/hello", 0)],
    ),
    (
        "quic-draft29",
        "TLS_AES_256_GCM_SHA384",
        &[("POST", "/login", 0), ("GET", "/account", 4)],
    ),
];

fn report(stem: &str, keys: bool, extra: &[&str]) -> Vec<Value> {
    let pcap = format!("captures/{stem}.pcap");
    let keylog = format!("captures/{stem}.keys");
    let mut args = vec!["report", "--json"];
    if keys {
        args.extend(["--keylog", &keylog]);
    }
    args.extend_from_slice(extra);
    args.push(&pcap);
    run_json(&args).1
}

/// Without keys: one UDP flow of protocol `quic`, the server name and the suites from the
/// Initial packets, and nothing of what HTTP/3 carries.
#[test]
fn without_keys_the_initial_still_names_the_server() {
    for (stem, cipher, _) in CAPTURES {
        let events = report(stem, false, &[]);
        let opens = of(&events, "flow_open");
        assert_eq!(opens.len(), 1, "{stem}");
        assert_eq!(opens[0]["transport"], "udp", "{stem}");
        assert_eq!(opens[0]["server"], "127.0.0.1:4433", "{stem}");
        assert_eq!(opens[0]["handshake_seen"], true, "{stem}");
        let hellos = of(&events, "tls_client_hello");
        let want = if *stem == "quic-retry" { 2 } else { 1 };
        assert_eq!(hellos.len(), want, "{stem}: {hellos:?}");
        for hello in &hellos {
            assert_eq!(hello["sni"], "quic.plainsight.test", "{stem}");
            let want = if *stem == "quic-draft29" {
                "h3-29"
            } else {
                "h3"
            };
            assert_eq!(hello["alpn"][0], want, "{stem}");
            assert_eq!(hello["offered_versions"], serde_json::json!(["TLS1.3"]));
            assert!(hello["ja4"].as_str().unwrap().starts_with("q13d"), "{stem}");
        }
        let servers = of(&events, "tls_server_hello");
        assert_eq!(servers.len(), 1, "{stem}");
        assert_eq!(servers[0]["cipher"], *cipher, "{stem}");
        assert_eq!(servers[0]["version"], "TLS1.3", "{stem}");
        for ty in [
            "http_request",
            "credential",
            "tls_certificate",
            "tls_decryption",
        ] {
            assert!(of(&events, ty).is_empty(), "{stem}: {ty} without keys");
        }
        let close = of(&events, "flow_close");
        assert_eq!(close[0]["protocol"], "quic", "{stem}");
        assert_eq!(close[0]["transport"], "udp", "{stem}");
        assert_eq!(close[0]["reason"], "end_of_capture", "{stem}");
        let summary = of(&events, "summary")[0];
        let bytes =
            close[0]["bytes_c2s"].as_u64().unwrap() + close[0]["bytes_s2c"].as_u64().unwrap();
        assert_eq!(summary["encrypted_bytes"], bytes, "{stem}");
        assert_eq!(summary["plaintext_bytes"], 0, "{stem}");
        assert_eq!(summary["flows_by_protocol"], serde_json::json!({"quic": 1}));
        assert_eq!(summary["anomalies"], 0, "{stem}");
    }
}

/// With the key log: the Handshake opens (the certificate), 1-RTT opens (through a key update
/// in v2), HTTP/3 requests come out with their streams, and the login's credentials with them.
#[test]
fn with_keys_http3_and_its_credentials_are_read() {
    for (stem, cipher, requests) in CAPTURES {
        let events = report(stem, true, &[]);
        let decryption = of(&events, "tls_decryption");
        assert_eq!(decryption.len(), 1, "{stem}");
        assert_eq!(decryption[0]["result"], "ok", "{stem}");
        assert!(decryption[0]["detail"].as_str().unwrap().contains(cipher));
        let certs = of(&events, "tls_certificate");
        assert_eq!(certs.len(), 1, "{stem}");
        assert_eq!(certs[0]["subject_cn"], "quic.plainsight.test");
        let got: Vec<(String, String, u64)> = of(&events, "http_request")
            .iter()
            .map(|r| {
                assert_eq!(r["version"], "HTTP/3", "{stem}");
                assert_eq!(r["host"], "quic.plainsight.test", "{stem}");
                assert_eq!(r["decrypted"], true, "{stem}");
                (
                    r["method"].as_str().unwrap().to_string(),
                    r["target"].as_str().unwrap().to_string(),
                    r["stream"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, String, u64)> = requests
            .iter()
            .map(|(m, t, s)| (m.to_string(), t.to_string(), *s))
            .collect();
        assert_eq!(got, want, "{stem}");
        let responses = of(&events, "http_response");
        assert_eq!(responses.len(), requests.len(), "{stem}");
        for r in &responses {
            assert_eq!(r["status"], 200);
            assert_eq!(r["body_len"], 13, "{stem}: \"welcome back\\n\"");
        }
        let creds: Vec<(String, String, String, String)> = of(&events, "credential")
            .iter()
            .map(|c| {
                assert_eq!(c["decrypted"], true);
                (
                    c["kind"].as_str().unwrap().to_string(),
                    c["username"].as_str().unwrap().to_string(),
                    c["secret"].as_str().unwrap().to_string(),
                    c["where"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want_creds: Vec<(String, String, String, String)> = if requests.len() == 2 {
            vec![
                (
                    "http-form",
                    "quinn",
                    "H3-Form-Secret",
                    "form field password",
                ),
                (
                    "http-basic",
                    "quinn",
                    "H3-Basic-Secret",
                    "header Authorization",
                ),
            ]
            .into_iter()
            .map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()))
            .collect()
        } else {
            Vec::new()
        };
        assert_eq!(creds, want_creds, "{stem}");
        let summary = of(&events, "summary")[0];
        assert_eq!(summary["decrypted_flows"], 1, "{stem}");
        assert_eq!(summary["anomalies"], 0, "{stem}");
    }
}

/// A key log that holds nothing for the session: the flow says so, once.
#[test]
fn a_key_log_without_the_session_says_no_key() {
    let events = report(
        "quic-h3-login",
        false,
        &["--keylog", "captures/quic-retry.keys"],
    );
    let decryption = of(&events, "tls_decryption");
    assert_eq!(decryption.len(), 1);
    assert_eq!(decryption[0]["result"], "no_key");
    assert!(of(&events, "http_request").is_empty());
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .current_dir(root())
        .args(args)
        .output()
        .expect("tshark is installed by `make test`");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The server name tshark reads from the Initial packets is plainsight's, packet for packet.
#[test]
fn server_names_match_tshark() {
    for stem in [
        "quic-h3-login",
        "quic-bighello",
        "quic-retry",
        "quic-chromium",
        "quic-draft29",
    ] {
        let pcap = format!("captures/{stem}.pcap");
        let theirs = tshark(&[
            "-r",
            &pcap,
            "-Y",
            "tls.handshake.type == 1",
            "-T",
            "fields",
            "-e",
            "tls.handshake.extensions_server_name",
        ]);
        let theirs: Vec<&str> = theirs.lines().collect();
        let events = report(stem, false, &[]);
        let ours: Vec<&str> = of(&events, "tls_client_hello")
            .iter()
            .map(|h| h["sni"].as_str().unwrap())
            .collect();
        // tshark 4.0 does not open the Initials after a Retry: it shows the first ClientHello.
        assert!(!theirs.is_empty(), "{stem}");
        assert_eq!(ours[..theirs.len()], theirs[..], "{stem}");
    }
}

/// The decrypted STREAM bytes of each direction, in order, are the bytes tshark decrypts with
/// the same key log (QUIC v1 captures: tshark 4.0 does not read v2). Before them come the
/// Initial's hellos, which plainsight shows opened with or without keys.
#[test]
fn decrypted_stream_bytes_equal_tsharks() {
    for stem in [
        "quic-h3-login",
        "quic-bighello",
        "quic-chromium",
        "quic-draft29",
    ] {
        let pcap = format!("captures/{stem}.pcap");
        let keylog = format!("tls.keylog_file:captures/{stem}.keys");
        let lines = tshark(&[
            "-r",
            &pcap,
            "-o",
            &keylog,
            "-Y",
            "quic.stream_data",
            "-T",
            "fields",
            "-e",
            "udp.dstport",
            "-e",
            "quic.stream_data",
        ]);
        let mut theirs: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        for line in lines.lines() {
            let (port, data) = line.split_once('\t').unwrap();
            let dir = if port == "4433" { "c2s" } else { "s2c" };
            for piece in data.split(',') {
                theirs
                    .entry(dir)
                    .or_default()
                    .extend(hex::decode(piece).unwrap());
            }
        }
        // The Initial's ClientHello and ServerHello come first in plainsight's decrypted bytes
        // (anyone can open them); tshark's stream data leaves them out.
        let hellos = tshark(&[
            "-r",
            &pcap,
            "-Y",
            "tls.handshake.type == 1 || tls.handshake.type == 2",
            "-T",
            "fields",
            "-e",
            "tls.handshake.type",
            "-e",
            "tls.handshake.length",
        ]);
        let mut skip: BTreeMap<&str, usize> = BTreeMap::new();
        for line in hellos.lines() {
            let (ty, len) = line.split_once('\t').unwrap();
            let len: usize = len.split(',').next().unwrap().parse().unwrap();
            let dir = if ty.starts_with('1') { "c2s" } else { "s2c" };
            skip.insert(dir, len + 4);
        }
        let events = report(stem, true, &["--payloads"]);
        let mut ours: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        for p in of(&events, "payload") {
            if p["decrypted"] == true {
                let dir = if p["dir"] == "c2s" { "c2s" } else { "s2c" };
                let data = base64::engine::general_purpose::STANDARD
                    .decode(p["data"].as_str().unwrap())
                    .unwrap();
                ours.entry(dir).or_default().extend(data);
            }
        }
        assert!(theirs["c2s"].len() > 40, "{stem}");
        for (dir, bytes) in ours.iter_mut() {
            let hello = skip[dir];
            // The hello itself, as tshark reads it.
            assert_eq!(bytes[0], if *dir == "c2s" { 1 } else { 2 }, "{stem} {dir}");
            bytes.drain(..hello);
        }
        assert_eq!(ours, theirs, "{stem}");
    }
}

/// Without keys, the wire view still gets every datagram, as it crossed the wire, and the
/// Initial's handshake bytes opened.
#[test]
fn datagrams_are_payloads_as_they_crossed_the_wire() {
    let events = report("quic-h3-login", false, &["--payloads"]);
    let all = of(&events, "payload");
    let payloads: Vec<_> = all.iter().filter(|p| p["decrypted"] == false).collect();
    let close = &of(&events, "flow_close")[0];
    assert_eq!(payloads.len() as u64, close["packets"].as_u64().unwrap());
    // The Initial is readable without keys: the ClientHello, with the server name in it.
    let opened: Vec<u8> = all
        .iter()
        .filter(|p| p["decrypted"] == true && p["dir"] == "c2s")
        .flat_map(|p| {
            base64::engine::general_purpose::STANDARD
                .decode(p["data"].as_str().unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(opened.first(), Some(&1), "a ClientHello");
    assert!(opened.windows(20).any(|w| w == b"quic.plainsight.test"));
    let c2s: u64 = payloads
        .iter()
        .filter(|p| p["dir"] == "c2s")
        .map(|p| {
            base64::engine::general_purpose::STANDARD
                .decode(p["data"].as_str().unwrap())
                .unwrap()
                .len() as u64
        })
        .sum();
    assert_eq!(c2s, close["bytes_c2s"].as_u64().unwrap());
}

/// Chromium's own QUIC: a post-quantum key share makes its ClientHello outgrow one packet, and
/// its CRYPTO frames come shuffled between PING and PADDING frames over two Initials. The form
/// it posts over HTTP/3, and the session cookie it sends back, are read with its key log.
#[test]
fn chromium_posts_a_login_over_http3() {
    let events = report("quic-chromium", false, &[]);
    let hello = &of(&events, "tls_client_hello")[0];
    assert_eq!(hello["sni"], "quic.plainsight.test");
    assert_eq!(hello["frame"], 1);
    assert!(hello["ja4"].as_str().unwrap().starts_with("q13d"));
    let events = report("quic-chromium", true, &[]);
    let requests: Vec<(&str, &str, u64)> = of(&events, "http_request")
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["target"].as_str().unwrap(),
                r["stream"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        requests,
        [
            ("GET", "/", 0),
            ("POST", "/login", 4),
            ("GET", "/favicon.ico", 8)
        ]
    );
    let creds: Vec<(&str, &str, &str)> = of(&events, "credential")
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["username"].as_str().unwrap(),
                c["secret"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        creds,
        [
            ("http-cookie", "sessionid", "h3-session-7"),
            ("http-form", "chris", "Chromium-H3-Secret"),
            ("http-cookie", "sessionid", "h3-session-7"),
        ]
    );
    assert_eq!(of(&events, "summary")[0]["anomalies"], 0);
}

/// The UDP payloads of a bundled capture (Ethernet, IPv4, UDP; pcap), with their direction
/// (towards port 4433: client to server).
fn datagrams(stem: &str) -> Vec<(Direction, Vec<u8>)> {
    let bytes = std::fs::read(root().join(format!("captures/{stem}.pcap"))).unwrap();
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let packet = &bytes[at + 16..at + 16 + len];
        let dst_port = u16::from_be_bytes([packet[36], packet[37]]);
        let dir = if dst_port == 4433 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        out.push((dir, packet[42..].to_vec()));
        at += 16 + len;
    }
    out
}

/// The v2 capture's key update is followed in both directions: the request after it is read
/// (above), on the next phase's keys.
#[test]
fn key_updates_are_followed_both_ways() {
    let mut updates = Vec::new();
    for stem in ["quic-v2-keyupdate", "quic-h3-login"] {
        let keys = std::fs::read_to_string(root().join(format!("captures/{stem}.keys"))).unwrap();
        let (keylog, warnings) = KeyLog::parse(&keys);
        assert!(warnings.is_empty());
        let ctx = StreamContext {
            keys: Some(&keylog),
            frame: 1,
            payloads: None,
        };
        let mut out = Vec::new();
        let mut conn = QuicConnection::default();
        for (dir, datagram) in datagrams(stem) {
            conn.on_datagram(dir, &datagram, &ctx, &mut out);
        }
        updates.push(conn.key_updates());
    }
    assert_eq!(updates, [[1, 1], [0, 0]]);
}

/// Secrets carried inside a pcapng (a Decryption Secrets Block, as `editcap --inject-secrets`
/// and Wireshark write them) open QUIC as `--keylog` does.
#[test]
fn secrets_inside_a_pcapng_open_quic() {
    let dir = tempfile::tempdir().unwrap();
    let with_keys = dir.path().join("quic-with-keys.pcapng");
    let out = Command::new("editcap")
        .current_dir(root())
        .args([
            "--inject-secrets",
            "tls,captures/quic-h3-login.keys",
            "captures/quic-h3-login.pcap",
        ])
        .arg(&with_keys)
        .output()
        .expect("editcap is installed by `make test` (wireshark-common)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, events) = run_json(&["report", "--json", with_keys.to_str().unwrap()]);
    let secrets: Vec<&str> = of(&events, "credential")
        .iter()
        .map(|c| c["secret"].as_str().unwrap())
        .collect();
    assert_eq!(secrets, ["H3-Form-Secret", "H3-Basic-Secret"]);
    assert_eq!(of(&events, "tls_decryption")[0]["result"], "ok");
}

/// Every datagram seen twice (retransmissions, or a capture that holds copies): each request,
/// response and credential is still reported once.
#[test]
fn copies_of_packets_do_not_repeat_requests() {
    let keys = std::fs::read_to_string(root().join("captures/quic-h3-login.keys")).unwrap();
    let (keylog, _) = KeyLog::parse(&keys);
    let ctx = StreamContext {
        keys: Some(&keylog),
        frame: 1,
        payloads: None,
    };
    let mut out = Vec::new();
    let mut conn = QuicConnection::default();
    for (dir, datagram) in datagrams("quic-h3-login") {
        conn.on_datagram(dir, &datagram, &ctx, &mut out);
        conn.on_datagram(dir, &datagram, &ctx, &mut out);
    }
    conn.on_end(&ctx, &mut out);
    let count = |f: fn(&AppOutput) -> bool| out.iter().filter(|o| f(&o.item)).count();
    assert_eq!(count(|o| matches!(o, AppOutput::Request { .. })), 2);
    assert_eq!(count(|o| matches!(o, AppOutput::Response { .. })), 2);
    assert_eq!(count(|o| matches!(o, AppOutput::Credential { .. })), 2);
    assert_eq!(count(|o| matches!(o, AppOutput::ClientHello(_))), 1);
    assert_eq!(count(|o| matches!(o, AppOutput::ParseError(_))), 0);
}

/// HTTP/0.9 over QUIC (ALPN `hq-interop`, what the QUIC interop runner's captures speak): each
/// request stream's `GET` line is a request, and a token in its query a credential.
#[test]
fn http09_over_quic_is_read_too() {
    let events = report("quic-hq-interop", true, &[]);
    let requests: Vec<(&str, &str, u64)> = of(&events, "http_request")
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap(),
                r["version"].as_str().unwrap(),
                r["stream"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        requests,
        [
            ("/login?user=quinn&password=Hq-Query-Secret", "HTTP/0.9", 0),
            ("/hello", "HTTP/0.9", 4)
        ]
    );
    let creds = of(&events, "credential");
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["kind"], "http-query");
    assert_eq!(creds[0]["secret"], "Hq-Query-Secret");
    assert_eq!(creds[0]["decrypted"], true);
}
