//! HTTP/2 on real captures (curl and nghttp against nghttpd, captures/README.md): inside TLS 1.3
//! with its key log, in the clear with prior knowledge, and two streams interleaved — exact
//! credentials, golden NDJSON, and the same request paths as Wireshark's decoder finds.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

mod common;
use common::{golden, of, root, run_json};

fn requests(events: &[serde_json::Value]) -> Vec<String> {
    of(events, "http_request")
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["stream"],
                r["method"].as_str().unwrap(),
                r["target"].as_str().unwrap(),
                r["version"].as_str().unwrap()
            )
        })
        .collect()
}

fn creds(events: &[serde_json::Value]) -> Vec<String> {
    of(events, "credential")
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["kind"].as_str().unwrap(),
                c["username"].as_str().unwrap(),
                c["secret"].as_str().unwrap(),
                c["decrypted"]
            )
        })
        .collect()
}

#[test]
fn h2_inside_tls_with_the_key_log() {
    let (text, ev) = run_json(&[
        "report",
        "--json",
        "--keylog",
        "captures/h2-tls.keys",
        "captures/h2-tls.pcap",
    ]);
    golden("h2-tls.keyed", &text);
    assert_eq!(
        requests(&ev),
        ["1 POST /login HTTP/2", "3 GET /private HTTP/2"]
    );
    assert_eq!(
        creds(&ev),
        [
            "http-form uma H2-Form-Secret true",
            "http-basic victor H2-Basic-Secret true"
        ]
    );
    // TLS 1.3 sends the chosen ALPN inside the encrypted handshake: an eavesdropper sees only
    // what the client offered.
    assert_eq!(
        of(&ev, "tls_server_hello")[0]["alpn"],
        serde_json::Value::Null
    );
    assert_eq!(of(&ev, "tls_client_hello")[0]["alpn"][0], "h2");
    assert_eq!(
        of(&ev, "http_request")[0]["host"],
        "login.plainsight.test:9460"
    );
}

#[test]
fn h2c_prior_knowledge_with_a_session_cookie() {
    let (text, ev) = run_json(&["report", "--json", "captures/h2c.pcap"]);
    golden("h2c", &text);
    assert_eq!(
        creds(&ev),
        [
            "http-form wendy H2c-Secret false",
            "http-cookie sessionid h2c-session-42 false"
        ]
    );
    assert!(of(&ev, "flow_close")
        .iter()
        .all(|c| c["protocol"] == "http"));
}

#[test]
fn interleaved_streams_each_complete() {
    let (text, ev) = run_json(&["report", "--json", "captures/h2-multiplex.pcap"]);
    golden("h2-multiplex", &text);
    let bodies: Vec<(u64, u64)> = of(&ev, "http_response")
        .iter()
        .map(|r| {
            (
                r["stream"].as_u64().unwrap(),
                r["body_len"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies.iter().all(|(_, len)| *len == 65536), "{bodies:?}");
    assert_eq!(creds(&ev).len(), 2);
    assert!(of(&ev, "anomaly").is_empty());
}

/// Wireshark's HTTP/2 decoder finds the same request paths, in the same order.
#[test]
fn tshark_sees_the_same_h2_paths() {
    for (pcap, keys) in [
        ("captures/h2-tls.pcap", Some("captures/h2-tls.keys")),
        ("captures/h2c.pcap", None),
        ("captures/h2-multiplex.pcap", None),
    ] {
        let mut args = vec!["report", "--json"];
        if let Some(k) = keys {
            args.extend(["--keylog", k]);
        }
        args.push(pcap);
        let (_, ev) = run_json(&args);
        let port = of(&ev, "flow_open")[0]["server"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        let mut cmd = Command::new("tshark");
        cmd.current_dir(root()).arg("-r").arg(pcap);
        if let Some(k) = keys {
            cmd.args([
                "-o",
                &format!("tls.keylog_file:{k}"),
                "-d",
                &format!("tcp.port=={port},tls"),
            ]);
        } else {
            cmd.args(["-d", &format!("tcp.port=={port},http2")]);
        }
        cmd.args([
            "-Y",
            "http2.header.name == \":path\"",
            "-T",
            "fields",
            "-e",
            "http2.headers.path",
        ]);
        let out = cmd.output().expect("tshark is installed by `make test`");
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .flat_map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|l| !l.is_empty())
            .collect();
        let ours: Vec<String> = of(&ev, "http_request")
            .iter()
            .map(|r| r["target"].as_str().unwrap().to_string())
            .collect();
        let mut theirs_sorted = theirs.clone();
        theirs_sorted.sort();
        let mut ours_sorted = ours.clone();
        ours_sorted.sort();
        assert_eq!(
            ours_sorted, theirs_sorted,
            "{pcap}: tshark {theirs:?}, plainsight {ours:?}"
        );
    }
}
