//! Which field names hold a password and which a user name, and reading fields out of
//! urlencoded text, multipart bodies and JSON.

use super::{CredentialKind, Found};

/// Splits a field name into lower-case words: `user[password]`, `userPassword`, `pass_word`.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A field whose value is a password: password, passwd, pwd, pass, pw, passcode, secret…
pub fn is_password_field(name: &str) -> bool {
    let w = words(name);
    w.iter().any(|w| {
        w.starts_with("pass")
            || matches!(
                w.as_str(),
                "pwd"
                    | "pw"
                    | "passwd"
                    | "secret"
                    | "pin"
                    | "pword"
                    | "kennwort"
                    | "mdp"
                    | "contrasena"
                    | "senha"
            )
            || w.ends_with("password")
            || w.ends_with("passwd")
            || w.ends_with("pwd")
    }) && !w.iter().any(|w| {
        matches!(
            w.as_str(),
            "reset" | "forgot" | "hint" | "strength" | "policy"
        )
    })
}

/// A field whose value names the account: user, username, login, email, uid…
pub fn is_user_field(name: &str) -> bool {
    let w = words(name);
    w.iter().any(|w| {
        matches!(
            w.as_str(),
            "user"
                | "username"
                | "usr"
                | "login"
                | "email"
                | "mail"
                | "uid"
                | "userid"
                | "account"
                | "acct"
                | "uname"
                | "nick"
                | "nickname"
                | "principal"
                | "identifier"
                | "loginname"
        ) || w.starts_with("user")
    }) && !is_password_field(name)
}

/// Picks the credential out of (name, value) fields: one per message, only when a password-like
/// field is there (a user name alone is not a credential).
pub fn credential_from_fields(
    fields: impl IntoIterator<Item = (String, String)>,
    kind: CredentialKind,
    location_prefix: &str,
) -> Option<Found> {
    let mut user: Option<String> = None;
    let mut password: Option<(String, String)> = None;
    for (name, value) in fields {
        if password.is_none() && is_password_field(&name) && !value.is_empty() {
            password = Some((name, value));
        } else if user.is_none() && is_user_field(&name) && !value.is_empty() {
            user = Some(value);
        }
    }
    let (name, secret) = password?;
    Some(Found::new(
        kind,
        user,
        secret,
        format!("{location_prefix} {name}"),
    ))
}

/// `a=1&b=2` with `+` and percent-escapes decoded.
pub fn urlencoded(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The text fields of a multipart/form-data body (files are skipped).
pub fn multipart(body: &[u8], boundary: &str) -> Vec<(String, String)> {
    // RFC 2046 boundaries are at most 70 characters; a longer one is not a real form.
    if boundary.is_empty() || boundary.len() > 70 {
        return Vec::new();
    }
    let delimiter = format!("--{boundary}");
    let delim = delimiter.as_bytes();
    let mut fields = Vec::new();
    let mut parts = split_on(body, delim).into_iter().skip(1);
    for part in parts.by_ref() {
        if part.starts_with(b"--") {
            break;
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(head_end) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..head_end]);
        let mut value = &part[head_end + 4..];
        value = value.strip_suffix(b"\r\n").unwrap_or(value);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or("");
        if param(disposition, "filename").is_some() {
            continue;
        }
        if let Some(name) = param(disposition, "name") {
            fields.push((name, String::from_utf8_lossy(value).into_owned()));
        }
    }
    fields
}

