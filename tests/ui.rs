//! Snapshot tests of the terminal UI on bundled captures (ratatui's TestBackend + insta), and a
//! check that leaked secrets are drawn highlighted.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use plainsight::engine::EngineConfig;
use plainsight::proto::tls::decrypt::KeyLog;
use plainsight::run::{analyse_files, AnalysisOptions};
use plainsight::ui::app::App;
use plainsight::ui::draw::draw;
use plainsight::ui::{run_on, Feed, KeySource, UiOptions, UserInput};
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An app that has seen every event of the captures.
fn app_for(captures: &[&str], keys: Option<&str>) -> App {
    app_trusting(captures, keys, &[])
}

/// The same, with `roots` (PEM files) given as `--ca`.
fn app_trusting(captures: &[&str], keys: Option<&str>, roots: &[&str]) -> App {
    let keylog = keys.map(|k| KeyLog::parse(&std::fs::read_to_string(root().join(k)).unwrap()).0);
    let roots: Vec<Vec<u8>> = roots
        .iter()
        .flat_map(|r| plainsight::run::load_ca(&root().join(r)).unwrap())
        .collect();
    let opts = AnalysisOptions {
        filter: None,
        engine: EngineConfig {
            keylog,
            // As the UI asks: the bytes, for the wire view.
            payloads: Some(plainsight::engine::DEFAULT_PAYLOAD_BYTES),
            roots: std::sync::Arc::new(roots),
            ..Default::default()
        },
    };
    let paths: Vec<PathBuf> = captures.iter().map(|c| root().join(c)).collect();
    let mut app = App::new("test", false, Some(1.0));
    let mut events = Vec::new();
    analyse_files(&paths, &opts, &mut |e| events.push(e)).unwrap();
    for e in events {
        app.apply(e);
    }
    app.finished = true;
    app
}

fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    app.key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Whether `text` appears on screen drawn reversed (the leak highlight).
fn highlighted(terminal: &Terminal<TestBackend>, text: &str) -> bool {
    let buf = terminal.backend().buffer();
    let area = buf.area;
    for y in 0..area.height {
        let row: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(byte_pos) = row.find(text) {
            let col = row[..byte_pos].chars().count() as u16;
            return (col..col + text.chars().count() as u16)
                .all(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED));
        }
    }
    false
}

#[test]
fn http_basic_login_with_the_password_highlighted() {
    let app = app_for(&["captures/http-basic.pcap"], None);
    let terminal = render(&app, 110, 30);
    assert!(
        highlighted(&terminal, "Wonderland-42"),
        "the leaked password is highlighted"
    );
    insta::assert_snapshot!("http_basic", terminal.backend());
}

#[test]
fn tls_band_without_the_key() {
    let mut app = app_for(&["captures/tls-openssl.pcapng"], None);
    press(&mut app, KeyCode::Down);
    let terminal = render(&app, 110, 30);
    insta::assert_snapshot!("tls_opaque", terminal.backend());
}

#[test]
fn tls_with_the_key_side_by_side() {
    let app = app_for(
        &["captures/tls-openssl.pcapng"],
        Some("captures/tls-openssl.keys"),
    );
    let terminal = render(&app, 120, 30);
    insta::assert_snapshot!("tls_decrypted", terminal.backend());
}

#[test]
fn explanation_redaction_and_help_at_80x24() {
    let mut app = app_for(&["captures/http-forms.pcap"], None);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('r'));
    let terminal = render(&app, 80, 24);
    assert!(
        highlighted(&terminal, "S**********s"),
        "the redacted secret is still highlighted"
    );
    insta::assert_snapshot!("explain_redacted_80x24", terminal.backend());
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help", render(&app, 80, 24).backend());
}

#[test]
fn filter_keeps_matching_flows() {
    let mut app = app_for(
        &["captures/http-basic.pcap", "captures/tls-openssl.pcapng"],
        None,
    );
    press(&mut app, KeyCode::Char('/'));
    for c in "plainsight".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.visible().len(),
        2,
        "only the TLS flows name lab.plainsight.test"
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.visible().len(), 5);
}

/// One step of a scripted user.
enum Step {
    /// Wait until the engine has sent everything.
    WaitFinished,
    Key(KeyCode),
    /// Keep the screen as drawn next.
    Capture,
}

