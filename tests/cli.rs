//! End-to-end tests of the `plainsight` binary on the bundled captures: exact events, exit codes
//! and messages. Golden files are in tests/golden; `UPDATE_GOLDEN=1 cargo test` rewrites them
//! (then read the diff before committing).

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{golden, of as of_type, root};

fn plainsight() -> Command {
    let mut cmd = Command::cargo_bin("plainsight").unwrap();
    cmd.current_dir(root());
    cmd
}

fn json_events(args: &[&str]) -> (Vec<Value>, i32, String) {
    let out = plainsight()
        .arg("report")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (
        events,
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn check_golden(capture: &str) {
    let out = plainsight()
        .args(["report", "--json", capture])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = Path::new(capture)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    golden(&name, &String::from_utf8(out.stdout).unwrap());
}

#[test]
fn golden_http_ipv4() {
    check_golden("captures/http-ipv4.pcap");
}

#[test]
fn golden_http_ipv6() {
    check_golden("captures/http-ipv6.pcap");
}

#[test]
fn golden_tls_pcapng() {
    check_golden("captures/tls-openssl.pcapng");
}

#[test]
fn golden_cooked_sll() {
    check_golden("captures/cooked-sll.pcap");
}

#[test]
fn golden_cooked_sll2() {
    check_golden("captures/cooked-sll2.pcap");
}

#[test]
fn golden_truncated() {
    check_golden("tests/data/truncated.pcap");
}

#[test]
fn http_ipv4_flows_match_tshark_conversations() {
    // Packet counts per connection as `tshark -q -z conv,tcp` gives them (captures/README.md).
    let (events, code, _) = json_events(&["captures/http-ipv4.pcap"]);
    assert_eq!(code, 0);
    let opens = of_type(&events, "flow_open");
    let clients: Vec<&str> = opens
        .iter()
        .map(|e| e["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        clients,
        ["127.0.0.1:46724", "127.0.0.1:46736", "127.0.0.1:46738"]
    );
    assert!(opens
        .iter()
        .all(|e| e["server"] == "127.0.0.1:8081" && e["handshake_seen"] == true));
    let closes = of_type(&events, "flow_close");
    let packets: Vec<u64> = closes
        .iter()
        .map(|e| e["packets"].as_u64().unwrap())
        .collect();
    assert_eq!(packets, [12, 16, 40]);
    assert!(closes
        .iter()
        .all(|e| e["reason"] == "fin" && e["protocol"] == "http"));
    let requests: Vec<String> = of_type(&events, "http_request")
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}",
                e["flow"], e["method"], e["target"], e["host"]
            )
        })
        .collect();
    assert_eq!(
        requests,
        [
            r#"1 "GET" "/index.html" "127.0.0.1:8081""#,
            r#"2 "GET" "/index.html" "127.0.0.1:8081""#,
            r#"2 "GET" "/hello.txt" "127.0.0.1:8081""#,
            r#"3 "GET" "/big.txt" "127.0.0.1:8081""#
        ]
    );
    let bodies: Vec<u64> = of_type(&events, "http_response")
        .iter()
        .map(|e| e["body_len"].as_u64().unwrap())
        .collect();
    assert_eq!(bodies, [239, 239, 18, 20480]);
    // The 20 KB file plus its response header, reassembled from 15 segments.
    assert!(closes[2]["bytes_s2c"].as_u64().unwrap() > 20480);
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["packets"], 68);
    assert_eq!(summary["flows"], 3);
    assert_eq!(summary["flows_by_protocol"]["http"], 3);
    assert_eq!(summary["anomalies"], 0);
}

#[test]
fn tls_on_8443_is_tls_with_records_counted() {
    let (events, code, _) = json_events(&["captures/tls-openssl.pcapng"]);
    assert_eq!(code, 0);
    let closes = of_type(&events, "flow_close");
    assert_eq!(closes.len(), 2);
    for c in &closes {
        assert_eq!(c["protocol"], "tls");
        let total = c["bytes_c2s"].as_u64().unwrap() + c["bytes_s2c"].as_u64().unwrap();
        assert_eq!(
            c["tls_bytes"].as_u64().unwrap(),
            total,
            "every byte is in a record"
        );
        assert!(c["tls_records"].as_u64().unwrap() >= 10);
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["plaintext_bytes"], 0);
    assert!(summary["encrypted_bytes"].as_u64().unwrap() > 10_000);
}

