//! `report -j N`: several inputs analysed at once, one engine and thread each, their events
//! merged back in input order with flow ids shifted, as if one after another.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use super::sequential::{analyse_input, check_filter, InputResult, RunTotals};
use super::{analyse_inputs, AnalysisOptions, FilesOutcome, Input, Progress};
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
                            inputs[index].name()
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
                    Err(_) => break Err(format!("{}: not analysed", inputs[index].name())),
                }
            };
            totals.add(result);
        }
    });
    Ok(totals.finish(out))
}
