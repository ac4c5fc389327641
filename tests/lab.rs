//! The lab: real curl logins over HTTP and HTTPS against `plainsight lab`'s servers; and, as
//! root, the classroom story end to end while capturing `lo`: the HTTP password is found, the
//! HTTPS one only with the lab's key log.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

mod common;

use plainsight::lab::{Lab, LabConfig};
use serde_json::Value;

fn curl_login(url: &str, user: &str, password: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-sk",
            "--http1.1",
            "-d",
            &format!("username={user}&password={password}"),
            url,
        ])
        .output()
        .expect("curl is installed by `make test`");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `plainsight ARGS` (it must succeed), its JSON events.
fn report(args: &[&str]) -> Vec<Value> {
    common::run_json(args).1
}

fn credentials(events: &[Value]) -> Vec<(String, String, bool)> {
    events
        .iter()
        .filter(|e| e["type"] == "credential")
        .map(|e| {
            (
                e["username"].as_str().unwrap_or("").to_string(),
                e["secret"].as_str().unwrap().to_string(),
                e["decrypted"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn lab_serves_the_login_over_http_and_https_and_writes_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("lab.keys");
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        keylog: Some(keys.clone()),
        ..Default::default()
    })
    .unwrap();
    assert!(
        lab.http.ip().is_loopback() && lab.https.ip().is_loopback(),
        "loopback only by default"
    );
    let page = curl_login(&format!("http://{}/login", lab.http), "alice", "Lab-Pass-1");
    assert!(page.contains("Welcome, alice!"), "{page}");
    let page = curl_login(&format!("https://{}/login", lab.https), "bob", "Lab-Pass-2");
    assert!(
        page.contains("Welcome, bob!") && page.contains("HTTPS"),
        "{page}"
    );
    let keylog = std::fs::read_to_string(&keys).unwrap();
    assert!(keylog.contains("CLIENT_TRAFFIC_SECRET_0 "), "{keylog}");
    lab.stop();
}

#[test]
fn bundled_lab_capture_tells_the_story() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pcap = root.join("captures/lab-login.pcap");
    let keys = root.join("captures/lab-login.keys");
    let opaque = report(&["report", "--json", pcap.to_str().unwrap()]);
    assert_eq!(
        credentials(&opaque),
        [("alice".into(), "Lab-Pass-1".into(), false)]
    );
    let keyed = report(&[
        "report",
        "--json",
        "--keylog",
        keys.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(
        credentials(&keyed),
        [
            ("alice".into(), "Lab-Pass-1".into(), false),
            ("bob".into(), "Lab-Pass-2".into(), true)
        ]
    );
}

#[test]
fn live_capture_of_the_lab_finds_http_at_once_and_https_with_the_key() {
    common::require_root("capturing the lab on lo");
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("lab.keys");
    let saved = dir.path().join("lab.pcap");
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        keylog: Some(keys.clone()),
        ..Default::default()
    })
    .unwrap();
    let filter = format!(
        "tcp port {} or tcp port {}",
        lab.http.port(),
        lab.https.port()
    );
    let capture = common::LiveRun::capture_lo(&filter, 4, &saved);
    curl_login(
        &format!("http://{}/login", lab.http),
        "alice",
        "Live-Pass-1",
    );
    curl_login(
        &format!("https://{}/login", lab.https),
        "bob",
        "Live-Pass-2",
    );
    let (status, stdout, stderr) = capture.finish();
    assert!(status.success(), "{stderr}");
    let live: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        credentials(&live),
        [("alice".into(), "Live-Pass-1".into(), false)],
        "HTTPS hides bob's password"
    );
    assert!(live.iter().any(|e| e["type"] == "tls_client_hello"));
    let keyed = report(&[
        "report",
        "--json",
        "--keylog",
        keys.to_str().unwrap(),
        saved.to_str().unwrap(),
    ]);
    assert_eq!(
        credentials(&keyed),
        [
            ("alice".into(), "Live-Pass-1".into(), false),
            ("bob".into(), "Live-Pass-2".into(), true)
        ]
    );
    lab.stop();
}

#[test]
fn scripted_demo_client_logs_in_and_the_lab_shares_its_keys() {
    let keys = plainsight::proto::tls::decrypt::KeyLog::default();
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        shared_keys: Some(keys.clone()),
        ..Default::default()
    })
    .unwrap();
    plainsight::lab::client::scripted_logins(
        lab.http,
        lab.https,
        &lab.ca_certificate,
        Duration::from_millis(1),
    )
    .unwrap();
    // One TLS session, with every secret decryption needs.
    assert_eq!(keys.len(), 1);
    lab.stop();
}

