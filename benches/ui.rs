//! `cargo bench --bench ui`: the time to draw one frame while the UI holds a million events.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use plainsight::event::{
    CloseReason, Credential, CredentialKind, Dir, Endpoint, Event, FlowClose, FlowOpen,
    HttpRequest, Payload, Protocol, Timestamp,
};
use plainsight::ui::app::App;
use plainsight::ui::draw::draw;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// A million events: 250 000 flows, each opened, one request, closed; a credential every 50.
fn loaded_app() -> App {
    let mut app = App::new("bench", false, Some(1.0));
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:80".parse().unwrap();
    for id in 1..=250_000u64 {
        let ts = Timestamp(id);
        app.apply(Event::FlowOpen(FlowOpen {
            frame: 0,
            flow: id,
            ts,
            client: Endpoint(client),
            server: Endpoint(server),
            handshake_seen: true,
            transport: plainsight::event::Transport::Tcp,
            tunnel: None,
            input: None,
        }));
        app.apply(Event::HttpRequest(HttpRequest {
            frame: 0,
            flow: id,
            ts,
            method: "POST".into(),
            target: "/login".into(),
            version: "HTTP/1.1".into(),
            host: Some("lab".into()),
            headers: vec![("Host".into(), "lab".into())],
            body_len: 30,
            decrypted: false,
            stream: None,
        }));
        if id % 50 == 0 {
            app.apply(Event::Credential(Credential {
                frame: 0,
                flow: id,
                ts,
                kind: CredentialKind::HttpForm,
                username: Some("bob".into()),
                secret: "hunter2".into(),
                client: Endpoint(client),
                server: Endpoint(server),
                location: "form field password".into(),
                decrypted: false,
            }));
        }
        app.apply(Event::FlowClose(FlowClose {
            frame: 0,
            flow: id,
            ts,
            reason: CloseReason::Fin,
            protocol: Protocol::Http,
            bytes_c2s: 100,
            bytes_s2c: 200,
            packets: 10,
            missing_bytes: 0,
            tls_records: 0,
            tls_bytes: 0,
            transport: plainsight::event::Transport::Tcp,
            starttls: false,
        }));
    }
    app
}

fn frame(c: &mut Criterion) {
    let app = loaded_app();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    c.bench_function("draw one frame, 1M events held", |b| {
        b.iter(|| terminal.draw(|f| draw(f, &app)).unwrap().area)
    });
}

/// An app holding one HTTP flow of 1 MiB (a form login, then a large download), its wire view
/// open at the password.
fn wire_app() -> App {
    let mut app = App::new("bench", false, Some(1.0));
    let client = Endpoint("10.0.0.1:40000".parse().unwrap());
    let server = Endpoint("10.0.0.2:80".parse().unwrap());
    app.apply(Event::FlowOpen(FlowOpen {
        flow: 1,
        ts: Timestamp(1),
        frame: 1,
        client,
        server,
        handshake_seen: true,
        transport: plainsight::event::Transport::Tcp,
        tunnel: None,
        input: None,
    }));
    let request = b"POST /login HTTP/1.1\r\nHost: lab\r\nContent-Length: 33\r\n\r\nusername=ada&password=Bench-Pass";
    app.apply(Event::Payload(Payload {
        flow: 1,
        ts: Timestamp(2),
        frame: 4,
        dir: Dir::ClientToServer,
        offset: 0,
        data: request.to_vec(),
        decrypted: false,
    }));
    let line: Vec<u8> = b"<tr><td>row</td><td>some text of a large page</td></tr>\n".to_vec();
    let mut offset = 0u64;
    for (frame, chunk) in (5..).zip(line.repeat((1 << 20) / line.len()).chunks(1448)) {
        app.apply(Event::Payload(Payload {
            flow: 1,
            ts: Timestamp(3),
            frame,
            dir: Dir::ServerToClient,
            offset,
            data: chunk.to_vec(),
            decrypted: false,
        }));
        offset += chunk.len() as u64;
    }
    app.apply(Event::Credential(Credential {
        flow: 1,
        ts: Timestamp(2),
        frame: 4,
        kind: CredentialKind::HttpForm,
        username: Some("ada".into()),
        secret: "Bench-Pass".into(),
        client,
        server,
        location: "form field password".into(),
        decrypted: false,
    }));
    app.key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE));
    assert!(app.wire.is_some());
    app
}

fn wire_frame(c: &mut Criterion) {
    let app = wire_app();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    c.bench_function("draw one frame, wire view of a 1 MiB flow", |b| {
        b.iter(|| terminal.draw(|f| draw(f, &app)).unwrap().area)
    });
}

criterion_group!(benches, frame, wire_frame);
criterion_main!(benches);
