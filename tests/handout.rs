//! `report --html`: the handout. The page for the bundled lab capture says what leaked, with the
//! bytes around each secret and its frame number, and what HTTPS hid; secrets are masked unless
//! `--reveal`; a real browser (Debian's headless Chromium) renders it, prints it to PDF, and asks
//! the network for nothing; markup sent by a hostile client shows as text; a large capture's page
//! stays small.

// A failed unwrap here is a failed test, not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/bench_capture.rs"]
mod bench_capture;
mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use plainsight::lab::{Lab, LabConfig};
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

fn plainsight(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(common::root())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn lab_handout(extra: &[&str]) -> String {
    let mut args = vec![
        "report",
        "--html",
        "--keylog",
        "captures/lab-login.keys",
        "captures/lab-login.pcap",
    ];
    args.extend_from_slice(extra);
    plainsight(&args)
}

/// The secret as a highlighted piece of the page.
fn highlighted(secret: &str) -> String {
    format!("<span class=\"secret\">{secret}</span>")
}

/// The page is self-contained: nothing in it could make a browser fetch anything.
fn assert_self_contained(page: &str) {
    for needle in [
        "<script", "src=", "href=", "url(", "@import", "<link", "<iframe",
    ] {
        assert!(
            !page.to_ascii_lowercase().contains(needle),
            "the page holds {needle:?}"
        );
    }
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn lab_handout_tells_what_leaked_and_what_https_hid() {
    let page = lab_handout(&[]);
    assert_self_contained(&page);
    // The headline, from the same run's JSON.
    let (_, events) = common::run_json(&[
        "report",
        "--json",
        "--keylog",
        "captures/lab-login.keys",
        "captures/lab-login.pcap",
    ]);
    let credentials = common::of(&events, "credential");
    assert_eq!(credentials.len(), 2);
    assert!(
        page.contains("2 credentials</div>leaked in 2 flows"),
        "{page}"
    );
    assert!(page.contains("<div class=\"big\" style=\"color:var(--dec)\">1</div>of them readable only with the keys given"));
    // Each credential masked, highlighted in the bytes where it lies, with its frame number.
    for (c, masked) in credentials.iter().zip(["L********1", "L********2"]) {
        let secret = c["secret"].as_str().unwrap();
        assert!(!page.contains(secret), "{secret} is masked");
        assert!(
            page.contains(&format!(
                "username={}&amp;password={}",
                c["username"].as_str().unwrap(),
                highlighted(masked)
            )) || page.contains(&format!(
                "username={}&amp;password=</span>{}",
                c["username"].as_str().unwrap(),
                highlighted(masked)
            )),
            "{masked} in its form body"
        );
        assert!(page.contains(&format!(
            "<dt>frame</dt><dd>{}</dd>",
            c["frame"].as_u64().unwrap()
        )));
    }
    // The packet the plain-HTTP login went in, named as Wireshark numbers it.
    assert!(page.contains("── packet #4  client → server"));
    // Why, and the fix, as the UI says them.
    for protocol in [
        plainsight::event::Protocol::Http,
        plainsight::event::Protocol::Tls,
    ] {
        let why = plainsight::explain::why_leaked(Some(protocol)).replace('\'', "&#39;");
        assert!(page.contains(&why), "{why}");
    }
    // What HTTPS still showed: the name in the clear, the records' sizes, the certificate and
    // its verdict; and the request side by side with its records.
    assert!(page.contains(
        "<h3>lab.plainsight.test <span class=\"badge dec\">TLS, opened with the keys</span></h3>"
    ));
    assert!(page.contains("sent in the clear in the ClientHello (SNI)"));
    assert!(page.contains("TLS1.3, TLS_AES_256_GCM_SHA384"));
    assert!(page.contains("<span class=\"badge high\">self_signed</span>"));
    assert!(page.contains("<td>client → server</td><td>handshake</td><td>512 B</td>"));
    assert!(page.contains("<li><code>POST /login HTTP/1.1</code></li>"));
    assert!(
        page.contains("<th>On the wire (what anyone on the path sees)</th><th>With the keys</th>")
    );
    // The sites' mistakes.
    for kind in ["untrusted_certificate", "missing_hsts"] {
        assert!(
            page.contains(&format!("<td class=\"nw\">{kind}</td>")),
            "{kind}"
        );
    }
    // The timeline: one lane each, plain red and decrypted amber, a diamond per credential.
    assert_eq!(
        page.matches("<rect x=").count(),
        2 + 2,
        "two lanes and the bytes bar"
    );
    assert!(page.contains("fill=\"#c62828\"><title>flow 1"));
    assert!(page.contains("fill=\"#e69500\"><title>flow 2 lab.plainsight.test"));
    assert_eq!(page.matches("l5 5l-5 5l-5-5z").count(), 2);
}

#[test]
fn reveal_shows_the_secrets_whole() {
    let page = lab_handout(&["--reveal"]);
    for secret in ["Lab-Pass-1", "Lab-Pass-2"] {
        assert!(page.contains(&highlighted(secret)), "{secret}");
    }
    assert!(page.contains("Secrets are shown whole (--reveal)"));
    // --reveal is for the page only, and not with --redact.
    let no = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .args(["report", "--reveal", "captures/lab-login.pcap"])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert_eq!(no.status.code(), Some(2));
    let no = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .args([
            "report",
            "--html",
            "--reveal",
            "--redact",
            "captures/lab-login.pcap",
        ])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert_eq!(no.status.code(), Some(2));
}

#[test]
fn handout_snapshot_of_the_mail_capture() {
    // A plain protocol with its own words: the page as a whole, pinned.
    let page = plainsight(&["report", "--html", "captures/pop3.pcap"]);
    insta::assert_snapshot!("handout_pop3", page);
}

/// Chromium's own services, which it calls whatever page it shows (time, updates, accounts):
/// not the page's doing.
const BROWSER_OWN: &[&str] = &["google.com", "googleapis.com", "gstatic.com"];

/// Whether a URL (or a proxy's `CONNECT host:port`) is one of Chromium's own calls.
fn browser_own(target: &str) -> bool {
    let host = target
        .split("://")
        .last()
        .unwrap_or(target)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    BROWSER_OWN
        .iter()
        .any(|own| host == *own || host.ends_with(&format!(".{own}")))
}

/// A proxy on loopback that notes the first line of every request made through it, and closes.
fn recording_proxy() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(&stream), &mut line);
            if tx.send(line.trim().to_string()).is_err() {
                return;
            }
        }
    });
    (addr, rx)
}

