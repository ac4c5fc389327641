//! `cargo bench`: the engine's throughput on the bundled captures held in memory, so the figure
//! is the analysis alone (no file I/O).

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::ControlFlow;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plainsight::capture::file::FileSource;
use plainsight::capture::{LinkType, Packet, SourceItem};
use plainsight::engine::{Engine, EngineConfig};
use plainsight::event::Timestamp;

fn load(name: &str) -> Vec<(Timestamp, LinkType, Vec<u8>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let mut source = FileSource::open(&path).expect("bundled capture");
    let mut packets = Vec::new();
    source.for_each(|item| {
        if let SourceItem::Packet(p) = item {
            packets.push((p.ts, p.link, p.data.to_vec()));
        }
        ControlFlow::Continue(())
    });
    packets
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    for name in ["captures/http-ipv4.pcap", "captures/tls-openssl.pcapng"] {
        let packets = load(name);
        let bytes: usize = packets.iter().map(|p| p.2.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut engine = Engine::new(EngineConfig::default());
                let mut events = 0usize;
                let mut sink = |_e| events += 1;
                for (frame, (ts, link, data)) in (1..).zip(&packets) {
                    let pkt = Packet {
                        ts: *ts,
                        frame,
                        link: *link,
                        data,
                        orig_len: data.len() as u32,
                    };
                    engine.packet(&pkt, &mut sink);
                }
                engine.end_of_input(&mut sink);
                events
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
