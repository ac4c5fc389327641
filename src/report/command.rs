//! The `report` command (and `interfaces`): inputs or an interface through the engine to a sink
//! on stdout, with a progress bar on stderr for large files.

use std::io::{self, IsTerminal};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::sink::{Format, Sink};
use crate::run::{
    analyse_inputs_parallel, analyse_live, AnalysisOptions, Input, Jobs, LiveOptions, LiveUpdate,
};

/// Files at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_FROM: u64 = 32 << 20;

/// How a report is written.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions {
    pub format: Format,
    /// `--redact`.
    pub redact: bool,
    /// Threads: files analysed at once, or one file's flows spread over engines.
    pub jobs: Jobs,
}

/// Reports on inputs. Returns one line per input that could not be read (exit code 1).
pub fn inputs(
    inputs: &[Input],
    options: ReportOptions,
    analysis: &AnalysisOptions,
) -> Result<Vec<String>> {
    let stdin_count = inputs
        .iter()
        .filter(|i| i.path().is_some_and(|p| p.as_os_str() == "-"))
        .count();
    if stdin_count > 1 {
        bail!("`-` (stdin) can be given only once");
    }
    if stdin_count == 1 && io::stdin().is_terminal() {
        bail!("`-` reads a capture from stdin, but stdin is a terminal: pipe a capture in, e.g. `tcpdump -w - | plainsight report -`");
    }
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    let mut sink = Sink::stdout(options.format, false, options.redact, &names.join(", "));
    let total: u64 = inputs
        .iter()
        .filter_map(Input::path)
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let bar = progress_bar(total);
    let mut progress = |bytes: u64| {
        if let Some(bar) = &bar {
            bar.set_position(bytes);
        }
    };
    let outcome =
        analyse_inputs_parallel(inputs, analysis, options.jobs, &mut progress, &mut |e| {
            sink.write(e)
        })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    sink.finish();
    Ok(outcome.failures)
}

/// A progress bar on stderr for large files, when someone is watching it.
fn progress_bar(total: u64) -> Option<ProgressBar> {
    (io::stderr().is_terminal() && total >= PROGRESS_FROM).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    })
}

/// Reports on a live interface until `stop` is set or `duration` passes. Lines for the user
/// (the capture started, libpcap's counters at the end) go to stderr.
pub fn live(
    live: &LiveOptions,
    duration: Option<Duration>,
    stop: &AtomicBool,
    options: ReportOptions,
    analysis: &AnalysisOptions,
) -> Result<()> {
    let title = format!("a live capture on {}", live.iface);
    let mut sink = Sink::stdout(options.format, true, options.redact, &title);
    let outcome = analyse_live(
        live,
        duration,
        stop,
        analysis,
        &mut |update| {
            if let LiveUpdate::Notice(line) = update {
                eprintln!("plainsight: {line}");
            }
        },
        &mut |e| sink.write(e),
    )?;
    sink.finish();
    if let Some(s) = outcome.stats {
        eprintln!(
            "plainsight: libpcap received {} packets, dropped {} (kernel) and {} (interface)",
            s.received, s.dropped, s.if_dropped
        );
    }
    Ok(())
}

/// `plainsight interfaces`: one line per interface libpcap can open.
pub fn interfaces() -> Result<()> {
    let interfaces = crate::run::interfaces()?;
    if interfaces.is_empty() {
        println!("libpcap found no interface it can open (try as root).");
    }
    for i in interfaces {
        let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
        let flags: Vec<&str> = [(i.up, "up"), (i.loopback, "loopback")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        println!(
            "{:<16} {:<14} {}",
            i.name,
            flags.join(","),
            if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs.join(" ")
            }
        );
    }
    Ok(())
}
