//! Findings on real captures: what the sites in them got wrong, once per flow and kind, with
//! their severity and advice; nothing from what a capture cannot show.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

mod common;
use common::{of, run_json};

/// (flow, kind, severity) of every finding in `report --json ARGS`, and the summary's count.
fn findings(args: &[&str]) -> (Vec<(u64, String, String)>, Value) {
    let mut all = vec!["report", "--json"];
    all.extend_from_slice(args);
    let (_, events) = run_json(&all);
    findings_in(&events)
}

/// (flow, kind, severity) of every finding among `events`, and the summary.
fn findings_in(events: &[Value]) -> (Vec<(u64, String, String)>, Value) {
    let found = of(events, "finding")
        .iter()
        .map(|f| {
            assert!(!f["advice"].as_str().unwrap().is_empty());
            assert!(!f["detail"].as_str().unwrap().is_empty());
            (
                f["flow"].as_u64().unwrap(),
                f["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let summary = of(events, "summary")[0].clone();
    (found, summary)
}

fn f(flow: u64, kind: &str, severity: &str) -> (u64, String, String) {
    (flow, kind.into(), severity.into())
}

/// openssl s_server with TLS 1.0 and TLS_RSA_WITH_3DES_EDE_CBC_SHA: an old version, a weak
/// suite, RSA key exchange, a private CA; its page is HTML without HSTS, seen with the keys.
#[test]
fn legacy_tls_gives_each_of_its_mistakes_once() {
    let (found, summary) = findings(&["captures/tls10-3des.pcap"]);
    assert_eq!(
        found,
        [
            f(1, "weak_tls_version", "medium"),
            f(1, "weak_cipher", "high"),
            f(1, "no_forward_secrecy", "medium"),
            f(1, "untrusted_certificate", "high"),
        ]
    );
    assert_eq!(summary["findings"], 4);
    assert_eq!(summary["findings_by_kind"]["weak_cipher"], 1);
    // With the keys, the HTML page shows it sends no HSTS; without them that is unknown.
    let (found, _) = findings(&[
        "--keylog",
        "captures/tls10-3des.keys",
        "captures/tls10-3des.pcap",
    ]);
    assert_eq!(found.len(), 5);
    assert_eq!(found[4], f(1, "missing_hsts", "medium"));
}

/// A modern suite and version: nothing but the certificate, which the capture's private CA
/// makes untrusted; given that CA, nothing at all.
#[test]
fn a_modern_handshake_with_its_ca_gives_nothing() {
    let (found, _) = findings(&["captures/tls12-aes128.pcap"]);
    assert_eq!(found, [f(1, "untrusted_certificate", "high")]);
    let (found, summary) = findings(&[
        "--ca",
        "captures/certificates-ca.pem",
        "captures/certificates.pcap",
    ]);
    // The private CA's good chain is trusted; the five broken ones are not.
    let flows: Vec<u64> = found.iter().map(|(flow, _, _)| *flow).collect();
    assert_eq!(flows, [2, 3, 4, 5, 6]);
    assert!(found.iter().all(|(_, k, _)| k == "untrusted_certificate"));
    assert_eq!(summary["findings"], 5);
}

/// RSA key exchange alone is the forward-secrecy lesson; TLS 1.3 and ECDHE say nothing.
#[test]
fn rsa_key_exchange_has_no_forward_secrecy() {
    let (found, _) = findings(&["captures/tls12-rsa.pcap"]);
    assert!(
        found.contains(&f(1, "no_forward_secrecy", "medium")),
        "{found:?}"
    );
    for capture in ["captures/tls13-aes128.pcap", "captures/tls12-chacha.pcap"] {
        let (found, _) = findings(&[capture]);
        assert!(
            found.iter().all(|(_, k, _)| k == "untrusted_certificate"),
            "{capture}: {found:?}"
        );
    }
}

/// The lab's login captured by curl (an older lab, before its HSTS and its CA). Its plain-HTTP
/// side was reached as 127.0.0.1 and its HTTPS side as lab.plainsight.test: one address, but the
/// capture does not show the name 127.0.0.1 serving HTTPS (another name on an address proves
/// nothing for it, as with shared hosting), so no `no_https_redirect`.
#[test]
fn plain_http_from_a_host_that_serves_https() {
    let (found, _) = findings(&[
        "--keylog",
        "captures/lab-login.keys",
        "captures/lab-login.pcap",
    ]);
    assert_eq!(
        found,
        [
            f(2, "untrusted_certificate", "high"),
            f(2, "missing_hsts", "medium"),
        ]
    );
    // Plain HTTP alone says nothing about HTTPS; its login page over HTTP is the one mistake.
    let (found, summary) = findings(&["captures/http-forms.pcap"]);
    assert_eq!(found, [f(1, "login_form_over_http", "high")]);
    assert_eq!(summary["findings"], 1);
}

/// A free port on 127.0.0.1 (the system's choice, released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server` on `port` with `args`, until dropped; waits until it accepts.
struct OpensslServer(std::process::Child);

impl OpensslServer {
    fn start(port: u16, cert: &std::path::Path, key: &std::path::Path, args: &[&str]) -> Self {
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Dropped (killed and waited for) on every path, the panic below included.
        let server = OpensslServer(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("openssl s_server did not listen on {port}");
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What testssl.sh (Debian's, run against the server) says about the three weak-TLS kinds:
/// an old protocol offered, a weak cipher category offered, no forward secrecy at all.
fn testssl_verdicts(port: u16, dir: &std::path::Path) -> Vec<&'static str> {
    let json = dir.join(format!("testssl-{port}.json"));
    let out = std::process::Command::new("testssl")
        .args([
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "off",
            "-p",
            "-f",
            "-s",
        ])
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("testssl runs: `make test` installs Debian's testssl.sh");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| {
        panic!(
            "testssl wrote no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let results: Vec<Value> = serde_json::from_str(&text).unwrap();
    let said = |ids: &[&str], test: &dyn Fn(&str) -> bool| {
        results.iter().any(|r| {
            ids.contains(&r["id"].as_str().unwrap_or(""))
                && test(r["finding"].as_str().unwrap_or(""))
        })
    };
    let offered = |f: &str| f.starts_with("offered");
    let mut verdicts = Vec::new();
    if said(&["SSLv2", "SSLv3", "TLS1", "TLS1_1"], &offered) {
        verdicts.push("weak_tls_version");
    }
    if said(
        &[
            "cipherlist_NULL",
            "cipherlist_aNULL",
            "cipherlist_EXPORT",
            "cipherlist_LOW",
            "cipherlist_3DES_IDEA",
        ],
        &offered,
    ) {
        verdicts.push("weak_cipher");
    }
    if said(&["FS", "PFS"], &|f: &str| {
        f.starts_with("No ciphers supporting")
    }) {
        verdicts.push("no_forward_secrecy");
    }
    verdicts
}

/// The weak-TLS findings agree with testssl.sh on the same `openssl s_server`: TLS 1.0 with
/// RSA key exchange, TLS 1.2 with a NULL suite (both `@SECLEVEL=0`), and a modern default server.
/// plainsight sees one connection of `openssl s_client` to each (captured live on `lo`); testssl
/// probes the server itself.
#[test]
fn weak_tls_findings_agree_with_testssl() {
    common::require_root("capturing openssl on lo");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=weak.plainsight.test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success());
    let servers: [(&str, &[&str], &[&str]); 3] = [
        (
            "TLS 1.0, RSA key exchange",
            &["-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0"],
            &["-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0"],
        ),
        (
            "TLS 1.2, NULL encryption",
            &["-tls1_2", "-cipher", "NULL-SHA256:@SECLEVEL=0"],
            &["-tls1_2", "-cipher", "NULL-SHA256:@SECLEVEL=0"],
        ),
        ("a modern default", &[], &[]),
    ];
    for (what, server_args, client_args) in servers {
        let port = free_port();
        let server = OpensslServer::start(port, &cert, &key, server_args);
        let saved = dir.path().join(format!("{port}.pcap"));
        let filter = format!("tcp port {port}");
        let capture = common::LiveRun::capture_lo(&filter, 30, &saved);
        let mut client = std::process::Command::new("openssl")
            .args(["s_client", "-quiet", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-servername", "weak.plainsight.test"])
            .args(client_args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write as _;
            let mut stdin = client.stdin.take().unwrap();
            stdin.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
            // s_server -www answers and closes; s_client ends with it.
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let answer = client.wait_with_output().unwrap();
        assert!(
            String::from_utf8_lossy(&answer.stdout).contains("HTTP/1.0 200"),
            "{what}: {}",
            String::from_utf8_lossy(&answer.stdout)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        capture.interrupt();
        let (found, _) = findings(&[saved.to_str().unwrap()]);
        let mut ours: Vec<&str> = found
            .iter()
            .map(|(_, k, _)| k.as_str())
            .filter(|k| ["weak_tls_version", "weak_cipher", "no_forward_secrecy"].contains(k))
            .collect();
        ours.sort_unstable();
        let mut theirs = testssl_verdicts(port, dir.path());
        theirs.sort_unstable();
        drop(server);
        assert_eq!(ours, theirs, "{what}: plainsight {found:?}");
        if what == "a modern default" {
            assert!(ours.is_empty());
        } else {
            assert!(!ours.is_empty(), "{what}");
        }
    }
}

/// The lab's mistakes mode as Chromium and curl visited it (captures/make-mistakes-capture.sh):
/// with the lab's keys and CA, each planted mistake once and nothing else; without the keys, only
/// what plain HTTP shows (the HTTPS mistakes are unknown, not absent).
#[test]
fn the_mistakes_capture_gives_each_planted_finding_once() {
    let (_, events) = run_json(&[
        "report",
        "--json",
        "--keylog",
        "captures/mistakes.keys",
        "--ca",
        "captures/mistakes-ca.pem",
        "captures/mistakes.pcap",
    ]);
    let (found, summary) = findings_in(&events);
    assert_eq!(
        found,
        [
            f(1, "login_form_over_http", "high"),
            f(5, "credentials_before_redirect", "high"),
            f(3, "no_https_redirect", "medium"),
            f(6, "form_posts_to_http", "high"),
            f(8, "missing_hsts", "medium"),
            f(10, "cookie_without_secure", "medium"),
            f(12, "cookie_without_httponly", "low"),
            f(14, "mixed_content", "medium"),
        ]
    );
    assert_eq!(summary["findings"], 8);
    let detail = |kind: &str| {
        of(&events, "finding")
            .iter()
            .find(|e| e["kind"] == kind)
            .map(|e| e["detail"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(detail("mixed_content")
        .ends_with("loads a script over plain HTTP: http://lab.plainsight.test:18080/app.js"));
    assert!(detail("form_posts_to_http").contains("to http://127.0.0.1:18448/login"));
    let (found, _) = findings(&["captures/mistakes.pcap"]);
    let kinds: Vec<&str> = found.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "login_form_over_http",
            "credentials_before_redirect",
            "no_https_redirect"
        ]
    );
}
