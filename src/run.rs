//! Running an analysis: inputs (files, stdin or a live interface) through the engine to an event
//! sink. Used by `report` now and by the terminal UI's engine thread.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::capture::file::FileSource;
use crate::capture::filter::PacketFilter;
use crate::capture::live::{LiveOptions, LiveSource, LiveStats};
use crate::capture::privileges::DropOutcome;
use crate::capture::{CaptureError, SourceItem};
use crate::engine::{Engine, EngineConfig};
use crate::event::{Event, Timestamp};

/// pcapng Decryption Secrets Block type of a TLS key log ("TLSK").
pub const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;

#[derive(Debug, Clone, Default)]
pub struct AnalysisOptions {
    /// `-f/--filter`: a libpcap filter expression.
    pub filter: Option<String>,
    pub engine: EngineConfig,
}

/// What a run over files did, beyond its events.
#[derive(Debug, Default)]
pub struct FilesOutcome {
    /// One line per input that could not be analysed at all (exit code 1).
    pub failures: Vec<String>,
    /// Inputs analysed (possibly up to damage).
    pub analysed: usize,
}

/// Analyses files one after another (`-` is stdin) and ends with a `summary` event when at least
/// one could be read. An unreadable input is reported and skipped; a damaged one is analysed up
/// to the damage.
pub fn analyse_files<F: FnMut(Event)>(
    paths: &[PathBuf],
    opts: &AnalysisOptions,
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    analyse_files_paced(paths, opts, &mut |_| ControlFlow::Continue(()), out)
}

/// An input to analyse: a file (or `-` for stdin), or a capture built into the binary (the
/// demo's), possibly with the key log that goes with it.
#[derive(Debug, Clone)]
pub enum Input {
    Path(PathBuf),
    Embedded {
        name: &'static str,
        data: &'static [u8],
        keylog: Option<&'static str>,
    },
}

/// Where a run stands, for pacing and progress bars.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The time of the packet about to be analysed.
    pub ts: Timestamp,
    /// Which input (0-based).
    pub input: usize,
    /// Bytes of this input read so far (packet data and record headers, approximately).
    pub bytes: u64,
}

/// [`analyse_files`], calling `pace` before each packet: the UI sleeps there to replay at the
/// capture's own pace, a progress bar moves, and a break stops the run early.
pub fn analyse_files_paced<F: FnMut(Event)>(
    paths: &[PathBuf],
    opts: &AnalysisOptions,
    pace: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::Path).collect();
    analyse_inputs(&inputs, opts, pace, out)
}

/// Analyses inputs one after another into one event stream ending with a `summary`.
pub fn analyse_inputs<F: FnMut(Event)>(
    inputs: &[Input],
    opts: &AnalysisOptions,
    pace: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    let mut filter = opts.filter.as_deref().map(PacketFilter::new).transpose()?;
    let mut engine = Engine::new(opts.engine.clone());
    let mut outcome = FilesOutcome::default();
    for (index, input) in inputs.iter().enumerate() {
        let opened = match input {
            Input::Path(path) => FileSource::open(path),
            Input::Embedded { name, data, keylog } => {
                if let Some(keys) = keylog {
                    let _ = engine.add_secrets(keys.as_bytes());
                }
                FileSource::from_reader(name.to_string(), std::io::Cursor::new(*data))
            }
        };
        let mut source = match opened {
            Ok(s) => s,
            Err(e) => {
                outcome.failures.push(e.to_string());
                continue;
            }
        };
        outcome.analysed += 1;
        let name = source.name().to_string();
        let mut stopped = false;
        let mut bytes = 0u64;
        source.for_each(|item| {
            if let SourceItem::Packet(p) = &item {
                bytes += p.data.len() as u64 + 16;
                let progress = Progress {
                    ts: p.ts,
                    input: index,
                    bytes,
                };
                if pace(progress).is_break() {
                    stopped = true;
                    return ControlFlow::Break(());
                }
            }
            feed(&mut engine, filter.as_mut(), &name, item, out);
            ControlFlow::Continue(())
        });
        engine.end_of_input(out);
        if stopped {
            break;
        }
    }
    if outcome.analysed > 0 {
        out(Event::Summary(engine.summary()));
    }
    Ok(outcome)
}

fn feed<F: FnMut(Event)>(
    engine: &mut Engine,
    filter: Option<&mut PacketFilter>,
    name: &str,
    item: SourceItem<'_>,
    out: &mut F,
) {
    match item {
        SourceItem::Packet(p) => {
            if filter.is_none_or(|f| f.matches(&p)) {
                engine.packet(&p, out);
            }
        }
        SourceItem::Secrets { secrets_type, data } => {
            if secrets_type == SECRETS_TLS_KEY_LOG {
                // Unreadable lines inside a capture are skipped; the rest is used.
                let _ = engine.add_secrets(data);
            }
        }
        SourceItem::Damage { detail, .. } => engine.damaged_input(name, &detail, out),
    }
}

/// What a live run did, beyond its events.
#[derive(Debug, Clone)]
pub struct LiveOutcome {
    pub privileges: DropOutcome,
    pub stats: Option<LiveStats>,
}

/// Captures on an interface until `stop` is set or `duration` passes, then ends with a summary.
/// `notice` receives lines for the user (privileges dropped, counters).
pub fn analyse_live<F: FnMut(Event)>(
    live: &LiveOptions,
    duration: Option<Duration>,
    stop: &AtomicBool,
    opts: &AnalysisOptions,
    notice: &mut dyn FnMut(String),
    stats: &mut dyn FnMut(LiveStats),
    out: &mut F,
) -> Result<LiveOutcome, CaptureError> {
    let mut source = LiveSource::open(live)?;
    notice(match source.privileges() {
        DropOutcome::Switched { user, uid } => format!(
            "capturing on {} (now running as {user}, uid {uid}){}",
            source.iface(),
            live.filter.as_ref().map(|f| format!(", filter: {f}")).unwrap_or_default()
        ),
        DropOutcome::KeptRoot => format!(
            "capturing on {} — still running as root because of --user root: every packet is parsed with full privileges",
            source.iface()
        ),
        DropOutcome::CapabilitiesCleared => {
            format!("capturing on {} (capabilities dropped)", source.iface())
        }
    });
    let mut engine = Engine::new(opts.engine.clone());
    let deadline = duration.map(|d| Instant::now() + d);
    let iface = source.iface().to_string();
    source.run(deadline, &|| stop.load(Ordering::Relaxed), stats, |item| {
        // libpcap already applied the filter in the kernel.
        feed(&mut engine, None, &iface, item, out);
        ControlFlow::Continue(())
    })?;
    engine.end_of_input(out);
    out(Event::Summary(engine.summary()));
    Ok(LiveOutcome {
        privileges: source.privileges().clone(),
        stats: source.stats(),
    })
}
