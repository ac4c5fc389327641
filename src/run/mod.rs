//! Running an analysis: inputs (files, stdin, the demo's captures, or a live interface) through
//! engines to an event sink. One file per way of running: [`sequential`] (one input after
//! another, the UI's replay too), [`parallel`] (`report -j N`: several files at once, merged back
//! in order) and [`live`] (an interface until a deadline or Ctrl-C).

mod live;
mod options;
mod parallel;
mod sequential;
mod split;

use std::ops::ControlFlow;
use std::path::PathBuf;

pub use crate::capture::live::{LiveOptions, LiveStats};
use crate::capture::CaptureError;
pub use crate::capture::Input;
use crate::event::{Event, Timestamp};
pub use live::{analyse_live, LiveOutcome, LiveUpdate};
pub use options::{load_ca, load_keylog, AnalysisOptions};
pub use parallel::analyse_inputs_parallel;
pub use sequential::analyse_inputs;

/// A single file at least this large is split over all cores when `-j` is not given.
pub const SPLIT_FROM_BYTES: u64 = 16 << 20;

/// How many threads a run over files may use, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jobs {
    /// Threads analysing at once: several files one each, or one file's flows spread over
    /// this many engines.
    pub count: usize,
    /// A run over a single file splits it when the file is at least this large.
    pub split_from: u64,
}

impl Jobs {
    /// One engine, one thread.
    pub const ONE: Jobs = Jobs {
        count: 1,
        split_from: u64::MAX,
    };

    /// `-j N`: N threads, and a single file split whatever its size.
    pub fn given(count: usize) -> Jobs {
        Jobs {
            count: count.max(1),
            split_from: 0,
        }
    }

    /// No `-j`: one thread per core; a single file is split from [`SPLIT_FROM_BYTES`] on
    /// (below that, starting the threads costs more than they save).
    pub fn all_cores() -> Jobs {
        Jobs {
            count: std::thread::available_parallelism().map_or(1, |n| n.get()),
            split_from: SPLIT_FROM_BYTES,
        }
    }
}

/// What a run over files did, beyond its events.
#[derive(Debug, Default)]
pub struct FilesOutcome {
    /// One line per input that could not be analysed at all (exit code 1).
    pub failures: Vec<String>,
    /// Inputs analysed (possibly up to damage).
    pub analysed: usize,
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

/// [`analyse_files`], calling `pace` before each packet: the UI sleeps there to replay at the
/// capture's own pace, a progress bar moves, and a break stops the run early.
pub fn analyse_files_paced<F: FnMut(Event)>(
    paths: &[PathBuf],
    opts: &AnalysisOptions,
    pace: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    analyse_inputs(&Input::paths(paths.iter().cloned()), opts, pace, out)
}

/// The live capture the command line asks for.
pub fn live_options(iface: &str, live: &crate::cli::LiveArgs, filter: Option<&str>) -> LiveOptions {
    LiveOptions {
        iface: iface.to_string(),
        filter: filter.map(str::to_string),
        write: live.write.clone(),
        user: live.user.clone(),
    }
}

/// Whether the interface can be opened for capture (permissions, name), without keeping it:
/// the UI asks before it takes over the terminal, so the message is readable.
pub fn check_interface(iface: &str) -> Result<(), CaptureError> {
    crate::capture::live::LiveSource::check(iface)
}

/// The interfaces libpcap can open, with their addresses.
pub fn interfaces() -> Result<Vec<crate::capture::live::InterfaceInfo>, CaptureError> {
    crate::capture::live::list_interfaces()
}

/// A flag that Ctrl-C sets, for runs that stop on it (live reports, the lab).
pub fn stop_on_ctrl_c() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use anyhow::Context;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    Ok(stop)
}
