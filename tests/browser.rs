//! A real browser logs in to the lab: Debian's headless Chromium loads the login page over HTTP
//! and over HTTPS, submits the form on each, and saves a screenshot (target/screenshots/).

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use plainsight::lab::{Lab, LabConfig};

mod common;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &std::path::Path, extra: &[&str], url: &str) -> String {
    chromium_with_keys(profile, extra, url, None)
}

/// Chromium, writing its TLS session keys to `keylog` when given (SSLKEYLOGFILE). QUIC is off
/// unless `extra` forces it on for an origin.
fn chromium_with_keys(
    profile: &std::path::Path,
    extra: &[&str],
    url: &str,
    keylog: Option<&std::path::Path>,
) -> String {
    chromium_logged(profile, extra, url, keylog).0
}

/// Chromium's stdout and stderr (where `--enable-logging=stderr` writes its console).
fn chromium_logged(
    profile: &std::path::Path,
    extra: &[&str],
    url: &str,
    keylog: Option<&std::path::Path>,
) -> (String, String) {
    let mut command = Command::new(CHROMIUM);
    if let Some(keylog) = keylog {
        command.env("SSLKEYLOGFILE", keylog);
    }
    if !extra
        .iter()
        .any(|a| a.starts_with("--origin-to-force-quic-on"))
    {
        command.arg("--disable-quic");
    }
    let out = command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The lab's certificate is self-signed, made at start.
            "--ignore-certificate-errors",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_real_browser_logs_in_over_http_and_https() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "Debian's chromium is missing: `make test` installs it"
    );
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        ..Default::default()
    })
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    for (scheme, addr, user) in [("http", lab.http, "carla"), ("https", lab.https, "dmitri")] {
        let page = chromium(
            profile.path(),
            &["--dump-dom"],
            &format!("{scheme}://{addr}/"),
        );
        assert!(
            page.contains("<h1>Sign in</h1>") && page.contains("type=\"password\""),
            "{scheme}: {page}"
        );
        // A page that fills the form and submits it, as a person would.
        let form = format!(
            "data:text/html,<form method=post action={scheme}://{addr}/login>\
             <input name=username value={user}><input name=password type=password value=Browser-Pass>\
             </form><script>document.forms[0].submit()</script>"
        );
        let welcome = chromium(profile.path(), &["--dump-dom"], &form);
        assert!(
            welcome.contains(&format!("<h1>Welcome, {user}!</h1>")),
            "{scheme}: {welcome}"
        );
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("lab-https.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=900,600",
        ],
        &format!("https://{}/", lab.https),
    );
    let png = std::fs::read(&shot).expect("chromium saved a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 1000);
    lab.stop();
}

/// A submit page: fills the lab's form and sends it, as a person would.
fn login_page(scheme: &str, addr: std::net::SocketAddr, user: &str, pass: &str) -> String {
    format!(
        "data:text/html,<form method=post action={scheme}://{addr}/login>\
         <input name=username value={user}><input name=password type=password value={pass}>\
         </form><script>document.forms[0].submit()</script>"
    )
}

