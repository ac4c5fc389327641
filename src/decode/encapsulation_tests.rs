//! Link layers and tunnels on hand-built frames: each wraps the same TCP segment, and decoding
//! must find it, with its inner addresses, whatever is around it.

use super::*;
use etherparse::{Ipv4Header, PacketBuilder};

const INNER_PAYLOAD: &[u8] = b"GET /login?pw=x HTTP/1.1\r\n";

fn inner_ipv4() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4([192, 168, 7, 1], [192, 168, 7, 2], 64)
        .tcp(40000, 80, 1000, 65535)
        .write(&mut out, INNER_PAYLOAD)
        .unwrap();
    out
}

fn inner_ipv6() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64)
        .tcp(40000, 80, 1000, 65535)
        .write(&mut out, INNER_PAYLOAD)
        .unwrap();
    out
}

fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    out.extend_from_slice(&ether_type.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn outer_ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let h = Ipv4Header::new(
        payload.len() as u16,
        64,
        etherparse::IpNumber(protocol),
        src,
        dst,
    )
    .unwrap();
    let mut out = Vec::new();
    h.write(&mut out).unwrap();
    out.extend_from_slice(payload);
    out
}

fn outer_udp(dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4([10, 9, 0, 1], [10, 9, 0, 2], 64)
        .udp(51000, dst_port)
        .write(&mut out, payload)
        .unwrap();
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// What a test looks at once the inner segment is found.
struct Seen {
    src: IpAddr,
    tunnel: Option<Tunnel>,
    truncated: bool,
}

/// Decodes and checks that the inner segment came out whole.
fn inner(link: LinkType, frame: &[u8]) -> Seen {
    let d = decode(link, frame).unwrap_or_else(|e| panic!("{e}"));
    match d.body {
        Body::Tcp(t) => assert_eq!((t.dst_port, t.payload), (80, INNER_PAYLOAD)),
        other => panic!("{other:?}"),
    }
    Seen {
        src: d.src,
        tunnel: d.tunnel,
        truncated: d.truncated,
    }
}

fn qos_data_header(flags: u8) -> Vec<u8> {
    // Frame control: type data (2), subtype QoS data (8); then flags, duration, three
    // addresses, sequence control, and the QoS control field.
    let mut h = vec![0x88, flags, 0, 0];
    h.extend_from_slice(&[0x11; 18]);
    h.extend_from_slice(&[0x10, 0x00]);
    if flags & 0x03 == 0x03 {
        h.extend_from_slice(&[0x22; 6]);
    }
    h.extend_from_slice(&[0x00, 0x00]);
    h
}

const SNAP_IPV4: [u8; 8] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];

#[test]
fn wifi_qos_data_and_four_address_frames() {
    let ip = inner_ipv4();
    let frame = cat(&[&qos_data_header(0x01), &SNAP_IPV4, &ip]);
    assert_eq!(inner(LinkType::IEEE802_11, &frame).tunnel, None);
    let frame = cat(&[&qos_data_header(0x03), &SNAP_IPV4, &ip]);
    inner(LinkType::IEEE802_11, &frame);
    // Plain (non-QoS) data, subtype 0.
    let mut plain = vec![0x08, 0x02, 0, 0];
    plain.extend_from_slice(&[0x33; 18]);
    plain.extend_from_slice(&[0x20, 0x00]);
    inner(LinkType::IEEE802_11, &cat(&[&plain, &SNAP_IPV4, &ip]));
}

#[test]
fn wifi_protected_management_and_null_frames_are_not_read() {
    let body = [0x5a; 40];
    let protected = cat(&[&qos_data_header(0x41), &body]);
    assert_eq!(
        decode(LinkType::IEEE802_11, &protected),
        Err(DecodeError::Protected { bytes: 40 }),
        "the counted body starts after the QoS field"
    );
    let mut beacon = vec![0x80, 0x00];
    beacon.extend_from_slice(&[0; 40]);
    assert_eq!(
        decode(LinkType::IEEE802_11, &beacon),
        Err(DecodeError::NotIp)
    );
    let mut null = vec![0x48, 0x01];
    null.extend_from_slice(&[0; 22]);
    assert_eq!(decode(LinkType::IEEE802_11, &null), Err(DecodeError::NotIp));
}

