//! The handout on arbitrary capture bytes: the whole pipeline with payloads, then the page.
//! Besides not panicking, nothing from the capture may reach the page as markup: the page never
//! holds a script, whatever the bytes (the first byte also picks `--reveal`).
#![no_main]

use std::io::Cursor;
use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use plainsight::capture::file::FileSource;
use plainsight::capture::SourceItem;
use plainsight::engine::{Engine, EngineConfig};
use plainsight::report::html::{render, HtmlOptions};

fuzz_target!(|data: &[u8]| {
    let reveal = data.first().is_some_and(|b| b & 1 == 1);
    let Ok(mut source) = FileSource::from_reader("fuzz".into(), Cursor::new(data.to_vec())) else {
        return;
    };
    let mut engine = Engine::new(EngineConfig {
        memcap: 8 << 20,
        keylog: None,
        payloads: Some(4096),
        ..EngineConfig::default()
    });
    let mut events = Vec::new();
    let mut sink = |e| events.push(e);
    source.for_each(|item| {
        match item {
            SourceItem::Packet(p) => engine.packet(&p, &mut sink),
            SourceItem::Secrets { data, .. } => {
                let _ = engine.add_secrets(data);
            }
            SourceItem::Damage { detail, .. } => engine.damaged_input("fuzz", &detail, &mut sink),
        }
        ControlFlow::Continue(())
    });
    engine.end_of_input(&mut sink);
    sink(plainsight::event::Event::Summary(engine.summary()));
    let page = render(
        events,
        HtmlOptions {
            title: "fuzz <script>".into(),
            reveal,
            memcap: 8 << 20,
        },
    );
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script reached the page");
    assert!(!lower.contains("<img"), "an image reached the page");
});