/// Headless Chromium on `page` with its network log, pointed at a proxy of ours so that any
/// request it makes to the network reaches us too. Returns what the net log and the proxy saw
/// asked for, beyond the page itself and Chromium's own calls.
fn chromium(page: &Path, dir: &Path, out: &[&str]) -> Vec<String> {
    assert!(
        Path::new(CHROMIUM).exists(),
        "Debian's chromium is missing: `make test` installs it"
    );
    let (proxy_addr, asked) = recording_proxy();
    let netlog = dir.join("netlog.json");
    let status = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,2400",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--proxy-server=http://{proxy_addr}"))
        .arg("--proxy-bypass-list=<-loopback>")
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(out)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&netlog).unwrap()).unwrap();
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["params"]["url"].as_str())
        .map(str::to_string)
        .collect();
    // "GET http://host/path HTTP/1.1" or "CONNECT host:443 HTTP/1.1": the target.
    urls.extend(
        asked
            .try_iter()
            .filter_map(|line| line.split(' ').nth(1).map(str::to_string)),
    );
    urls.retain(|u| {
        !u.starts_with("file:")
            && !u.starts_with("data:")
            && !u.starts_with("about:")
            && !browser_own(u)
    });
    urls.sort();
    urls.dedup();
    urls
}

/// Pixels of a binary PPM (P6) that are not white, and how many distinct colours it has.
fn ink(ppm: &[u8]) -> (usize, usize) {
    // Header: "P6\n<w> <h>\n255\n".
    let mut fields = 0;
    let mut at = 0;
    let mut in_token = false;
    while fields < 4 {
        let b = ppm[at];
        if b.is_ascii_whitespace() {
            if in_token {
                fields += 1;
            }
            in_token = false;
        } else {
            in_token = true;
        }
        at += 1;
    }
    let pixels = &ppm[at..];
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0;
    for p in pixels.chunks_exact(3) {
        if p != [255, 255, 255] {
            inked += 1;
        }
        if colours.len() < 10_000 {
            colours.insert([p[0] >> 4, p[1] >> 4, p[2] >> 4]);
        }
    }
    (inked, colours.len())
}

