//! A real browser logs in to the lab: Debian's headless Chromium loads the login page over HTTP
//! and over HTTPS, submits the form on each, and saves a screenshot (target/screenshots/).

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use plainsight::lab::{Lab, LabConfig};

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &std::path::Path, extra: &[&str], url: &str) -> String {
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
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
    String::from_utf8_lossy(&out.stdout).into_owned()
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
