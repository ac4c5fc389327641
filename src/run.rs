//! Running an analysis: inputs (files, stdin or a live interface) through the engine to an event
//! sink. Used by `report` now and by the terminal UI's engine thread.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::capture::file::FileSource;
use crate::capture::filter::PacketFilter;
use crate::capture::live::{LiveOptions, LiveSource, LiveStats};
use crate::capture::privileges::DropOutcome;
use crate::capture::{CaptureError, SourceItem};
use crate::engine::{Engine, EngineConfig};
use crate::event::{Event, Summary, Timestamp};
use crate::proto::tls::decrypt::KeyLog;

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
///
/// Each input is analysed on an engine of its own (its flows end with it, the secrets embedded in
/// it decrypt it alone), and its flow ids are shifted past those of the inputs before it: the
/// same events, in the same order, as [`analyse_inputs_parallel`] gives.
pub fn analyse_inputs<F: FnMut(Event)>(
    inputs: &[Input],
    opts: &AnalysisOptions,
    pace: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    check_filter(opts)?;
    let mut totals = RunTotals::default();
    for (index, input) in inputs.iter().enumerate() {
        let offset = totals.flow_offset;
        let result = analyse_input(input, index, opts, pace, &mut |mut e: Event| {
            e.shift_flow(offset);
            out(e)
        });
        if totals.add(result) {
            break;
        }
    }
    Ok(totals.finish(out))
}

/// A bad filter is reported once, before any input is opened.
fn check_filter(opts: &AnalysisOptions) -> Result<(), CaptureError> {
    opts.filter.as_deref().map(PacketFilter::new).transpose()?;
    Ok(())
}

/// What one input contributed besides its events, or the line saying why it could not be read.
type InputResult = Result<InputTotals, String>;

struct InputTotals {
    summary: Summary,
    span: Option<(Timestamp, Timestamp)>,
    flow_ids: u64,
    /// `pace` asked to stop.
    stopped: bool,
}

/// One input through an engine of its own.
fn analyse_input<F: FnMut(Event)>(
    input: &Input,
    index: usize,
    opts: &AnalysisOptions,
    pace: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    out: &mut F,
) -> InputResult {
    let mut config = opts.engine.clone();
    config.keylog = config.keylog.as_ref().map(KeyLog::detached);
    let mut engine = Engine::new(config);
    let opened = match input {
        Input::Path(path) => FileSource::open(path),
        Input::Embedded { name, data, keylog } => {
            if let Some(keys) = keylog {
                let _ = engine.add_secrets(keys.as_bytes());
            }
            FileSource::from_reader(name.to_string(), std::io::Cursor::new(*data))
        }
    };
    let mut source = opened.map_err(|e| e.to_string())?;
    // Checked by the caller already; compiled again here because each input has its own.
    let mut filter = opts
        .filter
        .as_deref()
        .map(PacketFilter::new)
        .transpose()
        .map_err(|e| e.to_string())?;
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
    Ok(InputTotals {
        summary: engine.summary(),
        span: engine.span(),
        flow_ids: engine.flow_ids_used(),
        stopped,
    })
}

/// The run so far: one summary over all inputs, and where the next input's flow ids start.
#[derive(Default)]
struct RunTotals {
    outcome: FilesOutcome,
    summary: Summary,
    span: Option<(Timestamp, Timestamp)>,
    flow_offset: u64,
}

