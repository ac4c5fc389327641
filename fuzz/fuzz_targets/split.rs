//! A split run (`report -j 3` on one file) against one engine on arbitrary capture bytes: the
//! same events, in the same order, or the fuzzer stops with the two streams. Covers the reader's
//! clock and fragment handling, the merge order and the hand-over.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::engine::EngineConfig;
use plainsight::event::Event;
use plainsight::run::{analyse_inputs_parallel, AnalysisOptions, Input, Jobs};

fuzz_target!(|data: &[u8]| {
    // A split run reads a file; one per fuzzing process, rewritten for each input.
    let path = std::env::temp_dir().join(format!("plainsight-fuzz-split-{}.pcap", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let opts = AnalysisOptions {
        filter: None,
        engine: EngineConfig {
            // The least cap a run is split under, so that floods hand over to one engine.
            memcap: 64 << 20,
            payloads: Some(4096),
            ..EngineConfig::default()
        },
    };
    let inputs = [Input::Path(path.clone())];
    let run = |jobs: Jobs| {
        let mut events: Vec<Event> = Vec::new();
        let outcome = analyse_inputs_parallel(&inputs, &opts, jobs, &mut |_| {}, &mut |e| events.push(e));
        (outcome.map(|o| (o.analysed, o.failures)).map_err(|e| e.to_string()), events)
    };
    let one = run(Jobs::ONE);
    let split = run(Jobs::given(3));
    let _ = std::fs::remove_file(&path);
    if one != split {
        let at = one.1.iter().zip(&split.1).position(|(a, b)| a != b);
        panic!(
            "split run differs from one engine at event {at:?} ({} against {} events):\none:   {:?}\nsplit: {:?}",
            one.1.len(),
            split.1.len(),
            at.and_then(|i| one.1.get(i)),
            at.and_then(|i| split.1.get(i)),
        );
    }
});
