//! The lab's mistakes mode (`lab --mistakes`): the classic ways sites get HTTPS wrong, one per
//! port, so a class sees each finding appear. Every port makes exactly its one mistake: the
//! HTTPS ones use the lab CA's certificate and send HSTS unless HSTS is the mistake, and only
//! the cookie ports set a cookie. TLS 1.0, RC4 and RSA key exchange are mistakes too, but
//! rustls will not make them (see `captures/tls10-3des.pcap`, made with openssl s_server).

use crate::event::FindingKind;

/// One mistake, on its own port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mistake {
    /// Plain HTTP: the login page itself.
    LoginOverHttp,
    /// Plain HTTP: the lab's name answers with content instead of a redirect to HTTPS.
    NoRedirect,
    /// Plain HTTP: redirects to HTTPS, but only after the password came in the clear.
    RedirectAfterPassword,
    /// HTTPS: a login page whose form posts to `http://`.
    FormPostsToHttp,
    /// HTTPS: no Strict-Transport-Security header.
    NoHsts,
    /// HTTPS: a session cookie without `Secure`.
    CookieWithoutSecure,
    /// HTTPS: a session cookie without `HttpOnly`.
    CookieWithoutHttponly,
    /// HTTPS: the page loads its script over `http://`.
    MixedContent,
}

/// Where the rest of the lab is, for the links and redirects a mistake page makes.
#[derive(Debug, Clone, Copy)]
pub struct LabPorts {
    pub http: u16,
    pub https: u16,
    /// The [`Mistake::LoginOverHttp`] port: where the insecure form posts.
    pub login_over_http: u16,
}

impl Mistake {
    /// In the order of their ports.
    pub const ALL: [Mistake; 8] = [
        Mistake::LoginOverHttp,
        Mistake::NoRedirect,
        Mistake::RedirectAfterPassword,
        Mistake::FormPostsToHttp,
        Mistake::NoHsts,
        Mistake::CookieWithoutSecure,
        Mistake::CookieWithoutHttponly,
        Mistake::MixedContent,
    ];

    /// The finding plainsight gives for it.
    pub fn finding(self) -> FindingKind {
        match self {
            Mistake::LoginOverHttp => FindingKind::LoginFormOverHttp,
            Mistake::NoRedirect => FindingKind::NoHttpsRedirect,
            Mistake::RedirectAfterPassword => FindingKind::CredentialsBeforeRedirect,
            Mistake::FormPostsToHttp => FindingKind::FormPostsToHttp,
            Mistake::NoHsts => FindingKind::MissingHsts,
            Mistake::CookieWithoutSecure => FindingKind::CookieWithoutSecure,
            Mistake::CookieWithoutHttponly => FindingKind::CookieWithoutHttponly,
            Mistake::MixedContent => FindingKind::MixedContent,
        }
    }

    /// Whether the port speaks HTTPS.
    pub fn https(self) -> bool {
        !matches!(
            self,
            Mistake::LoginOverHttp | Mistake::NoRedirect | Mistake::RedirectAfterPassword
        )
    }

    /// The URL to visit (a POST of a password for [`Mistake::RedirectAfterPassword`]). Ports
    /// reached by the lab's name need it resolved to the lab's address (curl `--resolve`, or a
    /// hosts entry).
    pub fn url(self, ip: std::net::IpAddr, port: u16) -> String {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        match self {
            // Reached by address: the capture shows no HTTPS for the name "127.0.0.1", so the
            // page shows its one mistake and not also a missing redirect.
            Mistake::LoginOverHttp => format!("http://{ip}:{port}/"),
            Mistake::RedirectAfterPassword => format!("http://{ip}:{port}/login"),
            // Reached by the name the HTTPS ports serve: content here is the missing redirect.
            Mistake::NoRedirect => format!("http://{}:{port}/", super::LAB_HOST),
            _ => format!("https://{}:{port}/", super::LAB_HOST),
        }
    }

