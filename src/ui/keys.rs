//! The key bindings: one table that both the key handler ([`App::key`](super::app::App::key))
//! and the help screen read, so the help cannot say one thing while a key does another.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    NextPane,
    PreviousPane,
    Explain,
    /// Close the explanation and clear the filter.
    Back,
    Filter,
    Pause,
    /// One event while paused.
    Step,
    Faster,
    Slower,
    Redact,
    Theme,
    Help,
    /// The wire view of the selected flow.
    OpenWire,
    /// The certificate pane of the selected flow.
    OpenCertificate,
    /// Text or hex in the wire view.
    Hex,
    NextSecret,
    PreviousSecret,
    /// The demo's acts.
    NextAct,
    PreviousAct,
    Autoplay,
}

/// One line of the table: the keys, how the help writes them, and what they do.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [KeyCode],
    /// The keys as the help screen shows them. Empty for the second of a pair (Up after Down)
    /// that the help writes on one line with the first.
    pub label: &'static str,
    pub command: Command,
    /// What the help screen says the keys do.
    pub help: &'static str,
}

/// Every key the main screen answers to, in the order the help lists them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[KeyCode::Down, KeyCode::Char('j')],
        label: "↑ ↓ j k",
        command: Command::Down,
        help: "move in the focused pane",
    },
    Binding {
        keys: &[KeyCode::Up, KeyCode::Char('k')],
        label: "",
        command: Command::Up,
        help: "",
    },
    Binding {
        keys: &[KeyCode::PageDown],
        label: "PgUp PgDn",
        command: Command::PageDown,
        help: "a page up / down",
    },
    Binding {
        keys: &[KeyCode::PageUp],
        label: "",
        command: Command::PageUp,
        help: "",
    },
    Binding {
        keys: &[KeyCode::Home, KeyCode::Char('g')],
        label: "g G",
        command: Command::Top,
        help: "first / last line (Home, End)",
    },
    Binding {
        keys: &[KeyCode::End, KeyCode::Char('G')],
        label: "",
        command: Command::Bottom,
        help: "",
    },
    Binding {
        keys: &[KeyCode::Tab],
        label: "Tab ⇧Tab",
        command: Command::NextPane,
        help: "cycle panes: flows, detail, leaks, findings",
    },
    Binding {
        keys: &[KeyCode::BackTab],
        label: "",
        command: Command::PreviousPane,
        help: "",
    },
    Binding {
        keys: &[KeyCode::Enter],
        label: "Enter",
        command: Command::Explain,
        help: "explain the selected leak or finding",
    },
    Binding {
        keys: &[KeyCode::Char('/')],
        label: "/",
        command: Command::Filter,
        help: "filter flows (Enter or Esc keeps it)",
    },
    Binding {
        keys: &[KeyCode::Esc],
        label: "Esc",
        command: Command::Back,
        help: "close a view or the explanation, clear filter",
    },
    Binding {
        keys: &[KeyCode::Char('f')],
        label: "f",
        command: Command::OpenWire,
        help: "the bytes on the wire (Esc closes)",
    },
    Binding {
        keys: &[KeyCode::Char('c')],
        label: "c",
        command: Command::OpenCertificate,
        help: "who vouches for the server: its certificates",
    },
    Binding {
        keys: &[KeyCode::Char('x')],
        label: "x",
        command: Command::Hex,
        help: "wire view: text or hex dump",
    },
    Binding {
        keys: &[KeyCode::Char('n')],
        label: "n N",
        command: Command::NextSecret,
        help: "wire view: next / previous secret",
    },
    Binding {
        keys: &[KeyCode::Char('N')],
        label: "",
        command: Command::PreviousSecret,
        help: "",
    },
    Binding {
        keys: &[KeyCode::Right],
        label: "→ ←",
        command: Command::NextAct,
        help: "demo: next / previous act",
    },
    Binding {
        keys: &[KeyCode::Left],
        label: "",
        command: Command::PreviousAct,
        help: "",
    },
    Binding {
        keys: &[KeyCode::Char('a')],
        label: "a",
        command: Command::Autoplay,
        help: "demo: play the acts through",
    },
    Binding {
        keys: &[KeyCode::Char('p')],
        label: "p",
        command: Command::Pause,
        help: "pause / go on",
    },
    Binding {
        keys: &[KeyCode::Char(' ')],
        label: "space",
        command: Command::Step,
        help: "one event while paused (demo: next act)",
    },
    Binding {
        keys: &[KeyCode::Char('+'), KeyCode::Char('=')],
        label: "+ -",
        command: Command::Faster,
        help: "replay faster / slower",
    },
    Binding {
        keys: &[KeyCode::Char('-'), KeyCode::Char('_')],
        label: "",
        command: Command::Slower,
        help: "",
    },
    Binding {
        keys: &[KeyCode::Char('r')],
        label: "r",
        command: Command::Redact,
        help: "redact secrets (first and last character)",
    },
    Binding {
        keys: &[KeyCode::Char('t')],
        label: "t",
        command: Command::Theme,
        help: "light / dark background",
    },
    Binding {
        keys: &[KeyCode::Char('?')],
        label: "?",
        command: Command::Help,
        help: "this help (any key closes it)",
    },
    Binding {
        keys: &[KeyCode::Char('q')],
        label: "q Ctrl-C",
        command: Command::Quit,
        help: "quit",
    },
];

/// The command a key stands for on the main screen, if any (Ctrl-C: quit).
pub fn command_for(key: KeyEvent) -> Option<Command> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Command::Quit);
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No key does two things, and every command has a key.
    #[test]
    fn one_command_per_key() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(seen.insert(*k), "{k:?} is bound twice");
            }
            assert_eq!(
                command_for(KeyEvent::new(b.keys[0], KeyModifiers::NONE)),
                Some(b.command)
            );
        }
        assert_eq!(
            command_for(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
    }
}
