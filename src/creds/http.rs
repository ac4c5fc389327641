//! Credentials in an HTTP request (1.x or 2): authorization headers, cookies, the query string,
//! and form, multipart and JSON bodies. One code path for every HTTP version.

use super::fields::{self, credential_from_fields};
use super::ntlm::parse_authenticate;
use super::{decode_base64, CredentialKind, Found};

/// What the credential detectors need of a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub target: &'a str,
    pub headers: &'a [(String, String)],
    /// The body as far as it was kept (bodies are bounded).
    pub body: &'a [u8],
}

/// Cookie names that hold a session (and so log whoever holds them in).
pub fn is_session_cookie(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    // The contract's words: a name that contains one of them is session-like. They cover the
    // well-known ones too (PHPSESSID, JSESSIONID, connect.sid, ASP.NET_SessionId, .ASPXAUTH,
    // laravel_session, CFTOKEN), but for these:
    const PARTS: &[&str] = &["sess", "sid", "token", "auth", "jwt", "remember", "login"];
    const WELL_KNOWN: &[&str] = &["cfid"];
    const WELL_KNOWN_PREFIXES: &[&str] = &["wordpress_logged_in_", "wordpress_sec_"];
    PARTS.iter().any(|p| n.contains(p))
        || WELL_KNOWN.contains(&n.as_str())
        || WELL_KNOWN_PREFIXES.iter().any(|p| n.starts_with(p))
}

/// A cookie value that is a switch, not a secret (the contract's list): `0`, `1`, `no`, `yes`,
/// `true`, `false`, or empty (`remember_me=yes`, `login_ok=true`).
pub fn is_flag(value: &str) -> bool {
    const FLAGS: &[&str] = &["0", "1", "no", "yes", "true", "false", ""];
    FLAGS.iter().any(|f| value.trim().eq_ignore_ascii_case(f))
}

/// Every credential the request carries, at most one per header or body.
pub fn from_request(req: &RequestView<'_>) -> Vec<Found> {
    let mut found = Vec::new();
    let mut content_type = "";
    for (name, value) in req.headers {
        if name.eq_ignore_ascii_case("content-type") {
            content_type = value;
        } else if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            found.extend(authorization(value, &format!("header {}", canonical(name))));
        } else if name.eq_ignore_ascii_case("cookie") {
            found.extend(cookies(value));
        }
    }
    if let Some((_, query)) = req.target.split_once('?') {
        let query = query.split('#').next().unwrap_or(query);
        found.extend(credential_from_fields(
            fields::urlencoded(query.as_bytes()),
            CredentialKind::HttpQuery,
            "query field",
        ));
    }
    found.extend(body(content_type, req.body));
    found
}

fn canonical(name: &str) -> &'static str {
    if name.eq_ignore_ascii_case("proxy-authorization") {
        "Proxy-Authorization"
    } else {
        "Authorization"
    }
}

/// `Authorization` / `Proxy-Authorization`: Basic, Digest, NTLM (or Negotiate carrying NTLM), Bearer.
pub fn authorization(value: &str, location: &str) -> Option<Found> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    let rest = rest.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            let decoded = decode_base64(rest)?;
            let text = String::from_utf8_lossy(&decoded);
            let (user, pass) = text.split_once(':')?;
            Some(Found::new(
                CredentialKind::HttpBasic,
                Some(user.to_string()),
                pass.to_string(),
                location,
            ))
        }
        "digest" => {
            let user = fields::param(rest, "username");
            let response = fields::param(rest, "response")?;
            Some(Found::new(
                CredentialKind::HttpDigest,
                user,
                response,
                location,
            ))
        }
        "ntlm" | "negotiate" => {
            let auth = parse_authenticate(&decode_base64(rest)?)?;
            let user = if auth.domain.is_empty() {
                auth.user
            } else {
                format!("{}\\{}", auth.domain, auth.user)
            };
            Some(Found::new(
                CredentialKind::HttpNtlm,
                Some(user),
                auth.nt_response_hex,
                location,
            ))
        }
        "bearer" if !rest.is_empty() => Some(Found::new(
            CredentialKind::HttpBearer,
            None,
            rest.to_string(),
            location,
        )),
        _ => None,
    }
}

/// Session cookies of a `Cookie` header, one credential each.
fn cookies(value: &str) -> Vec<Found> {
    value
        .split(';')
        .filter_map(|pair| {
            let (name, val) = pair.trim().split_once('=')?;
            let val = val.trim().trim_matches('"');
            (is_session_cookie(name.trim()) && !is_flag(val)).then(|| {
                Found::new(
                    CredentialKind::HttpCookie,
                    Some(name.trim().to_string()),
                    val.to_string(),
                    "header Cookie",
                )
            })
        })
        .collect()
}