    /// What the port does wrong, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            Mistake::LoginOverHttp => "the login page itself comes over plain HTTP",
            Mistake::NoRedirect => {
                "the lab's name over plain HTTP: a page instead of a redirect to HTTPS"
            }
            Mistake::RedirectAfterPassword => {
                "POST a password here: the redirect to HTTPS comes after it crossed in the clear"
            }
            Mistake::FormPostsToHttp => "an HTTPS page whose form sends the password to http://",
            Mistake::NoHsts => "HTTPS without Strict-Transport-Security: sslstrip's opening",
            Mistake::CookieWithoutSecure => {
                "sets a session cookie without Secure (it would go over HTTP too)"
            }
            Mistake::CookieWithoutHttponly => {
                "sets a session cookie without HttpOnly (page scripts can read it)"
            }
            Mistake::MixedContent => "an HTTPS page that loads its script over http://",
        }
    }

    /// The answer to one request: status line, header lines (each ending in CRLF) and page.
    pub fn answer(
        self,
        method: &str,
        path: &str,
        ports: LabPorts,
    ) -> (&'static str, String, String) {
        let path = path.split('?').next().unwrap_or(path);
        let hsts = if self.https() && self != Mistake::NoHsts {
            super::HSTS
        } else {
            ""
        };
        let found = matches!(path, "/" | "/login");
        if !found {
            return ("404 Not Found", hsts.to_string(), not_found());
        }
        let lab = super::LAB_HOST;
        match self {
            Mistake::LoginOverHttp if method == "POST" => (
                "200 OK",
                String::new(),
                page(
                    "Signed in, over plain HTTP",
                    "<p>Everything you typed crossed the network in the clear.</p>",
                ),
            ),
            Mistake::RedirectAfterPassword => (
                "301 Moved Permanently",
                format!("Location: https://{lab}:{}/\r\n", ports.https),
                page(
                    "Moved to HTTPS",
                    &format!("<p>Now at <a href=\"https://{lab}:{}/\">HTTPS</a>, too late for what you sent.</p>", ports.https),
                ),
            ),
            Mistake::LoginOverHttp => ("200 OK", String::new(), login_form("/login")),
            Mistake::NoRedirect => (
                "200 OK",
                String::new(),
                page(
                    "plainsight lab, over plain HTTP",
                    &format!(
                        "<p>This name also serves <a href=\"https://{lab}:{}/\">HTTPS</a>, yet \
                         answers plain HTTP with this page instead of a redirect.</p>",
                        ports.https
                    ),
                ),
            ),
            Mistake::FormPostsToHttp => (
                "200 OK",
                hsts.to_string(),
                login_form(&format!(
                    "http://127.0.0.1:{}/login",
                    ports.login_over_http
                )),
            ),
            Mistake::NoHsts => (
                "200 OK",
                String::new(),
                page(
                    "plainsight lab, HTTPS without HSTS",
                    "<p>Browsers that typed the plain address first will try HTTP again next time.</p>",
                ),
            ),
            Mistake::CookieWithoutSecure | Mistake::CookieWithoutHttponly => {
                let flags = if self == Mistake::CookieWithoutSecure {
                    "HttpOnly"
                } else {
                    "Secure"
                };
                (
                    "200 OK",
                    format!(
                        "{hsts}Set-Cookie: lab_session={}; Path=/; {flags}\r\n",
                        session_id()
                    ),
                    page(
                        "plainsight lab, signed in",
                        "<p>Your session cookie has just been set: look at its flags.</p>",
                    ),
                )
            }
            Mistake::MixedContent => (
                "200 OK",
                hsts.to_string(),
                page(
                    "plainsight lab, mixed content",
                    &format!(
                        "<p>This page came over HTTPS; its script comes over plain HTTP (a \
                         browser blocks it).</p><script src=\"http://{lab}:{}/app.js\"></script>",
                        ports.http
                    ),
                ),
            ),
        }
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\"><h1>{title}</h1>\
         {body}<p><small>plainsight lab, mistakes mode: made-up passwords only.</small></p>\
         </body></html>"
    )
}

fn not_found() -> String {
    "<!doctype html><title>Not found</title><p>Not found.</p>".to_string()
}

fn login_form(action: &str) -> String {
    page(
        "Sign in",
        &format!(
            "<form method=\"post\" action=\"{action}\">\
             <label>User name <input name=\"username\" autocomplete=\"username\"></label><br>\
             <label>Password <input name=\"password\" type=\"password\" \
             autocomplete=\"current-password\"></label><br>\
             <button type=\"submit\">Sign in</button></form>"
        ),
    )
}

/// A fresh session id: 16 random bytes in hex, from the TLS library's random source.
fn session_id() -> String {
    let mut bytes = [0u8; 16];
    let random = rustls::crypto::ring::default_provider().secure_random;
    if random.fill(&mut bytes).is_err() {
        // A made-up session of a made-up user: a fixed value teaches the same.
        bytes = *b"plainsight-lab-0";
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_port_makes_only_its_mistake() {
        let ports = LabPorts {
            http: 8080,
            https: 8443,
            login_over_http: 8448,
        };
        for m in Mistake::ALL {
            let (status, headers, body) = m.answer("GET", "/", ports);
            let hsts = headers.contains("Strict-Transport-Security");
            assert_eq!(hsts, m.https() && m != Mistake::NoHsts, "{m:?}");
            assert_eq!(
                headers.contains("Set-Cookie"),
                matches!(
                    m,
                    Mistake::CookieWithoutSecure | Mistake::CookieWithoutHttponly
                ),
                "{m:?}"
            );
            assert_eq!(
                body.contains("type=\"password\""),
                matches!(m, Mistake::LoginOverHttp | Mistake::FormPostsToHttp),
                "{m:?}"
            );
            assert_eq!(
                status.starts_with("301"),
                m == Mistake::RedirectAfterPassword,
                "{m:?}"
            );
        }
        let (_, headers, _) = Mistake::RedirectAfterPassword.answer("POST", "/login", ports);
        assert_eq!(headers, "Location: https://lab.plainsight.test:8443/\r\n");
        assert!(Mistake::FormPostsToHttp
            .answer("GET", "/", ports)
            .2
            .contains("action=\"http://127.0.0.1:8448/login\""));
        let (status, headers, _) =
            Mistake::CookieWithoutSecure.answer("GET", "/favicon.ico", ports);
        assert_eq!(
            (status, headers.contains("Set-Cookie")),
            ("404 Not Found", false)
        );
    }
}