#[test]
fn truncated_file_is_analysed_up_to_the_damage() {
    let (events, code, stderr) = json_events(&["tests/data/truncated.pcap"]);
    assert_eq!(code, 0, "{stderr}");
    let anomalies = of_type(&events, "anomaly");
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0]["kind"], "truncated_file");
    assert!(anomalies[0]["detail"]
        .as_str()
        .unwrap()
        .contains("byte offset 26429"));
    // The two connections before the damage are whole; the third ends at the damage.
    let closes = of_type(&events, "flow_close");
    let reasons: Vec<&str> = closes
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["fin", "fin", "end_of_capture"]);
    assert_eq!(events.last().unwrap()["packets"], 63);
}

#[test]
fn garbage_after_valid_packets_is_an_anomaly_not_a_failure() {
    let (events, code, _) = json_events(&["tests/data/garbage-tail.pcap"]);
    assert_eq!(code, 0);
    let anomalies = of_type(&events, "anomaly");
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0]["kind"], "truncated_file");
    assert!(anomalies[0]["detail"]
        .as_str()
        .unwrap()
        .contains("byte offset 27719"));
    assert_eq!(
        of_type(&events, "flow_close")
            .iter()
            .filter(|e| e["reason"] == "fin")
            .count(),
        3
    );
    assert_eq!(events.last().unwrap()["packets"], 68);
}

#[test]
fn unsupported_link_type_is_one_anomaly() {
    let (events, code, _) = json_events(&["tests/data/unsupported-link.pcap"]);
    assert_eq!(code, 0);
    let anomalies = of_type(&events, "anomaly");
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0]["kind"], "unsupported_link_type");
    assert!(anomalies[0]["detail"].as_str().unwrap().contains("147"));
    assert_eq!(events.last().unwrap()["packets"], 3);
}