#[test]
fn a_real_browser_renders_and_prints_the_handout_offline() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("handout.html");
    std::fs::write(&page, lab_handout(&[])).unwrap();
    let png = dir.path().join("handout.png");
    let asked = chromium(
        &page,
        dir.path(),
        &[&format!("--screenshot={}", png.display())],
    );
    assert_eq!(asked, Vec::<String>::new());
    let shot = std::fs::read(&png).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 50_000,
        "{}",
        shot.len()
    );

    let pdf = dir.path().join("handout.pdf");
    let asked = chromium(
        &page,
        dir.path(),
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    assert_eq!(asked, Vec::<String>::new());
    // The first printed page: not blank, in colour (the red of what leaked).
    let prefix = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "40", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils) is installed by `make test`");
    assert!(status.success());
    let ppm = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "ppm"))
        .unwrap();
    let (inked, colours) = ink(&std::fs::read(ppm).unwrap());
    assert!(inked > 5_000, "{inked} pixels inked");
    assert!(colours > 20, "{colours} colours");
    // The printed text shows the masked secrets, never the secrets.
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for masked in ["L********1", "L********2"] {
        assert!(text.contains(masked), "{masked} printed");
    }
    assert!(!text.contains("Lab-Pass"), "no secret printed");
    assert!(text.contains("What HTTPS hid, and what it still showed"));

    // The check can fail: a page that does fetch something is caught by both.
    let leaky = dir.path().join("leaky.html");
    std::fs::write(
        &leaky,
        "<html><body><img src=\"http://plainsight.test/pixel.png\"></body></html>",
    )
    .unwrap();
    let asked = chromium(&leaky, dir.path(), &["--dump-dom"]);
    assert_eq!(asked, ["http://plainsight.test/pixel.png"]);
}

#[test]
fn markup_from_a_hostile_client_shows_as_text() {
    common::require_root("capturing the lab on lo");
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("hostile.pcap");
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        ..Default::default()
    })
    .unwrap();
    let filter = format!("tcp port {}", lab.http.port());
    let capture = common::LiveRun::capture_lo(&filter, 3, &saved);
    // A real TCP client on loopback, sending what a browser never would.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "<b>eve</b>:<i>Hostile-1</i>",
    );
    let mut stream = std::net::TcpStream::connect(lab.http).unwrap();
    write!(
        stream,
        "GET /<script>alert(1)</script>?q=\"'&x HTTP/1.1\r\nHost: <img onerror=alert(2)>\r\n\
         Authorization: Basic {basic}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    drop(stream);
    let (status, _, stderr) = capture.finish();
    assert!(status.success(), "{stderr}");
    let saved = saved.to_str().unwrap();
    let (_, events) = common::run_json(&["report", "--json", saved]);
    let c = common::of(&events, "credential");
    assert_eq!(c.len(), 1, "{events:?}");
    assert_eq!(c[0]["username"], "<b>eve</b>");
    for reveal in [false, true] {
        let mut args = vec!["report", "--html", saved];
        if reveal {
            args.push("--reveal");
        }
        let page = plainsight(&args);
        assert_self_contained(&page);
        for markup in ["<script>alert", "<img onerror", "<b>eve", "<i>Hostile"] {
            assert!(!page.contains(markup), "{markup} reached the page raw");
        }
        assert!(page
            .contains("GET /&lt;script&gt;alert(1)&lt;/script&gt;?q=&quot;&#39;&amp;x HTTP/1.1"));
        assert!(page.contains("<dd><b>&lt;b&gt;eve&lt;/b&gt;</b></dd>"));
        assert!(
            page.contains("&lt;img onerror=alert(2)&gt;"),
            "the lane's label"
        );
        let secret = if reveal {
            "&lt;i&gt;Hostile-1&lt;/i&gt;"
        } else {
            assert_eq!(
                plainsight::creds::redact("<i>Hostile-1</i>"),
                "<**************>"
            );
            "&lt;**************&gt;"
        };
        assert!(
            page.contains(&format!("<dt>secret</dt><dd>{}</dd>", highlighted(secret))),
            "{secret}"
        );
    }
}

#[test]
fn a_large_capture_gives_a_small_handout() {
    // The benchmark capture: every bundled capture copied over and over, 100 MiB.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.pcap");
    let copies = bench_capture::write(&common::root(), &path, 100, None).unwrap();
    assert!(copies > 50);
    let out = Command::new(env!("CARGO_BIN_EXE_plainsight"))
        .current_dir(common::root())
        .args(["report", "--html"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.len() < 3 << 20,
        "a 100 MiB capture's handout is {} bytes",
        page.len()
    );
    assert_self_contained(&page);
    // Repeated credentials are summarised: the same login counted, not repeated.
    let (_, events) = common::run_json(&["report", "--json", path.to_str().unwrap()]);
    let summary = common::of(&events, "summary")[0].clone();
    let credentials = summary["credentials"].as_u64().unwrap();
    assert!(credentials > 1000, "{credentials}");
    assert!(page.contains(&format!("{credentials} credentials</div>")));
    assert!(page.matches("<div class=\"card leak\">").count() <= 40);
    assert!(page.contains("times in"), "repeats are counted");
}