/// Chromium logs in over HTTP and over HTTPS while plainsight captures `lo`; with the key log
/// Chromium wrote, the HTTPS login is read too, and the bytes that crossed the wire never hold
/// its password.
#[test]
fn a_browsers_logins_captured_live_http_read_https_only_with_its_keys() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "Debian's chromium is missing: `make test` installs it"
    );
    common::require_root("capturing the browser on lo");
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("chromium.keys");
    let saved = dir.path().join("browser.pcap");
    let filter = format!(
        "tcp port {} or tcp port {}",
        lab.http.port(),
        lab.https.port()
    );
    let capture = common::LiveRun::capture_lo(&filter, 10, &saved);
    let profile = tempfile::tempdir().unwrap();
    for (scheme, addr, user, pass) in [
        ("http", lab.http, "erin", "Chromium-Pass-1"),
        ("https", lab.https, "frank", "Chromium-Pass-2"),
    ] {
        let welcome = chromium_with_keys(
            profile.path(),
            &["--dump-dom"],
            &login_page(scheme, addr, user, pass),
            Some(&keys),
        );
        assert!(
            welcome.contains(&format!("<h1>Welcome, {user}!</h1>")),
            "{scheme}: {welcome}"
        );
    }
    let (status, _, stderr) = capture.finish();
    assert!(status.success(), "{stderr}");
    lab.stop();
    let key_text = std::fs::read_to_string(&keys).expect("chromium wrote its key log");
    assert!(key_text.contains("CLIENT_"), "{key_text}");
    let (_, events) = common::run_json(&[
        "report",
        "--json",
        "--payloads",
        "--keylog",
        keys.to_str().unwrap(),
        saved.to_str().unwrap(),
    ]);
    let creds: Vec<(String, String, bool)> = common::of(&events, "credential")
        .iter()
        .map(|c| {
            (
                c["username"].as_str().unwrap_or("").to_string(),
                c["secret"].as_str().unwrap().to_string(),
                c["decrypted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        creds.contains(&("erin".into(), "Chromium-Pass-1".into(), false)),
        "{creds:?}"
    );
    assert!(
        creds.contains(&("frank".into(), "Chromium-Pass-2".into(), true)),
        "{creds:?}"
    );
    // The HTTPS flows' bytes as they crossed the wire: records, never the password.
    let tls_flows: Vec<u64> = common::of(&events, "flow_close")
        .iter()
        .filter(|c| c["protocol"] == "tls")
        .map(|c| c["flow"].as_u64().unwrap())
        .collect();
    assert!(!tls_flows.is_empty());
    let mut wire_bytes = 0;
    for p in common::of(&events, "payload") {
        let flow = p["flow"].as_u64().unwrap();
        if !tls_flows.contains(&flow) || p["decrypted"] != false {
            continue;
        }
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD
            .decode(p["data"].as_str().unwrap())
            .unwrap();
        wire_bytes += data.len();
        assert!(
            !data.windows(15).any(|w| w == b"Chromium-Pass-2"),
            "the password crossed the wire in the clear"
        );
    }
    assert!(wire_bytes > 1000, "{wire_bytes} bytes of TLS seen");
    // Decrypted, the same flow's bytes hold it.
    assert!(common::of(&events, "payload").iter().any(|p| {
        use base64::Engine as _;
        p["decrypted"] == true
            && base64::engine::general_purpose::STANDARD
                .decode(p["data"].as_str().unwrap())
                .unwrap()
                .windows(15)
                .any(|w| w == b"Chromium-Pass-2")
    }));
}

/// The base64 SHA-256 of a certificate's public key, as Chromium's
/// `--ignore-certificate-errors-spki-list` takes it (QUIC ignores `--ignore-certificate-errors`).
fn spki_hash(der: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    use x509_parser::prelude::FromDer as _;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).unwrap();
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(cert.public_key().raw))
}

