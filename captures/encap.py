#!/usr/bin/python3
"""Wrap the packets of a real Ethernet capture in other link layers and tunnels.

    captures/encap.py SOURCE.pcap OUTDIR

This machine's kernel has no GRE, IPIP, SIT, GENEVE, VLAN, PPP or mac80211_hwsim
modules, so those captures cannot be made live here (make-encap-captures.sh makes
the VXLAN one live). Instead every IP packet of SOURCE (made by curl and a real
server, see make-cred-captures.sh) is put, unchanged, inside the headers a router,
a tunnel endpoint, a Wi-Fi card or a PPP link would add, byte for byte as the
RFCs and the link-type registry say. The inner bytes, timestamps and order stay
those of the real capture, so each output must give the same flows and the same
credentials as SOURCE; tshark checks that it reads each file the same way.

Only the standard library (struct, zlib) is used: no scapy.
"""

import os
import struct
import sys
import zlib

# Outer (tunnel) endpoints. The client side of the inner connection is sent
# from OUTER_A, the server side from OUTER_B, so both directions are present.
OUTER_A, OUTER_B = bytes([10, 20, 0, 1]), bytes([10, 20, 0, 2])
OUTER6_A = bytes.fromhex("20010db8000a00000000000000000001")
OUTER6_B = bytes.fromhex("20010db8000a00000000000000000002")
# Inner IPv6 addresses for the 6in4 file (IPv4 inner packets translated).
INNER6_CLIENT = bytes.fromhex("20010db8000100000000000000000c11")
INNER6_SERVER = bytes.fromhex("20010db8000100000000000000000500")
MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
# Wi-Fi: a station and its access point (BSSID).
STA, AP = bytes.fromhex("02aa00000001"), bytes.fromhex("02bb00000001")
ROUTER = bytes.fromhex("02cc00000001")
SERVER_PORT = 8090


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        end = "<"
    elif magic == b"\xa1\xb2\xc3\xd4":
        end = ">"
    else:
        sys.exit(f"encap.py: {path} is not a microsecond pcap file")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit(f"encap.py: {path} has link type {linktype}, want Ethernet (1)")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        out.append((sec, usec, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


def write_pcap(path, linktype, records):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for sec, usec, frame in records:
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident):
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                       64, proto, 0, src, dst)
    head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    return head + payload


def ipv6(src, dst, next_header, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, src, dst) + payload


def udp(sport, dport, payload):
    # Checksum 0: allowed over IPv4, and what Linux sends for VXLAN and GENEVE by default.
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ether(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def to_ipv6(ip, forward):
    """The IPv4 packet as IPv6 (same TCP segment, checksum recomputed)."""
    ihl = (ip[0] & 0x0F) * 4
    proto, segment = ip[9], bytearray(ip[ihl:struct.unpack("!H", ip[2:4])[0]])
    src, dst = (INNER6_CLIENT, INNER6_SERVER) if forward else (INNER6_SERVER, INNER6_CLIENT)
    if proto == 6:
        segment[16:18] = b"\0\0"
        pseudo = src + dst + struct.pack("!IxxxB", len(segment), 6)
        segment[16:18] = struct.pack("!H", checksum(pseudo + bytes(segment)))
    return ipv6(src, dst, proto, bytes(segment))


def is_forward(ip):
    """True for the client's packets (those to the server's port)."""
    ihl = (ip[0] & 0x0F) * 4
    return struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] == SERVER_PORT


def outer(forward):
    return (OUTER_A, OUTER_B) if forward else (OUTER_B, OUTER_A)


def flow_port(ip):
    """A source port for UDP tunnels that, like Linux, hashes the inner flow."""
    ihl = (ip[0] & 0x0F) * 4
    ports = struct.unpack("!HH", ip[ihl:ihl + 4])
    return 49152 + (min(ports) * 31 + max(ports)) % 16384


