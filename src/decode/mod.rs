//! Decoding: link layer, IPv4/IPv6 (with extension headers), then TCP or UDP.
//!
//! A pure function of the packet's bytes ([`decode`]); IP fragments are handed back as
//! [`Body::Fragment`] for the bounded [`defrag::Defragmenter`] to put together.

pub mod defrag;
mod link;
mod tunnel;
mod wifi;

#[cfg(test)]
mod encapsulation_tests;

use std::net::IpAddr;

use etherparse::err::ip::LaxHeaderSliceError;
use etherparse::{IpFragOffset, IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

use crate::capture::LinkType;
pub use tunnel::{Tunnel, TunnelKind};

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
    /// The tunnel(s) the packet came through, if any.
    pub tunnel: Option<Tunnel>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("link type {} ({}) is not supported; supported: {SUPPORTED_LINKS}", .0.0, .0.name())]
    UnsupportedLink(LinkType),
    /// Not an IP packet (ARP, LLDP, Wi-Fi management…): skipped without comment.
    #[error("not an IP packet")]
    NotIp,
    /// A Wi-Fi data frame protected by WEP or WPA: `bytes` of ciphertext, unreadable without
    /// the network's keys.
    #[error("Wi-Fi frame encrypted (WEP/WPA)")]
    Protected { bytes: u64 },
    /// The radio says the frame's checksum was wrong: its bytes cannot be trusted.
    #[error("802.11 frame failed its FCS check; skipped")]
    BadFcs,
    /// An encapsulation plainsight cannot look inside.
    #[error("{0}; packet skipped")]
    UnknownEncapsulation(String),
    #[error("packet cut short: {0}")]
    Truncated(String),
    #[error("malformed packet: {0}")]
    Malformed(String),
}

/// For the unsupported-link message and the docs.
pub const SUPPORTED_LINKS: &str = "Ethernet, Linux cooked (SLL, SLL2), BSD NULL/LOOP, raw IP, \
    802.11 (plain, radiotap, PPI, Prism, AVS), PPP (plain, HDLC-framed, with direction), Cisco HDLC, NFLOG";

/// Layers peeled at most (links, tags, tunnels): deeper nesting is hostile.
const MAX_LAYERS: usize = 16;

