//! The `plainsight` binary: parse the command line, resolve it, dispatch to `report`, `ui` and
//! `lab`, and map the outcome to an exit code (0 success, 1 runtime failure, 2 bad usage).

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

use std::path::PathBuf;

use plainsight::cli::{Cli, Command, CommonArgs, LiveArgs, Speed};
use plainsight::report::command::{self as report, ReportOptions};
use plainsight::report::sink::Format;
use plainsight::run::{live_options, stop_on_ctrl_c, AnalysisOptions, Input, Jobs};
use plainsight::ui::{self, Feed, UiOptions};

/// mimalloc: flows, events and parsed messages are many small short-lived allocations, and the
/// system allocator was 13% of a report's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (mimalloc 2's option 15; the bindings name only some).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc gives emptied pages back to the system 10 ms after they empty. A flood of flows
/// frees and allocates faster than that, and the pages held meanwhile (11 MiB at `--memcap
/// 16MiB` with 1000 connections sending at once) broke the process's memory bound. Given back at
/// once instead: no measurable cost on the benchmark capture (median 0.52 s either way, six
/// paired runs).
#[allow(unsafe_code)] // One FFI call setting an integer option; mimalloc reads it when it purges.
fn give_memory_back_at_once() {
    // SAFETY: mi_option_set only stores the value of a valid option index; it may be called at
    // any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

fn main() -> ExitCode {
    give_memory_back_at_once();
    let cli = Cli::parse();
    if let Command::Demo { live: true, common } = &cli.command {
        // Said after the inputs that failed: why the scripted login did.
        return match ui::demo_live(common) {
            Ok(outcome) => {
                let code = exit_code(&outcome.failures);
                if let Some(e) = outcome.login_error {
                    eprintln!("plainsight: the scripted login failed: {e}");
                }
                code
            }
            Err(e) => failed(&e),
        };
    }
    match run(cli) {
        Ok(failures) => exit_code(&failures),
        Err(e) => failed(&e),
    }
}

/// Each input that could not be read is a line on stderr, and exit code 1.
fn exit_code(failures: &[String]) -> ExitCode {
    for failure in failures {
        eprintln!("plainsight: {failure}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn failed(e: &anyhow::Error) -> ExitCode {
    eprintln!("plainsight: {e:#}");
    ExitCode::from(1)
}

/// Runs one command. Returns the inputs that could not be read (each a line for stderr).
fn run(cli: Cli) -> Result<Vec<String>> {
    match cli.command {
        Command::Report {
            files,
            iface,
            duration,
            json,
            html,
            reveal,
            payloads,
            payload_bytes,
            jobs,
            live,
            common,
        } => {
            let mut analysis = analysis_options(&common)?;
            analysis.engine.payloads = if html {
                // The handout shows the bytes around each secret.
                Some(plainsight::report::html::HANDOUT_PAYLOAD_BYTES)
            } else {
                payloads.then_some(payload_bytes)
            };
            let options = ReportOptions {
                format: if html {
                    Format::Html {
                        reveal,
                        memcap: analysis.engine.memcap,
                    }
                } else if json {
                    Format::Json
                } else {
                    Format::Text
                },
                redact: common.redact,
                jobs: jobs.map_or_else(Jobs::all_cores, |n| Jobs::given(n.into())),
            };
            match iface {
                Some(iface) => {
                    let live = live_options(&iface, &live, common.filter.as_deref());
                    let duration = duration.map(Duration::from_secs_f64);
                    report::live(&live, duration, &*stop_on_ctrl_c()?, options, &analysis)?;
                    Ok(Vec::new())
                }
                None => report::inputs(&Input::paths(files), options, &analysis),
            }
        }
        Command::Replay {
            files,
            common,
            speed,
        } => replay(files, &common, speed),
        // `demo --live` is run by `main` (its outcome says more than failed inputs).
        Command::Demo { common, .. } => launch(
            Feed::Inputs(plainsight::lab::demo::inputs()),
            "demo".into(),
            analysis_options(&common)?,
            common.redact,
            Some(1.0),
        ),
        Command::Live {
            iface,
            live,
            common,
        } => live_ui(&iface, &live, &common),
        Command::Lab {
            bind,
            http_port,
            https_port,
            keylog,
            ca_out,
            mistakes,
        } => {
            let stop = stop_on_ctrl_c()?;
            let command = plainsight::lab::LabCommand {
                bind,
                http_port,
                https_port,
                keylog,
                ca_out,
                mistakes,
            };
            plainsight::lab::run_until(&command, &stop)?;
            Ok(Vec::new())
        }
        Command::Interfaces => {
            report::interfaces()?;
            Ok(Vec::new())
        }
    }
}

fn replay(files: Vec<PathBuf>, common: &CommonArgs, speed: Speed) -> Result<Vec<String>> {
    let source = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let speed = match speed {
        Speed::Factor(x) => Some(x),
        Speed::Max => None,
    };
    launch(
        Feed::Files(files),
        source,
        analysis_options(common)?,
        common.redact,
        speed,
    )
}

/// `live`: the UI, or the text report when stdout is not a terminal.
fn live_ui(iface: &str, live: &LiveArgs, common: &CommonArgs) -> Result<Vec<String>> {
    let analysis = analysis_options(common)?;
    let options = live_options(iface, live, common.filter.as_deref());
    if !io::stdout().is_terminal() {
        eprintln!("plainsight: stdout is not a terminal; showing the text report instead of the UI (Ctrl-C to stop)");
        let report = ReportOptions {
            format: Format::Text,
            redact: common.redact,
            jobs: Jobs::ONE,
        };
        report::live(&options, None, &*stop_on_ctrl_c()?, report, &analysis)?;
        return Ok(Vec::new());
    }
    let source = match &common.filter {
        Some(f) => format!("live {iface} ({f})"),
        None => format!("live {iface}"),
    };
    // Real people's secrets may pass on a live link: masked until `r` is pressed.
    launch(Feed::Live(options), source, analysis, true, None)
}

/// The options every analysis takes; key-log lines that cannot be used are named on stderr.
fn analysis_options(common: &CommonArgs) -> Result<AnalysisOptions> {
    AnalysisOptions::from_args(common, &mut |line| eprintln!("plainsight: {line}"))
}

fn launch(
    feed: Feed,
    source: String,
    analysis: AnalysisOptions,
    redact: bool,
    speed: Option<f64>,
) -> Result<Vec<String>> {
    ui::launch(
        feed,
        UiOptions {
            source,
            redact,
            speed,
            analysis,
            lesson: None,
        },
    )
}