#[test]
fn missing_file_is_exit_1_with_one_clear_line() {
    let out = plainsight()
        .args(["report", "no/such/file.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no/such/file.pcap") && stderr.contains("cannot open"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn not_a_capture_is_exit_1_and_other_files_are_still_analysed() {
    let (events, code, stderr) =
        json_events(&["tests/data/not-a-capture.txt", "captures/http-ipv6.pcap"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("tests/data/not-a-capture.txt: not a pcap or pcapng capture"),
        "{stderr}"
    );
    assert_eq!(of_type(&events, "flow_close").len(), 2);
    assert_eq!(events.last().unwrap()["type"], "summary");
}

#[test]
fn several_files_get_unique_flow_ids_and_one_summary() {
    let (events, code, _) = json_events(&[
        "captures/http-ipv4.pcap",
        "captures/cooked-sll.pcap",
        "captures/cooked-sll2.pcap",
    ]);
    assert_eq!(code, 0);
    let ids: Vec<u64> = of_type(&events, "flow_open")
        .iter()
        .map(|e| e["flow"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    // Each flow names the file it came from, as given.
    let inputs: Vec<&str> = of_type(&events, "flow_open")
        .iter()
        .map(|e| e["input"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        [
            "captures/http-ipv4.pcap",
            "captures/http-ipv4.pcap",
            "captures/http-ipv4.pcap",
            "captures/cooked-sll.pcap",
            "captures/cooked-sll2.pcap"
        ]
    );
    assert_eq!(of_type(&events, "summary").len(), 1);
    assert_eq!(events.last().unwrap()["flows"], 5);
    assert_eq!(events.last().unwrap()["packets"], 68 + 12 + 12);
}

/// Files analysed in parallel give the very bytes of one after another: files in the order given,
/// flow ids counting on, one summary; an unreadable file in the middle is reported and skipped.
#[test]
fn parallel_files_give_the_same_stream_as_one_after_another() {
    let files = [
        "captures/http-forms.pcap",
        "captures/tls13-dsb.pcapng",
        "Cargo.toml",
        "captures/h2c.pcap",
        "captures/smtp.pcap",
        "captures/dns.pcap",
        "captures/tls12-aes128.pcap",
    ];
    let run = |jobs: &str| {
        let out = plainsight()
            .args(["report", "--json", "-j", jobs])
            .args(files)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "Cargo.toml is not a capture");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Cargo.toml"));
        String::from_utf8(out.stdout).unwrap()
    };
    let sequential = run("1");
    for jobs in ["2", "4"] {
        assert_eq!(run(jobs), sequential, "-j {jobs}");
    }
    let events: Vec<serde_json::Value> = sequential
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<u64> = of_type(&events, "flow_open")
        .iter()
        .map(|e| e["flow"].as_u64().unwrap())
        .collect();
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        ids,
        (1..=summary["flows"].as_u64().unwrap()).collect::<Vec<_>>()
    );
    // The DSB's keys decrypt the pcapng's own session, and only that file's.
    assert_eq!(summary["decrypted_flows"], 1);
}

#[test]
fn stdin_is_read_with_a_dash() {
    let data = std::fs::read(root().join("captures/http-ipv6.pcap")).unwrap();
    let out = plainsight()
        .args(["report", "--json", "-"])
        .write_stdin(data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let expected =
        std::fs::read_to_string(root().join("tests/golden/http-ipv6.pcap.ndjson")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
#[cfg_attr(
    not(feature = "live"),
    ignore = "a build without libpcap refuses -f (tests/without_libpcap.rs)"
)]
fn bpf_filter_applies_to_files() {
    let (events, code, _) = json_events(&["-f", "tcp port 46736", "captures/http-ipv4.pcap"]);
    assert_eq!(code, 0);
    let opens = of_type(&events, "flow_open");
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0]["client"], "127.0.0.1:46736");
    assert_eq!(events.last().unwrap()["packets"], 16);
    // Compiled per link type: the same filter works on Linux cooked v2.
    let (events, _, _) = json_events(&["-f", "tcp port 9999", "captures/cooked-sll2.pcap"]);
    assert_eq!(events.last().unwrap()["packets"], 0);
}

#[test]
#[cfg_attr(
    not(feature = "live"),
    ignore = "a build without libpcap refuses -f (tests/without_libpcap.rs)"
)]
fn bad_filter_is_exit_1_with_a_hint() {
    let out = plainsight()
        .args(["report", "-f", "tcp prot 80", "captures/http-ipv4.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad filter") && stderr.contains("libpcap syntax"),
        "{stderr}"
    );
}

#[test]
fn bad_usage_is_exit_2() {
    assert_eq!(
        plainsight()
            .args(["report"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        plainsight()
            .args(["frobnicate"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        plainsight()
            .args(["report", "--memcap", "lots", "x.pcap"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn text_report_lists_flows_and_totals() {
    let out = plainsight()
        .args(["report", "captures/http-ipv4.pcap"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().next().unwrap().contains("PROTO"));
    let row = text
        .lines()
        .find(|l| l.contains("127.0.0.1:46738"))
        .unwrap();
    assert!(
        row.contains("http") && row.contains("127.0.0.1:8081") && row.contains("fin"),
        "{row}"
    );
    assert!(text.contains("Totals"));
    assert!(text.contains("flows       3 (http 3)"), "{text}");
}

/// `--ca` takes PEM certificates: a file that cannot be read, or holds none, is a runtime failure
/// whose message says what to give (exit 1).
#[test]
fn a_ca_file_without_certificates_says_what_to_give() {
    let out = plainsight()
        .args([
            "report",
            "--ca",
            "captures/README.md",
            "captures/http-ipv4.pcap",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds no certificate") && err.contains("BEGIN CERTIFICATE"),
        "{err}"
    );
    let out = plainsight()
        .args([
            "report",
            "--ca",
            "/nonexistent.pem",
            "captures/http-ipv4.pcap",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the CA file"));
}

/// The text report's TLS section gives each chain from the server's certificate up to the root,
/// and the verdict with its reason.
#[test]
fn text_report_shows_each_chain_and_its_verdict() {
    let out = plainsight()
        .args([
            "report",
            "--ca",
            "captures/certificates-ca.pem",
            "captures/certificates.pcap",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let chains: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("chain: "))
        .collect();
    let trusts: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("trust: "))
        .collect();
    assert_eq!(chains.len(), 6, "{text}");
    assert_eq!(
        chains[0],
        "intranet.corp.test (EC P-256, 2026-12-02 to 2031-12-02) ← signed by Corp Issuing CA \
         (EC P-256, 2026-12-02 to 2031-12-02) ← signed by Corp Root CA (a root the client has, \
         not sent)"
    );
    assert_eq!(
        chains[4],
        "self-signed.corp.test (RSA 2048, 2026-12-02 to 2036-11-29)"
    );
    let verdicts: Vec<&str> = trusts
        .iter()
        .map(|t| t.split(':').next().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        [
            "trusted through Corp Root CA, a root given with --ca",
            "NOT trusted (expired)",
            "NOT trusted (not_yet_valid)",
            "NOT trusted (name_mismatch)",
            "NOT trusted (self_signed)",
            "NOT trusted (unknown_issuer)",
        ]
    );
}
