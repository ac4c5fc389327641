//! Link layers and tunnels: the captures made by captures/make-encap-captures.sh. `vxlan.pcap`
//! is a live VXLAN tunnel between two network namespaces; the others carry the real packets of
//! `http-basic.pcap` inside other links and tunnels (see captures/encap.py). Each must give the
//! same logins as the plain capture, found at the packets where tshark finds them, and every
//! flow inside a tunnel says which tunnel.

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;

/// (user, secret, frame) of each credential, in order.
fn logins(events: &[Value]) -> Vec<(String, String, u64)> {
    common::of(events, "credential")
        .iter()
        .map(|c| {
            (
                c["username"].as_str().unwrap().to_string(),
                c["secret"].as_str().unwrap().to_string(),
                c["frame"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The capture's logins are `expected` (user, secret), at the packets where tshark finds them.
fn assert_logins_where_tshark_finds_them(
    events: &[Value],
    capture: &str,
    decode_as: &[&str],
    expected: &[(&str, &str)],
) {
    let found = logins(events);
    let theirs = common::tshark_frames(capture, decode_as, "http.authorization");
    assert_eq!(found.iter().map(|l| l.2).collect::<Vec<_>>(), theirs);
    assert_eq!(
        found
            .iter()
            .map(|l| (l.0.as_str(), l.1.as_str()))
            .collect::<Vec<_>>(),
        expected
    );
}

/// Each file, and the tunnel its flows are in (None: a link layer, no tunnel).
const FILES: &[(&str, Option<&str>)] = &[
    ("encap-ipip.pcap", Some("IP-in-IP 10.20.0.1 > 10.20.0.2")),
    ("encap-6in4.pcap", Some("IP-in-IP 10.20.0.1 > 10.20.0.2")),
    (
        "encap-4in6.pcap",
        Some("IP-in-IP 2001:db8:a::1 > 2001:db8:a::2"),
    ),
    ("encap-gre.pcap", Some("GRE 10.20.0.1 > 10.20.0.2 key 7")),
    (
        "encap-erspan.pcap",
        Some("ERSPAN 10.20.0.1 > 10.20.0.2 session 5"),
    ),
    (
        "encap-geneve.pcap",
        Some("GENEVE 10.20.0.1 > 10.20.0.2 VNI 4242"),
    ),
    ("encap-mpls.pcap", None),
    ("encap-pppoe.pcap", None),
    ("encap-qinq.pcap", None),
    ("encap-pbb.pcap", None),
    ("ppp.pcap", None),
    ("ppp-hdlc.pcap", None),
    ("chdlc.pcap", None),
    ("nflog.pcap", None),
    ("wifi-80211.pcap", None),
    ("wifi-ppi.pcap", None),
    ("wifi-radiotap.pcap", None),
];

#[test]
fn every_link_and_tunnel_gives_the_logins_of_the_plain_capture_where_tshark_finds_them() {
    let (_, plain) = common::run_json(&["report", "--json", "captures/http-basic.pcap"]);
    let plain_logins: Vec<(String, String)> =
        logins(&plain).into_iter().map(|(u, s, _)| (u, s)).collect();
    assert_eq!(plain_logins.len(), 3);
    let plain_flows = common::of(&plain, "flow_open");
    for (file, tunnel) in FILES {
        let path = format!("captures/{file}");
        let (_, events) = common::run_json(&["report", "--json", &path]);
        let found = logins(&events);
        let theirs = common::tshark_frames(
            &path,
            &["tcp.port==8090,http"],
            "http.authorization or http.proxy_authorization",
        );
        assert_eq!(
            found.iter().map(|l| l.2).collect::<Vec<_>>(),
            theirs,
            "{file}: credential frames"
        );
        assert_eq!(
            found
                .into_iter()
                .map(|(u, s, _)| (u, s))
                .collect::<Vec<_>>(),
            plain_logins,
            "{file}"
        );
        let flows = common::of(&events, "flow_open");
        assert_eq!(flows.len(), 3, "{file}: one flow per connection");
        for (ours, plain) in flows.iter().zip(&plain_flows) {
            assert_eq!(ours["tunnel"].as_str(), *tunnel, "{file}");
            if !file.contains("6in4") {
                assert_eq!(ours["client"], plain["client"], "{file}");
                assert_eq!(ours["server"], plain["server"], "{file}");
            }
        }
        let summary = common::of(&events, "summary")[0];
        assert_eq!(summary["anomalies"], 0, "{file}: nothing skipped");
        assert_eq!(summary["plaintext_bytes"], 1279, "{file}");
        if *file != "wifi-radiotap.pcap" {
            assert_eq!(summary["encrypted_bytes"], 0, "{file}");
            assert!(summary.get("wifi_protected_frames").is_none(), "{file}");
        }
    }
}

#[test]
fn protected_wifi_frames_count_as_encrypted_and_the_report_says_what_wpa_protects() {
    let (_, events) = common::run_json(&["report", "--json", "captures/wifi-radiotap.pcap"]);
    let summary = common::of(&events, "summary")[0];
    // Four WPA (CCMP) frames of 108 bytes after the QoS header: security header, 92 bytes of
    // ciphertext, MIC. The two beacons are management frames: neither counted nor anomalies.
    assert_eq!(summary["wifi_protected_frames"], 4);
    assert_eq!(summary["encrypted_bytes"], 4 * 108);
    assert_eq!(summary["packets"], 42);
    let (text, _) = common::run_json(&["report", "captures/wifi-radiotap.pcap"]);
    assert!(
        text.contains(
            "Wi-Fi       4 frames encrypted (WEP/WPA): Wi-Fi encryption protects from outsiders, \
             not from others who know the network's password"
        ),
        "{text}"
    );
}

#[test]
fn a_live_vxlan_tunnel_keys_ipv4_and_ipv6_flows_by_their_inner_addresses() {
    let (_, events) = common::run_json(&["report", "--json", "captures/vxlan.pcap"]);
    let flows = common::of(&events, "flow_open");
    let ends: Vec<(&str, &str, &str)> = flows
        .iter()
        .map(|f| {
            (
                f["client"].as_str().unwrap(),
                f["server"].as_str().unwrap(),
                f["tunnel"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ends.len(), 2);
    assert!(ends[0].0.starts_with("192.168.42.1:"), "{ends:?}");
    assert_eq!(ends[0].1, "192.168.42.2:8080");
    assert!(ends[1].0.starts_with("[fd42::1]:"), "{ends:?}");
    assert_eq!(ends[1].1, "[fd42::2]:8081");
    for end in &ends {
        assert_eq!(end.2, "VXLAN 10.9.0.1 > 10.9.0.2 VNI 42");
    }
    assert_logins_where_tshark_finds_them(
        &events,
        "captures/vxlan.pcap",
        &[],
        &[("carol", "Vx1an-Secret"), ("dave", "six-in-vxlan")],
    );
    for flow in common::of(&events, "flow_close") {
        assert_eq!(flow["reason"], "fin");
    }
}

#[test]
fn a_live_nflog_capture_gives_the_login_where_tshark_finds_it() {
    let (_, events) = common::run_json(&["report", "--json", "captures/nflog-live.pcap"]);
    assert_logins_where_tshark_finds_them(
        &events,
        "captures/nflog-live.pcap",
        &["tcp.port==8096,http"],
        &[("erin", "nflog-Pass")],
    );
    let summary = common::of(&events, "summary")[0];
    assert_eq!(summary["packets"], 12);
    assert_eq!(summary["anomalies"], 0);
    assert_eq!(common::of(&events, "flow_close")[0]["reason"], "fin");
}
