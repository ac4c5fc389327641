//! The wire view on arbitrary bytes: streams cut into arbitrary packets in both directions, an
//! arbitrary secret to find in them, shown as text and as hex (HTTP/2 frames walked when the
//! bytes start with the preface). No panic, whatever the bytes.
#![no_main]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use libfuzzer_sys::fuzz_target;
use plainsight::event::{
    Credential, CredentialKind, Dir, Endpoint, Event, FlowOpen, Payload, Timestamp, Transport,
};
use plainsight::ui::app::App;

fuzz_target!(|data: &[u8]| {
    let Some((&secret_len, rest)) = data.split_first() else {
        return;
    };
    let (secret, mut rest) = rest.split_at(usize::from(secret_len % 16).min(rest.len()));
    let client = Endpoint("10.0.0.1:40000".parse().unwrap());
    let server = Endpoint("10.0.0.2:80".parse().unwrap());
    let mut app = App::new("fuzz", false, None);
    app.apply(Event::FlowOpen(FlowOpen {
        flow: 1,
        ts: Timestamp(1),
        frame: 1,
        client,
        server,
        handshake_seen: true,
        transport: Transport::Tcp,
        tunnel: None,
        input: None,
    }));
    let mut offsets = [0u64; 4];
    let mut frame = 1;
    // Each piece: a head byte (direction, decrypted, length), then its bytes.
    while let Some((&head, tail)) = rest.split_first() {
        let len = usize::from(head >> 2).min(tail.len());
        let (piece, next) = tail.split_at(len);
        rest = next;
        let slot = usize::from(head & 3);
        let dir = if head & 1 == 0 { Dir::ClientToServer } else { Dir::ServerToClient };
        frame += 1;
        app.apply(Event::Payload(Payload {
            flow: 1,
            ts: Timestamp(frame),
            frame,
            dir,
            offset: offsets[slot],
            data: piece.to_vec(),
            decrypted: head & 2 != 0,
        }));
        offsets[slot] += piece.len() as u64;
    }
    app.apply(Event::Credential(Credential {
        flow: 1,
        ts: Timestamp(1),
        frame: 2,
        kind: if secret_len & 1 == 0 { CredentialKind::HttpBasic } else { CredentialKind::Smtp },
        username: Some(String::from_utf8_lossy(secret).into_owned()),
        secret: String::from_utf8_lossy(secret).into_owned(),
        client,
        server,
        location: String::new(),
        decrypted: false,
    }));
    for key in ['f', 'n', 'N', 'x', 'n', 'r', 'x'] {
        app.key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE));
        let _ = app.wire_view();
    }
});