#[test]
fn radiotap_with_tsft_and_fcs_and_ppi() {
    let ip = inner_ipv4();
    let wifi = cat(&[
        &qos_data_header(0x02),
        &SNAP_IPV4,
        &ip,
        &[0xde, 0xad, 0xbe, 0xef],
    ]);
    // Present: TSFT and Flags; the TSFT is aligned to 8 (it already is at offset 8).
    let mut radiotap = vec![0, 0, 17, 0, 0x03, 0, 0, 0];
    radiotap.extend_from_slice(&[0; 8]);
    radiotap.push(0x10);
    let d = inner(LinkType::IEEE802_11_RADIOTAP, &cat(&[&radiotap, &wifi]));
    assert!(!d.truncated);
    let bad = {
        let mut r = radiotap.clone();
        r[16] = 0x50;
        cat(&[&r, &wifi])
    };
    assert_eq!(
        decode(LinkType::IEEE802_11_RADIOTAP, &bad),
        Err(DecodeError::BadFcs)
    );
    // Two present words (the first extended): the flags move 4 bytes on, the TSFT with them.
    let mut extended = vec![0, 0, 25, 0, 0x03, 0, 0, 0x80, 0, 0, 0, 0];
    extended.extend_from_slice(&[0; 4 + 8]);
    extended.push(0x10);
    inner(LinkType::IEEE802_11_RADIOTAP, &cat(&[&extended, &wifi]));
    // Data Pad (0x20): the 26-byte QoS header padded to 28.
    let mut padded_radiotap = radiotap.clone();
    padded_radiotap[16] = 0x30;
    let header = qos_data_header(0x02);
    assert_eq!(header.len(), 26);
    let padded = cat(&[&header, &[0, 0], &SNAP_IPV4, &ip, &[0xde, 0xad, 0xbe, 0xef]]);
    inner(
        LinkType::IEEE802_11_RADIOTAP,
        &cat(&[&padded_radiotap, &padded]),
    );

    let wifi_no_fcs = cat(&[&qos_data_header(0x02), &SNAP_IPV4, &ip]);
    let ppi = [0, 0, 8, 0, 105, 0, 0, 0];
    inner(LinkType::PPI, &cat(&[&ppi, &wifi_no_fcs]));
    // PPI with an 802.11-Common field (type 2, 20 bytes) whose flags say "FCS present", and
    // then "FCS bad".
    let common = |flags: u16| {
        let mut f = vec![0, 0, 32, 0, 105, 0, 0, 0, 2, 0, 20, 0];
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&flags.to_le_bytes());
        f.extend_from_slice(&[0; 10]);
        f
    };
    inner(LinkType::PPI, &cat(&[&common(0x0001), &wifi]));
    assert_eq!(
        decode(LinkType::PPI, &cat(&[&common(0x0005), &wifi])),
        Err(DecodeError::BadFcs)
    );

    // AVS (64-byte header, big-endian) and Prism (144 bytes, length little-endian), also with
    // an AVS header under Prism's link type.
    let mut avs = vec![0x80, 0x21, 0x10, 0x01, 0, 0, 0, 64];
    avs.resize(64, 0);
    inner(LinkType::IEEE802_11_AVS, &cat(&[&avs, &wifi_no_fcs]));
    inner(LinkType::PRISM_HEADER, &cat(&[&avs, &wifi_no_fcs]));
    let mut prism = vec![0x44, 0, 0, 0, 144, 0, 0, 0];
    prism.resize(144, 0);
    inner(LinkType::PRISM_HEADER, &cat(&[&prism, &wifi_no_fcs]));
    assert!(decode(LinkType::IEEE802_11_AVS, &[0x12; 70]).is_err());
}

#[test]
fn wifi_amsdu_first_subframe() {
    let ip = inner_ipv4();
    let mut h = qos_data_header(0x01);
    let qos = h.len() - 2;
    h[qos] = 0x80;
    let len = (SNAP_IPV4.len() + ip.len()) as u16;
    let mut sub = vec![0x44; 12];
    sub.extend_from_slice(&len.to_be_bytes());
    inner(LinkType::IEEE802_11, &cat(&[&h, &sub, &SNAP_IPV4, &ip]));
}

