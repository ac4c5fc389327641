//! TLS on real captures (curl against openssl s_server, captures/README.md): handshake metadata,
//! certificates, JA4, and decryption with each supported cipher — with golden NDJSON — plus a
//! cross-check against Wireshark's own TLS engine (tshark, installed by `make test`).

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{golden, of, root, run_json};

fn events(args: &[&str]) -> (String, Vec<Value>) {
    let mut all = vec!["report", "--json"];
    all.extend_from_slice(args);
    run_json(&all)
}

/// (file stem, negotiated version, IANA cipher, certificate expiry) of each keyed capture. The
/// curl captures POST a form to /login; the GnuTLS ones (`GNUTLS`) GET /account with Basic.
const KEYED: &[(&str, &str, &str, &str)] = &[
    (
        "tls13-aes128",
        "TLS1.3",
        "TLS_AES_128_GCM_SHA256",
        "2036-11-22T03:22:40Z",
    ),
    (
        "tls13-aes256",
        "TLS1.3",
        "TLS_AES_256_GCM_SHA384",
        "2036-11-22T03:22:40Z",
    ),
    (
        "tls13-chacha",
        "TLS1.3",
        "TLS_CHACHA20_POLY1305_SHA256",
        "2036-11-22T03:22:40Z",
    ),
    (
        "tls12-aes128",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "2036-11-22T03:22:40Z",
    ),
    (
        "tls12-aes256",
        "TLS1.2",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "2036-11-22T03:22:40Z",
    ),
    (
        "tls12-chacha",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "2036-11-22T03:22:40Z",
    ),
    (
        "tls13-bigclienthello",
        "TLS1.3",
        "TLS_AES_256_GCM_SHA384",
        "2036-11-22T03:22:40Z",
    ),
    // CBC: encrypt-then-MAC with HMAC-SHA256, then MAC-then-encrypt with SHA-1 and SHA-384.
    (
        "tls12-cbc-etm",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "2036-11-28T08:02:24Z",
    ),
    (
        "tls12-cbc-sha1",
        "TLS1.2",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "2036-11-28T08:02:24Z",
    ),
    (
        "tls12-cbc-sha384",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        "2036-11-28T08:02:24Z",
    ),
    // TLS 1.1 (an IV in each record) and 1.0 (IVs chained), both with the MD5/SHA-1 PRF.
    (
        "tls11-cbc",
        "TLS1.1",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "2036-11-28T08:10:57Z",
    ),
    (
        "tls10-cbc",
        "TLS1.0",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "2036-11-28T08:10:57Z",
    ),
    // AES-CCM: TLS 1.3 with a 16-byte tag, TLS 1.2 with an 8-byte one.
    (
        "tls13-ccm",
        "TLS1.3",
        "TLS_AES_128_CCM_SHA256",
        "2036-11-28T08:22:22Z",
    ),
    (
        "tls12-ccm8",
        "TLS1.2",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
        "2036-11-28T08:22:22Z",
    ),
    // NULL: authenticated, not encrypted; the key log checks the HMACs.
    (
        "tls12-null",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_NULL_SHA",
        "2036-11-28T08:30:39Z",
    ),
    // Camellia-CBC and ARIA-GCM from OpenSSL; Camellia-GCM, 3DES and RC4 from GnuTLS.
    (
        "tls12-camellia",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384",
        "2036-11-28T11:21:58Z",
    ),
    (
        "tls12-aria-gcm",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256",
        "2036-11-28T11:21:58Z",
    ),
    (
        "tls12-camellia-gcm",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384",
        "2036-11-28T11:24:05Z",
    ),
    // 3DES: TLS 1.0 with RSA key exchange, chained IVs and encrypt-then-MAC; TLS 1.2 with an IV
    // per record and MAC-then-encrypt.
    (
        "tls10-3des",
        "TLS1.0",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "2036-11-28T11:24:05Z",
    ),
    (
        "tls12-3des",
        "TLS1.2",
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        "2036-11-28T11:24:05Z",
    ),
    // RC4: HMAC-MD5 in TLS 1.2, HMAC-SHA1 in TLS 1.1.
    (
        "tls12-rc4-md5",
        "TLS1.2",
        "TLS_RSA_WITH_RC4_128_MD5",
        "2036-11-28T11:24:05Z",
    ),
    (
        "tls11-rc4-sha",
        "TLS1.1",
        "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        "2036-11-28T11:24:05Z",
    ),
];

/// The keyed captures made with gnutls-cli and gnutls-serv: a GET with Basic credentials.
const GNUTLS: &[&str] = &[
    "tls12-camellia-gcm",
    "tls10-3des",
    "tls12-3des",
    "tls12-rc4-md5",
    "tls11-rc4-sha",
];

/// Suites Debian 12's tshark cannot decrypt (libgcrypt 1.10 has no ARIA).
const TSHARK_LACKS: &[&str] = &["tls12-aria-gcm"];

