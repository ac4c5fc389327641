//! Where a report's event stream goes: the text report, NDJSON or the handout page on stdout,
//! secrets masked when asked.

use std::io;

use super::html::{HtmlOptions, HtmlReport};
use super::json::JsonWriter;
use super::text::TextReport;
use crate::event::Event;

/// The shapes of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    /// The handout page (`--html`); with `reveal`, secrets shown whole. `memcap`: the run's
    /// `--memcap`, which the page's own holdings stay within a share of.
    Html {
        reveal: bool,
        memcap: usize,
    },
}

/// The text and HTML writers are boxed: each is several hundred bytes (the handout holds the
/// whole story until the end), the JSON writer a few words.
enum Writer {
    Text(Box<TextReport<io::BufWriter<io::Stdout>>>),
    Json(JsonWriter<io::Stdout>),
    Html(Box<HtmlReport<io::BufWriter<io::Stdout>>>),
}

/// The event stream on stdout, in one format.
pub struct Sink {
    writer: Writer,
    /// Live captures: each event is shown at once.
    live: bool,
    /// `--redact`: secrets masked in every event.
    redact: bool,
}

impl Sink {
    /// `title` names the inputs (the handout's title).
    pub fn stdout(format: Format, live: bool, redact: bool, title: &str) -> Sink {
        let writer = match format {
            Format::Html { reveal, memcap } => Writer::Html(Box::new(HtmlReport::new(
                io::BufWriter::new(io::stdout()),
                HtmlOptions {
                    title: title.to_string(),
                    reveal: reveal && !redact,
                    memcap,
                },
            ))),
            Format::Json => {
                let mut w = JsonWriter::new(io::stdout());
                w.flush_each = live;
                Writer::Json(w)
            }
            Format::Text => {
                Writer::Text(Box::new(TextReport::new(io::BufWriter::new(io::stdout()))))
            }
        };
        Sink {
            writer,
            live,
            redact,
        }
    }

    pub fn write(&mut self, event: Event) {
        // The handout masks secrets itself, after finding them in the bytes.
        if let Writer::Html(h) = &mut self.writer {
            h.write(event);
            return;
        }
        let event = if self.redact { event.redacted() } else { event };
        let event = &event;
        match &mut self.writer {
            Writer::Text(t) => {
                t.write(event);
                if self.live {
                    t.flush();
                }
            }
            Writer::Json(j) => j.write(event),
            Writer::Html(_) => {}
        }
    }

    pub fn finish(&mut self) {
        match &mut self.writer {
            Writer::Text(t) => t.flush(),
            Writer::Json(j) => j.flush(),
            Writer::Html(h) => {
                if let Err(e) = h.finish() {
                    eprintln!("plainsight: cannot write the page: {e}");
                }
            }
        }
    }
}