#[test]
fn ppp_hdlc_and_nflog() {
    let ip = inner_ipv4();
    inner(LinkType::PPP, &cat(&[&[0xff, 0x03, 0x00, 0x21], &ip]));
    inner(LinkType::PPP, &cat(&[&[0x00, 0x21], &ip]));
    inner(LinkType::PPP, &cat(&[&[0x21], &ip]));
    inner(LinkType::PPP_HDLC, &cat(&[&[0xff, 0x03, 0x00, 0x21], &ip]));
    inner(
        LinkType::PPP_WITH_DIR,
        &cat(&[&[0x01, 0xff, 0x03, 0x00, 0x21], &ip]),
    );
    inner(LinkType::PPP, &cat(&[&[0x00, 0x57], &inner_ipv6()]));
    assert_eq!(
        decode(LinkType::PPP, &[0xc0, 0x21, 1, 1, 0, 4]),
        Err(DecodeError::NotIp),
        "LCP is not IP"
    );
    inner(LinkType::C_HDLC, &cat(&[&[0x0f, 0x00, 0x08, 0x00], &ip]));
    inner(LinkType::PPP_HDLC, &cat(&[&[0x8f, 0x00, 0x08, 0x00], &ip]));
    inner(
        LinkType::C_HDLC_WITH_DIR,
        &cat(&[&[0x00, 0x0f, 0x00, 0x08, 0x00], &ip]),
    );

    // NFLOG: a prefix attribute (type 10, 5 bytes + 3 padding), then the payload (type 9).
    let mut nflog = vec![2, 0, 0, 1];
    nflog.extend_from_slice(&[9, 0, 10, 0, b'l', b'a', b'b', b'\0', 0, 0, 0, 0]);
    let len = (4 + ip.len()) as u16;
    nflog.extend_from_slice(&len.to_le_bytes());
    nflog.extend_from_slice(&9u16.to_le_bytes());
    nflog.extend_from_slice(&ip);
    inner(LinkType::NFLOG, &nflog);
    // The same from a big-endian host: a prefix of 8 bytes would read as 2048 little-endian.
    let mut big = vec![2, 0, 0, 1];
    big.extend_from_slice(&[0, 8, 0, 10, b'l', b'a', b'b', 0]);
    big.extend_from_slice(&len.to_be_bytes());
    big.extend_from_slice(&9u16.to_be_bytes());
    big.extend_from_slice(&ip);
    big.extend_from_slice(&[0; 2048]);
    inner(LinkType::NFLOG, &big);
    // Cut by the snap length inside the payload: decoded as far as it goes.
    let cut = &nflog[..nflog.len() - 5];
    assert!(decode(LinkType::NFLOG, cut).unwrap().truncated);
}

#[test]
fn pppoe_mpls_8021ah_and_llc_snap() {
    let ip = inner_ipv4();
    let len = (ip.len() + 2) as u16;
    let mut pppoe = vec![0x11, 0x00, 0x12, 0x34];
    pppoe.extend_from_slice(&len.to_be_bytes());
    pppoe.extend_from_slice(&[0x00, 0x21]);
    inner(LinkType::ETHERNET, &ethernet(0x8864, &cat(&[&pppoe, &ip])));

    // Two labels, the second at the bottom of the stack.
    let labels = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
    inner(LinkType::ETHERNET, &ethernet(0x8847, &cat(&[&labels, &ip])));
    // A pseudowire: control word, then the customer's Ethernet frame.
    let pw = cat(&[&labels, &[0, 0, 0, 0], &ethernet(0x0800, &ip)]);
    inner(LinkType::ETHERNET, &ethernet(0x8847, &pw));

    let itag = [0x00, 0x00, 0x01, 0x00];
    let pbb = cat(&[&itag, &ethernet(0x0800, &ip)]);
    inner(LinkType::ETHERNET, &ethernet(0x88e7, &pbb));

    // 802.3 length, then LLC/SNAP.
    let body = cat(&[&SNAP_IPV4, &ip]);
    inner(LinkType::ETHERNET, &ethernet(body.len() as u16, &body));
}

