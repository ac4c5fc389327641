//! Helpers shared by the integration tests: running the binary and reading its event stream.
#![allow(dead_code)]
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `plainsight ARGS` in the repository and returns stdout and the JSON lines in it; the
/// run must succeed.
pub fn run_json(args: &[&str]) -> (String, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let events = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (text, events)
}

/// Events of one type.
pub fn of<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// Compares `text` with tests/golden/NAME.ndjson (`UPDATE_GOLDEN=1` rewrites it).
pub fn golden(name: &str, text: &str) {
    let path = root().join("tests/golden").join(format!("{name}.ndjson"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).expect("golden file; UPDATE_GOLDEN=1 cargo test writes it");
    assert_eq!(text, expected, "{name} differs from {}", path.display());
}

/// Live, lab and browser tests run in CI, which runs as root with every package `make test`
/// installs: a missing prerequisite is a failure there, never a silent pass.
pub fn require_root(what: &str) {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "{what} needs root (or CAP_NET_RAW): run `make test` as root, as CI does"
    );
}

/// `plainsight ARGS` capturing live: started, and waited for until it says it is capturing
/// (the handle is open and filtered, so traffic sent from now on is seen).
pub struct LiveRun {
    child: std::process::Child,
    stderr: std::thread::JoinHandle<String>,
}

impl LiveRun {
    pub fn start<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> LiveRun {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_plainsight"))
            .current_dir(root())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        loop {
            match lines.next() {
                Some(Ok(line)) => {
                    seen.push_str(&line);
                    seen.push('\n');
                    if line.contains("capturing on") {
                        break;
                    }
                }
                _ => panic!("plainsight ended before capturing: {seen}"),
            }
        }
        let stderr = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                seen.push_str(&line);
                seen.push('\n');
            }
            seen
        });
        LiveRun { child, stderr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `report --json` live on `lo` for at most `seconds`, with `filter`, the packets also
    /// written to `saved`.
    pub fn capture_lo(filter: &str, seconds: u32, saved: &std::path::Path) -> LiveRun {
        let seconds = seconds.to_string();
        LiveRun::start(&[
            "report".as_ref(),
            "--json".as_ref(),
            "-i".as_ref(),
            "lo".as_ref(),
            "--duration".as_ref(),
            seconds.as_ref(),
            "-f".as_ref(),
            filter.as_ref(),
            "-w".as_ref(),
            saved.as_os_str(),
        ])
    }

    /// Ctrl-C, as a person ends a capture, then the end: the summary and the saved file are
    /// written and the run succeeds.
    pub fn interrupt(self) -> (String, String) {
        let stopped = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let (status, stdout, stderr) = self.finish();
        assert!(status.success(), "{stderr}");
        (stdout, stderr)
    }

    /// Waits for the end: exit status, stdout, and all of stderr.
    pub fn finish(self) -> (std::process::ExitStatus, String, String) {
        let out = self.child.wait_with_output().unwrap();
        let stderr = self.stderr.join().unwrap();
        (out.status, String::from_utf8(out.stdout).unwrap(), stderr)
    }
}

/// tshark's frame numbers of the packets a display filter matches in a bundled capture
/// (`decode_as`: tshark's `-d` options, for protocols on ports it does not know).
pub fn tshark_frames(capture: &str, decode_as: &[&str], filter: &str) -> Vec<u64> {
    let mut command = Command::new("tshark");
    command.current_dir(root()).args(["-r", capture]);
    for d in decode_as {
        command.args(["-d", d]);
    }
    let out = command
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark is installed by `make test`");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}