/// Keys from a script, for the real event loop; once the script is done, `q`.
struct Script {
    steps: std::collections::VecDeque<Step>,
    /// A capture asked for a redraw and waits for it.
    redraw_asked: bool,
    screens: Vec<String>,
}

impl Script {
    fn new(steps: Vec<Step>) -> Script {
        Script {
            steps: steps.into(),
            redraw_asked: false,
            screens: Vec::new(),
        }
    }
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl KeySource<TestBackend> for Script {
    fn next(
        &mut self,
        app: &App,
        terminal: &Terminal<TestBackend>,
        timeout: std::time::Duration,
    ) -> std::io::Result<Option<UserInput>> {
        let key = |code| {
            Ok(Some(UserInput::Key(KeyEvent::new(
                code,
                KeyModifiers::NONE,
            ))))
        };
        match self.steps.front() {
            None => key(KeyCode::Char('q')),
            Some(Step::WaitFinished) => {
                if app.finished {
                    self.steps.pop_front();
                } else {
                    std::thread::sleep(timeout.min(std::time::Duration::from_millis(5)));
                }
                Ok(None)
            }
            Some(Step::Key(code)) => {
                let code = *code;
                self.steps.pop_front();
                key(code)
            }
            Some(Step::Capture) if !self.redraw_asked => {
                // A frame's time, then a redraw: the next call sees the screen as it is now.
                std::thread::sleep(timeout);
                self.redraw_asked = true;
                Ok(Some(UserInput::Resize))
            }
            Some(Step::Capture) => {
                self.redraw_asked = false;
                self.steps.pop_front();
                self.screens.push(screen_text(terminal));
                Ok(None)
            }
        }
    }
}

/// The real event loop (engine thread, channel, pacing, keys, drawing) on a test backend: a
/// replay of a Basic login, the flow opened and explained, the help, then `q`.
#[test]
fn the_event_loop_replays_and_answers_keys() {
    let mut terminal = Terminal::new(TestBackend::new(110, 30)).unwrap();
    let mut script = Script::new(vec![
        Step::WaitFinished,
        Step::Key(KeyCode::Down),
        Step::Key(KeyCode::Enter),
        Step::Capture,
        Step::Key(KeyCode::Char('?')),
        Step::Capture,
        Step::Key(KeyCode::Char('x')),
        Step::Key(KeyCode::Char('r')),
    ]);
    let app = run_on(
        &mut terminal,
        &mut script,
        Feed::Files(vec![root().join("captures/http-basic.pcap")]),
        UiOptions {
            source: "loop test".into(),
            redact: false,
            speed: None,
            analysis: AnalysisOptions::default(),
            lesson: None,
        },
    )
    .unwrap();
    assert!(app.finished);
    assert_eq!(app.flows.len(), 3);
    assert_eq!(app.credentials_total, 3);
    let [explained, help] = &script.screens[..] else {
        panic!("two screens captured, got {}", script.screens.len());
    };
    assert!(
        explained.contains("Why this http-basic credential leaked"),
        "{explained}"
    );
    assert!(explained.contains("Wonderland-42"), "{explained}");
    assert!(help.contains("plainsight — keys"), "{help}");
    for binding in plainsight::ui::keys::BINDINGS {
        assert!(
            help.contains(binding.help),
            "help lacks {:?}\n{help}",
            binding.help
        );
    }
    // `x` closed the help without doing anything else; `r` then masked the secret; `q` quit
    // with the last state on screen.
    assert!(app.redact && !app.show_help);
    let last = screen_text(&terminal);
    assert!(
        !last.contains("Wonderland-42") && last.contains("W***********2"),
        "{last}"
    );
}

/// The text of the screen, one string.
fn screen(terminal: &Terminal<TestBackend>) -> String {
    screen_text(terminal)
}

/// The app with flow `index` (0-based) selected and its wire view open.
fn wire_of(captures: &[&str], keys: Option<&str>, index: usize) -> App {
    let mut app = app_for(captures, keys);
    for _ in 0..index {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('f'));
    assert!(app.wire.is_some());
    app
}

#[test]
fn wire_view_of_a_form_login_marks_the_password_in_the_body() {
    // Flow 2 of http-forms: a form POST.
    let mut app = wire_of(&["captures/http-forms.pcap"], None, 1);
    press(&mut app, KeyCode::Char('n'));
    let terminal = render(&app, 110, 30);
    let text = screen(&terminal);
    assert!(text.contains("password="), "{text}");
    insta::assert_snapshot!("wire_form", terminal.backend());
    // Hex, then closed with Esc.
    press(&mut app, KeyCode::Char('x'));
    insta::assert_snapshot!("wire_form_hex", render(&app, 110, 30).backend());
    press(&mut app, KeyCode::Esc);
    assert!(app.wire.is_none());
}

#[test]
fn wire_view_of_basic_shows_the_base64_and_what_it_decodes_to() {
    let app = wire_of(&["captures/http-basic.pcap"], None, 0);
    let terminal = render(&app, 110, 30);
    assert!(highlighted(&terminal, "YWxpY2U6V29uZGVybGFuZC00Mg=="));
    assert!(screen(&terminal).contains("base64 of alice:Wonderland-42"));
    insta::assert_snapshot!("wire_basic", terminal.backend());
}

#[test]
fn wire_view_of_telnet_finds_the_password_one_key_per_packet() {
    let mut app = wire_of(&["captures/telnet.pcap"], None, 0);
    press(&mut app, KeyCode::Char('n'));
    let terminal = render(&app, 110, 30);
    insta::assert_snapshot!("wire_telnet", terminal.backend());
}

#[test]
fn wire_view_of_tls_opaque_then_decrypted_record_by_record() {
    let app = wire_of(&["captures/tls12-aes128.pcap"], None, 0);
    let opaque = render(&app, 120, 30);
    let text = screen(&opaque);
    assert!(text.contains("Opaque without the keys"), "{text}");
    assert!(!text.contains("Tls-Secret-9"));
    insta::assert_snapshot!("wire_tls_opaque", opaque.backend());
    let app = wire_of(
        &["captures/tls12-aes128.pcap"],
        Some("captures/tls12-aes128.keys"),
        0,
    );
    let decrypted = render(&app, 120, 30);
    let text = screen(&decrypted);
    // It opens at the password, in the decrypted column beside its record.
    assert!(text.contains("POST /login HTTP/1.1"), "{text}");
    assert!(text.contains("application_data"), "{text}");
    assert!(highlighted(&decrypted, "Tls-Secret-9"), "{text}");
    insta::assert_snapshot!("wire_tls_decrypted", decrypted.backend());
}

#[test]
fn wire_view_of_http2_lists_frames_with_their_headers() {
    let mut app = wire_of(&["captures/h2c.pcap"], None, 0);
    // It opens at the password, in the DATA frame.
    assert!(highlighted(&render(&app, 110, 30), "H2c-Secret"));
    press(&mut app, KeyCode::Char('g'));
    let terminal = render(&app, 110, 30);
    let text = screen(&terminal);
    assert!(text.contains("HEADERS stream 1"), "{text}");
    assert!(text.contains(":method: POST"), "{text}");
    insta::assert_snapshot!("wire_h2c", terminal.backend());
}

/// The classroom demo's app, every event of its built-in captures applied.
fn demo_app() -> App {
    let opts = AnalysisOptions {
        filter: None,
        engine: EngineConfig {
            payloads: Some(plainsight::engine::DEFAULT_PAYLOAD_BYTES),
            ..Default::default()
        },
    };
    let mut app = App::new("demo", false, Some(1.0));
    app.lesson = Some(plainsight::ui::lesson::Lesson::classroom());
    plainsight::run::analyse_inputs(
        &plainsight::lab::demo::inputs(),
        &opts,
        &mut |_| std::ops::ControlFlow::Continue(()),
        &mut |e| app.apply(e),
    )
    .unwrap();
    app.finished = true;
    app
}

#[test]
fn the_demo_in_acts_each_at_its_secret() {
    let mut app = demo_app();
    let secrets = [
        Some("S3cret%21+pass"),
        Some("YWxpY2U6V29uZGVybGFuZC00Mg=="),
        Some("Ftp-Pass-1"),
        None, // telnet: one key per line
        None, // HTTPS without the keys: nothing to read
        Some("Lab-Pass-2"),
    ];
    let mut flows = Vec::new();
    for (i, secret) in secrets.iter().enumerate() {
        let terminal = render(&app, 110, 36);
        let text = screen(&terminal);
        assert!(text.contains(&format!("Act {} — ", i + 1)), "{text}");
        let wire = app
            .wire
            .unwrap_or_else(|| panic!("act {} has no wire view", i + 1));
        flows.push(wire.flow);
        if let Some(secret) = secret {
            assert!(
                highlighted(&terminal, secret),
                "act {}: {secret}\n{text}",
                i + 1
            );
        }
        if i == 3 {
            assert!(text.contains("1 byte at"), "{text}");
        }
        if i == 4 {
            assert!(text.contains("Opaque without the keys"), "{text}");
            assert!(!text.contains("Lab-Pass-2"), "{text}");
        }
        insta::assert_snapshot!(format!("demo_act_{}", i + 1), terminal.backend());
        press(&mut app, KeyCode::Char(' '));
    }
    // No flow appears twice: act 6 is act 5's HTTPS flow, opened with the keys.
    let distinct: std::collections::BTreeSet<_> = flows[..5].iter().collect();
    assert_eq!(distinct.len(), 5, "{flows:?}");
    assert_eq!(flows[5], flows[4]);
    // ← goes back one act; the last act stays the last.
    press(&mut app, KeyCode::Left);
    assert_eq!(app.lesson.as_ref().unwrap().current, 4);
}

/// The UI keeps the wire views of all flows within its budget: a flood of bytes over thousands of
/// flows gives the oldest flows' bytes back first, and the selected flow keeps its own.
#[test]
fn wire_views_stay_within_their_budget_under_a_flood() {
    use plainsight::event::{Dir, Endpoint, Event, FlowOpen, Payload, Timestamp};
    use plainsight::ui::app::MAX_WIRE_BYTES;
    let mut app = App::new("flood", false, None);
    let client = Endpoint("10.0.0.1:40000".parse().unwrap());
    let server = Endpoint("10.0.0.2:80".parse().unwrap());
    let chunk = vec![b'x'; 32 << 10];
    for flow in 1..=3000u64 {
        app.apply(Event::FlowOpen(FlowOpen {
            flow,
            ts: Timestamp(flow),
            frame: flow,
            client,
            server,
            handshake_seen: true,
            transport: plainsight::event::Transport::Tcp,
            tunnel: None,
            input: None,
        }));
        for (dir, offset) in [(Dir::ClientToServer, 0), (Dir::ServerToClient, 0)] {
            app.apply(Event::Payload(Payload {
                flow,
                ts: Timestamp(flow),
                frame: flow,
                dir,
                offset,
                data: chunk.clone(),
                decrypted: false,
            }));
        }
        assert!(
            app.wire_bytes <= MAX_WIRE_BYTES,
            "{} bytes held",
            app.wire_bytes
        );
    }
    let held: usize = app.flows.iter().map(|f| f.wire.size()).sum();
    assert_eq!(held, app.wire_bytes);
    assert!(
        held > MAX_WIRE_BYTES / 2,
        "{held}: the budget is used, not wasted"
    );
    // The oldest went first (but the selected one, the first), the newest kept theirs.
    assert_eq!(app.selected_flow().map(|f| f.id), Some(1));
    assert!(!app.flows[0].wire.pieces.is_empty());
    assert!(app.flows[1].wire_trimmed && app.flows[1].wire.pieces.is_empty());
    assert!(!app.flows.last().unwrap().wire.pieces.is_empty());
}

#[test]
fn wire_view_of_starttls_shows_the_clear_part_then_the_records() {
    let app = wire_of(
        &["captures/smtp-starttls.pcap"],
        Some("captures/smtp-starttls.keys"),
        0,
    );
    let v = app.wire_view().unwrap();
    let left: String = v
        .left
        .iter()
        .map(|l| l.iter().map(|s| s.text.as_str()).collect::<String>() + "\n")
        .collect();
    assert!(left.contains("In the clear, before TLS:"), "{left}");
    assert!(left.contains("STARTTLS"), "{left}");
    assert!(left.contains("handshake"), "{left}");
    // The login went inside TLS: found in the decrypted column.
    let right: String = v
        .right
        .as_ref()
        .unwrap()
        .iter()
        .map(|l| l.iter().map(|s| s.text.as_str()).collect::<String>() + "\n")
        .collect();
    assert!(right.contains("AUTH PLAIN"), "{right}");
    assert!(!v.secret_lines.is_empty());
}

/// The certificate pane (`c`): the private CA's chain as a ladder from the root given with
/// `--ca` down to the server's certificate; a look-alike chain shows where trust breaks; a
/// TLS 1.3 flow without keys says the certificate travelled encrypted.
#[test]
fn certificate_pane_draws_the_chain_as_a_ladder() {
    let mut app = app_trusting(
        &["captures/certificates.pcap"],
        None,
        &["captures/certificates-ca.pem"],
    );
    press(&mut app, KeyCode::Char('c'));
    assert!(app.certificate.is_some());
    let text = screen(&render(&app, 110, 44));
    insta::assert_snapshot!("certificate_private_ca", text);
    let ladder: Vec<usize> = [
        "ROOT    Corp Root CA",
        "CA      Corp Issuing CA",
        "SERVER  intranet.corp.test",
    ]
    .iter()
    .map(|rung| {
        text.find(rung)
            .unwrap_or_else(|| panic!("{rung} in\n{text}"))
    })
    .collect();
    assert!(
        ladder.windows(2).all(|w| w[0] < w[1]),
        "root above the server: {text}"
    );
    // Esc closes it; the look-alike (sixth flow) breaks at the top.
    press(&mut app, KeyCode::Esc);
    assert!(app.certificate.is_none());
    for _ in 0..5 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('c'));
    let text = screen(&render(&app, 110, 44));
    assert!(text.contains("✗ NOT TRUSTED: unknown issuer"), "{text}");
    assert!(
        text.contains("\"ISRG Root X1\" is not a known root"),
        "{text}"
    );
    assert!(text.contains("trust breaks here"), "{text}");
    // The expired one (second flow) marks the rung at fault.
    press(&mut app, KeyCode::Esc);
    for _ in 0..4 {
        press(&mut app, KeyCode::Up);
    }
    press(&mut app, KeyCode::Char('c'));
    let text = screen(&render(&app, 110, 44));
    assert!(text.contains("✗ expired on 2024-04-01"), "{text}");
    // TLS 1.3 without the key: no chain to see.
    let mut app = app_for(&["captures/tls13-aes128.pcap"], None);
    press(&mut app, KeyCode::Char('c'));
    let text = screen(&render(&app, 110, 30));
    assert!(
        text.contains("The certificate travelled encrypted (TLS 1.3)"),
        "{text}"
    );
}