/// What a header says comes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<'a> {
    /// A packet of a link type (PPI wraps one).
    Link(LinkType, &'a [u8]),
    /// An Ethernet frame.
    Ethernet(&'a [u8]),
    /// A payload named by an EtherType.
    EtherType(u16, &'a [u8]),
    /// An IPv4 or IPv6 header.
    Ip(&'a [u8]),
}

/// Decodes one packet of the given link type down to its transport layer, through any tunnel.
pub fn decode(link: LinkType, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match common_tcp(link, data) {
        Some(decoded) => Ok(decoded),
        None => walk(Next::Link(link, data), None),
    }
}

/// Most packets of most captures: TCP in a whole IPv4 datagram, or in an IPv6 packet without
/// extension headers, read in one go under the common link layers: Ethernet II with or without
/// one 802.1Q VLAN tag (a trunk port's captures), Linux cooked v1 and v2 (`tcpdump -i any`),
/// BSD loopback, raw IP. The general walk passes each layer's outcome up as an enum, and those
/// moves of partly written structs cost more than reading the headers (half the decoding time on
/// the benchmark capture); `None` sends any other packet there.
fn common_tcp(link: LinkType, data: &[u8]) -> Option<Decoded<'_>> {
    let ip = common_link(link, data)?;
    let (src, dst, payload, truncated) = match ip.first()? >> 4 {
        4 => {
            let header = ipv4_header(ip)?;
            if header.fragmented || IpNumber(header.protocol) != IpNumber::TCP {
                return None;
            }
            (header.src, header.dst, header.payload, header.truncated)
        }
        6 => {
            let (src, dst, payload) = ipv6_tcp(ip)?;
            (src, dst, payload, false)
        }
        _ => return None,
    };
    Some(Decoded {
        src,
        dst,
        body: Body::Tcp(tcp_common(payload)?),
        truncated,
        tunnel: None,
    })
}

/// The IP packet under a common link layer, as the walk finds it (the version is the IP
/// header's own, whatever the link layer says); `None` for anything else.
fn common_link(link: LinkType, data: &[u8]) -> Option<&[u8]> {
    let (ether_type, ip) = match link {
        LinkType::ETHERNET => {
            let (ethernet, ip) = data.split_first_chunk::<{ link::ETHERNET_LEN }>()?;
            match link::ethernet_type(ethernet) {
                link::ETHERTYPE_8021Q => {
                    let (tag, ip) = ip.split_first_chunk::<{ link::VLAN_LEN }>()?;
                    (link::vlan_inner_type(tag), ip)
                }
                ether_type => (ether_type, ip),
            }
        }
        LinkType::LINUX_SLL => {
            let (header, ip) = data.split_first_chunk::<{ link::SLL_LEN }>()?;
            (link::sll_protocol(header), ip)
        }
        LinkType::LINUX_SLL2 => {
            let (header, ip) = data.split_first_chunk::<{ link::SLL2_LEN }>()?;
            (link::sll2_protocol(header), ip)
        }
        LinkType::NULL | LinkType::LOOP => {
            let (header, ip) = data.split_first_chunk::<{ link::NULL_LEN }>()?;
            return link::loopback_family_is_ip(header).then_some(ip);
        }
        LinkType::RAW
        | LinkType::RAW_LEGACY
        | LinkType::RAW_OPENBSD
        | LinkType::IPV4
        | LinkType::IPV6 => return Some(data),
        _ => return None,
    };
    matches!(ether_type, link::ETHERTYPE_IPV4 | link::ETHERTYPE_IPV6).then_some(ip)
}

/// IPv6 header fields (RFC 8200) read by the fast path, by offset in the fixed 40 bytes.
mod ipv6_field {
    pub const VERSION: usize = 0;
    pub const PAYLOAD_LEN: [usize; 2] = [4, 5];
    pub const NEXT_HEADER: usize = 6;
    pub const SOURCE: std::ops::Range<usize> = 8..24;
    pub const DESTINATION: std::ops::Range<usize> = 24..40;
    pub const LEN: usize = 40;
}

/// An IPv6 header followed directly by TCP, its whole payload captured: its addresses and the
/// payload (the bytes its length covers). `None` for anything else (extension headers, a
/// jumbogram's zero length, a payload cut short), which etherparse reads.
fn ipv6_tcp(data: &[u8]) -> Option<(IpAddr, IpAddr, &[u8])> {
    use ipv6_field as f;
    let (h, rest) = data.split_first_chunk::<{ f::LEN }>()?;
    let payload_len = usize::from(u16::from_be_bytes([
        h[f::PAYLOAD_LEN[0]],
        h[f::PAYLOAD_LEN[1]],
    ]));
    // A jumbogram's zero length leaves no payload, so no TCP header: etherparse reads it.
    if h[f::VERSION] >> 4 != 6 || IpNumber(h[f::NEXT_HEADER]) != IpNumber::TCP {
        return None;
    }
    let addr = |range: std::ops::Range<usize>| -> Option<IpAddr> {
        let octets: [u8; 16] = h.get(range)?.try_into().ok()?;
        Some(IpAddr::V6(std::net::Ipv6Addr::from(octets)))
    };
    Some((
        addr(f::SOURCE)?,
        addr(f::DESTINATION)?,
        rest.get(..payload_len)?,
    ))
}

/// Peels layers from `next` down to a transport, at most [`MAX_LAYERS`] of them.
fn walk(mut next: Next<'_>, mut tunnel: Option<Tunnel>) -> Result<Decoded<'_>, DecodeError> {
    for _ in 0..MAX_LAYERS {
        next = match next {
            Next::Link(link, data) => link::peel(link, data)?,
            Next::Ethernet(data) => link::ethernet(data)?,
            Next::EtherType(ether_type, data) => link::ether_type(ether_type, data)?,
            Next::Ip(data) => match ip(data, &mut tunnel)? {
                IpLayer::Done(decoded) => return Ok(decoded),
                IpLayer::Inner(inner) => inner,
            },
        };
    }
    Err(too_deep())
}

/// Goes on from a reassembled IP datagram (its fragments have been put together).
pub fn reassembled<'a>(
    src: IpAddr,
    dst: IpAddr,
    ip_number: IpNumber,
    payload: &'a [u8],
    tunnel: Option<Tunnel>,
) -> Result<Decoded<'a>, DecodeError> {
    let mut tunnel = tunnel;
    match after_ip(src, dst, ip_number, payload, false, &mut tunnel)? {
        IpLayer::Done(decoded) => Ok(decoded),
        IpLayer::Inner(inner) => walk(inner, tunnel),
    }
}

fn too_deep() -> DecodeError {
    DecodeError::Malformed(format!("more than {MAX_LAYERS} nested headers"))
}

/// An IP layer's outcome: the packet's transport, or a tunnel's inner packet to go on with.
#[derive(Debug, PartialEq, Eq)]
enum IpLayer<'a> {
    Done(Decoded<'a>),
    Inner(Next<'a>),
}

/// IPv4 header fields (RFC 791) read by the fast path, by offset in the fixed 20 bytes.
mod ipv4_field {
    pub const VERSION_IHL: usize = 0;
    pub const TOTAL_LEN: [usize; 2] = [2, 3];
    pub const IDENTIFICATION: [usize; 2] = [4, 5];
    pub const FLAGS_FRAGMENT: [usize; 2] = [6, 7];
    pub const PROTOCOL: usize = 9;
    pub const SOURCE: [usize; 4] = [12, 13, 14, 15];
    pub const DESTINATION: [usize; 4] = [16, 17, 18, 19];
    pub const MIN_LEN: usize = 20;
    /// The More Fragments flag and the 13-bit offset, in the flags/fragment field.
    pub const MORE_FRAGMENTS: u16 = 0x2000;
    pub const OFFSET_MASK: u16 = 0x1fff;
}

/// An IPv4 header read by hand, as [`common_tcp`] reads it, for the packets that take
/// the general walk (other link types, VLAN tags, tunnels, fragments, UDP): a whole header
/// without an authentication header after it. Gives `None` for anything else (IPv6, a cut or
/// malformed header, IPsec AH), which etherparse then reads and explains; the outcome is the
/// same as its lax slicing (a property test compares them).
fn ipv4_common<'a>(
    data: &'a [u8],
    tunnel: &mut Option<Tunnel>,
) -> Option<Result<IpLayer<'a>, DecodeError>> {
    let header = ipv4_header(data)?;
    let fragment = (
        u32::from(header.identification),
        IpFragOffset::try_new(header.offset).ok()?,
        header.more_fragments,
    );
    Some(datagram(
        (header.src, header.dst),
        IpNumber(header.protocol),
        header.payload,
        header.truncated,
        header.fragmented.then_some(fragment),
        tunnel,
    ))
}

