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
    let capture = common::LiveRun::start(&[
        "report".as_ref(),
        "--json".as_ref(),
        "-i".as_ref(),
        "lo".as_ref(),
        "--duration".as_ref(),
        "4".as_ref(),
        "-f".as_ref(),
        filter.as_ref(),
        "-w".as_ref(),
        saved.as_os_str(),
    ]);
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
        &lab.certificate,
        Duration::from_millis(1),
    )
    .unwrap();
    // One TLS session, with every secret decryption needs.
    assert_eq!(keys.len(), 1);
    lab.stop();
}
