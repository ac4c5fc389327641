//! Decoding: link layer, IPv4/IPv6 (with extension headers), then TCP or UDP.
//!
//! A pure function of the packet's bytes ([`decode`]); IP fragments are handed back as
//! [`Body::Fragment`] for the bounded [`defrag::Defragmenter`] to put together.

pub mod defrag;

use std::net::IpAddr;

use etherparse::err::ip::LaxHeaderSliceError;
use etherparse::{IpFragOffset, IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

use crate::capture::LinkType;

/// TCP header flags the flow table acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// One piece of a fragmented IP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// IPv4's 16-bit identification or IPv6's 32-bit one.
    pub id: u32,
    pub ip_number: u8,
    pub offset: IpFragOffset,
    pub more_fragments: bool,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    Fragment(Fragment<'a>),
    /// Another IP protocol (ICMP, ESP…): counted, not analysed.
    OtherIp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub body: Body<'a>,
    /// The packet was cut short (snap length or a lying length field): its payload is partial.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("link type {} ({}) is not supported; supported: Ethernet, Linux cooked (SLL, SLL2), BSD NULL/LOOP, raw IP", .0.0, .0.name())]
    UnsupportedLink(LinkType),
    /// Not an IP packet (ARP, LLDP…): skipped without comment.
    #[error("not an IP packet")]
    NotIp,
    #[error("packet cut short: {0}")]
    Truncated(String),
    #[error("malformed packet: {0}")]
    Malformed(String),
}

/// Decodes one packet of the given link type down to its transport layer.
pub fn decode(link: LinkType, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let (ether_type, rest) = match link {
        LinkType::ETHERNET => {
            let (h, rest) = header::<{ link::ETHERNET_LEN }>(data, "Ethernet header")?;
            (link::ethernet_type(h), rest)
        }
        LinkType::LINUX_SLL => {
            // 16-byte cooked header; the protocol (an EtherType for IP) is its last two bytes.
            let (h, rest) = header::<{ link::SLL_LEN }>(data, "Linux cooked header")?;
            (link::sll_protocol(h), rest)
        }
        LinkType::LINUX_SLL2 => {
            // 20-byte cooked v2 header, protocol first. etherparse does not slice SLL2 itself.
            let (h, rest) = header::<{ link::SLL2_LEN }>(data, "Linux cooked v2 header")?;
            (link::sll2_protocol(h), rest)
        }
        LinkType::NULL | LinkType::LOOP => {
            // A 4-byte address family: host byte order for NULL, network order for LOOP. Writers
            // disagree, so both orders are accepted; the values never collide.
            let (h, rest) = header::<{ link::NULL_LEN }>(data, "loopback header")?;
            let family = u32::from_le_bytes(*h).min(u32::from_be_bytes(*h));
            let ether_type = match family {
                2 => ETHERTYPE_IPV4,
                10 | 24 | 28 | 30 => ETHERTYPE_IPV6,
                _ => return Err(DecodeError::NotIp),
            };
            (ether_type, rest)
        }
        LinkType::RAW
        | LinkType::RAW_LEGACY
        | LinkType::RAW_OPENBSD
        | LinkType::IPV4
        | LinkType::IPV6 => match data.first().map(|b| b >> 4) {
            Some(4) => (ETHERTYPE_IPV4, data),
            Some(6) => (ETHERTYPE_IPV6, data),
            Some(_) => return Err(DecodeError::Malformed("not an IPv4 or IPv6 header".into())),
            None => return Err(short("IP header")),
        },
        other => return Err(DecodeError::UnsupportedLink(other)),
    };
    let ip_bytes = skip_vlan_tags(ether_type, rest)?;
    // etherparse slices IP and its extension headers; the link layer above is simple enough that
    // slicing it by hand avoids building etherparse's whole-packet structure on the hot path.
    let (ip, _ext_err) = LaxIpSlice::from_slice(ip_bytes).map_err(|e| match e {
        LaxHeaderSliceError::Len(l) => DecodeError::Truncated(l.to_string()),
        LaxHeaderSliceError::Content(c) => DecodeError::Malformed(c.to_string()),
    })?;
    let (src, dst, payload, id) = match &ip {
        LaxIpSlice::Ipv4(ip) => {
            let h = ip.header();
            let frag = (
                u32::from(h.identification()),
                h.fragments_offset(),
                h.more_fragments(),
            );
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                ip.payload(),
                frag,
            )
        }
        LaxIpSlice::Ipv6(ip) => {
            let h = ip.header();
            let frag = if ip.is_payload_fragmented() {
                ip.extensions()
                    .clone()
                    .into_iter()
                    .find_map(|ext| match ext {
                        etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f.to_header()),
                        _ => None,
                    })
                    .map_or((0, IpFragOffset::ZERO, false), |f| {
                        (f.identification, f.fragment_offset, f.more_fragments)
                    })
            } else {
                (0, IpFragOffset::ZERO, false)
            };
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                ip.payload(),
                frag,
            )
        }
    };
    let truncated = payload.incomplete;
    if payload.fragmented {
        let (id, offset, more_fragments) = id;
        return Ok(Decoded {
            src,
            dst,
            body: Body::Fragment(Fragment {
                id,
                ip_number: payload.ip_number.0,
                offset,
                more_fragments,
                payload: payload.payload,
            }),
            truncated,
        });
    }
    let body = transport(payload.ip_number, payload.payload)?;
    Ok(Decoded {
        src,
        dst,
        body,
        truncated,
    })
}

