//! A large benchmark capture built from the bundled ones: copies of every Ethernet capture, each
//! copy moved to its own loopback addresses (so its flows are distinct) and later in time. Used
//! by `make bench` (through `examples/make_bench_capture.rs`) and by the tests that compare a
//! split run with one engine.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;

use plainsight::capture::file::FileSource;
use plainsight::capture::{LinkType, SourceItem};

/// Every bundled capture, in name order so the benchmark file is the same on every machine.
pub fn bundled_captures(root: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("captures"))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".pcap") || name.ends_with(".pcapng"))
        .map(|name| format!("captures/{name}"))
        .collect();
    names.sort();
    Ok(names)
}

/// Writes a capture of at least `size_mb` MiB to `out_path` from `sources` (paths relative to
/// `root`; by default every bundled capture); returns how many copies it holds.
pub fn write(
    root: &Path,
    out_path: &Path,
    size_mb: u64,
    sources: Option<Vec<String>>,
) -> Result<u32, Box<dyn std::error::Error>> {
    let sources = match sources {
        Some(sources) => sources,
        None => bundled_captures(root)?,
    };
    // Each source's packets: (microseconds from the source's first packet, bytes).
    let mut packets: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut offset = 0u64;
    for src in &sources {
        let mut source = FileSource::open(&root.join(src))?;
        let mut first = None;
        let mut last = 0;
        source.for_each(|item| {
            if let SourceItem::Packet(p) = item {
                if p.link == LinkType::ETHERNET {
                    let t0 = *first.get_or_insert(p.ts.0);
                    // A capture whose clock steps back stays at its first packet's time.
                    last = p.ts.0.saturating_sub(t0);
                    packets.push((offset + last, p.data.to_vec()));
                }
            }
            ControlFlow::Continue(())
        });
        offset += last + 10_000;
    }
    let copy_span = offset;
    let target = size_mb << 20;
    let mut out = BufWriter::with_capacity(1 << 20, File::create(out_path)?);
    // Legacy pcap header: microseconds, Ethernet.
    out.write_all(&0xa1b2c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&262144u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;
    let mut written = 24u64;
    let start = 1_700_000_000_000_000u64;
    let mut copy = 0u32;
    let mut buf = Vec::new();
    while written < target {
        copy += 1;
        let k = copy.to_be_bytes();
        for (t, data) in &packets {
            buf.clear();
            buf.extend_from_slice(data);
            match u16::from_be_bytes([buf[12], buf[13]]) {
                0x0800 if buf.len() >= 34 => {
                    for at in [26, 30] {
                        buf[at + 1..at + 4].copy_from_slice(&k[1..]);
                    }
                }
                0x86dd if buf.len() >= 54 => {
                    for at in [22, 38] {
                        buf[at + 12..at + 16].copy_from_slice(&k);
                    }
                }
                _ => {}
            }
            let ts = start + u64::from(copy) * copy_span + t;
            out.write_all(&((ts / 1_000_000) as u32).to_le_bytes())?;
            out.write_all(&((ts % 1_000_000) as u32).to_le_bytes())?;
            out.write_all(&(buf.len() as u32).to_le_bytes())?;
            out.write_all(&(buf.len() as u32).to_le_bytes())?;
            out.write_all(&buf)?;
            written += 16 + buf.len() as u64;
        }
    }
    out.flush()?;
    Ok(copy)
}