/// The lab's PKI lesson end to end, as root on `lo`: curl trusting the lab's CA (`--cacert`, as
/// `lab --ca-out` writes it) reaches the good port (exit 0) and refuses each broken one (exit 60);
/// plainsight, given the same CA with `--ca` and the lab's key log (TLS 1.3 encrypts the
/// certificate), judges each captured chain the way curl did, and says why.
#[test]
fn lab_certificates_are_judged_as_curl_judges_them() {
    common::require_root("capturing the lab on lo");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("lab-ca.pem");
    let keys = dir.path().join("lab.keys");
    let saved = dir.path().join("lab-certs.pcap");
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        broken_certificates: true,
        keylog: Some(keys.clone()),
        ..Default::default()
    })
    .unwrap();
    std::fs::write(&ca, &lab.ca_pem).unwrap();
    let mut ports = vec![("good", lab.https)];
    ports.extend(lab.broken.iter().map(|(k, a)| (k.name(), *a)));
    assert_eq!(ports.len(), 5);
    let filter = ports
        .iter()
        .map(|(_, a)| format!("tcp port {}", a.port()))
        .collect::<Vec<_>>()
        .join(" or ");
    let capture = common::LiveRun::capture_lo(&filter, 4, &saved);
    let mut curl_exit = Vec::new();
    for (name, addr) in &ports {
        let host = plainsight::lab::LAB_HOST;
        let status = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "--http1.1", "--cacert"])
            .arg(&ca)
            .arg("--resolve")
            .arg(format!("{host}:{}:{}", addr.port(), addr.ip()))
            .arg(format!("https://{host}:{}/", addr.port()))
            .status()
            .expect("curl is installed by `make test`");
        curl_exit.push((addr.port(), *name, status.code()));
    }
    let (status, _, stderr) = capture.finish();
    assert!(status.success(), "{stderr}");
    lab.stop();
    let events = report(&[
        "report",
        "--json",
        "--ca",
        ca.to_str().unwrap(),
        "--keylog",
        keys.to_str().unwrap(),
        saved.to_str().unwrap(),
    ]);
    let server_port: std::collections::HashMap<u64, u16> = common::of(&events, "flow_open")
        .iter()
        .map(|e| {
            (
                e["flow"].as_u64().unwrap(),
                e["server"]
                    .as_str()
                    .unwrap()
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .port(),
            )
        })
        .collect();
    let mut judged = std::collections::BTreeMap::new();
    for cert in common::of(&events, "tls_certificate") {
        let port = server_port[&cert["flow"].as_u64().unwrap()];
        judged.insert(port, cert["trust"]["result"].as_str().unwrap().to_string());
    }
    let verdicts: Vec<(&str, Option<i32>, &str)> = curl_exit
        .iter()
        .map(|(port, name, code)| (*name, *code, judged.get(port).map_or("none", |s| s)))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("good", Some(0), "trusted"),
            ("expired", Some(60), "expired"),
            ("wrong-name", Some(60), "name_mismatch"),
            ("self-signed", Some(60), "self_signed"),
            ("unknown-ca", Some(60), "unknown_issuer"),
        ]
    );
    // The good chain as sent: the server's certificate and the issuing CA, vouched for by the
    // lab's root.
    let good = common::of(&events, "tls_certificate")
        .into_iter()
        .find(|c| c["trust"]["result"] == "trusted")
        .unwrap();
    let chain: Vec<(&str, &str, bool)> = good["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["subject_cn"].as_str().unwrap(),
                c["issuer_cn"].as_str().unwrap(),
                c["is_ca"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("lab.plainsight.test", "plainsight lab issuing CA", false),
            ("plainsight lab issuing CA", "plainsight lab root CA", true)
        ]
    );
    assert_eq!(good["trust"]["anchor"], "plainsight lab root CA");
    // Findings: the lab's HTTPS side, judged with its CA, does everything right (TLS 1.3, HSTS);
    // each broken port has exactly its certificate to blame.
    let mut found: Vec<(u16, String)> = common::of(&events, "finding")
        .iter()
        .map(|f| {
            (
                server_port[&f["flow"].as_u64().unwrap()],
                f["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let mut want: Vec<(u16, String)> = lab_broken_ports(&curl_exit)
        .into_iter()
        .map(|p| (p, "untrusted_certificate".to_string()))
        .collect();
    want.sort();
    assert_eq!(found, want);
}

/// The ports curl refused.
fn lab_broken_ports(curl_exit: &[(u16, &str, Option<i32>)]) -> Vec<u16> {
    curl_exit
        .iter()
        .filter(|(_, _, code)| *code != Some(0))
        .map(|(port, _, _)| *port)
        .collect()
}
