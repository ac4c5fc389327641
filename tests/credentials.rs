//! Every credential kind on a real capture made by real clients (captures/README.md says which):
//! exact usernames, secrets and places, and no false positives. Golden NDJSON for each capture.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{golden, run_json as run};

/// (kind, username, secret, where) of every credential in a capture, checked against its golden
/// NDJSON too.
fn credentials(capture: &str) -> Vec<(String, Option<String>, String, String)> {
    let path = format!("captures/{capture}");
    let (text, events) = run(&["report", "--json", &path]);
    golden(capture, &text);
    let creds: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "credential")
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["username"].as_str().map(str::to_string),
                e["secret"].as_str().unwrap().to_string(),
                e["where"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let summary = events.last().unwrap();
    assert_eq!(
        summary["credentials"].as_u64().unwrap() as usize,
        creds.len()
    );
    creds
}

fn c(
    kind: &str,
    user: Option<&str>,
    secret: &str,
    place: &str,
) -> (String, Option<String>, String, String) {
    (
        kind.into(),
        user.map(str::to_string),
        secret.into(),
        place.into(),
    )
}

#[test]
fn http_basic_and_proxy_basic_including_a_failed_login() {
    assert_eq!(
        credentials("http-basic.pcap"),
        [
            c(
                "http-basic",
                Some("alice"),
                "Wonderland-42",
                "header Authorization"
            ),
            c(
                "http-basic",
                Some("bob"),
                "Pr0xy-Pass",
                "header Proxy-Authorization"
            ),
            c(
                "http-basic",
                Some("alice"),
                "wrong-guess",
                "header Authorization"
            ),
        ]
    );
}

#[test]
fn http_digest_response() {
    // The response curl sent, as tshark shows it (captures/README.md).
    assert_eq!(
        credentials("http-digest.pcap"),
        [c(
            "http-digest",
            Some("carol"),
            "82781bbf8dd29ab197f3614009ce34af",
            "header Authorization"
        )]
    );
}

#[test]
fn http_ntlm_from_curl() {
    let creds = credentials("http-ntlm.pcap");
    assert_eq!(creds.len(), 1);
    let (kind, user, secret, place) = &creds[0];
    assert_eq!(
        (kind.as_str(), user.as_deref(), place.as_str()),
        ("http-ntlm", Some("LAB\\dave"), "header Authorization")
    );
    // The NTLMv2 response (148 bytes), NTProofStr first, as tshark decodes it.
    assert_eq!(secret.len(), 296);
    assert!(
        secret.starts_with("29a28b7f0e0820b1c15c032e82b92b34"),
        "{secret}"
    );
}

#[test]
fn http_bearer_and_session_cookie_only() {
    assert_eq!(
        credentials("http-bearer-cookie.pcap"),
        [
            c(
                "http-bearer",
                None,
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlcmluIn0.c2lnbmF0dXJl",
                "header Authorization"
            ),
            c(
                "http-cookie",
                Some("PHPSESSID"),
                "9f8e7d6c5b4a",
                "header Cookie"
            ),
        ]
    );
}

#[test]
fn http_forms_multipart_json_query_and_expect_continue() {
    assert_eq!(
        credentials("http-forms.pcap"),
        [
            c(
                "http-form",
                Some("frank"),
                "S3cret! pass",
                "form field password"
            ),
            c(
                "http-form",
                Some("grace@example.test"),
                "Multi-Part-9",
                "form field passwd"
            ),
            c(
                "http-json",
                Some("heidi"),
                "Js0n-Nested",
                "json field auth.pwd"
            ),
            c(
                "http-query",
                Some("ivan"),
                "Qu3ry-Str1ng",
                "query field pass"
            ),
            c(
                "http-form",
                Some("judy"),
                "Expect-100",
                "form field password"
            ),
        ]
    );
    // The login page with a password field, and a search form without one, are not credentials:
    // seven requests, five credentials; and the 100 Continue is its own response.
    let (_, events) = run(&["report", "--json", "captures/http-forms.pcap"]);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "http_request")
            .count(),
        7
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "http_response" && e["status"] == 100)
            .count(),
        1
    );
}

