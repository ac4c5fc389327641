//! plainsight's QPACK decoder against an existing encoder: ls-qpack (through pylsqpack, the
//! encoder aioquic uses, installed by `make test` into target/quic-venv). Header lists generated
//! by proptest — names and values from the static table and made up, repeated so the encoder
//! reaches for its dynamic table, with Huffman coding wherever it pays — are encoded by ls-qpack
//! on one connection (its encoder stream and one field section per stream), and every section
//! must decode to the list that was encoded.

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use plainsight::proto::qpack::QpackDecoder;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

mod common;

type Fields = Vec<(String, String)>;

/// Encodes each connection's header lists with ls-qpack: per connection, the encoder stream's
/// bytes, then per list the encoder-stream bytes it added and its field section (hex).
const ENCODE: &str = r#"
import json, sys
from pylsqpack import Encoder
out = []
for conn in json.load(sys.stdin):
    enc = Encoder()
    settings = enc.apply_settings(max_table_capacity=4096, blocked_streams=16)
    sections = []
    for i, fields in enumerate(conn):
        data, block = enc.encode(4 * i, [(n.encode(), v.encode()) for n, v in fields])
        sections.append([data.hex(), block.hex()])
    out.append([settings.hex(), sections])
json.dump(out, sys.stdout)
"#;

fn field() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        // Fields of the static table, exactly or by name.
        Just((":method".to_string(), "GET".to_string())),
        Just((":method".to_string(), "POST".to_string())),
        Just((":scheme".to_string(), "https".to_string())),
        Just((
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string()
        )),
        "[a-z0-9/._-]{0,24}".prop_map(|v| (":path".to_string(), v)),
        "[ -~]{0,40}".prop_map(|v| ("user-agent".to_string(), v)),
        "[a-zA-Z0-9=;]{0,30}".prop_map(|v| ("cookie".to_string(), v)),
        // Made-up names and values (lowercase names, as HTTP/3 requires).
        ("[a-z][a-z0-9-]{0,15}", "[ -~]{0,48}"),
        ("x-[a-z]{1,8}", "[\u{80}-\u{ff}a-z]{0,16}"),
    ]
}

/// Connections of a few header lists each; lists repeat fields of the ones before.
fn connection() -> impl Strategy<Value = Vec<Fields>> {
    prop::collection::vec(prop::collection::vec(field(), 1..12), 1..8).prop_map(|mut lists| {
        for i in 1..lists.len() {
            let again = lists[i - 1].iter().take(3).cloned().collect::<Vec<_>>();
            lists[i].extend(again);
        }
        lists
    })
}

#[test]
fn decodes_what_ls_qpack_encodes() {
    let python = common::root().join("target/quic-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make test` makes the venv with pylsqpack",
        python.display()
    );
    let mut runner = TestRunner::deterministic();
    let strategy = connection();
    let connections: Vec<Vec<Fields>> = (0..200)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let mut child = Command::new(&python)
        .args(["-c", ENCODE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&connections).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let encoded: Vec<(String, Vec<(String, String)>)> =
        serde_json::from_slice(&out.stdout).unwrap();
    let mut dynamic_refs = 0;
    for (conn, (settings, sections)) in connections.iter().zip(encoded) {
        let mut decoder = QpackDecoder::default();
        decoder.set_max_capacity(4096);
        let mut stream = hex::decode(settings).unwrap();
        for (fields, (inserts, block)) in conn.iter().zip(sections) {
            stream.extend(hex::decode(inserts).unwrap());
            let used = decoder.encoder_stream(&stream).unwrap();
            stream.drain(..used);
            let block = hex::decode(block).unwrap();
            // A section that refers to the dynamic table has a non-zero Required Insert Count.
            dynamic_refs += usize::from(block.first() != Some(&0));
            let mut got = Vec::new();
            decoder
                .decode(&block, |n, v| {
                    got.push((
                        String::from_utf8(n.to_vec()).unwrap(),
                        String::from_utf8(v.to_vec()).unwrap(),
                    ))
                })
                .unwrap();
            assert_eq!(&got, fields);
        }
        assert!(stream.is_empty(), "encoder stream bytes left over");
    }
    // The property covers the dynamic table, not only the static one.
    assert!(
        dynamic_refs > 100,
        "{dynamic_refs} sections used the dynamic table"
    );
}