def wlan_data(ip, forward, qos, four_address, protected=False):
    """An 802.11 data frame between a station and the AP carrying IP over LLC/SNAP."""
    subtype = 0x88 if qos else 0x08          # type 2 (data), subtype 8 (QoS) or 0
    if four_address:
        flags = 0x03                          # ToDS and FromDS: a wireless bridge
        addrs = (AP, STA, ROUTER, STA) if forward else (STA, AP, STA, ROUTER)
    elif forward:
        flags = 0x01                          # ToDS: station to AP
        addrs = (AP, STA, ROUTER)
    else:
        flags = 0x02                          # FromDS: AP to station
        addrs = (STA, AP, ROUTER)
    if protected:
        flags |= 0x40
    seq = struct.pack("<H", (wlan_data.seq & 0xFFF) << 4)
    wlan_data.seq += 1
    head = bytes([subtype, flags]) + struct.pack("<H", 44) + b"".join(addrs[:3]) + seq
    if four_address:
        head += addrs[3]
    if qos:
        head += struct.pack("<H", 0)
    if protected:
        # CCMP header (PN, key id) then ciphertext and MIC: opaque bytes here.
        body = bytes([1, 0, 0, 0x20, 0, 0, 0, 0]) + bytes((i * 37 + 11) & 0xFF for i in range(len(ip))) + bytes(8)
    else:
        body = bytes.fromhex("aaaa03000000") + struct.pack("!H", 0x0800) + ip
    return head + body


wlan_data.seq = 0


def beacon(ssid):
    head = bytes([0x80, 0x00, 0, 0]) + b"\xff" * 6 + AP + AP + bytes(2)
    body = bytes(8) + struct.pack("<HH", 100, 0x0001) + bytes([0, len(ssid)]) + ssid
    return head + body


def radiotap(frame):
    # present: flags (bit 1), rate (2), channel (3), antenna signal (5); flags say
    # the frame ends in its FCS, so the FCS is appended.
    present = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5)
    fields = bytes([0x10, 12]) + struct.pack("<HH", 2437, 0x00A0) + bytes([0xC4])
    head_len = 8 + len(fields)
    head = struct.pack("<BBHI", 0, 0, head_len, present) + fields
    return head + frame + struct.pack("<I", zlib.crc32(frame) & 0xFFFFFFFF)


def ppi(frame):
    return struct.pack("<BBHI", 0, 0, 8, 105) + frame


def nflog(ip):
    def tlv(kind, value):
        length = 4 + len(value)
        return struct.pack("<HH", length, kind) + value + bytes((-length) % 4)
    # NFULA_PACKET_HDR (1): hw_protocol, hook; NFULA_PREFIX (10); NFULA_PAYLOAD (9).
    return (bytes([2, 0]) + struct.pack("!H", 5)
            + tlv(1, struct.pack("!HBB", 0x0800, 3, 0))
            + tlv(10, b"plainsight\0")
            + tlv(9, ip))


