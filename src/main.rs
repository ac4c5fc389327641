//! The `plainsight` binary: parse the command line, call the library, map failures to exit codes
//! (0 success, 1 runtime failure, 2 bad usage).

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use indicatif::{ProgressBar, ProgressStyle};
use plainsight::capture::live::{list_interfaces, LiveOptions, LiveSource};
use plainsight::cli::{Cli, Command, CommonArgs, LiveArgs, Speed};
use plainsight::engine::EngineConfig;
use plainsight::event::Event;
use plainsight::lab::{Lab, LabConfig, LAB_HOST};
use plainsight::proto::tls::decrypt::KeyLog;
use plainsight::report::json::JsonWriter;
use plainsight::report::text::TextReport;
use plainsight::run::{analyse_inputs_parallel, analyse_live, AnalysisOptions, Input};

/// Files at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_FROM: u64 = 32 << 20;
use plainsight::ui::{Feed, UiOptions};

/// mimalloc: flows, events and parsed messages are many small short-lived allocations, and the
/// system allocator was 13% of a report's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("plainsight: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Report {
            files,
            iface,
            duration,
            json,
            jobs,
            live,
            common,
        } => {
            let opts = analysis_options(&common)?;
            let jobs = jobs.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                usize::from,
            );
            match iface {
                Some(iface) => report_live(iface, duration, json, &live, &common, &opts),
                None => report_files(&files, json, common.redact, jobs, &opts),
            }
        }
        Command::Replay {
            files,
            common,
            speed,
        } => {
            let opts = analysis_options(&common)?;
            let speed = match speed {
                Speed::Factor(x) => Some(x),
                Speed::Max => None,
            };
            let source = files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            run_ui(Feed::Files(files), source, common.redact, speed, opts)
        }
        Command::Demo { live, common } => {
            if live {
                return demo_live(&common);
            }
            let opts = analysis_options(&common)?;
            run_ui(
                Feed::Inputs(plainsight::lab::demo::inputs()),
                "demo".into(),
                common.redact,
                Some(1.0),
                opts,
            )
        }
        Command::Live {
            iface,
            live,
            common,
        } => {
            let opts = analysis_options(&common)?;
            if !io::stdout().is_terminal() {
                eprintln!("plainsight: stdout is not a terminal; showing the text report instead of the UI (Ctrl-C to stop)");
                return report_live(iface, None, false, &live, &common, &opts);
            }
            let live_opts = LiveOptions {
                iface: iface.clone(),
                filter: common.filter.clone(),
                write: live.write.clone(),
                user: live.user.clone(),
            };
            let source = match &common.filter {
                Some(f) => format!("live {iface} ({f})"),
                None => format!("live {iface}"),
            };
            // Real people's secrets may pass on a live link: masked until `r` is pressed.
            run_ui(Feed::Live(live_opts), source, true, None, opts)
        }
        Command::Lab {
            bind,
            http_port,
            https_port,
            keylog,
        } => run_lab(bind, http_port, https_port, keylog),
        Command::Interfaces => {
            let interfaces = list_interfaces()?;
            if interfaces.is_empty() {
                println!("libpcap found no interface it can open (try as root).");
            }
            for i in interfaces {
                let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
                let mut flags = Vec::new();
                if i.up {
                    flags.push("up");
                }
                if i.loopback {
                    flags.push("loopback");
                }
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
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn analysis_options(common: &CommonArgs) -> Result<AnalysisOptions> {
    let keylog = match &common.keylog {
        Some(path) => Some(load_keylog(path)?),
        None => None,
    };
    Ok(AnalysisOptions {
        filter: common.filter.clone(),
        engine: EngineConfig {
            memcap: common.memcap,
            keylog,
        },
    })
}

/// Reads a key log once; lines it cannot use are reported on stderr, the rest kept.
fn load_keylog(path: &Path) -> Result<KeyLog> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the key log {}: give the file that SSLKEYLOGFILE wrote",
            path.display()
        )
    })?;
    let (keylog, warnings) = KeyLog::parse(&String::from_utf8_lossy(&bytes));
    for w in warnings.iter().take(5) {
        eprintln!("plainsight: key log {}: {w}; line skipped", path.display());
    }
    if warnings.len() > 5 {
        eprintln!(
            "plainsight: key log {}: {} more lines skipped",
            path.display(),
            warnings.len() - 5
        );
    }
    if keylog.is_empty() {
        eprintln!(
            "plainsight: key log {}: no TLS session secrets in it (expected lines like CLIENT_RANDOM <hex> <hex>); nothing can be decrypted",
            path.display()
        );
    }
    Ok(keylog)
}

