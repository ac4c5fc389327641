//! Live capture: an interface through libpcap, when this build has it (cargo's `live` feature,
//! on by default); without it, the same interface, saying plainly that live capture needs
//! libpcap.

use std::path::PathBuf;

#[cfg(not(feature = "live"))]
mod absent;
#[cfg(feature = "live")]
mod libpcap;

#[cfg(not(feature = "live"))]
pub use absent::{list_interfaces, LiveSource};
#[cfg(feature = "live")]
pub use libpcap::{list_interfaces, LiveSource};

#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    pub iface: String,
    pub filter: Option<String>,
    /// `-w/--write`: every captured packet is saved there, as tcpdump does.
    pub write: Option<PathBuf>,
    /// The account to switch to once the handle is open (default `nobody` when root).
    pub user: Option<String>,
}

/// Packet counters from libpcap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
}

/// An interface libpcap can open, with its addresses.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<std::net::IpAddr>,
    pub up: bool,
    pub loopback: bool,
}
