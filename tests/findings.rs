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
    let found = of(&events, "finding")
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
    let summary = of(&events, "summary")[0].clone();
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
