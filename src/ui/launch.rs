//! Starting the UI from the command line: the checks that must fail before the screen is taken
//! over, the text report when stdout is not a terminal, and `demo --live`.

use std::io::{self, IsTerminal};
use std::time::Duration;

use anyhow::{bail, Result};

use super::{Feed, UiOptions};
use crate::cli::CommonArgs;
use crate::lab::{Lab, LabConfig};
use crate::proto::tls::decrypt::KeyLog;
use crate::report::command::{self as report, ReportOptions};
use crate::report::sink::Format;
use crate::run::{AnalysisOptions, Input, LiveOptions};

/// The terminal UI over `feed`; without a terminal, the text report of the same files. Returns
/// the inputs that could not be read (exit code 1).
pub fn launch(feed: Feed, options: UiOptions) -> Result<Vec<String>> {
    if !io::stdout().is_terminal() {
        let inputs = match feed {
            Feed::Files(files) => Input::paths(files),
            Feed::Inputs(inputs) => inputs,
            Feed::Live(_) => bail!(
                "the live UI needs a terminal; `plainsight report -i IFACE` gives a text report"
            ),
        };
        eprintln!(
            "plainsight: stdout is not a terminal; showing the text report instead of the UI"
        );
        let report = ReportOptions {
            format: Format::Text,
            redact: options.redact,
            jobs: crate::run::Jobs::ONE,
        };
        return report::inputs(&inputs, report, &options.analysis);
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
                return Ok(unreadable);
            }
        }
        Feed::Live(live) => crate::run::check_interface(&live.iface)?,
        Feed::Inputs(_) => {}
    }
    super::run(feed, options)
}

/// How `demo --live` went: the inputs that could not be read, and why the scripted login
/// failed, if it did (said after them).
pub struct DemoOutcome {
    pub failures: Vec<String>,
    pub login_error: Option<String>,
}

/// `plainsight demo --live`: the lab on loopback, captured live while a scripted client logs in
/// over HTTP and then HTTPS; the lab hands its session keys straight to the engine.
pub fn demo_live(common: &CommonArgs) -> Result<DemoOutcome> {
    if !io::stdout().is_terminal() {
        bail!("`plainsight demo --live` needs a terminal");
    }
    let mut analysis =
        AnalysisOptions::from_args(common, &mut |line| eprintln!("plainsight: {line}"))?;
    let keys = analysis
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
    // The demo's client trusts the lab's CA, and so does the analysis: the HTTPS login is then
    // judged as a browser given that CA would judge it.
    std::sync::Arc::make_mut(&mut analysis.engine.roots).push(lab.ca_certificate.clone());
    let (http, https, cert) = (lab.http, lab.https, lab.ca_certificate.clone());
    let client = std::thread::spawn(move || {
        crate::lab::client::scripted_logins(http, https, &cert, Duration::from_secs(2))
    });
    let live = LiveOptions {
        iface: "lo".into(),
        filter: Some(filter.clone()),
        write: None,
        user: None,
    };
    // The demo's passwords are made up: shown, not masked.
    let failures = launch(
        Feed::Live(live),
        UiOptions {
            source: format!("demo --live on lo ({filter})"),
            redact: common.redact,
            speed: None,
            analysis,
            lesson: Some(super::lesson::Lesson::live()),
        },
    )?;
    let login_error = match client.join() {
        Ok(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    lab.stop();
    Ok(DemoOutcome {
        failures,
        login_error,
    })
}
