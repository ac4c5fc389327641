//! Showing the event stream without the UI: NDJSON ([`json`]), a readable text report
//! ([`text`]) and the handout page ([`html`]), written to stdout by a [`sink`]; [`command`] runs
//! the `report` command. All consume the same [`Event`](crate::event::Event)s as the UI.

pub mod command;
pub mod html;
pub mod json;
pub mod sink;
pub mod text;

pub use crate::base::printable;

/// Formats a byte count for people: `1.5 KiB`, `12 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_strips_escapes() {
        assert_eq!(super::printable("plain"), "plain");
        assert_eq!(
            super::printable("a\x1b]0;pwned\x07b\r"),
            "a\u{fffd}]0;pwned\u{fffd}b\u{fffd}"
        );
    }

    #[test]
    fn human_bytes() {
        assert_eq!(super::human_bytes(12), "12 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(3 << 20), "3.0 MiB");
    }
}
