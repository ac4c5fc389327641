//! `cargo bench --bench ui`: the time to draw one frame while the UI holds a million events.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use plainsight::event::{
    CloseReason, Credential, CredentialKind, Endpoint, Event, FlowClose, FlowOpen, HttpRequest,
    Protocol, Timestamp,
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
        }));
        app.apply(Event::HttpRequest(HttpRequest {
            frame: 0,
            flow: id,
            ts,
            method: "POST".into(),
            target: "/login".into(),
            version: "HTTP/1.1",
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

criterion_group!(benches, frame);
criterion_main!(benches);
