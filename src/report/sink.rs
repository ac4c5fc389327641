//! Where a report's event stream goes: the text report or NDJSON on stdout, secrets masked when
//! asked.

use std::io;

use super::json::JsonWriter;
use super::text::TextReport;
use crate::event::Event;

/// The two shapes of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

enum Writer {
    Text(TextReport<io::BufWriter<io::Stdout>>),
    Json(JsonWriter<io::Stdout>),
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
    pub fn stdout(format: Format, live: bool, redact: bool) -> Sink {
        let writer = match format {
            Format::Json => {
                let mut w = JsonWriter::new(io::stdout());
                w.flush_each = live;
                Writer::Json(w)
            }
            Format::Text => Writer::Text(TextReport::new(io::BufWriter::new(io::stdout()))),
        };
        Sink {
            writer,
            live,
            redact,
        }
    }

    pub fn write(&mut self, event: &Event) {
        let redacted;
        let event = if self.redact {
            redacted = event.redacted();
            &redacted
        } else {
            event
        };
        match &mut self.writer {
            Writer::Text(t) => {
                t.write(event);
                if self.live {
                    t.flush();
                }
            }
            Writer::Json(j) => j.write(event),
        }
    }

    pub fn finish(&mut self) {
        match &mut self.writer {
            Writer::Text(t) => t.flush(),
            Writer::Json(j) => j.flush(),
        }
    }
}
