//! Tunnels: IP in IP (4in4, 6in4, 4in6, 6in6), GRE (with ERSPAN and PPTP's GRE), VXLAN,
//! VXLAN-GPE and GENEVE. A flow inside a tunnel is keyed by its inner addresses and by the
//! tunnel it travels in ([`Tunnel::id`]).

use std::fmt;
use std::net::IpAddr;

use super::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PPP, ETHERTYPE_TEB};
use super::{header, DecodeError, Next};

/// GRE: flags and version (2), protocol type (2); optional fields follow.
const GRE_LEN: usize = 4;
const GRE_CHECKSUM: u16 = 0x8000;
const GRE_ROUTING: u16 = 0x4000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQUENCE: u16 = 0x1000;
/// Version 1 (PPTP) only: an acknowledgment number follows.
const GRE_ACK: u16 = 0x0080;
const ERSPAN_II_LEN: usize = 8;
const ERSPAN_III_LEN: usize = 12;
const ERSPAN_III_PLATFORM_LEN: usize = 8;
const ETHERTYPE_ERSPAN_I_II: u16 = 0x88be;
const ETHERTYPE_ERSPAN_III: u16 = 0x22eb;
const ETHERTYPE_MPLS: [u16; 2] = [0x8847, 0x8848];
const VXLAN_LEN: usize = 8;
const GENEVE_LEN: usize = 8;

/// UDP ports of the UDP tunnels (4789 is IANA's VXLAN port, 8472 Linux's old default).
pub const VXLAN_PORTS: [u16; 2] = [4789, 8472];
pub const VXLAN_GPE_PORT: u16 = 4790;
pub const GENEVE_PORT: u16 = 6081;

/// The kind of the innermost tunnel a packet came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// IPv4 or IPv6 directly inside IPv4 or IPv6 (protocols 4 and 41).
    IpInIp,
    Gre,
    Erspan,
    Vxlan,
    Geneve,
}

impl TunnelKind {
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::IpInIp => "IP-in-IP",
            TunnelKind::Gre => "GRE",
            TunnelKind::Erspan => "ERSPAN",
            TunnelKind::Vxlan => "VXLAN",
            TunnelKind::Geneve => "GENEVE",
        }
    }
}

/// The tunnels a packet travelled in: an identity over all of them (for the flow key), and the
/// innermost one, to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    /// Non-zero; the same for both directions of one inner flow.
    pub id: u64,
    pub kind: TunnelKind,
    /// The outer endpoints of the innermost tunnel.
    pub outer: (IpAddr, IpAddr),
    /// VXLAN's or GENEVE's network identifier, GRE's key, ERSPAN's session id.
    pub vni: Option<u32>,
}

impl Tunnel {
    /// One more layer of tunnel, inside `outer` (if any).
    pub fn enter(
        outer: Option<Tunnel>,
        kind: TunnelKind,
        src: IpAddr,
        dst: IpAddr,
        vni: Option<u32>,
    ) -> Tunnel {
        let (low, high) = if src <= dst { (src, dst) } else { (dst, src) };
        let mut id = outer.map_or(0x243f_6a88_85a3_08d3, |t| t.id);
        // A GRE key may differ by direction (Linux's ikey/okey), so it names the tunnel but does
        // not key its flows; a VNI or an ERSPAN session is one value for both directions.
        let keyed = if kind == TunnelKind::Gre { None } else { vni };
        for word in [
            fold(low),
            fold(high),
            kind as u64,
            keyed.map_or(u64::MAX, u64::from),
        ] {
            id = (id ^ word)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(27);
        }
        Tunnel {
            id: id | 1,
            kind,
            outer: (src, dst),
            vni,
        }
    }
}

impl fmt::Display for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.outer;
        write!(f, "{} {a} > {b}", self.kind.name())?;
        if let Some(vni) = self.vni {
            let label = match self.kind {
                TunnelKind::Gre => "key",
                TunnelKind::Erspan => "session",
                _ => "VNI",
            };
            write!(f, " {label} {vni}")?;
        }
        Ok(())
    }
}

fn fold(addr: IpAddr) -> u64 {
    let bits = match addr {
        IpAddr::V4(a) => u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    };
    (bits as u64) ^ ((bits >> 64) as u64).rotate_left(32)
}

