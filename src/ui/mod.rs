//! The terminal UI (ratatui + crossterm): the eavesdropper's view, for `demo`, `replay` and
//! `live`. The engine runs on its own thread and feeds events through a bounded channel; this
//! thread owns the state ([`app::App`]), reads keys and redraws at most ~30 times a second.

pub mod app;
pub mod draw;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{self as term, Event as TermEvent, KeyEventKind};

use crate::capture::live::LiveOptions;
use crate::event::{Event, Timestamp};
use crate::run::{analyse_inputs, analyse_live, AnalysisOptions, Input};
use app::{Action, App};

/// Redraws at most this often.
const FRAME: Duration = Duration::from_millis(33);
/// Events applied per frame at most, so keys stay responsive at any speed.
const EVENTS_PER_FRAME: usize = 20_000;
/// Events in flight between the engine and the UI.
const CHANNEL: usize = 4096;

/// Where the UI's events come from.
pub enum Feed {
    Files(Vec<PathBuf>),
    /// Inputs built into the binary or given as files (the demo).
    Inputs(Vec<Input>),
    Live(LiveOptions),
}

pub struct UiOptions {
    /// Shown in the status bar: the file or interface.
    pub source: String,
    pub redact: bool,
    /// A replay factor; `None` for as fast as possible (and for live).
    pub speed: Option<f64>,
    pub analysis: AnalysisOptions,
}

enum Msg {
    Event(Event),
    Notice(String),
    /// Packets the kernel dropped so far (live).
    Dropped(u64),
    Done(Vec<String>),
}

/// Shared between the UI and the engine thread.
struct Control {
    /// The replay factor as f64 bits; 0 means as fast as possible.
    speed: AtomicU64,
    stop: AtomicBool,
}

/// Replays at the capture's own pace times the current factor, re-basing when it changes.
/// Idle stretches longer than [`MAX_IDLE`] (between captures taken minutes apart, say) are cut
/// short so the story keeps moving.
struct Pacer {
    control: Arc<Control>,
    base: Option<(Timestamp, Instant, u64)>,
    last: Option<Timestamp>,
}

const MAX_IDLE: Duration = Duration::from_secs(1);

impl Pacer {
    fn wait(&mut self, ts: Timestamp) -> ControlFlow<()> {
        loop {
            if self.control.stop.load(Ordering::Relaxed) {
                return ControlFlow::Break(());
            }
            let bits = self.control.speed.load(Ordering::Relaxed);
            let speed = f64::from_bits(bits);
            if speed <= 0.0 {
                return ControlFlow::Continue(());
            }
            let (base_ts, base_at, base_bits) =
                *self.base.get_or_insert((ts, Instant::now(), bits));
            let gap = Duration::from_secs_f64(
                self.last.map_or(0, |l| ts.saturating_sub(l)) as f64 / 1e6 / speed,
            );
            if base_bits != bits || ts < base_ts || gap > MAX_IDLE {
                self.base = Some((ts, Instant::now() + gap.min(MAX_IDLE), bits));
                self.last = Some(ts);
                continue;
            }
            self.last = Some(ts);
            let due = Duration::from_secs_f64(ts.saturating_sub(base_ts) as f64 / 1e6 / speed);
            let elapsed = Instant::now().saturating_duration_since(base_at);
            if elapsed >= due {
                return ControlFlow::Continue(());
            }
            // Sleep in short steps so pause, speed changes and quit are noticed.
            thread::sleep((due - elapsed).min(Duration::from_millis(50)));
        }
    }
}

/// Runs the UI until the user quits. Returns the inputs that could not be read.
pub fn run(feed: Feed, options: UiOptions) -> anyhow::Result<Vec<String>> {
    let control = Arc::new(Control {
        speed: AtomicU64::new(options.speed.unwrap_or(0.0).to_bits()),
        stop: AtomicBool::new(false),
    });
    let (tx, rx) = sync_channel::<Msg>(CHANNEL);
    let engine_control = control.clone();
    let analysis = options.analysis.clone();
    let engine = thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            let mut send = |e: Event| {
                if tx.send(Msg::Event(e)).is_err() {
                    engine_control.stop.store(true, Ordering::Relaxed);
                }
            };
            let failures = match feed {
                Feed::Files(_) | Feed::Inputs(_) => {
                    let inputs = match feed {
                        Feed::Files(paths) => paths.into_iter().map(Input::Path).collect(),
                        Feed::Inputs(inputs) => inputs,
                        Feed::Live(_) => Vec::new(),
                    };
                    let mut pacer = Pacer {
                        control: engine_control.clone(),
                        base: None,
                        last: None,
                    };
                    match analyse_inputs(&inputs, &analysis, &mut |p| pacer.wait(p.ts), &mut send) {
                        Ok(outcome) => outcome.failures,
                        Err(e) => vec![e.to_string()],
                    }
                }
                Feed::Live(live) => {
                    let notice_tx = tx.clone();
                    let mut notice = |line: String| {
                        let _ = notice_tx.send(Msg::Notice(line));
                    };
                    let stats_tx = tx.clone();
                    let mut stats = |s: crate::capture::live::LiveStats| {
                        let dropped = u64::from(s.dropped) + u64::from(s.if_dropped);
                        let _ = stats_tx.try_send(Msg::Dropped(dropped));
                    };
                    match analyse_live(
                        &live,
                        None,
                        &engine_control.stop,
                        &analysis,
                        &mut notice,
                        &mut stats,
                        &mut send,
                    ) {
                        Ok(_) => Vec::new(),
                        Err(e) => vec![e.to_string()],
                    }
                }
            };
            let _ = tx.send(Msg::Done(failures));
        })?;
    let mut app = App::new(options.source, options.redact, options.speed);
    app.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut app, &rx, &control);
    ratatui::restore();
    control.stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = engine.join();
    result?;
    Ok(app.failures)
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Msg>,
    control: &Control,
) -> anyhow::Result<()> {
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut steps = 0usize;
    loop {
        let budget = if app.paused {
            std::mem::take(&mut steps)
        } else {
            EVENTS_PER_FRAME
        };
        for _ in 0..budget {
            match rx.try_recv() {
                Ok(msg) => {
                    dirty = true;
                    match msg {
                        Msg::Event(e) => app.apply(e),
                        Msg::Notice(n) => app.banner = Some(n),
                        Msg::Dropped(d) => app.dropped_packets = Some(d),
                        Msg::Done(failures) => {
                            app.finished = true;
                            app.failures = failures;
                        }
                    }
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
            }
        }
        if dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|f| draw::draw(f, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        if term::poll(FRAME)? {
            match term::read()? {
                TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                    dirty = true;
                    match app.key(key) {
                        Action::Quit => return Ok(()),
                        Action::Step => steps += 1,
                        Action::Speed(s) => control
                            .speed
                            .store(s.unwrap_or(0.0).to_bits(), Ordering::Relaxed),
                        Action::None => {}
                    }
                }
                TermEvent::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
}
