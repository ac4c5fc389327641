//! Link layers and the EtherType-tagged layers between them and IP: each function peels one
//! header and says what comes next ([`Next`]). Lengths are checked once per header (through
//! [`header`]) and fields are read from the fixed-size array by name (smoltcp's way).

use super::{header, short, wifi, DecodeError, Next};
use crate::capture::LinkType;

pub const ETHERNET_LEN: usize = 14;
pub const SLL_LEN: usize = 16;
pub const SLL2_LEN: usize = 20;
pub const NULL_LEN: usize = 4;
pub const VLAN_LEN: usize = 4;
/// PPPoE session header: version/type, code, session id (2), payload length (2).
pub const PPPOE_LEN: usize = 6;
pub const MPLS_LABEL_LEN: usize = 4;
/// 802.1ah I-TAG: flags and the 24-bit service id; the customer's MAC addresses follow.
pub const ITAG_LEN: usize = 4;
/// Cisco HDLC: address, control, then an EtherType.
pub const CHDLC_LEN: usize = 4;
/// NFLOG: address family, version, resource id (2); TLVs follow.
pub const NFLOG_LEN: usize = 4;
/// 802.2 LLC (DSAP, SSAP, control) with a SNAP extension (OUI (3), EtherType (2)).
pub const LLC_SNAP_LEN: usize = 8;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q, 802.1ad (QinQ outer tag) and the old QinQ tag.
/// 802.1Q, the VLAN tag most captures carry (the decoder's fast path reads one).
pub const ETHERTYPE_8021Q: u16 = 0x8100;
const ETHERTYPE_VLAN_TAGS: [u16; 3] = [ETHERTYPE_8021Q, 0x88a8, 0x9100];
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: [u16; 2] = [0x8847, 0x8848];
const ETHERTYPE_8021AH: u16 = 0x88e7;
/// Transparent Ethernet bridging: a whole Ethernet frame follows (GRE, GENEVE).
pub const ETHERTYPE_TEB: u16 = 0x6558;
/// PPP inside GRE version 1 (PPTP).
pub const ETHERTYPE_PPP: u16 = 0x880b;
/// MPLS labels read at most before giving up on a stack.
const MAX_MPLS_LABELS: usize = 8;

/// Peels the header of a packet of the given link type.
///
/// The common links go straight on to their EtherType's layer: on the per-packet path an
/// Ethernet frame of IP is one step of the walk, not three.
pub fn peel(link: LinkType, data: &[u8]) -> Result<Next<'_>, DecodeError> {
    Ok(match link {
        LinkType::ETHERNET => ethernet(data)?,
        LinkType::LINUX_SLL => {
            // 16-byte cooked header (`tcpdump -i any` before libpcap 1.10); the protocol (an
            // EtherType for IP) is its last two bytes.
            let (h, rest) = header::<SLL_LEN>(data, "Linux cooked header")?;
            ether_type(sll_protocol(h), rest)?
        }
        LinkType::LINUX_SLL2 => {
            let (h, rest) = header::<SLL2_LEN>(data, "Linux cooked v2 header")?;
            ether_type(sll2_protocol(h), rest)?
        }
        LinkType::NULL | LinkType::LOOP => {
            // A 4-byte address family: host byte order for NULL, network order for LOOP. Writers
            // disagree, so both orders are accepted; the values never collide.
            let (h, rest) = header::<NULL_LEN>(data, "loopback header")?;
            if !loopback_family_is_ip(h) {
                return Err(DecodeError::NotIp);
            }
            Next::Ip(rest)
        }
        LinkType::RAW
        | LinkType::RAW_LEGACY
        | LinkType::RAW_OPENBSD
        | LinkType::IPV4
        | LinkType::IPV6 => Next::Ip(data),
        LinkType::PPP => ppp(data)?,
        LinkType::PPP_WITH_DIR => {
            let (_direction, rest) = header::<1>(data, "PPP direction byte")?;
            ppp(rest)?
        }
        LinkType::PPP_HDLC => match data.first() {
            // NetBSD writes Cisco HDLC under this number too; its address byte tells.
            Some(0x0f | 0x8f) => cisco_hdlc(data)?,
            _ => ppp(data)?,
        },
        LinkType::C_HDLC => cisco_hdlc(data)?,
        LinkType::C_HDLC_WITH_DIR => {
            let (_direction, rest) = header::<1>(data, "Cisco HDLC direction byte")?;
            cisco_hdlc(rest)?
        }
        LinkType::NFLOG => nflog(data)?,
        LinkType::IEEE802_11 => wifi::frame(data, false)?,
        LinkType::IEEE802_11_RADIOTAP => wifi::radiotap(data)?,
        LinkType::PPI => wifi::ppi(data)?,
        LinkType::PRISM_HEADER => wifi::prism(data)?,
        LinkType::IEEE802_11_AVS => wifi::avs(data)?,
        other => return Err(DecodeError::UnsupportedLink(other)),
    })
}