/// A GRE packet: what it carries, the tunnel's kind and its key (or ERSPAN session).
pub fn gre(data: &[u8]) -> Result<(Next<'_>, TunnelKind, Option<u32>), DecodeError> {
    let (h, mut rest) = header::<GRE_LEN>(data, "GRE header")?;
    let [f0, f1, p0, p1] = *h;
    let flags = u16::from_be_bytes([f0, f1]);
    let protocol = u16::from_be_bytes([p0, p1]);
    let version = flags & 0x0007;
    if version > 1 || flags & GRE_ROUTING != 0 {
        return Err(DecodeError::UnknownEncapsulation(format!(
            "GRE version {version}{} is not read",
            if flags & GRE_ROUTING != 0 {
                " with source routing"
            } else {
                ""
            }
        )));
    }
    if flags & GRE_CHECKSUM != 0 {
        rest = header::<4>(rest, "GRE checksum")?.1;
    }
    let mut key = None;
    if flags & GRE_KEY != 0 {
        let (k, after) = header::<4>(rest, "GRE key")?;
        // Version 1 (PPTP, RFC 2637) puts the payload length and the peer's call id there,
        // different in every packet and each direction: not a key.
        key = (version == 0).then(|| u32::from_be_bytes(*k));
        rest = after;
    }
    let sequenced = flags & GRE_SEQUENCE != 0;
    if sequenced {
        rest = header::<4>(rest, "GRE sequence number")?.1;
    }
    if version == 1 && flags & GRE_ACK != 0 {
        rest = header::<4>(rest, "GRE acknowledgment number")?.1;
    }
    match protocol {
        ETHERTYPE_ERSPAN_I_II => {
            // Type I has no header of its own (and no sequence number); type II has 8 bytes.
            if !sequenced {
                return Ok((Next::Ethernet(rest), TunnelKind::Erspan, None));
            }
            let (e, frame) = header::<ERSPAN_II_LEN>(rest, "ERSPAN type II header")?;
            Ok((
                Next::Ethernet(frame),
                TunnelKind::Erspan,
                Some(erspan_session(e)),
            ))
        }
        ETHERTYPE_ERSPAN_III => {
            let (e, mut frame) = header::<ERSPAN_III_LEN>(rest, "ERSPAN type III header")?;
            let [a, b, c, d, .., ft_hi, last] = *e;
            // The O bit: an 8-byte platform-specific subheader follows.
            if last & 0x01 != 0 {
                frame = header::<ERSPAN_III_PLATFORM_LEN>(frame, "ERSPAN platform subheader")?.1;
            }
            // FT, the frame type (5 bits before the hardware id): 0 Ethernet, 2 an IP packet.
            let next = match (u16::from_be_bytes([ft_hi, last]) >> 10) & 0x1f {
                0 => Next::Ethernet(frame),
                2 => Next::Ip(frame),
                other => {
                    return Err(DecodeError::UnknownEncapsulation(format!(
                        "ERSPAN type III frame type {other} is not read"
                    )))
                }
            };
            Ok((
                next,
                TunnelKind::Erspan,
                Some(erspan_session(&[a, b, c, d])),
            ))
        }
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_TEB | ETHERTYPE_PPP => {
            Ok((Next::EtherType(protocol, rest), TunnelKind::Gre, key))
        }
        p if ETHERTYPE_MPLS.contains(&p) => Ok((Next::EtherType(p, rest), TunnelKind::Gre, key)),
        other => Err(DecodeError::UnknownEncapsulation(format!(
            "GRE carries protocol {other:#06x}, which plainsight does not read"
        ))),
    }
}

/// The 10-bit session id in the first 4 bytes of an ERSPAN header (version, VLAN, CoS, session).
fn erspan_session(e: &[u8]) -> u32 {
    match e {
        [_, _, hi, lo, ..] => u32::from(u16::from_be_bytes([*hi, *lo]) & 0x03ff),
        _ => 0,
    }
}

/// A UDP payload on a tunnel port, if it really is that tunnel's header (otherwise it stays an
/// ordinary datagram): what it carries, the tunnel's kind and its network identifier.
pub fn udp(dst_port: u16, data: &[u8]) -> Option<(Next<'_>, TunnelKind, Option<u32>)> {
    if VXLAN_PORTS.contains(&dst_port) {
        let (h, rest) = header::<VXLAN_LEN>(data, "VXLAN header").ok()?;
        // The I flag must be set; the other bits are ignored on receipt (RFC 7348), and
        // VXLAN-GBP (draft-smith-vxlan-group-policy) uses some of them.
        let [flags, _, _, _, v0, v1, v2, _] = *h;
        if flags & 0x08 == 0 {
            return None;
        }
        let vni = u32::from_be_bytes([0, v0, v1, v2]);
        return Some((Next::Ethernet(rest), TunnelKind::Vxlan, Some(vni)));
    }
    if dst_port == VXLAN_GPE_PORT {
        let (h, rest) = header::<VXLAN_LEN>(data, "VXLAN-GPE header").ok()?;
        let [flags, _, _, next, v0, v1, v2, _] = *h;
        if flags & 0xc0 != 0 || flags & 0x04 == 0 {
            return None;
        }
        let inner = match next {
            1 | 2 => Next::Ip(rest),
            3 => Next::Ethernet(rest),
            5 => Next::EtherType(ETHERTYPE_MPLS[0], rest),
            _ => return None,
        };
        let vni = u32::from_be_bytes([0, v0, v1, v2]);
        return Some((inner, TunnelKind::Vxlan, Some(vni)));
    }
    if dst_port == GENEVE_PORT {
        let (h, rest) = header::<GENEVE_LEN>(data, "GENEVE header").ok()?;
        let [ver_optlen, _flags, p0, p1, v0, v1, v2, _] = *h;
        if ver_optlen >> 6 != 0 {
            return None;
        }
        let options = usize::from(ver_optlen & 0x3f) * 4;
        let rest = rest.get(options..)?;
        let vni = u32::from_be_bytes([0, v0, v1, v2]);
        let inner = Next::EtherType(u16::from_be_bytes([p0, p1]), rest);
        return Some((inner, TunnelKind::Geneve, Some(vni)));
    }
    None
}