/// Chromium logs in to the lab over HTTP/3 (QUIC forced on for the lab's origin) while plainsight
/// captures `lo`: without the key log, only the server name from the Initial; with the key log
/// Chromium wrote, the form it posted over HTTP/3.
#[test]
fn a_browser_logs_in_over_http3_captured_live() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "Debian's chromium is missing: `make test` installs it"
    );
    common::require_root("capturing the browser on lo");
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(lab.h3.port(), lab.https.port());
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("chromium.keys");
    let saved = dir.path().join("browser-h3.pcap");
    let filter = format!("udp port {}", lab.h3.port());
    let capture = common::LiveRun::capture_lo(&filter, 10, &saved);
    let profile = tempfile::tempdir().unwrap();
    // The lab by its name (so the ClientHello carries it), resolved to loopback.
    let port = lab.https.port();
    let force = format!("--origin-to-force-quic-on=lab.plainsight.test:{port}");
    let resolve = "--host-resolver-rules=MAP lab.plainsight.test 127.0.0.1".to_string();
    let spki = format!(
        "--ignore-certificate-errors-spki-list={}",
        spki_hash(&lab.certificate)
    );
    let form = format!(
        "data:text/html,<form method=post action=https://lab.plainsight.test:{port}/login>\
         <input name=username value=gwen><input name=password type=password value=Chromium-H3-Pass>\
         </form><script>document.forms[0].submit()</script>"
    );
    let welcome = chromium_with_keys(
        profile.path(),
        &["--dump-dom", &force, &resolve, &spki],
        &form,
        Some(&keys),
    );
    assert!(welcome.contains("<h1>Welcome, gwen!</h1>"), "{welcome}");
    let (status, live, stderr) = capture.finish();
    assert!(status.success(), "{stderr}");
    lab.stop();
    // Live, without keys: a QUIC flow, the lab's name, no credential.
    let live: Vec<serde_json::Value> = live
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let closes = common::of(&live, "flow_close");
    assert!(
        closes
            .iter()
            .any(|c| c["protocol"] == "quic" && c["transport"] == "udp"),
        "{closes:?}"
    );
    assert!(common::of(&live, "credential").is_empty());
    assert!(common::of(&live, "http_request").is_empty());
    // What the Initial gives away to anyone: the server's name.
    let hellos = common::of(&live, "tls_client_hello");
    assert!(!hellos.is_empty());
    assert!(
        hellos
            .iter()
            .all(|h| h["sni"] == "lab.plainsight.test"
                && h["ja4"].as_str().unwrap().starts_with('q')),
        "{hellos:?}"
    );
    // With Chromium's key log: the HTTP/3 POST and the password in it.
    let (_, events) = common::run_json(&[
        "report",
        "--json",
        "--keylog",
        keys.to_str().unwrap(),
        saved.to_str().unwrap(),
    ]);
    let posts: Vec<_> = common::of(&events, "http_request")
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "{events:?}");
    assert_eq!(posts[0]["version"], "HTTP/3");
    assert_eq!(posts[0]["target"], "/login");
    let creds: Vec<(String, String, bool)> = common::of(&events, "credential")
        .iter()
        .map(|c| {
            (
                c["username"].as_str().unwrap_or("").to_string(),
                c["secret"].as_str().unwrap().to_string(),
                c["decrypted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        creds,
        [("gwen".to_string(), "Chromium-H3-Pass".to_string(), true)]
    );
    // The answer to the POST, on the same QUIC stream.
    let responses = common::of(&events, "http_response");
    assert!(
        responses
            .iter()
            .any(|r| r["status"] == 200 && r["stream"] == posts[0]["stream"]),
        "{responses:?}"
    );
}

/// The lab's mistakes mode, visited as a class would: headless Chromium opens each mistake's
/// page once (a fresh profile each time, a first visit), curl posts a password to the port that
/// redirects too late and fetches the clean HTTPS site with the lab CA, while plainsight captures
/// `lo`. Read back with the lab's keys and CA: every planted mistake appears exactly once with
/// its kind, and no other finding; Chromium's own console reports the mixed content plainsight
/// names.
#[test]
fn mistakes_mode_gives_each_finding_once_for_chromium_and_curl() {
    use plainsight::lab::mistakes::Mistake;
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "Debian's chromium is missing: `make test` installs it"
    );
    common::require_root("capturing the browser on lo");
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("lab.keys");
    let ca = dir.path().join("lab-ca.pem");
    let saved = dir.path().join("mistakes.pcap");
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        mistakes: true,
        keylog: Some(keys.clone()),
        ..Default::default()
    })
    .unwrap();
    std::fs::write(&ca, &lab.ca_pem).unwrap();
    let mut ports = vec![lab.http.port(), lab.https.port()];
    ports.extend(lab.mistakes.iter().map(|(_, a)| a.port()));
    let filter = ports
        .iter()
        .map(|p| format!("tcp port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let capture = common::LiveRun::capture_lo(&filter, 120, &saved);
    let ip = lab.http.ip();
    let resolve = format!(
        "--host-resolver-rules=MAP {} {ip}",
        plainsight::lab::LAB_HOST
    );
    let mut console = String::new();
    let mut mixed_url = String::new();
    for &(mistake, addr) in &lab.mistakes {
        let url = mistake.url(ip, addr.port());
        if mistake == Mistake::RedirectAfterPassword {
            let out = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
                .args(["-d", "username=mallory&password=Too-Late-Redirect-1", &url])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), "301", "{url}");
            continue;
        }
        let profile = tempfile::tempdir().unwrap();
        let (page, log) = chromium_logged(
            profile.path(),
            &["--dump-dom", &resolve, "--enable-logging=stderr", "--v=0"],
            &url,
            None,
        );
        assert!(
            page.contains("plainsight lab") || page.contains("Sign in"),
            "{url}: {page}"
        );
        if mistake == Mistake::MixedContent {
            console = log;
            mixed_url = url;
        }
    }
    let clean = format!(
        "https://{}:{}/",
        plainsight::lab::LAB_HOST,
        lab.https.port()
    );
    let status = Command::new("curl")
        .args(["-sf", "-o", "/dev/null", "--cacert", ca.to_str().unwrap()])
        .arg("--resolve")
        .arg(format!(
            "{}:{}:{ip}",
            plainsight::lab::LAB_HOST,
            lab.https.port()
        ))
        .arg(&clean)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "curl trusts the clean site with the lab CA"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    capture.interrupt();
    let lab_http = lab.http;
    lab.stop();

    let (_, events) = common::run_json(&[
        "report",
        "--json",
        "--keylog",
        keys.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
        saved.to_str().unwrap(),
    ]);
    let findings = common::of(&events, "finding");
    let mut kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    kinds.sort_unstable();
    let mut planted: Vec<&str> = Mistake::ALL.iter().map(|m| m.finding().as_str()).collect();
    planted.sort_unstable();
    assert_eq!(kinds, planted, "{findings:#?}");
    // The mixed content Chromium blocked is the one plainsight names.
    let script = format!(
        "http://{}:{}/app.js",
        plainsight::lab::LAB_HOST,
        lab_http.port()
    );
    assert!(
        console.contains(&format!(
            "Mixed Content: The page at '{mixed_url}' was loaded over HTTPS, but requested an \
             insecure script '{script}'"
        )),
        "{console}"
    );
    let mixed = findings
        .iter()
        .find(|f| f["kind"] == "mixed_content")
        .unwrap();
    assert!(
        mixed["detail"].as_str().unwrap().ends_with(&script),
        "{mixed}"
    );
}