/// An Ethernet frame: Ethernet II, or 802.3 with an LLC/SNAP header.
pub fn ethernet(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (h, rest) = header::<ETHERNET_LEN>(data, "Ethernet header")?;
    let type_or_len = ethernet_type(h);
    if type_or_len >= 0x0600 {
        return ether_type(type_or_len, rest);
    }
    // 802.3: a length, then LLC; IP rides on SNAP only.
    llc_snap(rest)
}

/// An 802.2 LLC header with SNAP (DSAP = SSAP = 0xAA): the EtherType it carries.
pub fn llc_snap(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (h, rest) = header::<LLC_SNAP_LEN>(data, "LLC/SNAP header")?;
    let [dsap, ssap, control, _, _, _, hi, lo] = *h;
    if dsap != 0xaa || ssap != 0xaa || control != 0x03 {
        return Err(DecodeError::NotIp);
    }
    Ok(Next::EtherType(u16::from_be_bytes([hi, lo]), rest))
}

/// The layer an EtherType names: IP, or another tag to peel (VLAN, PPPoE, MPLS, 802.1ah).
/// Anything else (ARP, LLDP…) is not IP.
pub fn ether_type(ether_type: u16, rest: &[u8]) -> Result<Next<'_>, DecodeError> {
    Ok(match ether_type {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Next::Ip(rest),
        t if ETHERTYPE_VLAN_TAGS.contains(&t) => {
            let (tag, after) = header::<VLAN_LEN>(rest, "VLAN tag")?;
            Next::EtherType(vlan_inner_type(tag), after)
        }
        ETHERTYPE_PPPOE_SESSION => {
            let (h, after) = header::<PPPOE_LEN>(rest, "PPPoE header")?;
            let [version_type, code, ..] = *h;
            if version_type != 0x11 || code != 0 {
                return Err(DecodeError::Malformed(format!(
                    "PPPoE session header with version/type {version_type:#04x}, code {code:#04x}"
                )));
            }
            ppp_protocol(after)?
        }
        t if ETHERTYPE_MPLS.contains(&t) => mpls(rest)?,
        ETHERTYPE_8021AH => {
            // The I-TAG, then the customer's destination and source addresses, then their
            // EtherType: an Ethernet frame.
            let (_itag, customer_frame) = header::<ITAG_LEN>(rest, "802.1ah I-TAG")?;
            Next::Ethernet(customer_frame)
        }
        ETHERTYPE_TEB => Next::Ethernet(rest),
        ETHERTYPE_PPP => ppp(rest)?,
        _ => return Err(DecodeError::NotIp),
    })
}

/// An MPLS label stack, then what its bottom label carries: IP (told by the version nibble, as
/// routers do), or an Ethernet pseudowire behind a zero control word.
fn mpls(mut rest: &[u8]) -> Result<Next<'_>, DecodeError> {
    for _ in 0..MAX_MPLS_LABELS {
        let (label, after) = header::<MPLS_LABEL_LEN>(rest, "MPLS label")?;
        rest = after;
        if label_bottom_of_stack(label) {
            return match rest.first().map(|b| b >> 4) {
                Some(4 | 6) => Ok(Next::Ip(rest)),
                Some(0) => {
                    let (_control_word, frame) =
                        header::<4>(rest, "MPLS pseudowire control word")?;
                    Ok(Next::Ethernet(frame))
                }
                Some(nibble) => Err(DecodeError::UnknownEncapsulation(format!(
                    "MPLS payload starting with {nibble:#x} is neither IP nor an Ethernet pseudowire"
                ))),
                None => Err(short("MPLS payload")),
            };
        }
    }
    Err(DecodeError::Malformed(format!(
        "MPLS stack deeper than {MAX_MPLS_LABELS} labels"
    )))
}

/// PPP, with or without the HDLC address and control bytes (0xFF 0x03) in front.
fn ppp(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    match data {
        [0xff, 0x03, rest @ ..] => ppp_protocol(rest),
        _ => ppp_protocol(data),
    }
}