/// What an IP header's payload is: a fragment (its id, offset and more-fragments flag given) for
/// the defragmenter, or a whole datagram's transport or tunnel.
fn datagram<'a>(
    (src, dst): (IpAddr, IpAddr),
    ip_number: IpNumber,
    payload: &'a [u8],
    truncated: bool,
    fragment: Option<(u32, IpFragOffset, bool)>,
    tunnel: &mut Option<Tunnel>,
) -> Result<IpLayer<'a>, DecodeError> {
    let Some((id, offset, more_fragments)) = fragment else {
        return after_ip(src, dst, ip_number, payload, truncated, tunnel);
    };
    Ok(IpLayer::Done(Decoded {
        src,
        dst,
        body: Body::Fragment(Fragment {
            id,
            ip_number: ip_number.0,
            offset,
            more_fragments,
            payload,
        }),
        truncated,
        tunnel: *tunnel,
    }))
}

/// What the fast path reads of an IPv4 header.
struct Ipv4Header<'a> {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    identification: u16,
    more_fragments: bool,
    offset: u16,
    fragmented: bool,
    payload: &'a [u8],
    truncated: bool,
}

/// A whole IPv4 header without an authentication header after it, or `None`.
fn ipv4_header(data: &[u8]) -> Option<Ipv4Header<'_>> {
    use ipv4_field as f;
    let (h, _) = data.split_first_chunk::<{ f::MIN_LEN }>()?;
    let header_len = usize::from(h[f::VERSION_IHL] & 0x0f) * 4;
    let protocol = h[f::PROTOCOL];
    if h[f::VERSION_IHL] >> 4 != 4
        || header_len < f::MIN_LEN
        || IpNumber(protocol) == IpNumber::AUTHENTICATION_HEADER
    {
        return None;
    }
    let after_header = data.get(header_len..)?;
    let be16 = |[a, b]: [usize; 2]| u16::from_be_bytes([h[a], h[b]]);
    let total_len = usize::from(be16(f::TOTAL_LEN));
    // As etherparse's lax slicing: a total length shorter than the header is ignored, a longer
    // one than the bytes captured marks the payload cut short, a shorter one drops padding.
    let (payload, truncated) = if total_len < header_len || data.len() < total_len {
        (after_header, total_len > data.len())
    } else {
        (data.get(header_len..total_len)?, false)
    };
    let addr =
        |[a, b, c, d]: [usize; 4]| IpAddr::V4(std::net::Ipv4Addr::new(h[a], h[b], h[c], h[d]));
    let flags_fragment = be16(f::FLAGS_FRAGMENT);
    let more_fragments = flags_fragment & f::MORE_FRAGMENTS != 0;
    let offset = flags_fragment & f::OFFSET_MASK;
    Some(Ipv4Header {
        src: addr(f::SOURCE),
        dst: addr(f::DESTINATION),
        protocol,
        identification: be16(f::IDENTIFICATION),
        more_fragments,
        offset,
        fragmented: more_fragments || offset != 0,
        payload,
        truncated,
    })
}