#[test]
fn ip_in_ip_and_six_in_four() {
    let four = outer_ipv4(4, [10, 9, 0, 1], [10, 9, 0, 2], &inner_ipv4());
    let d = inner(LinkType::RAW, &four);
    assert_eq!(d.src, "192.168.7.1".parse::<IpAddr>().unwrap());
    let tunnel = d.tunnel.unwrap();
    assert_eq!(tunnel.kind, TunnelKind::IpInIp);
    assert_eq!(tunnel.to_string(), "IP-in-IP 10.9.0.1 > 10.9.0.2");

    let six = outer_ipv4(41, [10, 9, 0, 1], [10, 9, 0, 2], &inner_ipv6());
    inner(LinkType::RAW, &six);
}

#[test]
fn tunnel_identity_is_the_same_both_ways_and_differs_between_tunnels() {
    let there = outer_ipv4(4, [10, 9, 0, 1], [10, 9, 0, 2], &inner_ipv4());
    let back = outer_ipv4(4, [10, 9, 0, 2], [10, 9, 0, 1], &inner_ipv4());
    let elsewhere = outer_ipv4(4, [10, 9, 0, 1], [10, 9, 0, 3], &inner_ipv4());
    let id = |p: &[u8]| inner(LinkType::RAW, p).tunnel.unwrap().id;
    assert_eq!(id(&there), id(&back));
    assert_ne!(id(&there), id(&elsewhere));
    assert_ne!(id(&there), 0);
}

#[test]
fn gre_plain_keyed_bridged_and_erspan() {
    let ip = inner_ipv4();
    let gre = cat(&[&[0x00, 0x00, 0x08, 0x00], &ip]);
    let d = inner(
        LinkType::RAW,
        &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &gre),
    );
    assert_eq!(d.tunnel.unwrap().kind, TunnelKind::Gre);

    // Checksum, key and sequence present; carrying an Ethernet frame.
    let keyed = cat(&[
        &[0xb0, 0x00, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1],
        &ethernet(0x0800, &ip),
    ]);
    let d = inner(
        LinkType::RAW,
        &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &keyed),
    );
    assert_eq!(
        d.tunnel.unwrap().to_string(),
        "GRE 10.9.0.1 > 10.9.0.2 key 7"
    );

    // PPTP's GRE (version 1): key (length, call id), sequence, then PPP.
    let pptp = cat(&[
        &[
            0x30, 0x81, 0x88, 0x0b, 0, 40, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0x21,
        ],
        &ip,
    ]);
    let pptp_id = |length: u8, call: u8| {
        let mut p = pptp.clone();
        p[5] = length;
        p[7] = call;
        let d = inner(
            LinkType::RAW,
            &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &p),
        );
        d.tunnel.unwrap()
    };
    // Its "key" holds the payload length and the peer's call id: one flow whatever they are.
    assert_eq!(pptp_id(40, 1).id, pptp_id(52, 2).id);
    assert_eq!(pptp_id(40, 1).vni, None);
    // A GRE key may differ by direction: it does not split the flow either.
    let keyed = |key: u8| {
        let mut g = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, key];
        g.extend_from_slice(&ip);
        inner(
            LinkType::RAW,
            &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &g),
        )
        .tunnel
        .unwrap()
        .id
    };
    assert_eq!(keyed(7), keyed(8));

    // ERSPAN type II (sequenced GRE): 8-byte header with session 5.
    let erspan2 = cat(&[
        &[0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 9],
        &[0x10, 0x00, 0x00, 0x05, 0, 0, 0, 0],
        &ethernet(0x0800, &ip),
    ]);
    let d = inner(
        LinkType::RAW,
        &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &erspan2),
    );
    assert_eq!(
        d.tunnel.unwrap().to_string(),
        "ERSPAN 10.9.0.1 > 10.9.0.2 session 5"
    );
    // Type I: no header of its own.
    let erspan1 = cat(&[&[0x00, 0x00, 0x88, 0xbe], &ethernet(0x0800, &ip)]);
    inner(
        LinkType::RAW,
        &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &erspan1),
    );
    // Type III with the platform subheader.
    let erspan3 = cat(&[
        &[0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 9],
        &[0x20, 0x00, 0x00, 0x06, 0, 0, 0, 0, 0, 0, 0, 0x01],
        &[0; 8],
        &ethernet(0x0800, &ip),
    ]);
    inner(
        LinkType::RAW,
        &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &erspan3),
    );
    // Type III with frame type 2: the mirrored packet is IP, with no Ethernet header.
    let erspan3_ip = cat(&[
        &[0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 9],
        &[0x20, 0x00, 0x00, 0x06, 0, 0, 0, 0, 0, 0, 0x08, 0x00],
        &ip,
    ]);
    inner(
        LinkType::RAW,
        &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &erspan3_ip),
    );
}

