//! The guided demo: a lesson in acts. Each act has a title, two or three sentences of narration,
//! and the flow it is about; the UI selects that flow and opens the wire view at its secret. The
//! demo waits for the teacher (space or → for the next act, ← for the previous) or plays itself
//! through (`a`).

use std::time::Duration;

use super::app::FlowView;
use crate::creds::CredentialKind;
use crate::event::Protocol;

/// How long an act stays on screen when the demo plays itself through.
pub const AUTOPLAY_ACT: Duration = Duration::from_secs(10);

/// Which flow an act is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The first flow that leaked a credential of this kind.
    Leaked(CredentialKind),
    /// The first TLS flow.
    Tls,
}

impl Pick {
    pub fn matches(self, flow: &FlowView) -> bool {
        match self {
            Pick::Leaked(kind) => flow.credentials.iter().any(|c| c.kind == kind),
            Pick::Tls => flow.protocol_guess() == Some(Protocol::Tls),
        }
    }
}

/// One act of the lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Act {
    /// Begins with `Act N`.
    pub title: &'static str,
    pub narration: &'static str,
    pub pick: Pick,
    /// The wire view as an eavesdropper without the keys sees it, even where keys exist.
    pub hide_keys: bool,
}

impl Act {
    /// Whether the act's flow has come (and ended) yet.
    pub fn pick_seen(&self, app: &super::app::App) -> bool {
        app.flows.iter().any(|f| !f.open && self.pick.matches(f))
    }
}

/// A lesson: its acts and where the class is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lesson {
    pub acts: Vec<Act>,
    pub current: usize,
    /// Playing itself through.
    pub autoplay: bool,
    /// Time spent on the current act while autoplaying.
    pub elapsed: Duration,
}

const FORM: Act = Act {
    title: "Act 1 — A login form over plain HTTP",
    narration: "This is the request the browser sent when someone pressed \"Log in\", byte for byte, as it crossed the network. The user name and password travel in the form body, readable by the Wi-Fi access point, every router on the way, and anyone on the same network.",
    pick: Pick::Leaked(CredentialKind::HttpForm),
    hide_keys: false,
};

const BASIC: Act = Act {
    title: "Act 2 — HTTP Basic: base64 is not encryption",
    narration: "The password hides in the Authorization header as base64. That is an encoding, not a secret: anyone decodes it in one step, as plainsight does beside it.",
    pick: Pick::Leaked(CredentialKind::HttpBasic),
    hide_keys: false,
};

const FTP: Act = Act {
    title: "Act 3 — FTP: the password is a command",
    narration: "Old protocols send the login as plain commands: USER, then PASS. Mail works the same way (POP3, IMAP, SMTP) unless the server insists on TLS first.",
    pick: Pick::Leaked(CredentialKind::Ftp),
    hide_keys: false,
};

const TELNET: Act = Act {
    title: "Act 4 — Telnet: one key per packet",
    narration: "Telnet sends every key as it is pressed, one packet each. Put back together, the packets spell the password. SSH replaced telnet because of this.",
    pick: Pick::Leaked(CredentialKind::Telnet),
    hide_keys: false,
};

const HTTPS: Act = Act {
    title: "Act 5 — The same login over HTTPS",
    narration: "Now the lab's login goes over HTTPS. The eavesdropper sees only opaque records. Still visible: the server name in the ClientHello, the certificate (in TLS 1.2), the sizes and times of every record.",
    pick: Pick::Tls,
    hide_keys: true,
};

const KEYS: Act = Act {
    title: "Act 6 — With the session keys, HTTPS opens",
    narration: "The same flow, with the key log the server wrote: every record decrypts and the password is back. A key log (SSLKEYLOGFILE) is a secret: whoever holds it reads the traffic.",
    pick: Pick::Tls,
    hide_keys: false,
};

impl Lesson {
    fn of(acts: Vec<Act>) -> Lesson {
        Lesson {
            acts,
            current: 0,
            autoplay: false,
            elapsed: Duration::ZERO,
        }
    }

    /// `plainsight demo`: the built-in captures, act by act.
    pub fn classroom() -> Lesson {
        Lesson::of(vec![FORM, BASIC, FTP, TELNET, HTTPS, KEYS])
    }

    /// `plainsight demo --live`: the scripted logins, over HTTP then HTTPS.
    pub fn live() -> Lesson {
        let https = Act {
            title: "Act 2 — The same login over HTTPS",
            ..HTTPS
        };
        let keys = Act {
            title: "Act 3 — With the session keys, HTTPS opens",
            ..KEYS
        };
        Lesson::of(vec![FORM, https, keys])
    }

    /// Whether the lesson has come to the act that opens HTTPS with its keys: before it, what
    /// only the keys give (decrypted passwords) is not shown.
    pub fn keys_shown(&self) -> bool {
        self.acts
            .iter()
            .take(self.current + 1)
            .any(|a| a.pick == Pick::Tls && !a.hide_keys)
    }

    pub fn act(&self) -> Option<&Act> {
        self.acts.get(self.current)
    }

    /// Moves to the next act; false at the last one.
    pub fn next_act(&mut self) -> bool {
        self.elapsed = Duration::ZERO;
        if self.current + 1 < self.acts.len() {
            self.current += 1;
            true
        } else {
            self.autoplay = false;
            false
        }
    }

    pub fn previous_act(&mut self) {
        self.elapsed = Duration::ZERO;
        self.current = self.current.saturating_sub(1);
    }

    /// Time passes; true when autoplay moves on to the next act.
    pub fn tick(&mut self, passed: Duration) -> bool {
        if !self.autoplay {
            return false;
        }
        self.elapsed += passed;
        self.elapsed >= AUTOPLAY_ACT && self.next_act()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_are_numbered_in_order_and_autoplay_stops_at_the_end() {
        for lesson in [Lesson::classroom(), Lesson::live()] {
            for (i, act) in lesson.acts.iter().enumerate() {
                assert!(
                    act.title.starts_with(&format!("Act {} ", i + 1)),
                    "{}",
                    act.title
                );
            }
        }
        let mut l = Lesson::live();
        l.autoplay = true;
        assert!(!l.tick(Duration::from_secs(3)));
        assert!(l.tick(AUTOPLAY_ACT));
        assert_eq!(l.current, 1);
        assert!(l.tick(AUTOPLAY_ACT));
        assert!(!l.tick(AUTOPLAY_ACT), "no act after the last");
        assert!(!l.autoplay);
        l.previous_act();
        assert_eq!(l.current, 1);
    }
}