/// An IPv4 or IPv6 header (with extension headers), then what it carries.
fn ip<'a>(data: &'a [u8], tunnel: &mut Option<Tunnel>) -> Result<IpLayer<'a>, DecodeError> {
    match ipv4_common(data, tunnel) {
        Some(layer) => layer,
        None => ip_sliced(data, tunnel),
    }
}

/// An IP header of any kind sliced by etherparse.
fn ip_sliced<'a>(data: &'a [u8], tunnel: &mut Option<Tunnel>) -> Result<IpLayer<'a>, DecodeError> {
    match data.first().map(|b| b >> 4) {
        Some(4 | 6) => {}
        Some(_) => return Err(DecodeError::Malformed("not an IPv4 or IPv6 header".into())),
        None => return Err(short("IP header")),
    }
    // etherparse slices IP and its extension headers; the link layers are sliced by hand, which
    // avoids building etherparse's whole-packet structure on the hot path.
    let (ip, _ext_err) = LaxIpSlice::from_slice(data).map_err(|e| match e {
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
    datagram(
        (src, dst),
        payload.ip_number,
        payload.payload,
        truncated,
        payload.fragmented.then_some(id),
        tunnel,
    )
}

/// What a whole IP datagram carries: a tunnel's inner packet, or a transport.
fn after_ip<'a>(
    src: IpAddr,
    dst: IpAddr,
    ip_number: IpNumber,
    payload: &'a [u8],
    truncated: bool,
    tunnel: &mut Option<Tunnel>,
) -> Result<IpLayer<'a>, DecodeError> {
    let mut enter = |kind, vni, next| {
        *tunnel = Some(Tunnel::enter(*tunnel, kind, src, dst, vni));
        Ok(IpLayer::Inner(next))
    };
    match ip_number {
        IpNumber::IPV4 | IpNumber::IPV6 => enter(TunnelKind::IpInIp, None, Next::Ip(payload)),
        IpNumber::GRE => {
            let (next, kind, vni) = tunnel::gre(payload)?;
            enter(kind, vni, next)
        }
        // MPLS in IP (RFC 4023) and EtherIP (RFC 3378, a 2-byte header, then Ethernet).
        IpNumber(137) => enter(TunnelKind::IpInIp, None, Next::EtherType(0x8847, payload)),
        IpNumber(97) => enter(
            TunnelKind::IpInIp,
            None,
            Next::Ethernet(payload.get(2..).unwrap_or_default()),
        ),
        // L2TPv3, ENCAP and IP-within-IP (old): tunnels plainsight does not open.
        IpNumber(n @ (94 | 98 | 115)) => Err(DecodeError::UnknownEncapsulation(format!(
            "IP protocol {n} (a tunnel plainsight does not read)"
        ))),
        _ => {
            let body = transport(ip_number, payload)?;
            if let Body::Udp(udp) = body {
                if let Some((next, kind, vni)) = tunnel::udp(udp.dst_port, udp.payload) {
                    return enter(kind, vni, next);
                }
            }
            Ok(IpLayer::Done(Decoded {
                src,
                dst,
                body,
                truncated,
                tunnel: *tunnel,
            }))
        }
    }
}