/// The findings pane beside the leaks: Tab reaches it once there are findings, most severe
/// first; moving in it selects the finding's flow; Enter explains what an attacker does with the
/// mistake and the fix.
#[test]
fn findings_pane_sorted_by_severity_and_explained() {
    let mut app = app_for(&["captures/tls10-3des.pcap"], None);
    let kinds: Vec<(&str, &str)> = app
        .findings
        .iter()
        .map(|f| (f.severity.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("high", "weak_cipher"),
            ("high", "untrusted_certificate"),
            ("medium", "weak_tls_version"),
            ("medium", "no_forward_secrecy"),
        ]
    );
    for _ in 0..3 {
        press(&mut app, KeyCode::Tab);
    }
    assert_eq!(app.focus, plainsight::ui::app::Pane::Findings);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let text = screen(&render(&app, 100, 30));
    insta::assert_snapshot!("findings_pane", text);
    assert!(text.contains("Findings (4) — Enter explains"), "{text}");
    press(&mut app, KeyCode::Enter);
    let text = screen(&render(&app, 100, 30));
    insta::assert_snapshot!("findings_explained", text);
    for words in [
        "What an attacker does with it",
        "Recorded traffic read later",
        "Prefer ECDHE suites",
    ] {
        assert!(text.contains(words), "{words} in\n{text}");
    }
    // Tab goes round to the flows again; without findings, the pane is not there to reach.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, plainsight::ui::app::Pane::Flows);
    let mut plain = app_for(&["captures/http-basic.pcap"], None);
    for _ in 0..3 {
        press(&mut plain, KeyCode::Tab);
    }
    assert_eq!(plain.focus, plainsight::ui::app::Pane::Flows);
}
