//! What plainsight says to a student about what it saw: why a credential leaked, what would have
//! stopped it, what HTTPS hides and what it still shows. The UI and the handout say the same
//! words.

use crate::creds::CredentialKind;
use crate::event::Protocol;

/// Why a credential seen on a flow of this protocol could be read.
pub fn why_leaked(protocol: Option<Protocol>) -> &'static str {
    match protocol {
        Some(Protocol::Tls) => "It was sent inside TLS, and the key log given to plainsight decrypted the session: anyone holding those keys (a browser's SSLKEYLOGFILE, a TLS-inspecting proxy) reads it like plain text.",
        Some(Protocol::Quic) => "It was sent over HTTP/3 inside QUIC, encrypted with TLS 1.3, and the key log given to plainsight decrypted the connection: anyone holding those keys (a browser's SSLKEYLOGFILE) reads it like plain text.",
        Some(Protocol::Http) => "It was sent over plain HTTP: every router, Wi-Fi access point and anyone on the same network can read the request as it passes, exactly as shown here.",
        _ => "This protocol sends its login in the clear: anyone on the path reads the user name and password as they are typed.",
    }
}

/// What would have kept a credential of this kind from leaking.
pub fn what_stops(kind: CredentialKind) -> &'static str {
    match kind.as_str() {
        "http-cookie" => "HTTPS hides it; the Secure flag keeps the browser from ever sending it over HTTP, and HSTS makes the browser refuse plain HTTP to the site altogether.",
        "http-basic" | "http-digest" | "http-ntlm" | "http-bearer" => "HTTPS would encrypt the Authorization header; HSTS would stop the browser from trying plain HTTP first.",
        "ftp" | "pop3" | "imap" | "smtp" => "Use the TLS version of the protocol (FTPS, POP3S, IMAPS, SMTP submission with STARTTLS required), or refuse logins until STARTTLS.",
        "telnet" => "Use SSH: it encrypts the whole session, keystrokes included.",
        _ => "HTTPS would encrypt the request, and HSTS would keep the browser from ever sending it over plain HTTP.",
    }
}

/// What TLS hides.
pub const TLS_HIDES: &str = "The content — URLs, headers, forms, passwords, cookies — is encrypted: an eavesdropper sees only opaque records.";

/// What TLS still shows, for a connection that sent this server name.
pub fn tls_still_shows(sni: Option<&str>) -> String {
    format!(
        "Still visible: the server name ({}), the certificate in TLS 1.2 and older, the sizes and timing of every record, and the DNS lookup that came before.",
        sni.unwrap_or("none sent")
    )
}

/// Why QUIC's first packet is readable without keys.
pub const QUIC_INITIAL: &str = "QUIC's first packet (the Initial) is only obfuscated: its keys come from a connection ID sent in the clear, so anyone on the path can open it and read the server name. Everything after it is encrypted.";

/// What a key log changes.
pub const KEYS_OPEN: &str = "With the session keys (a key log), all of it becomes readable again.";
