//! Builds a large benchmark capture from the bundled ones: copies of every Ethernet capture, each
//! copy moved to its own loopback addresses (so its flows are distinct) and later in time.
//!
//! Usage: cargo run --release --example make_bench_capture -- OUT.pcap SIZE_MB [SOURCE...]
//! (SOURCEs are bundled Ethernet captures; by default every one in `captures/`: HTTP logins,
//! HTTP/2, TLS sessions, DNS, FTP, POP3, IMAP, SMTP and telnet. Packets of other link types are
//! left out.)

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;

use plainsight::capture::file::FileSource;
use plainsight::capture::{LinkType, SourceItem};

/// Every bundled capture, in name order so the benchmark file is the same on every machine.
fn bundled_captures(root: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("captures"))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".pcap") || name.ends_with(".pcapng"))
        .map(|name| format!("captures/{name}"))
        .collect();
    names.sort();
    Ok(names)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (out_path, size_mb, sources) = match args.as_slice() {
        [_, out, size] => (out.clone(), size.parse::<u64>()?, bundled_captures(root)?),
        [_, out, size, rest @ ..] => (out.clone(), size.parse::<u64>()?, rest.to_vec()),
        _ => return Err("usage: make_bench_capture OUT.pcap SIZE_MB [SOURCE...]".into()),
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
                    last = p.ts.0 - t0;
                    packets.push((offset + last, p.data.to_vec()));
                }
            }
            ControlFlow::Continue(())
        });
        offset += last + 10_000;
    }
    let copy_span = offset;
    let target = size_mb << 20;
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&out_path)?);
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
    eprintln!("{out_path}: {copy} copies, {} MB", written >> 20);
    Ok(())
}
