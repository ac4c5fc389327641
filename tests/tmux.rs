//! End to end in a real terminal: tmux runs `plainsight replay` on a bundled capture, keys are
//! sent, the pane is read, and the program quits leaving the terminal as it was.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed by `make test`");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(session: &str, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-t", session, "-p"]);
        if pane.contains(needle) || start.elapsed() > Duration::from_secs(15) {
            return pane;
        }
        sleep(Duration::from_millis(100));
    }
}

/// A detached tmux session of 120×35 running `command`.
fn start_session(session: &str, command: &str) {
    let started = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "120",
            "-y",
            "35",
            command,
        ])
        .status()
        .expect("tmux is installed by `make test`");
    assert!(started.success());
}

#[test]
fn replay_in_tmux_shows_the_password_and_the_server_name_then_quits_cleanly() {
    let session = format!("plainsight-test-{}", std::process::id());
    let exe = env!("CARGO_BIN_EXE_plainsight");
    let dir = env!("CARGO_MANIFEST_DIR");
    let command = format!(
        "cd {dir} && {exe} replay --speed max captures/http-basic.pcap captures/tls-openssl.pcapng; echo EXITED $?; sleep 30"
    );
    start_session(&session, &command);
    let pane = wait_for(&session, "Leaked credentials (3)");
    assert!(pane.contains("Wonderland-42"), "{pane}");
    assert!(pane.contains("lab.plainsight.test"), "{pane}");
    // Select the first TLS flow: the detail pane shows what still leaks.
    tmux(&["send-keys", "-t", &session, "j", "j", "j"]);
    let pane = wait_for(&session, "What still leaks");
    assert!(pane.contains("server name"), "{pane}");
    // Redaction on: the password disappears from the screen.
    tmux(&["send-keys", "-t", &session, "r"]);
    let pane = wait_for(&session, "W***********2");
    assert!(!pane.contains("Wonderland-42"), "{pane}");
    tmux(&["send-keys", "-t", &session, "q"]);
    let pane = wait_for(&session, "EXITED 0");
    tmux(&["kill-session", "-t", &session]);
    assert!(pane.contains("EXITED 0"), "{pane}");
    // The alternate screen is gone: the UI's frame is no longer on the screen.
    assert!(!pane.contains("Leaked credentials"), "{pane}");
}

/// The wire view in a real terminal: `f` on a form login shows the body as it crossed the wire,
/// the password in it.
#[test]
fn wire_view_in_tmux_shows_the_password_in_the_form_body() {
    let session = format!("plainsight-wire-{}", std::process::id());
    let exe = env!("CARGO_BIN_EXE_plainsight");
    let dir = env!("CARGO_MANIFEST_DIR");
    let command = format!(
        "cd {dir} && {exe} replay --speed max captures/http-forms.pcap; echo EXITED $?; sleep 30"
    );
    start_session(&session, &command);
    wait_for(&session, "Leaked credentials (5)");
    // The second flow is the first form login.
    tmux(&["send-keys", "-t", &session, "j", "f"]);
    let pane = wait_for(&session, "password=S3cret%21+pass");
    assert!(pane.contains("The wire: flow 2"), "{pane}");
    assert!(
        pane.contains("username=frank&password=S3cret%21+pass"),
        "{pane}"
    );
    assert!(pane.contains("── packet #"), "{pane}");
    tmux(&["send-keys", "-t", &session, "Escape"]);
    wait_for(&session, "What an eavesdropper sees");
    tmux(&["send-keys", "-t", &session, "q"]);
    let pane = wait_for(&session, "EXITED 0");
    tmux(&["kill-session", "-t", &session]);
    assert!(pane.contains("EXITED 0"), "{pane}");
}