#[test]
fn ftp_user_pass_including_a_rejected_one() {
    assert_eq!(
        credentials("ftp.pcap"),
        [
            c("ftp", Some("ftpuser"), "Ftp-Pass-1", "command PASS"),
            c("ftp", Some("ftpuser"), "bad-ftp-pass", "command PASS")
        ]
    );
}

#[test]
fn pop3_user_pass_and_apop() {
    assert_eq!(
        credentials("pop3.pcap"),
        [
            c("pop3", Some("kate"), "P0p3-Pass", "command PASS"),
            c(
                "pop3",
                Some("leo"),
                "0b017d4148fb91696cee2ab421caa7cb",
                "command APOP"
            ),
        ]
    );
}

#[test]
fn imap_atoms_quoted_literals_and_authenticate_plain() {
    assert_eq!(
        credentials("imap.pcap"),
        [
            c("imap", Some("mallory"), "Imap-Pass-3", "command LOGIN"),
            c(
                "imap",
                Some("nina"),
                "pass with \"quotes\" and spaces",
                "command LOGIN"
            ),
            c("imap", Some("oscar"), "Plain-Auth-4", "AUTHENTICATE PLAIN"),
            c("imap", Some("peggy"), "Lit-Pass!", "command LOGIN"),
        ]
    );
}

#[test]
fn smtp_auth_plain_and_auth_login() {
    assert_eq!(
        credentials("smtp.pcap"),
        [
            c("smtp", Some("quentin"), "Smtp-Plain-5", "AUTH PLAIN"),
            c("smtp", Some("rachel"), "Smtp-Login-6", "AUTH LOGIN")
        ]
    );
}

#[test]
fn telnet_typed_a_key_per_packet() {
    assert_eq!(
        credentials("telnet.pcap"),
        [c(
            "telnet",
            Some("sam"),
            "Tel-Pass-8",
            "typed after Password:"
        )]
    );
}

#[test]
fn dns_queries_over_udp_and_tcp() {
    assert!(credentials("dns.pcap").is_empty());
    let (_, events) = run(&["report", "--json", "captures/dns.pcap"]);
    let queries: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "dns_query")
        .map(|e| {
            format!(
                "{} {} {}",
                e["name"].as_str().unwrap(),
                e["qtype"].as_str().unwrap(),
                e["server"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        queries,
        [
            "lab.plainsight.test A 127.0.0.1:5353",
            "lab.plainsight.test AAAA 127.0.0.1:5353",
            "www.example.test MX 127.0.0.1:5353",
            "tcp.plainsight.test TXT 127.0.0.1:5353",
        ]
    );
}

#[test]
fn redact_masks_secrets_everywhere() {
    let (text, events) = run(&["report", "--json", "--redact", "captures/http-basic.pcap"]);
    assert!(!text.contains("Wonderland-42"));
    assert!(
        !text.contains("YWxpY2U6V29uZGVybGFuZC00Mg=="),
        "the Authorization header is masked too"
    );
    let secrets: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "credential")
        .map(|e| e["secret"].as_str().unwrap())
        .collect();
    assert_eq!(secrets, ["W***********2", "P********s", "w*********s"]);
    let (text, _) = run(&["report", "--redact", "captures/http-forms.pcap"]);
    assert!(
        !text.contains("Qu3ry-Str1ng") && text.contains("Q**********g"),
        "{text}"
    );
}

#[test]
fn text_report_lists_credentials() {
    let (text, _) = run(&["report", "captures/pop3.pcap"]);
    assert!(text.contains("Credentials (2)"), "{text}");
    let line = text.lines().find(|l| l.contains("P0p3-Pass")).unwrap();
    assert!(
        line.contains("pop3") && line.contains("kate") && line.contains("command PASS"),
        "{line}"
    );
}
