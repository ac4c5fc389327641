//! The terminal UI (ratatui + crossterm): the eavesdropper's view, for `demo`, `replay` and
//! `live`. The engine runs on its own thread and feeds events through a bounded channel; this
//! thread owns the state ([`app::App`]), reads keys and redraws at most ~30 times a second.

pub mod app;
pub mod certificate;
pub mod draw;
pub mod keys;
mod launch;
pub mod lesson;
pub mod wire;

pub use launch::{demo_live, launch, DemoOutcome};

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{self as term, Event as TermEvent, KeyEvent, KeyEventKind};
use ratatui::backend::Backend;
use ratatui::Terminal;

use crate::event::{Event, Timestamp};
use crate::run::{analyse_inputs, analyse_live, AnalysisOptions, Input, LiveOptions, LiveUpdate};
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
    /// The guided demo's acts (`demo`, `demo --live`).
    pub lesson: Option<lesson::Lesson>,
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

/// The engine thread: analyses the feed, sending what it finds to the UI, until the feed ends
/// or the UI stops it. Its last message is [`Msg::Done`] with the inputs it could not read.
fn spawn_engine(
    feed: Feed,
    analysis: AnalysisOptions,
    control: Arc<Control>,
    tx: SyncSender<Msg>,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new().name("engine".into()).spawn(move || {
        let mut send = |e: Event| {
            if tx.send(Msg::Event(e)).is_err() {
                control.stop.store(true, Ordering::Relaxed);
            }
        };
        let failures = match feed {
            Feed::Files(paths) => replay(&Input::paths(paths), &analysis, &control, &mut send),
            Feed::Inputs(inputs) => replay(&inputs, &analysis, &control, &mut send),
            Feed::Live(live) => {
                let updates = tx.clone();
                let mut update = |u: LiveUpdate| match u {
                    LiveUpdate::Notice(line) => {
                        let _ = updates.send(Msg::Notice(line));
                    }
                    LiveUpdate::Stats(s) => {
                        let dropped = u64::from(s.dropped) + u64::from(s.if_dropped);
                        let _ = updates.try_send(Msg::Dropped(dropped));
                    }
                };
                match analyse_live(
                    &live,
                    None,
                    &control.stop,
                    &analysis,
                    &mut update,
                    &mut send,
                ) {
                    Ok(_) => Vec::new(),
                    Err(e) => vec![e.to_string()],
                }
            }
        };
        let _ = tx.send(Msg::Done(failures));
    })
}

/// Inputs replayed at the pace the UI sets.
fn replay(
    inputs: &[Input],
    analysis: &AnalysisOptions,
    control: &Arc<Control>,
    send: &mut dyn FnMut(Event),
) -> Vec<String> {
    let mut pacer = Pacer {
        control: control.clone(),
        base: None,
        last: None,
    };
    match analyse_inputs(inputs, analysis, &mut |p| pacer.wait(p.ts), &mut |e| {
        send(e)
    }) {
        Ok(outcome) => outcome.failures,
        Err(e) => vec![e.to_string()],
    }
}

/// Runs the UI on the terminal until the user quits. Returns the inputs that could not be read.
pub fn run(feed: Feed, options: UiOptions) -> anyhow::Result<Vec<String>> {
    let mut terminal = ratatui::init();
    // The terminal is given back before the engine thread is waited for: a replay of a quiet
    // pipe may take until its next packet to notice the stop, and Ctrl-C must work meanwhile.
    let app = run_until(
        &mut terminal,
        &mut TerminalKeys,
        feed,
        options,
        ratatui::restore,
    )?;
    Ok(app.failures)
}

/// The UI on any backend with keys from any source: the terminal in real runs, a
/// [`ratatui::backend::TestBackend`] and a script in tests. Returns the app as it was when the
/// user quit.
pub fn run_on<B: Backend, K: KeySource<B>>(
    terminal: &mut Terminal<B>,
    keys: &mut K,
    feed: Feed,
    options: UiOptions,
) -> anyhow::Result<App>
where
    B::Error: Send + Sync + 'static,
{
    run_until(terminal, keys, feed, options, || {})
}

