//! One input after another, each through an engine of its own, into one event stream.

use std::ops::ControlFlow;

use super::{AnalysisOptions, FilesOutcome, Input, Progress};
use crate::capture::file::FileSource;
use crate::capture::filter::PacketFilter;
use crate::capture::{CaptureError, SourceItem, SECRETS_TLS_KEY_LOG};
use crate::engine::Engine;
use crate::event::{Event, Summary, Timestamp};
use crate::proto::tls::decrypt::KeyLog;

/// Analyses inputs one after another into one event stream ending with a `summary`.
///
/// Each input is analysed on an engine of its own (its flows end with it, the secrets embedded in
/// it decrypt it alone), and its flow ids are shifted past those of the inputs before it: the
/// same events, in the same order, as [`analyse_inputs_parallel`] gives.
pub fn analyse_inputs<F: FnMut(Event)>(
    inputs: &[Input],
    opts: &AnalysisOptions,
    pace: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    out: &mut F,
) -> Result<FilesOutcome, CaptureError> {
    check_filter(opts)?;
    let mut totals = RunTotals::default();
    let several = inputs.len() > 1;
    for (index, input) in inputs.iter().enumerate() {
        let offset = totals.flow_offset;
        let result = analyse_input(input, index, several, opts, pace, &mut |mut e: Event| {
            e.shift_flow(offset);
            out(e)
        });
        if totals.add(result) {
            break;
        }
    }
    Ok(totals.finish(out))
}

/// A bad filter is reported once, before any input is opened.
pub(super) fn check_filter(opts: &AnalysisOptions) -> Result<(), CaptureError> {
    opts.filter.as_deref().map(PacketFilter::new).transpose()?;
    Ok(())
}

/// What one input contributed besides its events, or the line saying why it could not be read.
pub(super) type InputResult = Result<InputTotals, String>;

pub(super) struct InputTotals {
    pub summary: Summary,
    pub span: Option<(Timestamp, Timestamp)>,
    pub flow_ids: u64,
    /// `pace` asked to stop.
    pub stopped: bool,
}

/// One input through an engine of its own. With `several` (the run reads more than one input),
/// each `flow_open` names its input.
pub(super) fn analyse_input<F: FnMut(Event)>(
    input: &Input,
    index: usize,
    several: bool,
    opts: &AnalysisOptions,
    pace: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    out: &mut F,
) -> InputResult {
    let label = several.then(|| input.name());
    let out = &mut |mut e: Event| {
        if let (Some(label), Event::FlowOpen(open)) = (&label, &mut e) {
            open.input = Some(label.clone());
        }
        out(e)
    };
    let mut config = opts.engine.clone();
    config.keylog = config.keylog.as_ref().map(KeyLog::detached);
    let mut engine = Engine::new(config);
    let opened = match input {
        Input::Path(path) => FileSource::open(path),
        Input::Embedded { name, data, keylog } => {
            if let Some(keys) = keylog {
                let _ = engine.add_secrets(keys.as_bytes());
            }
            FileSource::from_reader(name.to_string(), std::io::Cursor::new(*data))
        }
    };
    let mut source = opened.map_err(|e| e.to_string())?;
    // Checked by the caller already; compiled again here because each input has its own.
    let mut filter = opts
        .filter
        .as_deref()
        .map(PacketFilter::new)
        .transpose()
        .map_err(|e| e.to_string())?;
    let name = source.name().to_string();
    let mut stopped = false;
    let mut bytes = 0u64;
    source.for_each(|item| {
        if let SourceItem::Packet(p) = &item {
            bytes += p.data.len() as u64 + 16;
            let progress = Progress {
                ts: p.ts,
                input: index,
                bytes,
            };
            if pace(progress).is_break() {
                stopped = true;
                return ControlFlow::Break(());
            }
        }
        feed(&mut engine, filter.as_mut(), &name, item, out);
        ControlFlow::Continue(())
    });
    engine.end_of_input(out);
    Ok(InputTotals {
        summary: engine.summary(),
        span: engine.span(),
        flow_ids: engine.flow_ids_used(),
        stopped,
    })
}

/// The run so far: one summary over all inputs, and where the next input's flow ids start.
#[derive(Default)]
pub(super) struct RunTotals {
    pub flow_offset: u64,
    outcome: FilesOutcome,
    summary: Summary,
    span: Option<(Timestamp, Timestamp)>,
}

impl RunTotals {
    /// Adds one input's result; true if the run should stop there.
    pub(super) fn add(&mut self, result: InputResult) -> bool {
        match result {
            Err(failure) => {
                self.outcome.failures.push(failure);
                false
            }
            Ok(totals) => {
                self.outcome.analysed += 1;
                self.summary.absorb(&totals.summary);
                self.flow_offset += totals.flow_ids;
                self.span = match (self.span, totals.span) {
                    (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                    (one, other) => one.or(other),
                };
                totals.stopped
            }
        }
    }

    /// The closing `summary` event (when any input was read) and the outcome.
    pub(super) fn finish<F: FnMut(Event)>(mut self, out: &mut F) -> FilesOutcome {
        if self.outcome.analysed > 0 {
            self.summary.duration = self
                .span
                .map_or(0.0, |(first, last)| last.saturating_sub(first) as f64 / 1e6);
            out(Event::Summary(self.summary));
        }
        self.outcome
    }
}

pub(super) fn feed<F: FnMut(Event)>(
    engine: &mut Engine,
    filter: Option<&mut PacketFilter>,
    name: &str,
    item: SourceItem<'_>,
    out: &mut F,
) {
    match item {
        SourceItem::Packet(p) => {
            if filter.is_none_or(|f| f.matches(&p)) {
                engine.packet(&p, out);
            }
        }
        SourceItem::Secrets { secrets_type, data } => {
            if secrets_type == SECRETS_TLS_KEY_LOG {
                // Unreadable lines inside a capture are skipped; the rest is used.
                let _ = engine.add_secrets(data);
            }
        }
        SourceItem::Damage { detail, .. } => engine.damaged_input(name, &detail, out),
    }
}
