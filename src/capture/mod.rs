//! Capture sources: pcap and pcapng files (pure Rust), stdin, and live interfaces (libpcap).
//!
//! Every source yields [`SourceItem`]s: packets with their link type, key-log secrets found inside
//! a pcapng file, and damage (a truncated or garbled file), so the engine analyses everything that
//! came before the damage and reports the rest as an anomaly.

pub mod file;
pub mod filter;
pub mod live;

use crate::base::Timestamp;

/// pcapng Decryption Secrets Block type of a TLS key log ("TLSK").
pub const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;

/// An input to analyse: a file (or `-` for stdin), or a capture built into the binary (the
/// demo's), possibly with the key log that goes with it.
#[derive(Debug, Clone)]
pub enum Input {
    Path(std::path::PathBuf),
    Embedded {
        name: &'static str,
        data: &'static [u8],
        keylog: Option<&'static str>,
    },
}

impl Input {
    /// The inputs of a list of paths as given on the command line.
    pub fn paths<P: Into<std::path::PathBuf>>(paths: impl IntoIterator<Item = P>) -> Vec<Input> {
        paths.into_iter().map(|p| Input::Path(p.into())).collect()
    }

    /// The name people know the input by: its path as given, or the demo's name for it.
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Embedded { name, .. } => name.to_string(),
        }
    }

    /// The path, when the input is a file (or `-`).
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Input::Path(p) => Some(p),
            Input::Embedded { .. } => None,
        }
    }
}

/// A link-layer type, as numbered by tcpdump.org's LINKTYPE_ registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    /// `DLT_RAW` as OpenBSD numbers it in files written there.
    pub const RAW_OPENBSD: LinkType = LinkType(14);
    /// `DLT_RAW` on some older systems.
    pub const RAW_LEGACY: LinkType = LinkType(12);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
    pub const PPP: LinkType = LinkType(9);
    /// PPP in HDLC-like framing (RFC 1662).
    pub const PPP_HDLC: LinkType = LinkType(50);
    pub const IEEE802_11: LinkType = LinkType(105);
    /// 802.11 behind a Prism monitoring header (old Linux drivers).
    pub const PRISM_HEADER: LinkType = LinkType(119);
    /// 802.11 behind an AVS monitoring header.
    pub const IEEE802_11_AVS: LinkType = LinkType(163);
    /// Cisco HDLC.
    pub const C_HDLC: LinkType = LinkType(104);
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    /// Per-Packet Information, then (usually) 802.11.
    pub const PPI: LinkType = LinkType(192);
    pub const PPP_WITH_DIR: LinkType = LinkType(204);
    pub const C_HDLC_WITH_DIR: LinkType = LinkType(205);
    pub const NFLOG: LinkType = LinkType(239);

    pub fn name(self) -> &'static str {
        match self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "EN10MB",
            LinkType::RAW | LinkType::RAW_OPENBSD | LinkType::RAW_LEGACY => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            LinkType::PPP => "PPP",
            LinkType::PPP_HDLC => "PPP_HDLC",
            LinkType::IEEE802_11 => "IEEE802_11",
            LinkType::PRISM_HEADER => "PRISM_HEADER",
            LinkType::IEEE802_11_AVS => "IEEE802_11_RADIO_AVS",
            LinkType::C_HDLC => "C_HDLC",
            LinkType::IEEE802_11_RADIOTAP => "IEEE802_11_RADIO",
            LinkType::PPI => "PPI",
            LinkType::PPP_WITH_DIR => "PPP_WITH_DIR",
            LinkType::C_HDLC_WITH_DIR => "C_HDLC_WITH_DIR",
            LinkType::NFLOG => "NFLOG",
            _ => "unknown",
        }
    }
}

/// One captured packet, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    /// The packet's 1-based position in its capture (or since a live capture started): the
    /// number Wireshark shows as `frame.number`.
    pub frame: u64,
    pub link: LinkType,
    /// The bytes as captured (possibly cut short by the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

/// What a capture source yields.
#[derive(Debug)]
pub enum SourceItem<'a> {
    Packet(Packet<'a>),
    /// A pcapng Decryption Secrets Block: `secrets_type` is 0x544c534b ("TLSK") for a TLS key log.
    Secrets {
        secrets_type: u32,
        data: &'a [u8],
    },
    /// The file is damaged from `offset` on; nothing after it can be read.
    Damage {
        offset: u64,
        detail: String,
    },
}

/// Errors that stop a source before it yields anything useful.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{name}: cannot open: {source}")]
    Open {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: not a pcap or pcapng capture ({detail})")]
    NotACapture { name: String, detail: String },
    #[error("{name}: the file is empty, not a pcap or pcapng capture")]
    Empty { name: String },
    #[error("{name}: read failed: {detail}")]
    Read { name: String, detail: String },
    #[error(
        "cannot capture on {iface}: permission denied. Run as root, or grant the capability once: \
         sudo setcap cap_net_raw,cap_net_admin=eip {exe}"
    )]
    PermissionDenied { iface: String, exe: String },
    #[error("cannot capture on {iface}: {detail}. `plainsight interfaces` lists the interfaces you can use")]
    Live { iface: String, detail: String },
    #[error(
        "bad filter {filter:?}: {detail}. The filter uses libpcap syntax, for example: tcp port 80"
    )]
    Filter { filter: String, detail: String },
    #[error("cannot write {path}: {detail}")]
    Write { path: String, detail: String },
    #[error("{0}")]
    Privileges(String),
    #[error(
        "{what} needs libpcap, and this plainsight was built without it (cargo's `live` feature \
         off). Capture files are read without it: replay, report and demo work. For live capture \
         and filters, build with the default features (libpcap installed; Npcap on Windows)"
    )]
    NoLibpcap { what: String },
}