/// [`run_on`], calling `done` once the loop ends (whatever the outcome), before the engine
/// thread is stopped and waited for.
fn run_until<B: Backend, K: KeySource<B>>(
    terminal: &mut Terminal<B>,
    keys: &mut K,
    feed: Feed,
    options: UiOptions,
    done: impl FnOnce(),
) -> anyhow::Result<App>
where
    B::Error: Send + Sync + 'static,
{
    let control = Arc::new(Control {
        speed: AtomicU64::new(options.speed.unwrap_or(0.0).to_bits()),
        stop: AtomicBool::new(false),
    });
    let (tx, rx) = sync_channel::<Msg>(CHANNEL);
    // The UI always gets the bytes, for the wire view.
    let mut analysis = options.analysis;
    analysis
        .engine
        .payloads
        .get_or_insert(crate::engine::DEFAULT_PAYLOAD_BYTES);
    let engine = match spawn_engine(feed, analysis, control.clone(), tx) {
        Ok(engine) => engine,
        Err(e) => {
            done();
            return Err(e.into());
        }
    };
    let mut app = App::new(options.source, options.redact, options.speed);
    app.lesson = options.lesson;
    app.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let result = event_loop(terminal, keys, &mut app, &rx, &control);
    done();
    control.stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = engine.join();
    result?;
    Ok(app)
}

/// What the loop hears from the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserInput {
    Key(KeyEvent),
    /// The screen changed size: draw again.
    Resize,
}

/// Where keys come from. `next` waits up to `timeout` for one; it sees the app and the screen
/// as last drawn, so a test script can wait for a state before it presses a key.
pub trait KeySource<B: Backend> {
    fn next(
        &mut self,
        app: &App,
        terminal: &Terminal<B>,
        timeout: Duration,
    ) -> std::io::Result<Option<UserInput>>;
}

/// The real terminal's keys, through crossterm.
pub struct TerminalKeys;

impl<B: Backend> KeySource<B> for TerminalKeys {
    fn next(
        &mut self,
        _: &App,
        _: &Terminal<B>,
        timeout: Duration,
    ) -> std::io::Result<Option<UserInput>> {
        if !term::poll(timeout)? {
            return Ok(None);
        }
        Ok(match term::read()? {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => Some(UserInput::Key(key)),
            TermEvent::Resize(..) => Some(UserInput::Resize),
            _ => None,
        })
    }
}

fn event_loop<B: Backend, K: KeySource<B>>(
    terminal: &mut Terminal<B>,
    keys: &mut K,
    app: &mut App,
    rx: &Receiver<Msg>,
    control: &Control,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut last_tick = Instant::now();
    let mut steps = 0usize;
    loop {
        // Time passes for the lesson's autoplay.
        let now = Instant::now();
        dirty |= app.tick(now.saturating_duration_since(last_tick));
        last_tick = now;
        let budget = if app.paused {
            std::mem::take(&mut steps)
        } else {
            EVENTS_PER_FRAME
        };
        for _ in 0..budget {
            match rx.try_recv() {
                Ok(msg) => {
                    dirty = true;
                    apply(app, msg);
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
            }
        }
        if dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|f| draw::draw(f, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        match keys.next(app, terminal, FRAME)? {
            Some(UserInput::Key(key)) => {
                dirty = true;
                match app.key(key) {
                    Action::Quit => {
                        // The last state is on screen when the loop ends.
                        terminal.draw(|f| draw::draw(f, app))?;
                        return Ok(());
                    }
                    Action::Step => steps += 1,
                    Action::Speed(s) => control
                        .speed
                        .store(s.unwrap_or(0.0).to_bits(), Ordering::Relaxed),
                    Action::None => {}
                }
            }
            Some(UserInput::Resize) => dirty = true,
            None => {}
        }
    }
}

/// A message from the engine thread, applied to the app.
fn apply(app: &mut App, msg: Msg) {
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
