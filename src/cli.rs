//! The command line, as `docs/usage.md` and the contract describe it. In the library so the man
//! page and shell completions can be generated from the same definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "plainsight",
    version,
    about = "See what an eavesdropper sees on HTTP, and what HTTPS hides.",
    long_about = "plainsight reads network traffic (capture files or a live interface), puts TCP \
                  streams back together and shows what travels in the clear: the protocols, the \
                  bytes, the leaked credentials, next to the opaque records of TLS.",
    after_help = "Start with `plainsight demo` (no root, no network needed), or \
                  `plainsight report FILE.pcap` for a text report of a capture."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The classroom demo on the captures built into the binary.
    Demo {
        /// Start the lab servers, drive a scripted login and capture `lo` live (root or CAP_NET_RAW).
        #[arg(long)]
        live: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Replay one or more pcap/pcapng files (`-` reads stdin).
    Replay {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Replay at X times the capture's own pace, or `max` for as fast as possible.
        #[arg(long, value_name = "X", default_value = "1")]
        speed: Speed,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Capture a live interface (root or CAP_NET_RAW).
    Live {
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        iface: String,
        #[command(flatten)]
        live: LiveArgs,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// A report without the UI: text, or the JSON event stream with --json.
    Report {
        /// Capture files (pcap or pcapng; `-` reads stdin).
        #[arg(
            value_name = "FILE",
            required_unless_present = "iface",
            conflicts_with = "iface"
        )]
        files: Vec<PathBuf>,
        /// Capture this interface instead of reading files (root or CAP_NET_RAW).
        #[arg(
            short = 'i',
            long = "interface",
            value_name = "IFACE",
            requires = "duration"
        )]
        iface: Option<String>,
        /// With -i: stop after this many seconds (default: at Ctrl-C).
        #[arg(long, value_name = "SECS", requires = "iface", value_parser = parse_seconds)]
        duration: Option<f64>,
        /// Print the newline-delimited JSON event stream instead of the text report.
        #[arg(long)]
        json: bool,
        /// Write a handout instead: one self-contained HTML page telling what was captured, what
        /// leaked (the bytes around each secret), what HTTPS hid and what it still showed.
        /// Secrets are masked as by --redact unless --reveal is given.
        #[arg(long, conflicts_with = "json")]
        html: bool,
        /// With --html: show secrets whole in the page (it will be shared: think twice).
        #[arg(long, requires = "html", conflicts_with = "redact")]
        reveal: bool,
        /// With --json: also the bytes of every stream (`payload` events, base64) and every TLS
        /// record (`tls_record`), up to --payload-bytes per flow and direction. Not with
        /// --redact: raw bytes cannot be promised free of secrets.
        #[arg(long, requires = "json", conflicts_with = "redact")]
        payloads: bool,
        /// How much of each stream --payloads shows, per flow and direction (and again for the
        /// decrypted bytes), e.g. 64KiB, 1MiB.
        #[arg(long, value_name = "SIZE", value_parser = parse_bytes, default_value = "64KiB", requires = "payloads")]
        payload_bytes: usize,
        /// Cores to use (default: all). One file is split: its flows spread over N engines
        /// (without -j, from 16 MiB). Several files: N at once. The output is the same bytes
        /// whatever the number: files in the order given, flow ids counting on.
        #[arg(short = 'j', long, value_name = "N", conflicts_with = "iface", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        #[command(flatten)]
        live: LiveArgs,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// The lab servers alone: a login page over HTTP and HTTPS on 127.0.0.1, with its own CA,
    /// and the same page behind broken certificates (expired, wrong name, self-signed, unknown
    /// CA) on the four ports after the HTTPS one.
    Lab {
        /// Address to bind instead of 127.0.0.1 (never capture real people's passwords).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        #[arg(long, default_value_t = 8080)]
        http_port: u16,
        #[arg(long, default_value_t = 8443)]
        https_port: u16,
        /// Write the TLS session keys here (NSS key log format).
        #[arg(long, value_name = "FILE")]
        keylog: Option<PathBuf>,
        /// Write the lab CA's certificate here (PEM), for `curl --cacert FILE`, a browser's
        /// authorities, or plainsight's `--ca FILE`.
        #[arg(long, value_name = "FILE")]
        ca_out: Option<PathBuf>,
        /// Also serve the classic HTTPS mistakes, one per port after the broken certificates
        /// (a login page over HTTP, no redirect, no HSTS, cookies without Secure or HttpOnly,
        /// mixed content, ...): each shows as one finding.
        #[arg(long)]
        mistakes: bool,
    },
    /// The interfaces libpcap can open, with their addresses.
    Interfaces,
}

/// Options every capturing command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// Only packets matching this libpcap filter, e.g. "tcp port 80" (applied to files too).
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// An NSS key log (SSLKEYLOGFILE format) to decrypt TLS.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// A server's RSA private key (PEM; give it again for more keys): decrypts TLS sessions that
    /// used RSA key exchange, without a key log. Sessions with forward secrecy (ECDHE) stay shut.
    #[arg(long = "server-key", value_name = "FILE")]
    pub server_keys: Vec<PathBuf>,
    /// Certificates (PEM) to trust besides Mozilla's roots when judging the certificates a
    /// server sent, e.g. the lab's CA or a company's private CA (give it again for more files).
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Mask secrets for a projector: first and last character kept.
    #[arg(long)]
    pub redact: bool,
    /// Memory held for reassembly at most, e.g. 64MiB, 1G (default 256MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "256MiB")]
    pub memcap: usize,
}

/// Options of live captures.
#[derive(Debug, Args, Clone, Default)]
pub struct LiveArgs {
    /// Also save every captured packet to this pcap file, as tcpdump -w does.
    #[arg(short = 'w', long = "write", value_name = "FILE", requires = "iface")]
    pub write: Option<PathBuf>,
    /// The account to switch to once the capture is open (default: nobody; `root` keeps root).
    #[arg(long, value_name = "NAME", requires = "iface")]
    pub user: Option<String>,
}

/// Replay pace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(Speed::Factor(x)),
            _ => Err(format!(
                "{s:?} is not a speed: give a positive number such as 2 or 0.5, or max"
            )),
        }
    }
}

/// Parses a positive number of seconds.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x < 1e9 => Ok(x),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

/// Parses a memory cap: a size of at least 1 MiB.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let bytes = parse_bytes(s)?;
    if bytes < (1 << 20) {
        return Err(format!(
            "{s:?} is too small: the memory cap must be at least 1MiB"
        ));
    }
    Ok(bytes)
}

/// Parses a size such as `256MiB`, `64M`, `1G`, `512k` or a plain byte count.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("{s:?} is not a size: use a number with an optional unit, e.g. 256MiB")
    })?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}: use KiB, MiB or GiB")),
    };
    let bytes = n
        .checked_mul(mult)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("{s:?} is too large"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2097152"), Ok(2 << 20));
        assert!(parse_size("12").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn speeds() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2".parse::<Speed>(), Ok(Speed::Factor(2.0)));
        assert!("0".parse::<Speed>().is_err());
        assert!("-1".parse::<Speed>().is_err());
    }
}