#[test]
fn every_cipher_decrypts_and_the_password_comes_back() {
    for (stem, version, cipher, not_after) in KEYED {
        let pcap = format!("captures/{stem}.pcap");
        let keys = format!("captures/{stem}.keys");
        let (text, ev) = events(&["--keylog", &keys, &pcap]);
        golden(&format!("{stem}.keyed"), &text);
        let sh = of(&ev, "tls_server_hello");
        assert_eq!(
            (sh[0]["version"].as_str(), sh[0]["cipher"].as_str()),
            (Some(*version), Some(*cipher)),
            "{stem}"
        );
        assert_eq!(
            of(&ev, "tls_client_hello")[0]["sni"],
            "login.plainsight.test",
            "{stem}"
        );
        let dec = of(&ev, "tls_decryption");
        assert_eq!(dec.len(), 1, "{stem}: one tls_decryption per flow");
        assert_eq!(dec[0]["result"], "ok", "{stem}: {}", dec[0]["detail"]);
        // The certificate: in the clear in TLS 1.2, decrypted in TLS 1.3.
        let cert = of(&ev, "tls_certificate");
        assert_eq!(cert.len(), 1, "{stem}");
        assert_eq!(cert[0]["subject_cn"], "login.plainsight.test");
        assert_eq!(cert[0]["issuer_cn"], "plainsight lab CA");
        assert_eq!(
            cert[0]["san"],
            serde_json::json!(["login.plainsight.test", "www.plainsight.test"])
        );
        assert_eq!(cert[0]["not_after"], *not_after, "{stem}");
        let creds = of(&ev, "credential");
        assert_eq!(creds.len(), 1, "{stem}");
        let (kind, method, target) = if GNUTLS.contains(stem) {
            ("http-basic", "GET", "/account")
        } else {
            ("http-form", "POST", "/login")
        };
        assert_eq!(
            (
                creds[0]["kind"].as_str(),
                creds[0]["username"].as_str(),
                creds[0]["secret"].as_str(),
                creds[0]["decrypted"].as_bool()
            ),
            (Some(kind), Some("tess"), Some("Tls-Secret-9"), Some(true)),
            "{stem}: the decrypted credential is what the client sent"
        );
        let req = of(&ev, "http_request");
        assert_eq!(
            (
                req[0]["method"].as_str(),
                req[0]["target"].as_str(),
                req[0]["decrypted"].as_bool()
            ),
            (Some(method), Some(target), Some(true)),
            "{stem}"
        );
        assert_eq!(
            of(&ev, "http_response")[0]["status"],
            200,
            "{stem}: the server's side decrypts too"
        );
        assert_eq!(ev.last().unwrap()["decrypted_flows"], 1);
    }
}

#[test]
fn without_the_key_only_metadata_leaks() {
    let (text, ev) = events(&["captures/tls13-aes128.pcap"]);
    golden("tls13-aes128.opaque", &text);
    assert!(of(&ev, "credential").is_empty());
    assert!(of(&ev, "http_request").is_empty());
    assert!(
        of(&ev, "tls_decryption").is_empty(),
        "no key log, no tls_decryption"
    );
    // TLS 1.3 encrypts the certificate: without the key it is not seen.
    assert!(of(&ev, "tls_certificate").is_empty());
    assert_eq!(
        of(&ev, "tls_client_hello")[0]["sni"],
        "login.plainsight.test"
    );
    let (_, ev) = events(&["captures/tls12-aes128.pcap"]);
    assert_eq!(
        of(&ev, "tls_certificate").len(),
        1,
        "TLS 1.2 sends the certificate in the clear"
    );
}

#[test]
fn a_key_log_without_the_session_is_no_key() {
    let (text, ev) = events(&[
        "--keylog",
        "captures/tls13-nokey.keys",
        "captures/tls13-nokey.pcap",
    ]);
    golden("tls13-nokey", &text);
    let dec = of(&ev, "tls_decryption");
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0]["result"], "no_key");
    assert!(dec[0]["detail"]
        .as_str()
        .unwrap()
        .contains("a9ea030b932287c0"));
    assert!(of(&ev, "credential").is_empty());
}

#[test]
fn a_resumed_session_decrypts_both_connections() {
    let (text, ev) = events(&[
        "--keylog",
        "captures/tls12-resumed.keys",
        "captures/tls12-resumed.pcap",
    ]);
    golden("tls12-resumed", &text);
    let results: Vec<&str> = of(&ev, "tls_decryption")
        .iter()
        .map(|d| d["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["ok", "ok"]);
    assert_eq!(
        of(&ev, "tls_certificate").len(),
        1,
        "the resumed handshake sends no certificate"
    );
    assert_eq!(of(&ev, "credential").len(), 2);
}

#[test]
fn keys_inside_the_pcapng_need_no_keylog_option() {
    let (text, ev) = events(&["captures/tls13-dsb.pcapng"]);
    golden("tls13-dsb", &text);
    assert_eq!(of(&ev, "tls_decryption")[0]["result"], "ok");
    assert_eq!(of(&ev, "credential")[0]["secret"], "Tls-Secret-9");
}

#[test]
fn a_client_hello_in_two_tcp_segments_is_read_whole() {
    let (_, ev) = events(&["captures/tls13-bigclienthello.pcap"]);
    let ch = of(&ev, "tls_client_hello");
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0]["sni"], "login.plainsight.test");
    assert_eq!(ch[0]["cipher_suites"], 87);
}