/// A PPP protocol field (one byte when compressed: its low bit is set) and what it names.
fn ppp_protocol(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (protocol, rest) = match data {
        [first, rest @ ..] if first & 1 == 1 => (u16::from(*first), rest),
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
        _ => return Err(short("PPP protocol field")),
    };
    match protocol {
        0x0021 | 0x0057 => Ok(Next::Ip(rest)),
        0x0281 | 0x0283 => mpls(rest),
        // LCP, IPCP, PAP, CHAP and the other control protocols.
        _ => Err(DecodeError::NotIp),
    }
}

/// Cisco HDLC: address, control, EtherType.
fn cisco_hdlc(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (h, rest) = header::<CHDLC_LEN>(data, "Cisco HDLC header")?;
    let [_address, _control, hi, lo] = *h;
    Ok(Next::EtherType(u16::from_be_bytes([hi, lo]), rest))
}

/// NFLOG (`tcpdump -i nflog:N`): a 4-byte header, then type-length-value attributes padded to 4
/// bytes, in the writer's byte order; the packet is the payload attribute (type 9).
fn nflog(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    const NFULA_PAYLOAD: u16 = 9;
    let (h, mut rest) = header::<NFLOG_LEN>(data, "NFLOG header")?;
    let [family, ..] = *h;
    if family != 2 && family != 10 {
        return Err(DecodeError::NotIp);
    }
    // Lengths and types are in the capturing host's byte order: the first attribute's type (a
    // small number) tells which, once for the whole packet.
    let little = match rest {
        [l0, l1, t0, t1, ..] => {
            let le = usize::from(u16::from_le_bytes([*l0, *l1]));
            *t1 & 0x7f == 0 && (*t0 != 0 || (4..=rest.len()).contains(&le))
        }
        _ => return Err(short("NFLOG attribute")),
    };
    let u16_in = |a: u8, b: u8| {
        if little {
            u16::from_le_bytes([a, b])
        } else {
            u16::from_be_bytes([a, b])
        }
    };
    while !rest.is_empty() {
        let (tlv, _) = header::<4>(rest, "NFLOG attribute")?;
        let [l0, l1, t0, t1] = *tlv;
        let len = usize::from(u16_in(l0, l1));
        let kind = u16_in(t0, t1);
        if len < 4 {
            return Err(DecodeError::Malformed(format!(
                "NFLOG attribute of length {len}"
            )));
        }
        if kind & 0x7fff == NFULA_PAYLOAD {
            // A snap length may have cut the packet: what was captured is decoded (and the IP
            // layer marks it truncated).
            return Ok(Next::Ip(
                rest.get(4..len.min(rest.len())).unwrap_or_default(),
            ));
        }
        let padded = len.div_ceil(4) * 4;
        rest = rest
            .get(padded..)
            .ok_or_else(|| short("NFLOG attribute value"))?;
    }
    Err(DecodeError::NotIp)
}

/// Ethernet II: destination (6), source (6), EtherType (2).
pub(super) fn ethernet_type(h: &[u8; ETHERNET_LEN]) -> u16 {
    let [.., hi, lo] = *h;
    u16::from_be_bytes([hi, lo])
}

/// A BSD loopback header's address family is IPv4 or IPv6 (2; 10, 24, 28, 30 on the systems
/// that number AF_INET6 differently).
pub(super) fn loopback_family_is_ip(h: &[u8; NULL_LEN]) -> bool {
    let family = u32::from_le_bytes(*h).min(u32::from_be_bytes(*h));
    matches!(family, 2 | 10 | 24 | 28 | 30)
}

/// Linux cooked v1: packet type, ARPHRD, address length, address (8), protocol (2).
pub(super) fn sll_protocol(h: &[u8; SLL_LEN]) -> u16 {
    let [.., hi, lo] = *h;
    u16::from_be_bytes([hi, lo])
}

/// Linux cooked v2: protocol (2) first, then reserved, interface index, ARPHRD, type,
/// address length and address (8).
pub(super) fn sll2_protocol(h: &[u8; SLL2_LEN]) -> u16 {
    let [hi, lo, ..] = *h;
    u16::from_be_bytes([hi, lo])
}

/// An 802.1Q tag: tag control (2), then the inner EtherType (2).
pub fn vlan_inner_type(tag: &[u8; VLAN_LEN]) -> u16 {
    let [_, _, hi, lo] = *tag;
    u16::from_be_bytes([hi, lo])
}

/// An MPLS label entry: label (20 bits), traffic class (3), bottom of stack (1), TTL (8).
fn label_bottom_of_stack(label: &[u8; MPLS_LABEL_LEN]) -> bool {
    let [_, _, tc_s, _] = *label;
    tc_s & 1 == 1
}
