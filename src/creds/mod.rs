//! Credential extraction: pure functions from what a protocol parser saw (an HTTP request, a
//! command line) to the secrets it carries. No I/O, no state beyond what is passed in.

pub mod fields;
pub mod http;
pub mod ntlm;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

crate::base::wire_names! {
    /// The fixed vocabulary of credential kinds.
    pub enum CredentialKind {
        HttpBasic = "http-basic",
        HttpDigest = "http-digest",
        HttpNtlm = "http-ntlm",
        HttpBearer = "http-bearer",
        HttpForm = "http-form",
        HttpJson = "http-json",
        HttpQuery = "http-query",
        HttpCookie = "http-cookie",
        Ftp = "ftp",
        Pop3 = "pop3",
        Imap = "imap",
        Smtp = "smtp",
        Telnet = "telnet",
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

/// A secret as shown: masked with [`redact`] when `redact` is on, else as it is.
pub fn shown(secret: &str, redact: bool) -> String {
    if redact {
        self::redact(secret)
    } else {
        secret.to_string()
    }
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