/// Decodes a transport header over a (possibly reassembled) IP payload.
pub fn transport(ip_number: IpNumber, payload: &[u8]) -> Result<Body<'_>, DecodeError> {
    match ip_number {
        IpNumber::TCP => {
            let tcp = TcpSlice::from_slice(payload).map_err(|e| match e {
                etherparse::err::tcp::HeaderSliceError::Len(l) => {
                    DecodeError::Truncated(l.to_string())
                }
                other => DecodeError::Malformed(other.to_string()),
            })?;
            Ok(Body::Tcp(TcpSegment {
                src_port: tcp.source_port(),
                dst_port: tcp.destination_port(),
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                flags: TcpFlags {
                    syn: tcp.syn(),
                    ack: tcp.ack(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                },
                payload: tcp.payload(),
            }))
        }
        IpNumber::UDP => {
            let udp = UdpSlice::from_slice_lax(payload)
                .map_err(|e| DecodeError::Truncated(e.to_string()))?;
            Ok(Body::Udp(UdpDatagram {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                payload: udp.payload(),
            }))
        }
        _ => Ok(Body::OtherIp),
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q, 802.1ad (QinQ outer tag) and the old QinQ tag.
const ETHERTYPE_VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// Tags skipped at most (QinQ is two; a third is tolerated).
const MAX_VLAN_TAGS: usize = 3;

/// Skips 802.1Q/QinQ tags and returns the IP header's bytes, or `NotIp`.
fn skip_vlan_tags(mut ether_type: u16, mut rest: &[u8]) -> Result<&[u8], DecodeError> {
    for _ in 0..=MAX_VLAN_TAGS {
        match ether_type {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(rest),
            t if ETHERTYPE_VLAN_TAGS.contains(&t) => {
                let (tag, after) = header::<{ link::VLAN_LEN }>(rest, "VLAN tag")?;
                ether_type = link::vlan_inner_type(tag);
                rest = after;
            }
            _ => return Err(DecodeError::NotIp),
        }
    }
    Err(DecodeError::NotIp)
}

/// A fixed-length header and what follows it; its length is checked here, once, and its fields
/// are then read from the array by the names in [`link`].
fn header<'a, const N: usize>(
    data: &'a [u8],
    what: &str,
) -> Result<(&'a [u8; N], &'a [u8]), DecodeError> {
    data.split_first_chunk::<N>().ok_or_else(|| short(what))
}

/// The link-layer headers sliced by hand: their lengths and named fields (smoltcp's way). The
/// field readers take whole headers, so no index can fall outside one.
mod link {
    pub const ETHERNET_LEN: usize = 14;
    pub const SLL_LEN: usize = 16;
    pub const SLL2_LEN: usize = 20;
    pub const NULL_LEN: usize = 4;
    pub const VLAN_LEN: usize = 4;

    /// Ethernet II: destination (6), source (6), EtherType (2).
    pub fn ethernet_type(h: &[u8; ETHERNET_LEN]) -> u16 {
        let [.., hi, lo] = *h;
        u16::from_be_bytes([hi, lo])
    }

    /// Linux cooked v1: packet type, ARPHRD, address length, address (8), protocol (2).
    pub fn sll_protocol(h: &[u8; SLL_LEN]) -> u16 {
        let [.., hi, lo] = *h;
        u16::from_be_bytes([hi, lo])
    }

    /// Linux cooked v2: protocol (2) first, then reserved, interface index, ARPHRD, type,
    /// address length and address (8).
    pub fn sll2_protocol(h: &[u8; SLL2_LEN]) -> u16 {
        let [hi, lo, ..] = *h;
        u16::from_be_bytes([hi, lo])
    }

    /// An 802.1Q tag: tag control (2), then the inner EtherType (2).
    pub fn vlan_inner_type(tag: &[u8; VLAN_LEN]) -> u16 {
        let [_, _, hi, lo] = *tag;
        u16::from_be_bytes([hi, lo])
    }
}

fn short(what: &str) -> DecodeError {
    DecodeError::Truncated(format!("{what} incomplete"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_ipv4(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1000, 65535)
            .ack(5);
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn raw_ipv4_tcp() {
        let pkt = tcp_ipv4(b"GET / HTTP/1.1\r\n");
        let d = decode(LinkType::RAW, &pkt).unwrap();
        assert_eq!(d.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        let Body::Tcp(t) = d.body else {
            panic!("not tcp")
        };
        assert_eq!((t.src_port, t.dst_port, t.seq, t.ack), (40000, 80, 1000, 5));
        assert!(t.flags.ack && !t.flags.syn);
        assert_eq!(t.payload, b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn sll2_is_stripped_by_hand() {
        let ip = tcp_ipv4(b"x");
        let mut pkt = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        pkt.extend_from_slice(&ip);
        let d = decode(LinkType::LINUX_SLL2, &pkt).unwrap();
        assert!(matches!(d.body, Body::Tcp(t) if t.payload == b"x"));
    }

    #[test]
    fn null_loopback_both_byte_orders() {
        let ip = tcp_ipv4(b"y");
        for family in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut pkt = family.to_vec();
            pkt.extend_from_slice(&ip);
            assert!(matches!(
                decode(LinkType::NULL, &pkt).unwrap().body,
                Body::Tcp(_)
            ));
        }
    }

    #[test]
    fn qinq_ethernet() {
        let builder = PacketBuilder::ethernet2([1; 6], [2; 6])
            .double_vlan(
                etherparse::VlanId::try_new(10).unwrap(),
                etherparse::VlanId::try_new(20).unwrap(),
            )
            .ipv6([1; 16], [2; 16], 64)
            .udp(5353, 53);
        let mut pkt = Vec::new();
        builder.write(&mut pkt, b"q").unwrap();
        let d = decode(LinkType::ETHERNET, &pkt).unwrap();
        assert!(matches!(d.body, Body::Udp(u) if u.dst_port == 53 && u.payload == b"q"));
    }

    #[test]
    fn unsupported_link_and_garbage_never_panic() {
        assert_eq!(
            decode(LinkType(147), b"abc"),
            Err(DecodeError::UnsupportedLink(LinkType(147)))
        );
        for link in [
            LinkType::ETHERNET,
            LinkType::LINUX_SLL,
            LinkType::LINUX_SLL2,
            LinkType::NULL,
            LinkType::RAW,
        ] {
            for len in 0..64 {
                let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
                let _ = decode(link, &junk);
            }
        }
    }

    #[test]
    fn cut_tcp_header_is_truncated() {
        let pkt = tcp_ipv4(b"");
        assert!(matches!(
            decode(LinkType::RAW, &pkt[..30]),
            Err(DecodeError::Truncated(_))
                | Ok(Decoded {
                    truncated: true,
                    ..
                })
        ));
    }
}
