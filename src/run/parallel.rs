//! `report -j N`: several inputs analysed at once, one engine and thread each, their events
//! merged back in input order with flow ids shifted, as if one after another.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use super::sequential::{analyse_input, check_filter, InputResult, RunTotals};
use super::split::{analyse_split, SplitOutcome, MIN_SPLIT_MEMCAP};
use super::{analyse_inputs, AnalysisOptions, FilesOutcome, Input, Jobs, Progress};
use crate::capture::CaptureError;
use crate::event::Event;

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

/// Like [`analyse_inputs`], with up to `jobs.count` inputs analysed at once, each on its own
/// thread, or a single large file's flows spread over that many engines (see [`Jobs`]).
/// Events come out in the same order with the same flow ids as one after another: the first
/// input's as they are found, each later input's held in memory (within [`REORDER_BUDGET`]) until
/// those before it are out. `progress` gets the bytes read so far over all inputs.
pub fn analyse_inputs_parallel<F: FnMut(Event)>(
    inputs: &[Input],
    opts: &AnalysisOptions,
    jobs: Jobs,
    progress: &mut dyn FnMut(u64),
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    if let [Input::Path(path)] = inputs {
        if splits(path, opts, jobs) {
            check_filter(opts)?;
            let outcome = analyse_split(path, opts, jobs.count, progress, out);
            // For tests and the curious: whether the split run went through.
            if std::env::var_os("PLAINSIGHT_TRACE_SPLIT").is_some() {
                match &outcome {
                    SplitOutcome::Done(_) => {
                        eprintln!("plainsight: split over {} engines", jobs.count);
                    }
                    SplitOutcome::Fallback { printed } => eprintln!(
                        "plainsight: split over {} engines, then one engine after {printed} events",
                        jobs.count
                    ),
                }
            }
            return match outcome {
                SplitOutcome::Done(outcome) => Ok(outcome),
                SplitOutcome::Fallback { printed } => {
                    // One engine from the start; what the split run printed is its first
                    // `printed` events, byte for byte.
                    let mut skip = printed;
                    let mut pace = |p: Progress| {
                        progress(p.bytes);
                        ControlFlow::Continue(())
                    };
                    analyse_inputs(inputs, opts, &mut pace, &mut |e: Event| {
                        if skip > 0 {
                            skip -= 1;
                        } else {
                            out(e);
                        }
                    })
                }
            };
        }
    }
    let jobs = jobs.count;
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
    let shared = Shared {
        inputs,
        opts: &opts,
        reorder: Reorder::new(inputs.len()),
        next: AtomicUsize::new(0),
        bytes_read: AtomicU64::new(0),
    };
    let (senders, receivers): (Vec<_>, Vec<_>) = inputs.iter().map(|_| mpsc::channel()).unzip();
    let mut totals = RunTotals::default();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| shared.work(&senders));
        }
        for (index, rx) in receivers.iter().enumerate() {
            let result = shared.print(index, rx, totals.flow_offset, progress, out);
            totals.add(result);
        }
    });
    Ok(totals.finish(out))
}

/// Whether a run over the single file at `path` spreads its flows over engines (see [`Jobs`]):
/// a regular file (not stdin) large enough, more than one job, and a memory cap with room for
/// the engines' tables and the batches in flight.
fn splits(path: &std::path::Path, opts: &AnalysisOptions, jobs: Jobs) -> bool {
    jobs.count > 1
        && path.as_os_str() != "-"
        && opts.engine.memcap >= MIN_SPLIT_MEMCAP
        && std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() >= jobs.split_from)
}

/// What the workers and the printing thread share.
struct Shared<'a> {
    inputs: &'a [Input],
    opts: &'a AnalysisOptions,
    reorder: Reorder,
    /// The next input no worker has taken yet.
    next: AtomicUsize,
    bytes_read: AtomicU64,
}

impl Shared<'_> {
    /// A worker: takes inputs one at a time and sends their events in batches.
    fn work(&self, senders: &[mpsc::Sender<WorkerMessage>]) {
        let several = self.inputs.len() > 1;
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let (Some(input), Some(tx)) = (self.inputs.get(index), senders.get(index)) else {
                break;
            };
            let mut batch = Vec::with_capacity(BATCH_EVENTS);
            let mut size = 0;
            let mut last_bytes = 0;
            let mut pace = |p: Progress| {
                self.bytes_read
                    .fetch_add(p.bytes - last_bytes, Ordering::Relaxed);
                last_bytes = p.bytes;
                ControlFlow::Continue(())
            };
            let send = |batch: &mut Vec<Event>, size: &mut usize| {
                self.reorder.acquire(index, *size);
                let full = std::mem::replace(batch, Vec::with_capacity(BATCH_EVENTS));
                let _ = tx.send(WorkerMessage::Events(full, std::mem::take(size)));
            };
            // A panic must not leave the printing thread waiting for this input forever.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                analyse_input(
                    input,
                    index,
                    several,
                    self.opts,
                    &mut pace,
                    &mut |e: Event| {
                        size += e.approx_size();
                        batch.push(e);
                        if batch.len() >= BATCH_EVENTS {
                            send(&mut batch, &mut size);
                        }
                    },
                )
            }))
            .unwrap_or_else(|_| {
                Err(format!(
                    "{}: internal error while analysing it",
                    input.name()
                ))
            });
            if !batch.is_empty() {
                send(&mut batch, &mut size);
            }
            let _ = tx.send(WorkerMessage::Done(result));
        }
    }

    /// The printing thread's part for one input: its events, flow ids shifted by `offset`, as
    /// they arrive; then its result.
    fn print<F: FnMut(Event)>(
        &self,
        index: usize,
        rx: &mpsc::Receiver<WorkerMessage>,
        offset: u64,
        progress: &mut dyn FnMut(u64),
        out: &mut F,
    ) -> InputResult {
        self.reorder.update(|state| state.current = index);
        loop {
            match rx.recv() {
                Ok(WorkerMessage::Events(events, size)) => {
                    self.reorder.update(|state| {
                        if let Some(n) = state.in_flight.get_mut(index) {
                            *n = n.saturating_sub(size);
                        }
                    });
                    for mut e in events {
                        e.shift_flow(offset);
                        out(e);
                    }
                    progress(self.bytes_read.load(Ordering::Relaxed));
                }
                Ok(WorkerMessage::Done(result)) => return result,
                Err(_) => {
                    let name = self.inputs.get(index).map(Input::name).unwrap_or_default();
                    return Err(format!("{name}: not analysed"));
                }
            }
        }
    }
}
