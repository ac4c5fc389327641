//! Live capture on the loopback interface (root, as in CI): real libpcap, a real HTTP server and
//! client, privileges dropped after the handle opens.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;

use serde_json::Value;

/// A one-shot HTTP server on 127.0.0.1 and a client hitting it a few times.
fn http_exchange(port: u16, listener: TcpListener) {
    let server = thread::spawn(move || {
        for _ in 0..3 {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                );
            }
        }
    });
    for _ in 0..3 {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"GET /live HTTP/1.1\r\nHost: lab\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
    }
    server.join().unwrap();
}

#[test]
fn live_capture_on_lo_drops_privileges_and_writes_the_packets() {
    common::require_root("live capture");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.pcap");
    let filter = format!("tcp port {port}");
    let run = common::LiveRun::start(&[
        "report".as_ref(),
        "--json".as_ref(),
        "-i".as_ref(),
        "lo".as_ref(),
        "--duration".as_ref(),
        "3".as_ref(),
        "-f".as_ref(),
        filter.as_ref(),
        "-w".as_ref(),
        saved.as_os_str(),
    ]);
    http_exchange(port, listener);
    let (status, stdout, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("now running as nobody"), "{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let closes: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "flow_close")
        .collect();
    assert_eq!(closes.len(), 3, "{events:?}");
    for c in &closes {
        assert_eq!(c["protocol"], "http");
        assert_eq!(c["bytes_c2s"], 33);
        assert_eq!(c["bytes_s2c"], 62);
        assert_eq!(c["reason"], "fin");
    }
    // The saved file holds the same traffic.
    let replay = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .args(["report", "--json"])
        .arg(&saved)
        .output()
        .unwrap();
    assert!(replay.status.success());
    let replayed = String::from_utf8(replay.stdout).unwrap();
    assert_eq!(replayed.matches("\"type\":\"flow_close\"").count(), 3);
}

#[test]
fn live_capture_without_permission_names_the_setcap_command() {
    common::require_root("switching to an account without capture permission");
    // Run as nobody, who has no capture permission.
    let exe = env!("CARGO_BIN_EXE_plainsight");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(exe)
        .args(["report", "-i", "lo", "--duration", "1"])
        .output()
        .expect("setpriv (util-linux, essential in Debian) runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("sudo setcap cap_net_raw,cap_net_admin=eip"),
        "{stderr}"
    );
}

/// Reads `Key:` from /proc/PID/status.
fn proc_status(pid: u32, key: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
}

#[test]
fn once_capturing_the_process_is_no_longer_root_and_holds_no_capability() {
    common::require_root("observing the privilege drop");
    let run = common::LiveRun::start(&[
        "report",
        "--json",
        "-i",
        "lo",
        "--duration",
        "3",
        "-f",
        "tcp port 1",
    ]);
    // It says it is capturing once privileges are dropped and the filters are on.
    let pid = run.pid();
    let uid = proc_status(pid, "Uid:").unwrap();
    let gid = proc_status(pid, "Gid:").unwrap();
    let caps: Vec<String> = ["CapInh:", "CapPrm:", "CapEff:"]
        .iter()
        .map(|k| proc_status(pid, k).unwrap())
        .collect();
    let seccomp = proc_status(pid, "Seccomp:").unwrap();
    let no_new_privs = proc_status(pid, "NoNewPrivs:").unwrap();
    let (status, _, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    // Real, effective, saved and filesystem ids: all nobody (65534), none root.
    assert!(uid.split_whitespace().all(|u| u == "65534"), "Uid: {uid}");
    assert!(gid.split_whitespace().all(|g| g == "65534"), "Gid: {gid}");
    for c in caps {
        assert_eq!(c, "0000000000000000", "capabilities left: {c}");
    }
    // Mode 2: a seccomp filter is on (exec, ptrace, setuid and the like refused), and no exec
    // could ever gain privileges again.
    assert_eq!(seccomp, "2", "Seccomp: {seccomp}");
    assert_eq!(no_new_privs, "1");
}