impl RunTotals {
    /// Adds one input's result; true if the run should stop there.
    fn add(&mut self, result: InputResult) -> bool {
        match result {
            Err(failure) => {
                self.outcome.failures.push(failure);
                false
            }
            Ok(totals) => {
                self.outcome.analysed += 1;
                self.summary.absorb(&totals.summary);
                self.flow_offset += totals.flow_ids;
                self.span = match (self.span, totals.span) {
                    (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                    (one, other) => one.or(other),
                };
                totals.stopped
            }
        }
    }

    /// The closing `summary` event (when any input was read) and the outcome.
    fn finish<F: FnMut(Event)>(mut self, out: &mut F) -> FilesOutcome {
        if self.outcome.analysed > 0 {
            self.summary.duration = self
                .span
                .map_or(0.0, |(first, last)| last.saturating_sub(first) as f64 / 1e6);
            out(Event::Summary(self.summary));
        }
        self.outcome
    }
}

/// Events the files ahead of the one being printed may hold in memory, all together (estimated
/// by [`Event::approx_size`]). The file being printed may have as much again in flight.
const REORDER_BUDGET: usize = 64 << 20;
/// The least memory cap a worker gets, however many share the run's.
const MIN_WORKER_MEMCAP: usize = 1 << 20;
/// Events travel from a worker to the printing thread in batches of about this many.
const BATCH_EVENTS: usize = 512;

enum WorkerMessage {
    Events(Vec<Event>, usize),
    Done(InputResult),
}

/// Bytes of events in flight per input (sent by a worker, not yet printed), and which input is
/// being printed.
struct Reorder {
    state: Mutex<ReorderState>,
    changed: Condvar,
}

struct ReorderState {
    in_flight: Vec<usize>,
    current: usize,
}

impl Reorder {
    fn new(inputs: usize) -> Reorder {
        Reorder {
            state: Mutex::new(ReorderState {
                in_flight: vec![0; inputs],
                current: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// Waits until a batch of `size` from input `index` may be held. The input being printed may
    /// have up to the budget in flight of its own (the printing thread is taking it, so this only
    /// waits for a slow reader of the output); the inputs ahead of it share one budget. A batch
    /// always passes when nothing of its kind is in flight, so oversized batches cannot stall.
    fn acquire(&self, index: usize, size: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let held = if index == state.current {
                state.in_flight[index]
            } else {
                state
                    .in_flight
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != state.current)
                    .map(|(_, n)| n)
                    .sum()
            };
            if held == 0 || held + size <= REORDER_BUDGET {
                state.in_flight[index] += size;
                return;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn update(&self, f: impl FnOnce(&mut ReorderState)) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state);
        self.changed.notify_all();
    }
}

/// Like [`analyse_inputs`], with up to `jobs` inputs analysed at once, each on its own thread.
/// Events come out in the same order with the same flow ids as one after another: the first
/// input's as they are found, each later input's held in memory (within [`REORDER_BUDGET`]) until
/// those before it are out. `progress` gets the bytes read so far over all inputs.
pub fn analyse_inputs_parallel<F: FnMut(Event)>(
    inputs: &[Input],
    opts: &AnalysisOptions,
    jobs: usize,
    progress: &mut dyn FnMut(u64),
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    if jobs <= 1 || inputs.len() <= 1 {
        // Bytes of the inputs finished so far, which input is being read, and how far.
        let (mut before, mut input, mut last) = (0, 0, 0);
        let mut pace = |p: Progress| {
            if p.input != input {
                before += last;
                input = p.input;
            }
            last = p.bytes;
            progress(before + p.bytes);
            ControlFlow::Continue(())
        };
        return analyse_inputs(inputs, opts, &mut pace, out);
    }
    check_filter(opts)?;
    // The memory cap is the run's, not each worker's: the workers share it.
    let workers = jobs.min(inputs.len());
    let mut opts = opts.clone();
    opts.engine.memcap = (opts.engine.memcap / workers).max(MIN_WORKER_MEMCAP);
    let opts = &opts;
    let reorder = Reorder::new(inputs.len());
    let next = AtomicUsize::new(0);
    let bytes_read = AtomicU64::new(0);
    let (senders, receivers): (Vec<_>, Vec<_>) = inputs.iter().map(|_| mpsc::channel()).unzip();
    let mut totals = RunTotals::default();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= inputs.len() {
                        break;
                    }
                    let tx: &mpsc::Sender<WorkerMessage> = &senders[index];
                    let mut batch = Vec::with_capacity(BATCH_EVENTS);
                    let mut size = 0;
                    let mut last_bytes = 0;
                    let mut pace = |p: Progress| {
                        bytes_read.fetch_add(p.bytes - last_bytes, Ordering::Relaxed);
                        last_bytes = p.bytes;
                        ControlFlow::Continue(())
                    };
                    let send = |batch: &mut Vec<Event>, size: &mut usize| {
                        reorder.acquire(index, *size);
                        let full = std::mem::replace(batch, Vec::with_capacity(BATCH_EVENTS));
                        let _ = tx.send(WorkerMessage::Events(full, std::mem::take(size)));
                    };
                    // A panic must not leave the printing thread waiting for this input forever.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        analyse_input(&inputs[index], index, opts, &mut pace, &mut |e: Event| {
                            size += e.approx_size();
                            batch.push(e);
                            if batch.len() >= BATCH_EVENTS {
                                send(&mut batch, &mut size);
                            }
                        })
                    }))
                    .unwrap_or_else(|_| {
                        Err(format!(
                            "{}: internal error while analysing it",
                            input_name(&inputs[index])
                        ))
                    });
                    if !batch.is_empty() {
                        send(&mut batch, &mut size);
                    }
                    let _ = tx.send(WorkerMessage::Done(result));
                }
            });
        }
        for (index, rx) in receivers.iter().enumerate() {
            reorder.update(|state| state.current = index);
            let offset = totals.flow_offset;
            let result = loop {
                match rx.recv() {
                    Ok(WorkerMessage::Events(events, size)) => {
                        reorder.update(|state| {
                            state.in_flight[index] = state.in_flight[index].saturating_sub(size)
                        });
                        for mut e in events {
                            e.shift_flow(offset);
                            out(e);
                        }
                        progress(bytes_read.load(Ordering::Relaxed));
                    }
                    Ok(WorkerMessage::Done(result)) => break result,
                    Err(_) => break Err(format!("{}: not analysed", input_name(&inputs[index]))),
                }
            };
            totals.add(result);
        }
    });
    Ok(totals.finish(out))
}

fn input_name(input: &Input) -> String {
    match input {
        Input::Path(p) => p.display().to_string(),
        Input::Embedded { name, .. } => name.to_string(),
    }
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
    if let Err(why) = source.syscall_filter() {
        notice(format!(
            "{why}; going on without it (exec, ptrace and setuid stay possible)"
        ));
    }
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
