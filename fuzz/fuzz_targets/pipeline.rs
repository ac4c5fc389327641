//! The whole pipeline on arbitrary capture bytes: file reader, decoder, reassembly, every parser.
#![no_main]

use std::io::Cursor;
use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use plainsight::capture::file::FileSource;
use plainsight::capture::SourceItem;
use plainsight::engine::{Engine, EngineConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(mut source) = FileSource::from_reader("fuzz".into(), Cursor::new(data.to_vec())) else {
        return;
    };
    let mut engine = Engine::new(EngineConfig {
        memcap: 8 << 20,
        keylog: None,
        // The payload and record paths are fuzzed too.
        payloads: Some(4096),
        ..EngineConfig::default()
    });
    let mut sink = |_e| {};
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
});
