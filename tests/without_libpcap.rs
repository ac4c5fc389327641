//! A build without libpcap (`cargo test --no-default-features`, run by `make test`): reading
//! captures works (the other test files run in this build too: demo, replay, report), and every
//! way into live capture or filters says plainly that this build has no libpcap, exit 1.
#![cfg(not(feature = "live"))]
// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(common::root())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SAID: &str = "needs libpcap, and this plainsight was built without it";

#[test]
fn the_binary_does_not_link_libpcap() {
    let out = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_plainsight"))
        .output()
        .unwrap();
    let libraries = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{libraries}");
    assert!(!libraries.contains("pcap"), "{libraries}");
}

#[test]
fn live_capture_filters_and_interfaces_say_this_build_has_no_libpcap() {
    for (args, what) in [
        (
            &["report", "-f", "tcp port 80", "captures/http-basic.pcap"][..],
            "the filter \"tcp port 80\" (-f)",
        ),
        (&["live", "-i", "lo"][..], "capturing on lo"),
        (
            &["report", "-i", "lo", "--duration", "1"][..],
            "capturing on lo",
        ),
        (&["interfaces"][..], "listing the interfaces"),
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        // One line says why, the last (`live` without a terminal first says it falls back to
        // the text report).
        assert!(
            stderr
                .lines()
                .last()
                .is_some_and(|l| l.starts_with(&format!("plainsight: {what} {SAID}"))),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("replay, report and demo work"), "{stderr}");
        assert_eq!(stdout, "", "{args:?}");
    }
}

#[test]
fn reports_read_captures_as_the_full_build_does() {
    let (code, stdout, stderr) = run(&["report", "--json", "captures/http-basic.pcap"]);
    assert_eq!(code, 0, "{stderr}");
    let golden =
        std::fs::read_to_string(common::root().join("tests/golden/http-basic.pcap.ndjson"))
            .unwrap();
    assert_eq!(stdout, golden, "the same events as the golden file");
    let credentials = stdout
        .lines()
        .filter(|l| l.starts_with(r#"{"type":"credential""#))
        .count();
    assert_eq!(credentials, 3, "{stdout}");
}
