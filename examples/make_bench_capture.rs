//! Builds a large benchmark capture from the bundled ones (see `tests/common/bench_capture.rs`).
//!
//! Usage: cargo run --release --example make_bench_capture -- OUT.pcap SIZE_MB [SOURCE...]
//! (SOURCEs are bundled Ethernet captures; by default every one in `captures/`: HTTP logins,
//! HTTP/2, TLS sessions, DNS, FTP, POP3, IMAP, SMTP and telnet. Packets of other link types are
//! left out.)

#[path = "../tests/common/bench_capture.rs"]
mod bench_capture;

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (out, size_mb, sources) = match args.as_slice() {
        [_, out, size] => (out, size.parse::<u64>()?, None),
        [_, out, size, rest @ ..] => (out, size.parse::<u64>()?, Some(rest.to_vec())),
        _ => return Err("usage: make_bench_capture OUT.pcap SIZE_MB [SOURCE...]".into()),
    };
    let copies = bench_capture::write(root, Path::new(out), size_mb, sources)?;
    eprintln!("{out}: {copies} copies, {size_mb} MB");
    Ok(())
}
