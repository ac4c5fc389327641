//! `report -j N` on one file spreads its flows over N engines; the output must be the same bytes
//! as one engine's (`-j 1`): every bundled capture, the benchmark capture, a capture built here
//! to strain the merge (flows idling out together on different engines, IP fragments, the
//! per-kind anomaly cap crossed on several engines, clock jumps), and a flood that makes the
//! split run hand over to one engine part-way.

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/bench_capture.rs"]
mod bench_capture;
mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::{of, root};
use etherparse::PacketBuilder;
use serde_json::Value;

/// `plainsight ARGS`: stdout, and what stderr said about the split (with the trace on).
fn run(args: &[&str]) -> (Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(root())
        .env("PLAINSIGHT_TRACE_SPLIT", "1")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plainsight {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `args` with `-j 1` and with each of `jobs`: the same bytes each time. Returns one
/// engine's output and what the split runs said.
fn same_on_all(args: &[&str], jobs: &[&str]) -> (Vec<u8>, Vec<String>) {
    let one = run(&[args, &["-j", "1"]].concat());
    assert!(
        !one.1.contains("split over"),
        "-j 1 must not split: {}",
        one.1
    );
    let mut said = Vec::new();
    for j in jobs {
        let (out, err) = run(&[args, &["-j", j]].concat());
        if out != one.0 {
            let (a, b) = (
                String::from_utf8_lossy(&one.0),
                String::from_utf8_lossy(&out),
            );
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(a.lines().count().min(b.lines().count()));
            panic!(
                "{args:?}: -j {j} differs from -j 1 at line {}:\n-j 1: {}\n-j {j}: {}",
                line + 1,
                a.lines().nth(line).unwrap_or("(end)"),
                b.lines().nth(line).unwrap_or("(end)")
            );
        }
        said.push(err);
    }
    (one.0, said)
}

fn events(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What a bundled capture is read with: its key log, and the CA its certificates chain to.
fn options_for(capture: &str) -> Vec<String> {
    let stem = capture
        .strip_suffix(".pcapng")
        .or_else(|| capture.strip_suffix(".pcap"))
        .unwrap_or(capture);
    let mut args = Vec::new();
    for (suffix, option) in [(".keys", "--keylog"), ("-ca.pem", "--ca")] {
        let path = format!("{stem}{suffix}");
        if root().join(&path).exists() {
            args.extend([option.to_string(), path]);
        }
    }
    args
}

#[test]
fn every_bundled_capture_prints_the_same_bytes_split_or_not() {
    let captures = bench_capture::bundled_captures(&root()).unwrap();
    assert!(captures.len() > 80, "{captures:?}");
    let mut split = 0;
    for capture in &captures {
        let options = options_for(capture);
        let mut args: Vec<&str> = options.iter().map(String::as_str).collect();
        args.push(capture);
        let (_, said) = same_on_all(
            &[&["report", "--json"], args.as_slice()].concat(),
            &["2", "3"],
        );
        split += said.iter().filter(|s| s.contains("split over")).count();
        same_on_all(&[&["report"], args.as_slice()].concat(), &["2"]);
        same_on_all(
            &[&["report", "--json", "--payloads"], args.as_slice()].concat(),
            &["2"],
        );
    }
    // `-j N` splits a single file of any size: every run above went through the split.
    assert_eq!(split, 2 * captures.len());
}

/// The benchmark capture (every bundled Ethernet capture, copied over and over), 24 MiB: large
/// enough for the default (no `-j`) to split it over all cores.
#[test]
fn the_benchmark_capture_prints_the_same_bytes_split_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.pcap");
    bench_capture::write(&root(), &path, 24, None).unwrap();
    let path = path.to_str().unwrap();
    let (out, said) = same_on_all(&["report", "--json", path], &["2", "4"]);
    assert!(said
        .iter()
        .all(|s| s.contains("split over") && !s.contains("then one engine")));
    let events = events(&out);
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert!(summary["flows"].as_u64().unwrap() > 1000, "{summary}");
    assert!(summary["credentials"].as_u64().unwrap() > 1000, "{summary}");
    same_on_all(&["report", "--json", "--payloads", path], &["2"]);
    // No `-j`: one engine per core, and the file is large enough to split.
    let (default, _) = run(&["report", "--json", path]);
    assert_eq!(default, out);
}

/// Raw IPv4 packets (LINKTYPE_RAW) with microsecond stamps.
struct Writer {
    packets: Vec<(u64, Vec<u8>)>,
}

impl Writer {
    fn tcp(
        &mut self,
        at: u64,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seq: u32,
        flags: &str,
        data: &[u8],
    ) {
        let mut b = PacketBuilder::ipv4(src.0, dst.0, 64).tcp(src.1, dst.1, seq, 65535);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('A') {
            b = b.ack(1);
        }
        if flags.contains('F') {
            b = b.fin();
        }
        let mut pkt = Vec::new();
        b.write(&mut pkt, data).unwrap();
        self.packets.push((at, pkt));
    }

    /// The same segment in two IPv4 fragments, the second first.
    fn fragmented(
        &mut self,
        at: u64,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seq: u32,
        data: &[u8],
        id: u16,
    ) {
        let mut whole = Vec::new();
        PacketBuilder::ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seq, 65535)
            .ack(1)
            .write(&mut whole, data)
            .unwrap();
        let payload = &whole[20..];
        let cut = 24;
        for (offset, more, part) in [
            (cut / 8, false, &payload[cut..]),
            (0, true, &payload[..cut]),
        ] {
            let mut h = etherparse::Ipv4Header::new(
                part.len() as u16,
                64,
                etherparse::IpNumber::TCP,
                src.0,
                dst.0,
            )
            .unwrap();
            h.identification = id;
            h.more_fragments = more;
            h.fragment_offset = etherparse::IpFragOffset::try_new(offset as u16).unwrap();
            h.header_checksum = h.calc_header_checksum();
            let mut pkt = Vec::new();
            h.write(&mut pkt).unwrap();
            pkt.extend_from_slice(part);
            self.packets.push((at, pkt));
        }
    }

    fn udp(&mut self, at: u64, src: ([u8; 4], u16), dst: ([u8; 4], u16), data: &[u8]) {
        let mut pkt = Vec::new();
        PacketBuilder::ipv4(src.0, dst.0, 64)
            .udp(src.1, dst.1)
            .write(&mut pkt, data)
            .unwrap();
        self.packets.push((at, pkt));
    }

    /// The packets so far in time order (stable: same-time packets as written).
    fn sort(&mut self) {
        self.packets.sort_by_key(|(at, _)| *at);
    }

    /// The packets as they are into a pcap file.
    fn save(self, path: &Path) {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        out.write_all(&0xa1b2c3d4u32.to_le_bytes()).unwrap();
        out.write_all(&2u16.to_le_bytes()).unwrap();
        out.write_all(&4u16.to_le_bytes()).unwrap();
        out.write_all(&[0; 8]).unwrap();
        out.write_all(&262_144u32.to_le_bytes()).unwrap();
        out.write_all(&101u32.to_le_bytes()).unwrap();
        for (at, pkt) in &self.packets {
            out.write_all(&((at / 1_000_000) as u32).to_le_bytes())
                .unwrap();
            out.write_all(&((at % 1_000_000) as u32).to_le_bytes())
                .unwrap();
            for _ in 0..2 {
                out.write_all(&(pkt.len() as u32).to_le_bytes()).unwrap();
            }
            out.write_all(pkt).unwrap();
        }
        out.flush().unwrap();
    }
}

/// A DNS query for `name`, id `id`.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

const FLOWS: u32 = 1500;
/// Flows opened before the capture's clock leaps 400 s (past the 300 s idle timeout).
const BEFORE_LEAP: u32 = 700;

/// 1500 HTTP logins, 20 ms apart: every third closes with FINs, the rest stay open, so those
/// opened before a 400 s silence idle out together at the first packet after it, each on its
/// engine; every fifth login's request comes in two IP fragments, second first; all but every
/// fourth send a second request with a hole before it (a `gap` anomaly when the flow closes: more
/// than the 1000 shown per kind, over all engines); every tenth looks up a name first. Then one
/// packet stamped two days later and one back on time (an odd stamp), and a real jump of three
/// days with a flow after it.
fn strain_capture(path: &Path) {
    let mut w = Writer {
        packets: Vec::new(),
    };
    let server = ([10, 1, 0, 1], 80);
    let resolver = ([10, 1, 0, 53], 53);
    let base = 1_700_000_000_000_000u64;
    for i in 0..FLOWS {
        let client = (
            [10, 0, (i / 250) as u8, (i % 250 + 1) as u8],
            40_000 + (i % 1000) as u16,
        );
        let mut at = base + u64::from(i) * 20_000;
        if i >= BEFORE_LEAP {
            at += 400_000_000;
        }
        if i % 10 == 0 {
            w.udp(
                at,
                (client.0, 5353),
                resolver,
                &dns_query(i as u16, &format!("host{i}.example")),
            );
        }
        w.tcp(at, client, server, 0, "S", b"");
        w.tcp(at + 1000, server, client, 0, "SA", b"");
        w.tcp(at + 2000, client, server, 1, "A", b"");
        let request = format!(
            "GET /login/{i} HTTP/1.1\r\nHost: intranet\r\nAuthorization: Basic {}\r\n\r\n",
            ["dXNlcjpwYXNz", "YWxpY2U6czNjcmV0", "Ym9iOmh1bnRlcjI="][(i % 3) as usize]
        );
        if i % 5 == 0 {
            w.fragmented(at + 3000, client, server, 1, request.as_bytes(), i as u16);
        } else {
            w.tcp(at + 3000, client, server, 1, "A", request.as_bytes());
        }
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        w.tcp(at + 9000, server, client, 1, "A", response);
        let mut seq = 1 + request.len() as u32;
        if i % 4 != 0 {
            // A second request, its first 10 bytes never captured.
            let second = b"GET /again HTTP/1.1\r\nHost: intranet\r\n\r\n";
            w.tcp(at + 12_000, client, server, seq + 10, "A", &second[10..]);
            seq += second.len() as u32;
        }
        if i % 3 == 0 {
            w.tcp(at + 15_000, client, server, seq, "FA", b"");
            w.tcp(
                at + 16_000,
                server,
                client,
                1 + response.len() as u32,
                "FA",
                b"",
            );
        }
    }
    w.sort();
    // After everything: an odd stamp two days ahead, then back on time; then a real jump three
    // days ahead, and one two days back.
    let end = base + 400_000_000 + u64::from(FLOWS) * 20_000 + 1_000_000;
    let late = ([10, 9, 0, 1], 41_000);
    w.tcp(end, late, server, 0, "S", b"");
    w.tcp(end + 172_800_000_000, late, server, 1, "A", b"odd");
    w.tcp(
        end + 1000,
        late,
        server,
        1,
        "A",
        b"GET / HTTP/1.1\r\nHost: intranet\r\n\r\n",
    );
    let jump = end + 3 * 86_400_000_000;
    let after = ([10, 9, 0, 2], 41_001);
    w.tcp(jump, after, server, 0, "S", b"");
    w.tcp(jump + 1000, server, after, 0, "SA", b"");
    w.tcp(
        jump + 2000,
        after,
        server,
        1,
        "A",
        b"GET /after HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n",
    );
    let back = jump - 2 * 86_400_000_000;
    let before = ([10, 9, 0, 3], 41_002);
    w.tcp(back, before, server, 0, "S", b"");
    w.tcp(back + 1000, server, before, 0, "SA", b"");
    w.save(path);
}

#[test]
fn flows_idling_out_together_on_several_engines_print_as_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strain.pcap");
    strain_capture(&path);
    let path = path.to_str().unwrap();
    let (out, said) = same_on_all(&["report", "--json", path], &["2", "3", "5"]);
    assert!(
        said.iter()
            .all(|s| s.contains("split over") && !s.contains("then one engine")),
        "{said:?}"
    );
    same_on_all(&["report", path], &["2"]);
    same_on_all(&["report", "--json", "--payloads", path], &["3"]);
    // A filter leaves packets out before the split; their frames still count.
    same_on_all(&["report", "--json", "-f", "tcp port 80", path], &["2"]);
    // What one engine makes of it, so the comparison is over the events meant.
    let events = events(&out);
    let reasons = |reason: &str| {
        of(&events, "flow_close")
            .into_iter()
            .filter(|c| c["reason"] == reason)
            .count()
    };
    // Every third login closes with FINs; the rest, and the flow with the odd stamp, idle out
    // (those opened before the leap at its end, the others at the three-day jump); the flows
    // after the jumps end with the capture.
    assert_eq!(reasons("fin"), 500);
    assert_eq!(reasons("timeout"), 1001);
    assert_eq!(reasons("end_of_capture"), 2);
    assert_eq!(of(&events, "credential").len(), FLOWS as usize + 1);
    let kinds = |kind: &str| {
        of(&events, "anomaly")
            .into_iter()
            .filter(|a| a["kind"] == kind)
            .count()
    };
    // 1125 gaps, 1000 of them shown; the odd stamp (a parse error) and the odd packet's bytes
    // overwritten by the request (an overlap conflict).
    assert_eq!(kinds("gap"), 1000);
    assert_eq!(kinds("parse_error"), 1);
    assert_eq!(kinds("overlap_conflict"), 1);
    let summary = events.last().unwrap();
    assert_eq!(summary["anomalies"], 1127, "{summary}");
    assert_eq!(of(&events, "dns_query").len(), (FLOWS / 10) as usize);
}

/// A SYN flood over a small memory cap: one engine evicts flows, which a split run cannot
/// decide for it; it hands over to one engine part-way, and the bytes are still the same.
#[test]
fn a_flood_over_the_memory_cap_hands_over_to_one_engine_and_prints_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.pcap");
    let mut w = Writer {
        packets: Vec::new(),
    };
    let server = ([10, 1, 0, 1], 80);
    let base = 1_700_000_000_000_000u64;
    for i in 0..60_000u32 {
        let [_, a, b, c] = i.to_be_bytes();
        w.tcp(
            base + u64::from(i) * 10,
            ([10, a, b, c], 40_000),
            server,
            0,
            "S",
            b"",
        );
    }
    w.save(&path);
    let path = path.to_str().unwrap();
    let (out, said) = same_on_all(&["report", "--json", "--memcap", "64MiB", path], &["2"]);
    assert!(said[0].contains("then one engine after"), "{said:?}");
    let events = events(&out);
    let evicted = of(&events, "flow_close")
        .into_iter()
        .filter(|c| c["reason"] == "evicted")
        .count();
    assert!(evicted > 0);
}