/// Where the event stream goes: the text report or NDJSON on stdout.
struct Output {
    format: Format,
    /// Live captures: each event is shown at once.
    live: bool,
    /// `--redact`: secrets masked in every event.
    redact: bool,
}

enum Format {
    Text(TextReport<io::BufWriter<io::Stdout>>),
    Json(JsonWriter<io::Stdout>),
}

impl Output {
    fn new(json: bool, live: bool, redact: bool) -> Output {
        let format = if json {
            let mut w = JsonWriter::new(io::stdout());
            w.flush_each = live;
            Format::Json(w)
        } else {
            Format::Text(TextReport::new(io::BufWriter::new(io::stdout())))
        };
        Output {
            format,
            live,
            redact,
        }
    }

    fn write(&mut self, event: &Event) {
        let redacted;
        let event = if self.redact {
            redacted = event.redacted();
            &redacted
        } else {
            event
        };
        match &mut self.format {
            Format::Text(t) => {
                t.write(event);
                if self.live {
                    t.flush();
                }
            }
            Format::Json(j) => j.write(event),
        }
    }

    fn finish(&mut self) {
        match &mut self.format {
            Format::Text(t) => t.flush(),
            Format::Json(j) => j.flush(),
        }
    }
}

fn report_files(
    files: &[PathBuf],
    json: bool,
    redact: bool,
    jobs: usize,
    opts: &AnalysisOptions,
) -> Result<ExitCode> {
    let inputs: Vec<Input> = files.iter().cloned().map(Input::Path).collect();
    report_inputs(&inputs, json, redact, jobs, opts)
}

