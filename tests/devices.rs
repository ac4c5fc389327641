//! HTTP as devices send it, protocols that only look like HTTP, and a broken capture clock: the
//! captures made by captures/make-device-captures.sh from real sockets on loopback.

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;

fn field<'a>(e: &'a Value, name: &str) -> &'a str {
    e[name].as_str().unwrap_or("")
}

#[test]
fn quirky_requests_are_reported_as_seen_and_their_secrets_found() {
    let (_, events) = common::run_json(&["report", "--json", "captures/http-devices.pcap"]);
    let requests: Vec<(String, String, String, u64)> = common::of(&events, "http_request")
        .iter()
        .map(|r| {
            (
                field(r, "method").to_string(),
                field(r, "target").to_string(),
                field(r, "version").to_string(),
                r["frame"].as_u64().unwrap(),
            )
        })
        .collect();
    let expect = |m: &str, t: &str, v: &str, f: u64| (m.into(), t.into(), v.into(), f);
    assert_eq!(
        requests,
        [
            expect("GET", "/cam", "HTTP/1.0.8", 4),
            expect("GET", "/img", "HTTP/1.2", 14),
            expect("GET", "/secret.txt", "HTTP/0.9", 24),
            expect("POST", "/login.cgi", "HTTP/1.0", 34),
            expect("GET", "/folded", "HTTP/1.1", 44),
            expect(
                "GET",
                "/cgi-bin/login?user=operator&password=nul-pass",
                "HTTP/1.1",
                54
            ),
            expect("GET", "/home", "HTTP/1.1", 64),
        ]
    );
    // Where tshark reads the request (it does not take HTTP/0.9), it agrees on the packet.
    let theirs = common::tshark_frames(
        "captures/http-devices.pcap",
        &["tcp.port==8095,http"],
        "http.request",
    );
    assert_eq!(theirs, [4, 14, 34, 44, 54, 64]);

    let creds: Vec<(&str, &str, &str, u64)> = common::of(&events, "credential")
        .iter()
        .map(|c| {
            (
                field(c, "kind"),
                field(c, "username"),
                field(c, "secret"),
                c["frame"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        creds,
        [
            ("http-basic", "admin", "cam-1234", 4),
            ("http-basic", "viewer", "lf-only", 14),
            ("http-form", "root", "no-length", 34),
            ("http-basic", "lp", "folded-pw", 44),
            ("http-query", "operator", "nul-pass", 54),
            // remember_me=yes, sessionid=0 and login_ok=true are flags, not secrets.
            ("http-cookie", "user_session", "5f2b9c0e41", 64),
            ("http-cookie", "PHPSESSID", "q8v3k1", 64),
        ]
    );
    // The POST's body came without a Content-Length: all of it, and before the answer.
    let post = common::of(&events, "http_request")[3];
    assert_eq!(post["body_len"], 32);
    let responses = common::of(&events, "http_response");
    assert_eq!(
        responses.len(),
        6,
        "HTTP/0.9's bare answer has no status line"
    );
    let summary = common::of(&events, "summary")[0];
    assert_eq!(summary["anomalies"], 0);
    assert_eq!(summary["flows_by_protocol"]["http"], 7);
}

#[test]
fn sip_and_rtsp_are_not_read_as_http() {
    let (_, events) = common::run_json(&["report", "--json", "captures/sip-rtsp.pcap"]);
    let protocols: Vec<&str> = common::of(&events, "flow_close")
        .iter()
        .map(|f| field(f, "protocol"))
        .collect();
    assert_eq!(protocols, ["unknown", "unknown"]);
    assert!(common::of(&events, "http_request").is_empty());
    assert!(common::of(&events, "credential").is_empty());
    assert_eq!(common::of(&events, "summary")[0]["anomalies"], 0);
}

#[test]
fn one_packet_stamped_decades_off_neither_splits_nor_expires_flows() {
    let (_, plain) = common::run_json(&["report", "--json", "captures/http-ipv4.pcap"]);
    let (_, odd) = common::run_json(&["report", "--json", "captures/clock-jump.pcap"]);
    let flows = |events: &[Value]| -> Vec<(String, String, u64)> {
        common::of(events, "flow_close")
            .iter()
            .map(|f| {
                (
                    field(f, "reason").to_string(),
                    f["flow"].to_string(),
                    f["packets"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(flows(&odd), flows(&plain));
    assert_eq!(
        common::of(&odd, "http_request").len(),
        common::of(&plain, "http_request").len()
    );
    let anomalies: Vec<(u64, &str, &str)> = common::of(&odd, "anomaly")
        .iter()
        .map(|a| {
            (
                a["frame"].as_u64().unwrap(),
                field(a, "kind"),
                field(a, "detail"),
            )
        })
        .collect();
    assert_eq!(anomalies.len(), 2, "{anomalies:?}");
    assert_eq!(anomalies[0].0, 20);
    assert_eq!(anomalies[0].1, "parse_error");
    assert!(
        anomalies[0]
            .2
            .contains("60 years after the capture's clock"),
        "{anomalies:?}"
    );
    assert_eq!(anomalies[1].0, 50);
    assert!(anomalies[1]
        .2
        .starts_with("packet 50 is stamped 1970-01-01T00:00:00Z, 56 years before"));
    let duration = |events: &[Value]| common::of(events, "summary")[0]["duration"].as_f64();
    assert_eq!(duration(&odd), duration(&plain));
}

#[test]
fn a_real_gap_of_days_is_believed_and_splits_nothing() {
    let (_, plain) = common::run_json(&["report", "--json", "captures/http-ipv4.pcap"]);
    let (_, gap) = common::run_json(&["report", "--json", "captures/clock-gap.pcap"]);
    let flows = |events: &[Value]| -> Vec<(String, u64)> {
        common::of(events, "flow_close")
            .iter()
            .map(|f| {
                (
                    field(f, "reason").to_string(),
                    f["packets"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    // The SYN after the gap is not believed at once; the SYN-ACK after it proves the jump real,
    // and the flow the SYN opened is not expired by it.
    assert_eq!(flows(&gap), flows(&plain));
    assert!(common::of(&gap, "anomaly").is_empty());
    let opens = common::of(&gap, "flow_open");
    let day = 86_400.0;
    let first = opens[0]["ts"].as_f64().unwrap();
    assert!(
        opens[1]["ts"].as_f64().unwrap() - first < 1.0,
        "the SYN read at the clock's time"
    );
    assert!(opens[2]["ts"].as_f64().unwrap() - first > 3.0 * day);
    let duration = common::of(&gap, "summary")[0]["duration"].as_f64().unwrap();
    assert!(
        (duration - (3.0 * day + 0.025262)).abs() < 1e-3,
        "{duration}"
    );
}