def main():
    source, outdir = sys.argv[1], sys.argv[2]
    records = read_pcap(source)
    packets = []
    for i, (sec, usec, frame) in enumerate(records):
        if frame[12:14] != b"\x08\x00":
            sys.exit(f"encap.py: frame {i + 1} of {source} is not IPv4")
        ip = frame[14:]
        packets.append((sec, usec, frame, ip, is_forward(ip)))

    def each(fn):
        return [(s, u, fn(i, frame, ip, fwd)) for i, (s, u, frame, ip, fwd) in enumerate(packets)]

    def eth_out(fwd, ethertype, payload):
        return ether(MAC_B, MAC_A, ethertype, payload) if fwd else ether(MAC_A, MAC_B, ethertype, payload)

    files = {}
    files["encap-ipip.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(fwd, 0x0800, ipv4(*outer(fwd), 4, ip, i))))
    files["encap-6in4.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(fwd, 0x0800, ipv4(*outer(fwd), 41, to_ipv6(ip, fwd), i))))
    files["encap-4in6.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x86DD, ipv6(*((OUTER6_A, OUTER6_B) if fwd else (OUTER6_B, OUTER6_A)), 4, ip))))
    # GRE (RFC 2890) with the key bit: key 7.
    files["encap-gre.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x0800, ipv4(*outer(fwd), 47, struct.pack("!HHI", 0x2000, 0x0800, 7) + ip, i))))
    # ERSPAN type II (GRE with a sequence number, protocol 0x88BE): the mirrored Ethernet frame.
    files["encap-erspan.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x0800, ipv4(OUTER_A, OUTER_B, 47,
                          struct.pack("!HHI", 0x1000, 0x88BE, i)
                          + struct.pack("!HHI", (1 << 12) | 0, (0 << 10) | 5, 0) + fr, i))))
    # GENEVE (RFC 8926): VNI 4242, one 8-byte option, protocol Ethernet (0x6558).
    geneve_option = struct.pack("!HBB", 0x0101, 0x01, 1) + b"plsg"
    files["encap-geneve.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x0800, ipv4(*outer(fwd), 17, udp(flow_port(ip), 6081,
                          struct.pack("!BBHI", len(geneve_option) // 4, 0, 0x6558, 4242 << 8)
                          + geneve_option + fr), i))))
    # MPLS: two labels (100 outer, 200 bottom of stack), IPv4 below.
    files["encap-mpls.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x8847, struct.pack("!II", (100 << 12) | 64, (200 << 12) | 0x100 | 64) + ip)))
    # PPPoE session (RFC 2516), session 0x1234, PPP protocol IPv4 (0x0021).
    files["encap-pppoe.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x8864, struct.pack("!BBHHH", 0x11, 0, 0x1234, 2 + len(ip), 0x0021) + ip)))
    # IEEE 802.1ad (Q-in-Q): service tag VLAN 100 (0x88A8), customer tag VLAN 200 (0x8100).
    files["encap-qinq.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x88A8, struct.pack("!HHHH", 100, 0x8100, 200, 0x0800) + ip)))
    # IEEE 802.1ah (provider backbone bridging): I-TAG with I-SID 0x012345, then the customer frame.
    files["encap-pbb.pcap"] = (1, each(lambda i, fr, ip, fwd: eth_out(
        fwd, 0x88E7, struct.pack("!I", 0x012345) + fr)))
    # PPP (DLT 9) with address and control, PPP in HDLC-like framing (DLT 50), Cisco HDLC (104).
    files["ppp.pcap"] = (9, each(lambda i, fr, ip, fwd: b"\xff\x03\x00\x21" + ip))
    files["ppp-hdlc.pcap"] = (50, each(lambda i, fr, ip, fwd: b"\xff\x03\x00\x21" + ip))
    files["chdlc.pcap"] = (104, each(lambda i, fr, ip, fwd: (b"\x0f" if fwd else b"\x8f") + b"\x00\x08\x00" + ip))
    files["nflog.pcap"] = (239, each(lambda i, fr, ip, fwd: nflog(ip)))

    # Wi-Fi in monitor mode: radiotap (with FCS), two beacons first, then the
    # connections as QoS data frames; four WPA-protected frames from another
    # station are counted as encrypted and cannot be read.
    first_s, first_u = packets[0][0], packets[0][1]
    wifi = [(first_s, first_u, radiotap(beacon(b"plainsight-open")))] * 2
    wlan_data.seq = 0
    protected = [(first_s, first_u, radiotap(wlan_data(bytes(92), True, True, False, protected=True)))
                 for _ in range(4)]
    wifi += protected
    wifi += each(lambda i, fr, ip, fwd: radiotap(wlan_data(ip, fwd, True, False)))
    files["wifi-radiotap.pcap"] = (127, wifi)
    wlan_data.seq = 0
    files["wifi-80211.pcap"] = (105, each(lambda i, fr, ip, fwd: wlan_data(ip, fwd, False, False)))
    wlan_data.seq = 0
    files["wifi-ppi.pcap"] = (192, each(lambda i, fr, ip, fwd: ppi(wlan_data(ip, fwd, True, True))))

    for name, (linktype, recs) in files.items():
        write_pcap(os.path.join(outdir, name), linktype, recs)
        print(name)


if __name__ == "__main__":
    main()