/// A `key="value"` or `key=value` parameter of a header value (case-insensitive key).
pub fn param(header: &str, key: &str) -> Option<String> {
    let mut rest = header;
    while let Some(eq) = rest.find('=') {
        let before = &rest[..eq];
        let k = before
            .rsplit(|c: char| c == ';' || c == ',' || c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim();
        let after = &rest[eq + 1..];
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            (out, &quoted[end.min(quoted.len())..])
        } else {
            let end = after.find([';', ',']).unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        if k.eq_ignore_ascii_case(key) {
            return Some(value);
        }
        rest = remaining;
    }
    None
}

/// JSON fields looked at, at most (a body of a million tiny fields is not a login).
const MAX_JSON_FIELDS: usize = 1024;
/// Longer field paths are not followed (their copies would cost more than the body).
const MAX_JSON_PATH: usize = 256;

/// The (path, scalar value) fields of a JSON document, through nested objects and arrays, bounded
/// in number and path length. Paths are dotted: `auth.pwd`.
pub fn json_fields(value: &serde_json::Value) -> Vec<(String, String)> {
    fn child_path(path: &str, key: &str) -> Option<String> {
        let p = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        (p.len() <= MAX_JSON_PATH).then_some(p)
    }
    fn walk(v: &serde_json::Value, path: &str, depth: usize, out: &mut Vec<(String, String)>) {
        if depth > 32 || out.len() >= MAX_JSON_FIELDS {
            return;
        }
        match v {
            serde_json::Value::Object(map) => {
                // Scalars of this object first, so a user and password side by side pair up.
                for (k, child) in map {
                    if out.len() >= MAX_JSON_FIELDS {
                        return;
                    }
                    let value = match child {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => n.to_string(),
                        _ => continue,
                    };
                    if let Some(p) = child_path(path, k) {
                        out.push((p, value));
                    }
                }
                for (k, child) in map {
                    if child.is_object() || child.is_array() {
                        if let Some(p) = child_path(path, k) {
                            walk(child, &p, depth + 1, out);
                        }
                    }
                }
            }
            serde_json::Value::Array(items) => {
                // Only containers inside arrays can hold named fields.
                for (i, child) in items
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.is_object() || c.is_array())
                {
                    if out.len() >= MAX_JSON_FIELDS {
                        return;
                    }
                    if let Some(p) = child_path(path, &format!("[{i}]")) {
                        walk(child, &p, depth + 1, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", 0, &mut out);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

fn split_on<'a>(hay: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = hay;
    while let Some(i) = find(rest, delim) {
        out.push(&rest[..i]);
        rest = &rest[i + delim.len()..];
    }
    out.push(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_and_user_names() {
        for p in [
            "password",
            "passwd",
            "pwd",
            "pass",
            "pw",
            "passcode",
            "secret",
            "user[password]",
            "userPassword",
            "login_pwd",
            "PASSWORD",
        ] {
            assert!(is_password_field(p), "{p}");
        }
        for n in [
            "username",
            "q",
            "compass",
            "lang",
            "password_reset",
            "passwordHint",
            "remember",
        ] {
            assert!(!is_password_field(n), "{n}");
        }
        for u in [
            "user",
            "username",
            "login",
            "email",
            "uid",
            "user_name",
            "userId",
        ] {
            assert!(is_user_field(u), "{u}");
        }
        assert!(!is_user_field("user_password"));
    }

    #[test]
    fn fields_need_a_password() {
        let f = credential_from_fields(
            urlencoded(b"username=frank&password=S3cret%21+pass"),
            CredentialKind::HttpForm,
            "form field",
        );
        assert_eq!(
            f,
            Some(Found::new(
                CredentialKind::HttpForm,
                Some("frank".into()),
                "S3cret! pass".into(),
                "form field password"
            ))
        );
        assert_eq!(
            credential_from_fields(
                urlencoded(b"username=frank&q=password"),
                CredentialKind::HttpForm,
                "form field"
            ),
            None
        );
    }

    #[test]
    fn multipart_text_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\ng@x.test\r\n--XyZ\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ\r\nContent-Disposition: form-data; name=\"passwd\"\r\n\r\nMulti-Part-9\r\n--XyZ--\r\n";
        assert_eq!(
            multipart(body, "XyZ"),
            [
                ("email".to_string(), "g@x.test".to_string()),
                ("passwd".to_string(), "Multi-Part-9".to_string())
            ]
        );
    }

    #[test]
    fn params() {
        let h = r#"Digest username="carol", realm="lab", response="abc", qop=auth, nc=00000001"#;
        assert_eq!(param(h, "username").as_deref(), Some("carol"));
        assert_eq!(param(h, "response").as_deref(), Some("abc"));
        assert_eq!(param(h, "qop").as_deref(), Some("auth"));
        assert_eq!(
            param(r#"form-data; name="a\"b""#, "name").as_deref(),
            Some("a\"b")
        );
        assert_eq!(
            param("multipart/form-data; boundary=----X", "boundary").as_deref(),
            Some("----X")
        );
    }

    #[test]
    fn nested_json() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"auth":{"login":"heidi","pwd":"Js0n-Nested"},"stay":true}"#)
                .unwrap();
        let fields: Vec<(String, String)> = json_fields(&v);
        assert_eq!(
            fields,
            [
                ("auth.login".to_string(), "heidi".to_string()),
                ("auth.pwd".to_string(), "Js0n-Nested".to_string())
            ]
        );
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn json_bombs_are_bounded() {
        let long_key = "k".repeat(500_000);
        let children: String = (0..50_000)
            .map(|i| format!("\"{i}\":1"))
            .collect::<Vec<_>>()
            .join(",");
        let doc = format!("{{\"{long_key}\":{{{children}}}}}");
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert!(
            json_fields(&v).is_empty(),
            "paths over the limit are not followed"
        );
        let wide: serde_json::Value = serde_json::from_str(&format!("{{{children}}}")).unwrap();
        assert_eq!(json_fields(&wide).len(), MAX_JSON_FIELDS);
        let array: serde_json::Value =
            serde_json::from_str(&format!("[{}]", vec!["1"; 100_000].join(","))).unwrap();
        assert!(json_fields(&array).is_empty());
    }
}