fn body(content_type: &str, body: &[u8]) -> Option<Found> {
    if body.is_empty() {
        return None;
    }
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        let boundary = fields::param(content_type, "boundary")?;
        return credential_from_fields(
            fields::multipart(body, &boundary),
            CredentialKind::HttpForm,
            "form field",
        );
    }
    let looks_json = ct.contains("json")
        || (ct.is_empty() && body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
    if looks_json {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        return credential_from_fields(
            fields::json_fields(&value),
            CredentialKind::HttpJson,
            "json field",
        );
    }
    if ct.starts_with("application/x-www-form-urlencoded") || ct.is_empty() {
        return credential_from_fields(
            fields::urlencoded(body),
            CredentialKind::HttpForm,
            "form field",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(
        target: &'a str,
        headers: &'a [(String, String)],
        body: &'a [u8],
    ) -> RequestView<'a> {
        RequestView {
            target,
            headers,
            body,
        }
    }

    fn h(name: &str, value: &str) -> (String, String) {
        (name.to_string(), value.to_string())
    }

    #[test]
    fn basic_and_proxy_basic() {
        let headers = [
            h("Authorization", "Basic YWxpY2U6V29uZGVybGFuZC00Mg=="),
            h("Proxy-Authorization", "basic Ym9iOlByMHh5LVBhc3M"),
        ];
        let found = from_request(&req("/", &headers, b""));
        assert_eq!(
            found,
            [
                Found::new(
                    CredentialKind::HttpBasic,
                    Some("alice".into()),
                    "Wonderland-42".into(),
                    "header Authorization"
                ),
                Found::new(
                    CredentialKind::HttpBasic,
                    Some("bob".into()),
                    "Pr0xy-Pass".into(),
                    "header Proxy-Authorization"
                ),
            ]
        );
    }

    #[test]
    fn digest_bearer_cookie_query() {
        let headers = [
            h(
                "authorization",
                r#"Digest username="carol", realm="lab", nonce="n", uri="/d", response="6629fae49393a05397450978507c4ef1", qop=auth"#,
            ),
            h("Cookie", "PHPSESSID=9f8e7d6c5b4a; theme=dark; lang=en"),
        ];
        let found = from_request(&req(
            "/login?user=ivan&pass=Qu3ry-Str1ng#top",
            &headers,
            b"",
        ));
        assert_eq!(
            found,
            [
                Found::new(
                    CredentialKind::HttpDigest,
                    Some("carol".into()),
                    "6629fae49393a05397450978507c4ef1".into(),
                    "header Authorization"
                ),
                Found::new(
                    CredentialKind::HttpCookie,
                    Some("PHPSESSID".into()),
                    "9f8e7d6c5b4a".into(),
                    "header Cookie"
                ),
                Found::new(
                    CredentialKind::HttpQuery,
                    Some("ivan".into()),
                    "Qu3ry-Str1ng".into(),
                    "query field pass"
                ),
            ]
        );
        let bearer = [h("Authorization", "Bearer abc.def.ghi")];
        assert_eq!(
            from_request(&req("/", &bearer, b""))[0].secret,
            "abc.def.ghi"
        );
    }

    #[test]
    fn bodies() {
        let form = [h("Content-Type", "application/x-www-form-urlencoded")];
        let f = from_request(&req(
            "/login",
            &form,
            b"username=frank&password=S3cret%21+pass&remember=1",
        ));
        assert_eq!(
            f,
            [Found::new(
                CredentialKind::HttpForm,
                Some("frank".into()),
                "S3cret! pass".into(),
                "form field password"
            )]
        );
        let json = [h("Content-Type", "application/json")];
        let j = from_request(&req(
            "/api",
            &json,
            br#"{"auth":{"login":"heidi","pwd":"Js0n-Nested"},"stay":true}"#,
        ));
        assert_eq!(
            j,
            [Found::new(
                CredentialKind::HttpJson,
                Some("heidi".into()),
                "Js0n-Nested".into(),
                "json field auth.pwd"
            )]
        );
    }

    #[test]
    fn no_false_positives() {
        let form = [h("Content-Type", "application/x-www-form-urlencoded")];
        assert!(from_request(&req("/search", &form, b"q=password+reset&lang=en")).is_empty());
        let html = [h("Content-Type", "text/html")];
        assert!(from_request(&req(
            "/",
            &html,
            b"<input type=password name=password value=x>"
        ))
        .is_empty());
        let cookies = [h("Cookie", "theme=dark; lang=en")];
        assert!(from_request(&req("/?page=2", &cookies, b"")).is_empty());
        let weird = [
            h("Authorization", "Basic !!!"),
            h("Authorization", "NTLM AAAA"),
            h("Authorization", "Bearer"),
        ];
        assert!(from_request(&req("/", &weird, b"")).is_empty());
    }

    #[test]
    fn session_cookies_by_the_words_in_their_names_and_flags_are_not_secrets() {
        let names: Vec<String> = cookies(
            "remember_me=yes; user_session=5f2b; theme=dark; sessionid=0; PHPSESSID=q8v3; \
             login_ok=TRUE; csrftoken=abc; XSIDX=1a2b; Authorization_hint=x; my_jwt=e.y.z; \
             CFID=77; wordpress_logged_in_1f2e=admin%7C17; lang=; remember=\"\"; userid=42",
        )
        .into_iter()
        .map(|f| f.username.unwrap_or_default())
        .collect();
        assert_eq!(
            names,
            [
                "user_session",
                "PHPSESSID",
                "csrftoken",
                "XSIDX",
                "Authorization_hint",
                "my_jwt",
                "CFID",
                "wordpress_logged_in_1f2e"
            ]
        );
    }
}
