//! Helpers shared by the integration tests: running the binary and reading its event stream.
#![allow(dead_code)]

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
