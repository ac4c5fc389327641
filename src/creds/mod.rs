//! Credential extraction: pure functions from what a protocol parser saw (an HTTP request, a
//! command line) to the secrets it carries. No I/O, no state beyond what is passed in.

pub mod fields;
pub mod http;
pub mod ntlm;

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::Serialize;

/// The fixed vocabulary of credential kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum CredentialKind {
    #[serde(rename = "http-basic")]
    HttpBasic,
    #[serde(rename = "http-digest")]
    HttpDigest,
    #[serde(rename = "http-ntlm")]
    HttpNtlm,
    #[serde(rename = "http-bearer")]
    HttpBearer,
    #[serde(rename = "http-form")]
    HttpForm,
    #[serde(rename = "http-json")]
    HttpJson,
    #[serde(rename = "http-query")]
    HttpQuery,
    #[serde(rename = "http-cookie")]
    HttpCookie,
    #[serde(rename = "ftp")]
    Ftp,
    #[serde(rename = "pop3")]
    Pop3,
    #[serde(rename = "imap")]
    Imap,
    #[serde(rename = "smtp")]
    Smtp,
    #[serde(rename = "telnet")]
    Telnet,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::HttpBasic => "http-basic",
            CredentialKind::HttpDigest => "http-digest",
            CredentialKind::HttpNtlm => "http-ntlm",
            CredentialKind::HttpBearer => "http-bearer",
            CredentialKind::HttpForm => "http-form",
            CredentialKind::HttpJson => "http-json",
            CredentialKind::HttpQuery => "http-query",
            CredentialKind::HttpCookie => "http-cookie",
            CredentialKind::Ftp => "ftp",
            CredentialKind::Pop3 => "pop3",
            CredentialKind::Imap => "imap",
            CredentialKind::Smtp => "smtp",
            CredentialKind::Telnet => "telnet",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A credential found by a parser, before the engine adds the flow, time and endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: CredentialKind,
    pub username: Option<String>,
    pub secret: String,
    /// Where in the message it was: `header Authorization`, `form field pwd`, `command PASS`…
    pub location: String,
}

impl Found {
    pub fn new(
        kind: CredentialKind,
        username: Option<String>,
        secret: String,
        location: impl Into<String>,
    ) -> Found {
        Found {
            kind,
            username,
            secret,
            location: location.into(),
        }
    }
}

/// Base64 as clients send it: standard alphabet, padding optional.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(text.trim()).ok()
}

/// SASL PLAIN (RFC 4616): `authzid NUL authcid NUL password` → (authcid, password).
pub fn sasl_plain(decoded: &[u8]) -> Option<(String, String)> {
    let mut parts = decoded.split(|b| *b == 0);
    let _authzid = parts.next()?;
    let user = parts.next()?;
    let pass = parts.next()?;
    Some((
        String::from_utf8_lossy(user).into_owned(),
        String::from_utf8_lossy(pass).into_owned(),
    ))
}

/// Masks a secret for a projector: first and last character kept, the rest as `*`.
pub fn redact(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 | 2 => "*".repeat(chars.len()),
        n => {
            let mut s = String::with_capacity(n);
            s.push(chars[0]);
            s.extend(std::iter::repeat_n('*', n - 2));
            s.push(chars[n - 1]);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_first_and_last() {
        assert_eq!(redact("hunter2"), "h*****2");
        assert_eq!(redact("ab"), "**");
        assert_eq!(redact("é€x"), "é*x");
        assert_eq!(redact(""), "");
    }

    #[test]
    fn sasl_plain_and_lenient_base64() {
        let d = decode_base64("AG9zY2FyAFBsYWluLUF1dGgtNA").unwrap();
        assert_eq!(
            sasl_plain(&d),
            Some(("oscar".into(), "Plain-Auth-4".into()))
        );
        assert_eq!(decode_base64("not base64!"), None);
        assert_eq!(sasl_plain(b"only-one-part"), None);
    }
}