#[test]
fn malformed_key_log_lines_are_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    let good = std::fs::read_to_string(root().join("captures/tls12-aes128.keys")).unwrap();
    std::fs::write(
        &keys,
        format!("garbage here\n{good}CLIENT_RANDOM nothex 00\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(root())
        .args(["report", "--json", "--keylog"])
        .arg(&keys)
        .arg("captures/tls12-aes128.pcap")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 1: expected LABEL CLIENT_RANDOM SECRET"),
        "{stderr}"
    );
    assert!(stderr.contains("must be hex"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"result\":\"ok\""));
}

/// Wireshark's TLS engine decrypts the same captures with the same key logs: it must find the
/// same request lines and server names as plainsight.
#[test]
fn tshark_decrypts_the_same_requests_and_names() {
    let tshark = Command::new("tshark").arg("--version").output();
    assert!(
        tshark.is_ok(),
        "tshark is installed by `make test` (apt package tshark)"
    );
    for (stem, _, _, _) in KEYED.iter().filter(|k| !TSHARK_LACKS.contains(&k.0)) {
        let pcap = root().join(format!("captures/{stem}.pcap"));
        let keys = root().join(format!("captures/{stem}.keys"));
        let (_, ev) = events(&["--keylog", keys.to_str().unwrap(), pcap.to_str().unwrap()]);
        let port = of(&ev, "flow_open")[0]["server"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        let run = |filter: &str, fields: &[&str]| -> Vec<String> {
            let mut cmd = Command::new("tshark");
            cmd.arg("-r")
                .arg(&pcap)
                .arg("-o")
                .arg(format!("tls.keylog_file:{}", keys.display()));
            cmd.args([
                "-d",
                &format!("tcp.port=={port},tls"),
                "-d",
                &format!("tls.port=={port},http"),
            ]);
            cmd.args(["-Y", filter, "-T", "fields"]);
            for f in fields {
                cmd.args(["-e", f]);
            }
            let out = cmd.output().unwrap();
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        };
        let theirs_requests = run("http.request", &["http.request.method", "http.request.uri"]);
        let ours_requests: Vec<String> = of(&ev, "http_request")
            .iter()
            .map(|r| {
                format!(
                    "{}\t{}",
                    r["method"].as_str().unwrap(),
                    r["target"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(ours_requests, theirs_requests, "{stem}: request lines");
        let theirs_sni = run(
            "tls.handshake.type == 1",
            &["tls.handshake.extensions_server_name"],
        );
        let ours_sni: Vec<String> = of(&ev, "tls_client_hello")
            .iter()
            .map(|c| c["sni"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ours_sni, theirs_sni, "{stem}: server names");
    }
}

/// A TLS 1.3 HelloRetryRequest (the server wanted another key share): one `hello_retry: true`,
/// then the real ServerHello, whose keys decrypt the login. Frames as tshark numbers them.
#[test]
fn a_hello_retry_request_is_named_and_the_real_server_hello_used() {
    let (text, ev) = events(&[
        "--keylog",
        "captures/tls13-hrr.keys",
        "captures/tls13-hrr.pcap",
    ]);
    golden("tls13-hrr.keyed", &text);
    let hellos = of(&ev, "tls_server_hello");
    let retries: Vec<bool> = hellos
        .iter()
        .map(|h| h["hello_retry"].as_bool().unwrap())
        .collect();
    assert_eq!(retries, [true, false]);
    assert_eq!(
        of(&ev, "tls_client_hello").len(),
        2,
        "the client says hello twice"
    );
    let dec = of(&ev, "tls_decryption");
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0]["result"], "ok", "{}", dec[0]["detail"]);
    let creds = of(&ev, "credential");
    assert_eq!(
        (creds[0]["secret"].as_str(), creds[0]["decrypted"].as_bool()),
        (Some("Tls-Secret-9"), Some(true))
    );
    let out = std::process::Command::new("tshark")
        .args(["-r", "captures/tls13-hrr.pcap", "-d", "tcp.port==9452,tls"])
        .args([
            "-Y",
            "tls.handshake.type == 2",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("tshark is installed by `make test`");
    let theirs: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let ours: Vec<u64> = hellos
        .iter()
        .map(|h| h["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(ours, theirs);
    // Without the key, the retry is named all the same, and nothing is read.
    let (_, opaque) = events(&["captures/tls13-hrr.pcap"]);
    assert_eq!(of(&opaque, "tls_server_hello")[0]["hello_retry"], true);
    assert!(of(&opaque, "credential").is_empty());
}

/// STARTTLS (STLS, AUTH TLS): the protocol's greeting and the switch in the clear, then TLS.
/// Without the keys: the server name leaks, the login does not, the bytes after the switch count as
/// encrypted (as many records and bytes as tshark finds). With them: the login inside, decrypted,
/// in the packet where tshark finds it. SMTP (aiosmtpd), IMAP and POP3 (Dovecot), FTP (pyftpdlib).
#[test]
fn starttls_switches_mail_and_ftp_flows_to_tls() {
    // (capture stem, protocol, port as tshark must be told, tshark's name, credential kind,
    // tshark's filter for the login command)
    for (stem, protocol, port, dissector, kind, login) in [
        (
            "smtp-starttls",
            "smtp",
            2526,
            "smtp",
            "smtp",
            r#"smtp.req.command == "AUTH""#,
        ),
        (
            "imap-starttls",
            "imap",
            1143,
            "imap",
            "imap",
            r#"imap.request.command == "LOGIN""#,
        ),
        (
            "pop3-starttls",
            "pop3",
            1110,
            "pop",
            "pop3",
            r#"pop.request.command == "PASS""#,
        ),
        (
            "ftp-auth-tls",
            "ftp",
            2121,
            "ftp",
            "ftp",
            r#"ftp.request.command == "PASS""#,
        ),
    ] {
        let pcap = format!("captures/{stem}.pcap");
        let (_, opaque) = events(&[&pcap]);
        let close = of(&opaque, "flow_close")[0];
        assert_eq!(
            (close["protocol"].as_str(), close["starttls"].as_bool()),
            (Some(protocol), Some(true)),
            "{stem}"
        );
        assert_eq!(
            of(&opaque, "tls_client_hello")[0]["sni"],
            "login.plainsight.test",
            "{stem}"
        );
        assert!(
            of(&opaque, "credential").is_empty(),
            "{stem}: nothing is claimed from ciphertext"
        );
        let out = std::process::Command::new("tshark")
            .args(["-r", &pcap, "-d", &format!("tcp.port=={port},{dissector}")])
            .args(["-Y", "tls", "-T", "fields", "-e", "tls.record.length"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("tshark is installed by `make test`");
        let lengths: Vec<u64> = String::from_utf8(out.stdout)
            .unwrap()
            .split(['\n', ','])
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().unwrap())
            .collect();
        assert_eq!(
            close["tls_records"].as_u64(),
            Some(lengths.len() as u64),
            "{stem}: the records tshark finds"
        );
        let tls_bytes: u64 = lengths.iter().map(|l| l + 5).sum();
        assert_eq!(close["tls_bytes"].as_u64(), Some(tls_bytes), "{stem}");
        let summary = opaque.last().unwrap();
        assert_eq!(
            summary["encrypted_bytes"].as_u64(),
            Some(tls_bytes),
            "{stem}"
        );
        let total = close["bytes_c2s"].as_u64().unwrap() + close["bytes_s2c"].as_u64().unwrap();
        assert_eq!(
            summary["plaintext_bytes"].as_u64(),
            Some(total - tls_bytes),
            "{stem}: only the exchange before the switch is plaintext"
        );
        let keys = format!("captures/{stem}.keys");
        let (text, keyed) = events(&["--keylog", &keys, &pcap]);
        golden(&format!("{stem}.keyed"), &text);
        let creds = of(&keyed, "credential");
        assert_eq!(creds.len(), 1, "{stem}");
        assert_eq!(
            (
                creds[0]["kind"].as_str(),
                creds[0]["username"].as_str(),
                creds[0]["secret"].as_str(),
                creds[0]["decrypted"].as_bool()
            ),
            (
                Some(kind),
                Some("ursula"),
                Some("Starttls-Pass-7"),
                Some(true)
            ),
            "{stem}"
        );
        assert_eq!(of(&keyed, "tls_decryption")[0]["result"], "ok", "{stem}");
        // tshark, with the same key log, finds the login in the same packet.
        let out = std::process::Command::new("tshark")
            .args(["-r", &pcap, "-d", &format!("tcp.port=={port},{dissector}")])
            .args(["-o", &format!("tls.keylog_file:{keys}")])
            .args(["-Y", login])
            .args(["-T", "fields", "-e", "frame.number"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("tshark is installed by `make test`");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            creds[0]["frame"].to_string(),
            "{stem}: the login's packet"
        );
    }
    // A plain SMTP session never switched.
    let (_, plain) = events(&["captures/smtp.pcap"]);
    assert!(of(&plain, "flow_close")
        .iter()
        .all(|c| c["starttls"] == false && c["transport"] == "tcp"));
}

/// RSA key exchange with a key log's `RSA` line (what NSS writes: the first 8 bytes of the
/// encrypted pre-master secret and the pre-master secret): the session opens from that line
/// alone, the extended master secret computed over the handshake. The same line opens nothing
/// of an ECDHE session: there is no pre-master secret on the wire to match.
#[test]
fn an_rsa_key_log_line_opens_an_rsa_key_exchange() {
    let (text, ev) = events(&[
        "--keylog",
        "captures/tls12-rsa.rsa.keys",
        "captures/tls12-rsa.pcap",
    ]);
    golden("tls12-rsa.rsa-line", &text);
    assert_eq!(
        of(&ev, "tls_server_hello")[0]["cipher"],
        "TLS_RSA_WITH_AES_128_GCM_SHA256"
    );
    let dec = of(&ev, "tls_decryption");
    assert_eq!(dec[0]["result"], "ok", "{}", dec[0]["detail"]);
    let creds = of(&ev, "credential");
    assert_eq!(
        (creds[0]["secret"].as_str(), creds[0]["decrypted"].as_bool()),
        (Some("Tls-Secret-9"), Some(true))
    );
    // The CLIENT_RANDOM key log curl wrote gives the same.
    let (_, curl) = events(&[
        "--keylog",
        "captures/tls12-rsa.keys",
        "captures/tls12-rsa.pcap",
    ]);
    assert_eq!(of(&curl, "credential").len(), 1);
    // An ECDHE session: the RSA line has nothing to match.
    let (_, ecdhe) = events(&[
        "--keylog",
        "captures/tls12-rsa.rsa.keys",
        "captures/tls12-aes128.pcap",
    ]);
    assert_eq!(of(&ecdhe, "tls_decryption")[0]["result"], "no_key");
    assert!(of(&ecdhe, "credential").is_empty());
}

/// The lesson of forward secrecy: the server's private key (`--server-key`) opens the RSA key
/// exchange without any key log, and cannot open an ECDHE session; the JSON and the text report
/// say why.
#[test]
fn a_server_key_opens_rsa_key_exchange_but_not_forward_secrecy() {
    let key = "captures/tls12-rsa.server-key.pem";
    let (_, rsa) = events(&["--server-key", key, "captures/tls12-rsa.pcap"]);
    let dec = of(&rsa, "tls_decryption");
    assert_eq!(dec[0]["result"], "ok");
    assert!(dec[0]["detail"]
        .as_str()
        .unwrap()
        .contains("server's private key"));
    assert_eq!(of(&rsa, "credential")[0]["secret"], "Tls-Secret-9");
    let (_, ecdhe) = events(&["--server-key", key, "captures/tls12-aes128.pcap"]);
    let dec = of(&ecdhe, "tls_decryption");
    assert_eq!(dec[0]["result"], "no_key");
    assert!(dec[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("forward secrecy"));
    assert!(of(&ecdhe, "credential").is_empty());
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "--server-key", key, "captures/tls12-aes128.pcap"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("decryption: no_key (forward secrecy"),
        "{text}"
    );
    // A file that is not an RSA key is named, and the run fails before it starts.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "report",
            "--server-key",
            "captures/tls12-rsa.keys",
            "captures/tls12-rsa.pcap",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("is not an RSA private key in PEM"),
        "{stderr}"
    );
}

/// A TLS 1.3 KeyUpdate mid-connection (openssl s_server sends one before its response): the
/// next generation of keys is derived, and the response after it decrypts as tshark reads it.
#[test]
fn decryption_follows_a_key_update() {
    let (text, ev) = events(&[
        "--keylog",
        "captures/tls13-keyupdate.keys",
        "captures/tls13-keyupdate.pcap",
    ]);
    golden("tls13-keyupdate.keyed", &text);
    let responses = of(&ev, "http_response");
    assert_eq!(
        responses.len(),
        1,
        "the response after the KeyUpdate is read"
    );
    assert_eq!(
        (
            responses[0]["status"].as_u64(),
            responses[0]["decrypted"].as_bool()
        ),
        (Some(200), Some(true))
    );
    // The same file, as the capture script checked with tshark: one KeyUpdate, then the 200.
    let records = of(&ev, "tls_decryption");
    assert_eq!(records[0]["result"], "ok");
}

/// A suite plainsight cannot open (SEED-CBC, which tshark reads with the same key log) says so
/// once, by name, and nothing is claimed from its records.
#[test]
fn an_unsupported_suite_is_named_and_nothing_is_claimed() {
    let (_, ev) = events(&[
        "--keylog",
        "captures/tls12-seed.keys",
        "captures/tls12-seed.pcap",
    ]);
    let dec = of(&ev, "tls_decryption");
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0]["result"], "unsupported");
    assert_eq!(
        dec[0]["detail"],
        "TLS_RSA_WITH_SEED_CBC_SHA cannot be decrypted: plainsight reads AES, Camellia and ARIA (GCM and CBC), AES-CCM, ChaCha20-Poly1305, 3DES-CBC, RC4 and NULL suites"
    );
    assert!(of(&ev, "credential").is_empty());
    assert!(of(&ev, "http_request").is_empty());
    assert_eq!(ev.last().unwrap()["decrypted_flows"], 0);
}

/// TLS 1.3 resumption with 0-RTT (openssl s_client and s_server): the second connection resumes
/// with a ticket (no certificate) and sends its login as early data, before the ServerHello.
/// With `CLIENT_EARLY_TRAFFIC_SECRET` the login is read in the very packet that carried the
/// ClientHello (frame 23, where tshark reads it too); without it, that login stays unread but
/// the rest of the connection still decrypts.
#[test]
fn zero_rtt_early_data_decrypts_with_its_own_secret() {
    let (_, ev) = events(&[
        "--keylog",
        "captures/tls13-0rtt.keys",
        "captures/tls13-0rtt.pcap",
    ]);
    let logins: Vec<(u64, u64, bool)> = of(&ev, "credential")
        .iter()
        .map(|c| {
            assert_eq!(
                (c["username"].as_str(), c["secret"].as_str()),
                (Some("tess"), Some("Tls-Secret-9"))
            );
            (
                c["flow"].as_u64().unwrap(),
                c["frame"].as_u64().unwrap(),
                c["decrypted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(logins, [(1, 9, true), (2, 23, true)]);
    let hellos = of(&ev, "tls_server_hello");
    assert_eq!(
        hellos[1]["frame"], 25,
        "the early login precedes the ServerHello"
    );
    assert_eq!(
        of(&ev, "tls_certificate").len(),
        1,
        "the resumed connection sends no certificate"
    );
    let responses: Vec<(u64, u64)> = of(&ev, "http_response")
        .iter()
        .map(|r| (r["flow"].as_u64().unwrap(), r["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(responses, [(1, 200), (2, 200)]);
    let dec = of(&ev, "tls_decryption");
    assert!(dec.iter().all(|d| d["result"] == "ok"), "{dec:?}");
    assert_eq!(ev.last().unwrap()["decrypted_flows"], 2);

    // tshark reads the same two logins, the second in the same frame.
    let out = Command::new("tshark")
        .args(["-r", "captures/tls13-0rtt.pcap", "-o"])
        .arg("tls.keylog_file:captures/tls13-0rtt.keys")
        .args([
            "-Y",
            "http.authorization",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .current_dir(root())
        .output()
        .expect("tshark is installed by `make test`");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "9\n23\n");

    // Without the early secret: the 0-RTT login is not claimed, and the connection still
    // decrypts past it (the server's response, the client's Finished).
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("no-early.keys");
    let text = std::fs::read_to_string(root().join("captures/tls13-0rtt.keys")).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("CLIENT_EARLY_TRAFFIC_SECRET"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(without.len() < text.len());
    std::fs::write(&keys, without).unwrap();
    let (_, ev) = events(&[
        "--payloads",
        "--keylog",
        keys.to_str().unwrap(),
        "captures/tls13-0rtt.pcap",
    ]);
    let creds = of(&ev, "credential");
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["flow"], 1);
    assert_eq!(of(&ev, "http_response").len(), 2);
    assert!(of(&ev, "tls_decryption")
        .iter()
        .all(|d| d["result"] == "ok"));
}

/// TLS 1.2 renegotiation (openssl s_client's `R`): the second handshake travels inside the first
/// session's records, and the login after it is under the new keys. Both logins come back, in
/// the packets where tshark finds them; the second handshake's hellos are read once decrypted.
/// Without the second session's key log line, the first login still comes back and nothing is
/// claimed after the switch.
#[test]
fn renegotiation_takes_the_new_keys_at_change_cipher_spec() {
    let pcap = "captures/tls12-renegotiation.pcap";
    let keys = "captures/tls12-renegotiation.keys";
    let (_, ev) = events(&["--keylog", keys, pcap]);
    let frames: Vec<u64> = of(&ev, "credential")
        .iter()
        .map(|c| {
            assert_eq!(c["secret"], "Tls-Secret-9");
            c["frame"].as_u64().unwrap()
        })
        .collect();
    let out = Command::new("tshark")
        .args(["-r", pcap, "-o", &format!("tls.keylog_file:{keys}")])
        .args([
            "-Y",
            "http.authorization",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .current_dir(root())
        .output()
        .expect("tshark is installed by `make test`");
    let theirs: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(frames, theirs);
    assert_eq!(frames.len(), 2);
    assert_eq!(of(&ev, "tls_client_hello").len(), 2);
    assert_eq!(of(&ev, "tls_server_hello").len(), 2);
    assert_eq!(of(&ev, "http_response").len(), 2);
    assert_eq!(of(&ev, "tls_decryption").len(), 1);
    assert_eq!(ev.last().unwrap()["flows"], 1);

    // Only the first session's secret.
    let dir = tempfile::tempdir().unwrap();
    let first_only = dir.path().join("first.keys");
    let text = std::fs::read_to_string(root().join(keys)).unwrap();
    let first = text
        .lines()
        .find(|l| l.starts_with("CLIENT_RANDOM"))
        .unwrap();
    std::fs::write(&first_only, format!("{first}\n")).unwrap();
    let (_, ev) = events(&["--keylog", first_only.to_str().unwrap(), pcap]);
    let creds = of(&ev, "credential");
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["frame"], frames[0]);
    assert_eq!(of(&ev, "http_response").len(), 1);
    assert_eq!(of(&ev, "tls_decryption")[0]["result"], "ok");
}

/// Each Certificate message of `capture` as tshark decodes it: the client's port and the DER
/// certificates, in packet order.
fn tshark_chains(capture: &str) -> Vec<(String, Vec<Vec<u8>>)> {
    let out = Command::new("tshark")
        .current_dir(root())
        .args([
            "-r",
            capture,
            "-Y",
            "tls.handshake.type == 11",
            "-T",
            "fields",
        ])
        .args(["-e", "tcp.dstport", "-e", "tls.handshake.certificate"])
        .output()
        .expect("tshark is installed by `make test`");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (port, certs) = l.split_once('\t').unwrap();
            let ders = certs.split(',').map(|h| hex::decode(h).unwrap()).collect();
            (port.to_string(), ders)
        })
        .collect()
}

/// OpenSSL's verdict on a chain (DER, leaf first, as sent) at `attime`: `openssl verify` with
/// the sent intermediates as untrusted, `roots` as the trusted set (the system's when `None`),
/// and `-verify_hostname` when a name is given. Returns plainsight's word for it and what
/// OpenSSL said.
fn openssl_verdict(
    ders: &[Vec<u8>],
    attime: u64,
    roots: Option<&Path>,
    name: Option<&str>,
) -> (&'static str, String) {
    let dir = tempfile::tempdir().unwrap();
    let pem = |i: usize, der: &[u8]| {
        let path = dir.path().join(format!("{i}.der"));
        std::fs::write(&path, der).unwrap();
        let out = Command::new("openssl")
            .args(["x509", "-inform", "DER", "-in"])
            .arg(&path)
            .output()
            .expect("openssl is installed by `make test`");
        assert!(out.status.success());
        out.stdout
    };
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&leaf, pem(0, &ders[0])).unwrap();
    let mut verify = Command::new("openssl");
    verify.args(["verify", "-attime", &attime.to_string()]);
    if ders.len() > 1 {
        let untrusted = dir.path().join("untrusted.pem");
        let all: Vec<u8> = ders[1..]
            .iter()
            .enumerate()
            .flat_map(|(i, d)| pem(i + 1, d))
            .collect();
        std::fs::write(&untrusted, all).unwrap();
        verify.arg("-untrusted").arg(untrusted);
    }
    if let Some(roots) = roots {
        verify.arg("-CAfile").arg(roots);
    }
    if let Some(name) = name {
        verify.args(["-verify_hostname", name]);
    }
    let out = verify.arg(&leaf).output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let code = said
        .split("error ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok());
    let verdict = match (out.status.success(), code) {
        (true, _) => "trusted",
        (false, Some(18)) => "self_signed",
        (false, Some(2 | 19 | 20 | 21)) => "unknown_issuer",
        (false, Some(10)) => "expired",
        (false, Some(9)) => "not_yet_valid",
        (false, Some(62)) => "name_mismatch",
        (false, Some(7)) => "bad_signature",
        _ => panic!("openssl said {said}"),
    };
    (verdict, said)
}

/// The certificate lesson's capture (captures/make-cert-captures.sh: openssl s_server serving a
/// private CA's chain, an expired, a not-yet-valid and a wrong-name certificate from it, a
/// self-signed one, and a public-looking chain with Let's Encrypt's names on home-made keys):
/// each verdict equals `openssl verify -attime <capture time> -verify_hostname <SNI>` on the
/// chain tshark takes from the packets, with Debian's roots and the private root given to both.
#[test]
fn certificate_verdicts_equal_openssl_verify() {
    let capture = "captures/certificates.pcap";
    let ca = root().join("captures/certificates-ca.pem");
    // The chain tshark saw, by the client's port.
    let sent: HashMap<String, Vec<Vec<u8>>> = tshark_chains(capture).into_iter().collect();
    assert_eq!(sent.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    let mut bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt")
        .expect("Debian's ca-certificates is installed by `make test`");
    bundle.extend(std::fs::read(&ca).unwrap());
    std::fs::write(&roots, bundle).unwrap();
    let ca_arg = ca.to_str().unwrap();
    let (_, with_ca) = events(&["--ca", ca_arg, capture]);
    let (_, without) = events(&[capture]);
    let client_port: HashMap<u64, String> = of(&with_ca, "flow_open")
        .iter()
        .map(|e| {
            let client = e["client"].as_str().unwrap();
            let port = client.rsplit(':').next().unwrap().to_string();
            (e["flow"].as_u64().unwrap(), port)
        })
        .collect();
    let sni: HashMap<u64, String> = of(&with_ca, "tls_client_hello")
        .iter()
        .map(|e| {
            (
                e["flow"].as_u64().unwrap(),
                e["sni"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut verdicts = Vec::new();
    for cert in of(&with_ca, "tls_certificate") {
        let flow = cert["flow"].as_u64().unwrap();
        let name = &sni[&flow];
        let ders = &sent[&client_port[&flow]];
        let chain = cert["chain"].as_array().unwrap();
        assert_eq!(chain.len(), ders.len(), "{name}");
        let attime = cert["ts"].as_f64().unwrap() as u64;
        let (openssl, said) = openssl_verdict(ders, attime, Some(&roots), Some(name));
        assert_eq!(
            cert["trust"]["result"], openssl,
            "{name}: openssl said {said}"
        );
        verdicts.push((name.clone(), openssl, cert["trust"]["anchor"].clone()));
    }
    let anchor = |s: &str| Value::String(s.into());
    assert_eq!(
        verdicts,
        [
            (
                "intranet.corp.test".into(),
                "trusted",
                anchor("Corp Root CA")
            ),
            ("expired.corp.test".into(), "expired", Value::Null),
            ("future.corp.test".into(), "not_yet_valid", Value::Null),
            (
                "shop.corp.test".into(),
                "name_mismatch",
                anchor("Corp Root CA")
            ),
            ("self-signed.corp.test".into(), "self_signed", Value::Null),
            ("www.example.com".into(), "unknown_issuer", Value::Null),
        ]
    );
    // The words say what is at fault.
    let details: Vec<&str> = of(&with_ca, "tls_certificate")
        .iter()
        .map(|c| c["trust"]["detail"].as_str().unwrap())
        .collect();
    assert!(
        details[1].contains("(expired.corp.test) expired on 2024-04-01"),
        "{details:?}"
    );
    assert!(
        details[2].contains("valid only from 2036-01-01"),
        "{details:?}"
    );
    assert!(
        details[3].contains("is for www.corp.test, not for shop.corp.test"),
        "{details:?}"
    );
    assert!(
        details[5].contains("\"ISRG Root X1\" is the name of one of Mozilla's roots"),
        "{details:?}"
    );
    // Without the private root, no browser trusts the private CA's chain: the leaf and the
    // issuing CA were sent, but the root vouching for them is not Mozilla's.
    let first = &of(&without, "tls_certificate")[0];
    assert_eq!(first["trust"]["result"], "unknown_issuer");
    let names: Vec<(&str, &str)> = first["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["subject"].as_str().unwrap(),
                c["issuer"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("CN=intranet.corp.test,O=Corp", "CN=Corp Issuing CA,O=Corp"),
            ("CN=Corp Issuing CA,O=Corp", "CN=Corp Root CA,O=Corp")
        ]
    );
}

/// Each certificate of a chain as sent, described as OpenSSL describes the same DER (taken from
/// the packets by tshark): RFC 4514 subject and issuer, validity, SHA-256 fingerprint.
#[test]
fn chain_entries_match_openssl() {
    for capture in [
        "captures/certificates.pcap",
        "captures/tls-openssl.pcapng",
        "captures/tls12-aes128.pcap",
        "captures/tls12-aes256.pcap",
        "captures/tls12-rsa.pcap",
    ] {
        let ders = tshark_chains(capture).swap_remove(0).1;
        let (_, events) = events(&[capture]);
        let cert = &of(&events, "tls_certificate")[0];
        let chain = cert["chain"].as_array().unwrap();
        assert_eq!(chain.len(), ders.len(), "{capture}");
        // The verdict is OpenSSL's for the same leaf at the capture's time, with the system's
        // roots.
        let attime = cert["ts"].as_f64().unwrap() as u64;
        let (openssl_verdict, said) = openssl_verdict(&ders[..1], attime, None, None);
        assert_eq!(
            cert["trust"]["result"], openssl_verdict,
            "{capture}: {said}"
        );
        for (entry, der) in chain.iter().zip(&ders) {
            let mut openssl = Command::new("openssl")
                .args(["x509", "-inform", "DER", "-noout", "-nameopt", "RFC2253"])
                .args([
                    "-subject",
                    "-issuer",
                    "-fingerprint",
                    "-sha256",
                    "-startdate",
                    "-enddate",
                ])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            openssl.stdin.take().unwrap().write_all(der).unwrap();
            let text = String::from_utf8(openssl.wait_with_output().unwrap().stdout).unwrap();
            let field = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap()
                    .to_string()
            };
            assert_eq!(entry["subject"], field("subject="), "{capture}");
            assert_eq!(entry["issuer"], field("issuer="), "{capture}");
            let fingerprint = field("sha256 Fingerprint=").replace(':', "").to_lowercase();
            assert_eq!(entry["sha256"], fingerprint, "{capture}");
            // OpenSSL: `Nov 22 03:22:40 2036 GMT`; plainsight: RFC 3339.
            let month = |m: &str| {
                [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ]
                .iter()
                .position(|x| *x == m)
                .unwrap()
                    + 1
            };
            let date = |s: String| {
                let w: Vec<&str> = s.split_whitespace().collect();
                format!(
                    "{}-{:02}-{:02}T{}Z",
                    w[3],
                    month(w[0]),
                    w[1].parse::<u32>().unwrap(),
                    w[2]
                )
            };
            assert_eq!(entry["not_before"], date(field("notBefore=")), "{capture}");
            assert_eq!(entry["not_after"], date(field("notAfter=")), "{capture}");
            assert!(
                entry["key"].as_str().unwrap().starts_with("EC P-")
                    || entry["key"].as_str().unwrap().starts_with("RSA ")
            );
        }
    }
}
