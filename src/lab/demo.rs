//! The classroom demo's captures, built into the binary (no root, no network): logins in the
//! clear, then the lab's login over HTTP and over HTTPS with the session keys, which the lesson
//! shows first as an eavesdropper without them sees it, then opened. Each flow appears once.

use crate::capture::Input;

const LAB_CAPTURE: &[u8] = include_bytes!("../../captures/lab-login.pcap");
const LAB_KEYS: &str = include_str!("../../captures/lab-login.keys");

/// The demo's inputs, in the order the story is told.
pub fn inputs() -> Vec<Input> {
    vec![
        Input::Embedded {
            name: "act 1: a login form over HTTP",
            data: include_bytes!("../../captures/http-forms.pcap"),
            keylog: None,
        },
        Input::Embedded {
            name: "act 2: HTTP Basic",
            data: include_bytes!("../../captures/http-basic.pcap"),
            keylog: None,
        },
        Input::Embedded {
            name: "act 3: FTP",
            data: include_bytes!("../../captures/ftp.pcap"),
            keylog: None,
        },
        Input::Embedded {
            name: "act 4: telnet, a key per packet",
            data: include_bytes!("../../captures/telnet.pcap"),
            keylog: None,
        },
        Input::Embedded {
            name: "acts 5 and 6: the lab's login over HTTP, then over HTTPS, with its keys",
            data: LAB_CAPTURE,
            keylog: Some(LAB_KEYS),
        },
    ]
}
