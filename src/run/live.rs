//! A live interface until a deadline or Ctrl-C, through one engine.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::sequential::feed;
use super::AnalysisOptions;
use crate::capture::live::{LiveOptions, LiveSource, LiveStats};
use crate::capture::CaptureError;
use crate::engine::Engine;
use crate::event::Event;
use crate::platform::DropOutcome;

/// What a live run did, beyond its events.
#[derive(Debug, Clone)]
pub struct LiveOutcome {
    pub privileges: DropOutcome,
    pub stats: Option<LiveStats>,
}

/// What a live capture says besides its events, as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveUpdate {
    /// A line for the user: the capture started (and as whom), a safeguard missing.
    Notice(String),
    /// libpcap's counters now: packets received and dropped.
    Stats(LiveStats),
}

/// Captures on an interface until `stop` is set or `duration` passes, then ends with a summary.
/// `update` receives lines for the user and the capture's counters; `out` the events.
pub fn analyse_live<F: FnMut(Event)>(
    live: &LiveOptions,
    duration: Option<Duration>,
    stop: &AtomicBool,
    opts: &AnalysisOptions,
    update: &mut dyn FnMut(LiveUpdate),
    out: &mut F,
) -> Result<LiveOutcome, CaptureError> {
    let mut source = LiveSource::open(live)?;
    let mut notice = |line: String| update(LiveUpdate::Notice(line));
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
        DropOutcome::NotRoot => format!("capturing on {} (not root: nothing to drop)", source.iface()),
        DropOutcome::NotAvailable => format!(
            "capturing on {} — this system has no privilege drop: every packet is parsed with the rights of the account that started plainsight",
            source.iface()
        ),
    });
    if let Err(why) = source.syscall_filter() {
        notice(format!(
            "{why}; going on without it (exec, ptrace and setuid stay possible)"
        ));
    }
    let mut engine = Engine::new(opts.engine.clone());
    let deadline = duration.map(|d| Instant::now() + d);
    let iface = source.iface().to_string();
    let mut stats = |s: LiveStats| update(LiveUpdate::Stats(s));
    source.run(
        deadline,
        &|| stop.load(Ordering::Relaxed),
        &mut stats,
        |item| {
            // libpcap already applied the filter in the kernel.
            feed(&mut engine, None, &iface, item, out);
            ControlFlow::Continue(())
        },
    )?;
    engine.end_of_input(out);
    out(Event::Summary(engine.summary()));
    Ok(LiveOutcome {
        privileges: source.privileges().clone(),
        stats: source.stats(),
    })
}