#[test]
fn unknown_encapsulations_are_said() {
    let unknown = cat(&[&[0x00, 0x00, 0x12, 0x34], &inner_ipv4()]);
    let err = decode(
        LinkType::RAW,
        &outer_ipv4(47, [10, 9, 0, 1], [10, 9, 0, 2], &unknown),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GRE carries protocol 0x1234, which plainsight does not read; packet skipped"
    );
    let l2tp = outer_ipv4(115, [10, 9, 0, 1], [10, 9, 0, 2], b"xxxxxxxx");
    assert!(matches!(
        decode(LinkType::RAW, &l2tp),
        Err(DecodeError::UnknownEncapsulation(_))
    ));
}

#[test]
fn vxlan_and_geneve() {
    let frame = ethernet(0x0800, &inner_ipv4());
    let vxlan = cat(&[&[0x08, 0, 0, 0, 0, 0, 42, 0], &frame]);
    let d = inner(LinkType::RAW, &outer_udp(4789, &vxlan));
    assert_eq!(
        d.tunnel.unwrap().to_string(),
        "VXLAN 10.9.0.1 > 10.9.0.2 VNI 42"
    );
    // VXLAN-GBP: the G flag and a group policy id in the reserved bits, ignored.
    let gbp = cat(&[&[0x88, 0, 0x12, 0x34, 0, 0, 42, 0], &frame]);
    inner(LinkType::RAW, &outer_udp(4789, &gbp));
    // Not a VXLAN header (no I flag): an ordinary datagram.
    let odd = cat(&[&[0x00, 1, 0, 0, 0, 0, 42, 0], &frame]);
    assert!(matches!(
        decode(LinkType::RAW, &outer_udp(4789, &odd)).unwrap().body,
        Body::Udp(u) if u.dst_port == 4789
    ));
    // GENEVE with one 4-byte option word.
    let geneve = cat(&[&[0x01, 0, 0x65, 0x58, 0, 0, 7, 0], &[1, 2, 3, 4], &frame]);
    let d = inner(LinkType::RAW, &outer_udp(6081, &geneve));
    assert_eq!(d.tunnel.unwrap().kind, TunnelKind::Geneve);
    // VXLAN-GPE carrying IPv4 directly.
    let gpe = cat(&[&[0x0c, 0, 0, 0x01, 0, 0, 1, 0], &inner_ipv4()]);
    inner(LinkType::RAW, &outer_udp(4790, &gpe));
}

#[test]
fn nesting_is_bounded() {
    let mut pkt = inner_ipv4();
    for _ in 0..MAX_LAYERS + 2 {
        pkt = outer_ipv4(4, [10, 9, 0, 1], [10, 9, 0, 2], &pkt);
    }
    assert!(matches!(
        decode(LinkType::RAW, &pkt),
        Err(DecodeError::Malformed(m)) if m.contains("nested")
    ));
}

#[test]
fn every_link_survives_garbage() {
    for link in [
        0u32, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 119, 127, 163, 192, 204, 205, 228, 229,
        239, 276,
    ] {
        for len in 0..96 {
            for seed in 0..4u32 {
                let junk: Vec<u8> = (0..len)
                    .map(|i| ((i as u32).wrapping_mul(37 + seed).wrapping_add(11 * seed)) as u8)
                    .collect();
                let _ = decode(LinkType(link), &junk);
            }
        }
    }
}