fn report_inputs(
    inputs: &[Input],
    json: bool,
    redact: bool,
    jobs: usize,
    opts: &AnalysisOptions,
) -> Result<ExitCode> {
    let files: Vec<&PathBuf> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Path(p) => Some(p),
            Input::Embedded { .. } => None,
        })
        .collect();
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        bail!("`-` (stdin) can be given only once");
    }
    if files.iter().any(|f| f.as_os_str() == "-") && io::stdin().is_terminal() {
        bail!("`-` reads a capture from stdin, but stdin is a terminal: pipe a capture in, e.g. `tcpdump -w - | plainsight report -`");
    }
    let mut output = Output::new(json, false, redact);
    // A progress bar on stderr for large files, when someone is watching it.
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .collect();
    let total: u64 = sizes.iter().sum();
    let bar = (io::stderr().is_terminal() && total >= PROGRESS_FROM).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut progress = |bytes: u64| {
        if let Some(bar) = &bar {
            bar.set_position(bytes);
        }
    };
    let outcome =
        analyse_inputs_parallel(inputs, opts, jobs, &mut progress, &mut |e| output.write(&e))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    output.finish();
    for failure in &outcome.failures {
        eprintln!("plainsight: {failure}");
    }
    Ok(if outcome.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report_live(
    iface: String,
    duration: Option<f64>,
    json: bool,
    live: &LiveArgs,
    common: &CommonArgs,
    opts: &AnalysisOptions,
) -> Result<ExitCode> {
    let duration = duration.map(Duration::from_secs_f64);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    let live_opts = LiveOptions {
        iface,
        filter: common.filter.clone(),
        write: live.write.clone(),
        user: live.user.clone(),
    };
    let mut output = Output::new(json, true, common.redact);
    let outcome = analyse_live(
        &live_opts,
        duration,
        &stop,
        opts,
        &mut |line| eprintln!("plainsight: {line}"),
        &mut |_| {},
        &mut |e| output.write(&e),
    )?;
    output.finish();
    if let Some(s) = outcome.stats {
        eprintln!(
            "plainsight: libpcap received {} packets, dropped {} (kernel) and {} (interface)",
            s.received, s.dropped, s.if_dropped
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `plainsight demo --live`: the lab on loopback, captured live while a scripted client logs in
/// over HTTP and then HTTPS; the lab hands its session keys straight to the engine.
fn demo_live(common: &CommonArgs) -> Result<ExitCode> {
    if !io::stdout().is_terminal() {
        bail!("`plainsight demo --live` needs a terminal");
    }
    let mut opts = analysis_options(common)?;
    let keys = opts
        .engine
        .keylog
        .get_or_insert_with(KeyLog::default)
        .clone();
    let lab = Lab::start(&LabConfig {
        http_port: 0,
        https_port: 0,
        shared_keys: Some(keys),
        ..LabConfig::default()
    })?;
    let filter = format!(
        "tcp port {} or tcp port {}",
        lab.http.port(),
        lab.https.port()
    );
    let (http, https, cert) = (lab.http, lab.https, lab.certificate.clone());
    let client = std::thread::spawn(move || {
        plainsight::lab::client::scripted_logins(http, https, &cert, Duration::from_secs(2))
    });
    let live = LiveOptions {
        iface: "lo".into(),
        filter: Some(filter.clone()),
        write: None,
        user: None,
    };
    // The demo's passwords are made up: shown, not masked.
    let code = run_ui(
        Feed::Live(live),
        format!("demo --live on lo ({filter})"),
        common.redact,
        None,
        opts,
    )?;
    if let Ok(Err(e)) = client.join() {
        eprintln!("plainsight: the scripted login failed: {e}");
    }
    lab.stop();
    Ok(code)
}

/// `plainsight lab`: the login site over HTTP and HTTPS until Ctrl-C.
fn run_lab(
    bind: Option<String>,
    http_port: u16,
    https_port: u16,
    keylog: Option<PathBuf>,
) -> Result<ExitCode> {
    let bind: std::net::IpAddr = match bind {
        Some(b) => b.parse().with_context(|| {
            format!("--bind {b:?} is not an IP address (for example 127.0.0.1)")
        })?,
        None => std::net::IpAddr::from([127, 0, 0, 1]),
    };
    if !bind.is_loopback() {
        eprintln!(
            "plainsight: WARNING: the lab listens on {bind}, reachable from other machines. \
             Never let real people type real passwords into it: everything they send is shown on screen."
        );
    }
    let lab = Lab::start(&LabConfig {
        bind,
        http_port,
        https_port,
        keylog: keylog.clone(),
        shared_keys: None,
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    println!("plainsight lab — a login page to watch being sniffed (made-up passwords only)");
    println!("  HTTP   http://{}/", lab.http);
    println!(
        "  HTTPS  https://{}/   (self-signed certificate for {LAB_HOST}: accept it, or curl -k)",
        lab.https
    );
    match &keylog {
        Some(k) => println!("  TLS session keys are written to {}", k.display()),
        None => println!("  (add --keylog FILE to write the TLS session keys, for decryption)"),
    }
    println!();
    println!("Watch it in another terminal:");
    println!(
        "  sudo plainsight live -i lo -f 'tcp port {} or tcp port {}'{}",
        lab.http.port(),
        lab.https.port(),
        keylog
            .as_ref()
            .map(|k| format!(" --keylog {}", k.display()))
            .unwrap_or_default()
    );
    println!("Ctrl-C stops the lab.");
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
    }
    lab.stop();
    Ok(ExitCode::SUCCESS)
}

/// The terminal UI over `feed`; without a terminal, the text report of the same files.
fn run_ui(
    feed: Feed,
    source: String,
    redact: bool,
    speed: Option<f64>,
    opts: AnalysisOptions,
) -> Result<ExitCode> {
    if !io::stdout().is_terminal() {
        let inputs = match feed {
            Feed::Files(files) => files.into_iter().map(Input::Path).collect(),
            Feed::Inputs(inputs) => inputs,
            Feed::Live(_) => bail!(
                "the live UI needs a terminal; `plainsight report -i IFACE` gives a text report"
            ),
        };
        eprintln!(
            "plainsight: stdout is not a terminal; showing the text report instead of the UI"
        );
        return report_inputs(&inputs, false, redact, 1, &opts);
    }
    // Fail before the UI takes over the screen, so the message stays readable.
    match &feed {
        Feed::Files(files) => {
            let unreadable: Vec<String> = files
                .iter()
                .filter(|f| f.as_os_str() != "-")
                .filter_map(|f| {
                    std::fs::File::open(f)
                        .err()
                        .map(|e| format!("{}: cannot open: {e}", f.display()))
                })
                .collect();
            if unreadable.len() == files.len() && !files.is_empty() {
                for line in &unreadable {
                    eprintln!("plainsight: {line}");
                }
                return Ok(ExitCode::from(1));
            }
        }
        Feed::Live(live) => LiveSource::check(&live.iface)?,
        Feed::Inputs(_) => {}
    }
    let failures = plainsight::ui::run(
        feed,
        UiOptions {
            source,
            redact,
            speed,
            analysis: opts,
        },
    )?;
    for failure in &failures {
        eprintln!("plainsight: {failure}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