/// Decodes a transport header over a (possibly reassembled) IP payload.
pub fn transport(ip_number: IpNumber, payload: &[u8]) -> Result<Body<'_>, DecodeError> {
    match ip_number {
        IpNumber::TCP => match tcp_common(payload) {
            Some(segment) => Ok(Body::Tcp(segment)),
            None => tcp_sliced(payload),
        },
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

/// A TCP header sliced by etherparse.
fn tcp_sliced(payload: &[u8]) -> Result<Body<'_>, DecodeError> {
    let tcp = TcpSlice::from_slice(payload).map_err(|e| match e {
        etherparse::err::tcp::HeaderSliceError::Len(l) => DecodeError::Truncated(l.to_string()),
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

/// TCP header fields (RFC 9293) by offset in the fixed 20 bytes.
mod tcp_field {
    pub const SOURCE_PORT: [usize; 2] = [0, 1];
    pub const DESTINATION_PORT: [usize; 2] = [2, 3];
    pub const SEQUENCE: [usize; 4] = [4, 5, 6, 7];
    pub const ACKNOWLEDGMENT: [usize; 4] = [8, 9, 10, 11];
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const MIN_LEN: usize = 20;
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// A whole TCP header read by hand; `None` for a cut or malformed one, which etherparse then
/// reads and explains (the same outcome otherwise: a property test compares them).
fn tcp_common(data: &[u8]) -> Option<TcpSegment<'_>> {
    use tcp_field as f;
    let (h, _) = data.split_first_chunk::<{ f::MIN_LEN }>()?;
    let header_len = usize::from(h[f::DATA_OFFSET] >> 4) * 4;
    if header_len < f::MIN_LEN {
        return None;
    }
    let payload = data.get(header_len..)?;
    let be16 = |[a, b]: [usize; 2]| u16::from_be_bytes([h[a], h[b]]);
    let be32 = |[a, b, c, d]: [usize; 4]| u32::from_be_bytes([h[a], h[b], h[c], h[d]]);
    let flags = h[f::FLAGS];
    Some(TcpSegment {
        src_port: be16(f::SOURCE_PORT),
        dst_port: be16(f::DESTINATION_PORT),
        seq: be32(f::SEQUENCE),
        ack: be32(f::ACKNOWLEDGMENT),
        flags: TcpFlags {
            syn: flags & f::SYN != 0,
            ack: flags & f::ACK != 0,
            fin: flags & f::FIN != 0,
            rst: flags & f::RST != 0,
        },
        payload,
    })
}

/// A fixed-length header and what follows it; its length is checked here, once, and its fields
/// are then read from the array by the names in [`link`].
pub(crate) fn header<'a, const N: usize>(
    data: &'a [u8],
    what: &str,
) -> Result<(&'a [u8; N], &'a [u8]), DecodeError> {
    data.split_first_chunk::<N>().ok_or_else(|| short(what))
}

pub(crate) fn short(what: &str) -> DecodeError {
    DecodeError::Truncated(format!("{what} incomplete"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    /// Sets byte `at` of an arbitrary packet, if it is that long.
    fn put(bytes: &mut [u8], at: usize, value: u8) {
        if let Some(b) = bytes.get_mut(at) {
            *b = value;
        }
    }

    /// An IPv4 header's first bytes steered to the cases that matter (version 4 or not, header
    /// lengths around the minimum, total lengths around the bytes present, fragments, AH, TCP
    /// data offsets around the minimum), the rest arbitrary.
    fn ipv4_like() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(any::<u8>(), 0..120),
            prop_oneof![Just(4u8), Just(6u8), 0u8..16],
            prop_oneof![Just(5u8), Just(6u8), 0u8..16],
            0usize..140,
            prop_oneof![Just(6u8), Just(17u8), Just(51u8), Just(4u8), any::<u8>()],
            prop_oneof![Just(0u16), Just(0x4000u16), Just(0x2000u16), any::<u16>()],
            prop_oneof![Just(5u8), 0u8..16],
        )
            .prop_map(|(mut bytes, version, ihl, total, protocol, frag, offset)| {
                put(&mut bytes, 0, version << 4 | ihl);
                put(&mut bytes, 2, (total >> 8) as u8);
                put(&mut bytes, 3, total as u8);
                put(&mut bytes, 6, (frag >> 8) as u8);
                put(&mut bytes, 7, frag as u8);
                put(&mut bytes, 9, protocol);
                // The TCP data offset, when the header is the minimum 20 bytes.
                put(&mut bytes, 32, offset << 4);
                bytes
            })
    }

    /// `ip` under every link layer the hand-read path knows, and under layers it leaves to the
    /// walk (an 802.1ad tag, an 802.1Q tag naming another protocol, a loopback family that is not
    /// IP); `ether_type` is what Ethernet says. True for the frames that carry `ip` as IP.
    fn under_every_link(ip: &[u8], ether_type: [u8; 2]) -> Vec<(LinkType, Vec<u8>, bool)> {
        let [hi, lo] = ether_type;
        let other = if ether_type == [0x08, 0x00] {
            [0x86, 0xdd]
        } else {
            [0x08, 0x00]
        };
        let with = |header: &[u8]| [header, ip].concat();
        let ethernet = |tags: &[u8]| with(&[&[0u8; 12][..], tags].concat());
        let mut sll = [0u8; 16];
        sll[14..].copy_from_slice(&ether_type);
        let mut sll2 = [0u8; 20];
        sll2[..2].copy_from_slice(&ether_type);
        vec![
            (LinkType::ETHERNET, ethernet(&ether_type), true),
            (
                LinkType::ETHERNET,
                ethernet(&[0x81, 0x00, 0x20, 0x0a, hi, lo]),
                true,
            ),
            (
                LinkType::ETHERNET,
                ethernet(&[&[0x81, 0x00, 0, 5][..], &other].concat()),
                true,
            ),
            (
                LinkType::ETHERNET,
                ethernet(&[0x88, 0xa8, 0, 7, hi, lo]),
                false,
            ),
            (LinkType::LINUX_SLL, with(&sll), true),
            (LinkType::LINUX_SLL2, with(&sll2), true),
            (LinkType::NULL, with(&[2, 0, 0, 0]), true),
            (LinkType::LOOP, with(&[0, 0, 0, 30]), true),
            (LinkType::NULL, with(&[7, 0, 0, 0]), false),
            (LinkType::RAW, ip.to_vec(), true),
        ]
    }

    /// What the hand-read path reads of `ip` is the same under every link layer that carries it
    /// as IP (the IP header's version decides, as in the walk), and is what the walk reads
    /// whenever the hand-read path takes it.
    fn same_under_every_link(ip: &[u8], ether_type: [u8; 2]) -> Result<(), TestCaseError> {
        let fast = common_tcp(LinkType::RAW, ip);
        for (link, frame, carries_ip) in under_every_link(ip, ether_type) {
            let decoded = common_tcp(link, &frame);
            if carries_ip {
                prop_assert_eq!(&decoded, &fast, "{:?} {:?}", link, frame.get(..20));
            } else {
                prop_assert!(decoded.is_none());
            }
            if let Some(decoded) = decoded {
                prop_assert_eq!(
                    Ok(decoded),
                    walk(Next::Link(link, &frame), None),
                    "{:?}",
                    link
                );
            }
        }
        Ok(())
    }

    /// Bytes shaped like an IPv6 header and TCP: the version, next header and payload length
    /// steered to the edge cases (another version or header, zero, around the bytes present).
    fn ipv6_like() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(any::<u8>(), 0..140),
            prop_oneof![Just(6u8), Just(4u8), 0u8..16],
            prop_oneof![Just(6u8), Just(0u8), Just(17u8), Just(44u8), any::<u8>()],
            prop_oneof![Just(0usize), 0usize..110],
            prop_oneof![Just(5u8), 0u8..16],
        )
            .prop_map(|(mut bytes, version, next, payload_len, offset)| {
                put(&mut bytes, 0, version << 4);
                put(&mut bytes, 4, (payload_len >> 8) as u8);
                put(&mut bytes, 5, payload_len as u8);
                put(&mut bytes, 6, next);
                // The TCP data offset, right after the fixed header.
                put(&mut bytes, 52, offset << 4);
                bytes
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The hand-read IPv4 and TCP headers give what etherparse's slicing gives, whenever
        /// they give anything.
        #[test]
        fn hand_read_headers_agree_with_etherparse(bytes in ipv4_like()) {
            let (mut fast_tunnel, mut sliced_tunnel) = (None, None);
            if let Some(fast) = ipv4_common(&bytes, &mut fast_tunnel) {
                prop_assert_eq!(fast, ip_sliced(&bytes, &mut sliced_tunnel));
                prop_assert_eq!(fast_tunnel, sliced_tunnel);
            }
            if let Some(segment) = tcp_common(&bytes) {
                prop_assert_eq!(Ok(Body::Tcp(segment)), tcp_sliced(&bytes));
            }
            same_under_every_link(&bytes, [0x08, 0x00])?;
        }

        /// TCP over IPv6 read by hand is what the walk (etherparse) makes of the same packet,
        /// under every link layer, whenever the hand-read path takes it.
        #[test]
        fn ipv6_fast_path_agrees_with_the_walk(bytes in ipv6_like()) {
            same_under_every_link(&bytes, [0x86, 0xdd])?;
        }
    }

    /// TCP over IPv6 takes the hand-read path; with an extension header, it does not.
    #[test]
    fn ipv6_tcp_is_read_by_hand() {
        let builder = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6([0x20; 16], [0x30; 16], 64)
            .tcp(40000, 443, 1000, 65535)
            .ack(5);
        let mut frame = Vec::new();
        builder.write(&mut frame, b"\x16\x03\x01").unwrap();
        let fast = common_tcp(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(Ok(fast), walk(Next::Link(LinkType::ETHERNET, &frame), None));
        let mut hop_by_hop = frame.clone();
        hop_by_hop[14 + 6] = 0;
        assert!(common_tcp(LinkType::ETHERNET, &hop_by_hop).is_none());
        assert!(common_tcp(LinkType::ETHERNET, frame.get(..frame.len() - 1).unwrap()).is_none());
    }

    /// The common headers take the hand-read path (the property above would pass vacuously
    /// otherwise), and what they leave to etherparse is what they should.
    #[test]
    fn common_headers_are_read_by_hand() {
        let packet = tcp_ipv4(b"GET / HTTP/1.1\r\n");
        let ip = packet.as_slice();
        assert!(ipv4_common(ip, &mut None).is_some());
        assert!(tcp_common(ip.get(20..).unwrap_or_default()).is_some());
        let mut with_ah = ip.to_vec();
        with_ah[9] = 51;
        assert!(ipv4_common(&with_ah, &mut None).is_none());
        assert!(ipv4_common(ip.get(..19).unwrap_or_default(), &mut None).is_none());
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(ip);
        assert!(common_tcp(LinkType::ETHERNET, &frame).is_some());
        assert!(common_tcp(LinkType::RAW, ip).is_some());
        assert!(common_tcp(LinkType::PPP, ip).is_none());
        let mut tagged = vec![0u8; 12];
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
        tagged.extend_from_slice(ip);
        assert!(common_tcp(LinkType::ETHERNET, &tagged).is_some());
        assert!(common_tcp(LinkType::ETHERNET, tagged.get(..17).unwrap_or_default()).is_none());
        let mut v6 = ip.to_vec();
        v6[0] = 0x60;
        assert!(ipv4_common(&v6, &mut None).is_none());
    }

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
