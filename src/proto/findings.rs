//! Findings: what a site got wrong, read passively from what a capture shows. HTTPS that is not
//! used (no redirect, a password sent before one), HTTPS that is used badly (no HSTS, session
//! cookies without `Secure` or `HttpOnly`), and TLS itself (an old version, a weak or
//! forward-secrecy-less suite, a certificate no browser trusts). Once per flow and kind; nothing
//! is said about what the capture cannot show (HSTS on a flow that was not decrypted is unknown,
//! not missing).
//!
//! The detector watches the events the engine makes, in order, and answers with `finding`
//! events. Its memory is bounded: per-flow facts go when the flow closes, and the hosts it
//! remembers are capped.

use std::collections::{HashMap, HashSet};

use crate::base::{Endpoint, FlowId, Timestamp};
use crate::event::{
    Credential, Event, Finding, FindingKind, HttpRequest, HttpResponse, Severity, TlsCertificate,
    TlsServerHello, TrustResult,
};
use crate::proto::html::HtmlFacts;
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherKx, TlsCipherSuite};

/// Hosts remembered as serving HTTPS, and plain-HTTP answers waiting for such a host.
const MAX_HOSTS: usize = 4096;
const MAX_PENDING: usize = 4096;

/// What each kind means for the one who must fix it and for the class.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub severity: Severity,
    /// The fix, in one sentence.
    pub advice: &'static str,
    /// What an attacker does with the mistake: the lesson behind it (the UI's explanation, the
    /// handout's).
    pub attack: &'static str,
}

/// How bad each kind is, its fix, and what an attacker does with it.
pub fn rule(kind: FindingKind) -> Rule {
    use FindingKind::{
        CookieWithoutHttponly, CookieWithoutSecure, CredentialsBeforeRedirect, FormPostsToHttp,
        LoginFormOverHttp, MissingHsts, MixedContent, NoForwardSecrecy, NoHttpsRedirect,
        UntrustedCertificate, WeakCipher, WeakTlsVersion,
    };
    use Severity::{High, Low, Medium};
    let (severity, advice, attack) = match kind {
        LoginFormOverHttp => (
            High,
            "Serve the login page and everything after it over HTTPS only, and redirect HTTP to it.",
            "Anyone on the network reads the password as it is sent. Worse, someone in the middle \
             can change the page on its way (add a script that copies every keystroke), since \
             nothing proves where plain HTTP came from.",
        ),
        FormPostsToHttp => (
            High,
            "Make the form's action an https:// URL (or a relative one on an HTTPS page).",
            "The page looked safe, but the form sends what is typed over plain HTTP: an \
             eavesdropper reads the password straight from the request.",
        ),
        CredentialsBeforeRedirect => (
            High,
            "Redirect to HTTPS before any form is shown and send HSTS, so browsers never try plain \
             HTTP again: this password already crossed in the clear.",
            "The redirect came too late: the password had already crossed in the clear and was \
             read from the first request. Someone in the middle can also swallow the redirect \
             and keep the victim on HTTP for good (sslstrip).",
        ),
        NoHttpsRedirect => (
            Medium,
            "Answer every plain-HTTP request with a 301 redirect to https:// and send HSTS from the \
             HTTPS side.",
            "sslstrip: an attacker in the middle (a rogue Wi-Fi hotspot) answers the first \
             plain-HTTP request, talks HTTPS to the site itself, and hands the victim plain-HTTP \
             copies with every https:// link rewritten. The victim never sees HTTPS; the attacker \
             reads everything.",
        ),
        MissingHsts => (
            Medium,
            "Send Strict-Transport-Security: max-age=31536000; includeSubDomains, so browsers stop \
             trying plain HTTP and sslstrip has nothing to strip.",
            "Without HSTS the browser tries plain HTTP first whenever someone types the bare name \
             or follows an http:// link: sslstrip catches that first request and keeps the whole \
             visit on HTTP. HSTS makes the browser refuse plain HTTP to the site.",
        ),
        CookieWithoutSecure => (
            Medium,
            "Set session cookies with Secure (and serve the site over HTTPS only), so they never \
             travel in the clear.",
            "A stolen cookie is a stolen login: the attacker makes the browser send one \
             plain-HTTP request to the site (any http:// image on any page does it), reads the \
             session cookie from it and puts it in their own browser, signed in as the victim \
             without a password (Firesheep did this on café Wi-Fi in 2010).",
        ),
        CookieWithoutHttponly => (
            Low,
            "Add HttpOnly to session cookies, so a script injected into the page cannot read them.",
            "A script injected into the site (cross-site scripting) reads document.cookie and \
             sends the session to the attacker, who replays it in their own browser.",
        ),
        MixedContent => (
            Medium,
            "Load every script, style sheet, frame and image over https:// (or a relative URL).",
            "The page is HTTPS but its script is not: someone in the middle swaps the script in \
             transit for their own, and it runs inside the HTTPS page with full access to it \
             (what is typed, the cookies, the page itself). Browsers block such scripts, frames \
             and style sheets, and upgrade or flag images.",
        ),
        WeakTlsVersion => (
            Medium,
            "Switch off SSL, TLS 1.0 and TLS 1.1 on the server: TLS 1.2 and 1.3 are what browsers \
             accept.",
            "Old TLS has known attacks (BEAST on TLS 1.0, POODLE on SSL 3.0) and no modern \
             suites, and an attacker in the middle may force a downgrade to it. Browsers stopped \
             accepting TLS 1.0 and 1.1 in 2020.",
        ),
        WeakCipher => (
            High,
            "Remove RC4, 3DES, DES, NULL, EXPORT and anonymous suites from the server; offer \
             ECDHE with AES-GCM or ChaCha20-Poly1305.",
            "Weak suites fall to known attacks: RC4's biases leak repeated secrets such as \
             cookies, 3DES's small blocks collide after some gigabytes (Sweet32), EXPORT and DES \
             keys are brute-forced, NULL encrypts nothing and anonymous suites prove nothing.",
        ),
        NoForwardSecrecy => (
            Medium,
            "Prefer ECDHE suites (or TLS 1.3): with RSA key exchange, whoever gets the server's \
             key later decrypts every recorded session.",
            "Recorded traffic read later: an eavesdropper records the encrypted sessions today; \
             whoever obtains the server's private key tomorrow (a breach, a court order, an old \
             backup) decrypts every one of them, as plainsight does with --server-key. With \
             ECDHE each session's key dies with the session.",
        ),
        UntrustedCertificate => (
            High,
            "Use a certificate the clients trust, in date and for the right name: Let's Encrypt \
             for a public name, a private CA installed on the clients for an internal one.",
            "An attacker in the middle presents a certificate no browser trusts, too: users \
             taught to click through this warning will click through the attacker's. Only a \
             trusted certificate for the right name proves who answers.",
        ),
    };
    Rule {
        severity,
        advice,
        attack,
    }
}

// Each kind is one bit of `FlowFacts::reported`.
const _: () = assert!(FindingKind::ALL.len() <= 16);

/// What is known about one flow.
#[derive(Debug, Default)]
struct FlowFacts {
    /// The server's name: the request's Host or the ClientHello's SNI, without a port.
    host: Option<String>,
    /// A credential went over this flow in the clear: when, and in which packet.
    plain_credential: Option<(Timestamp, u64, String)>,
    /// The kinds already said for this flow, one bit each.
    reported: u16,
    /// A plain-HTTP answer of this flow waits for proof that its host serves HTTPS.
    waiting: bool,
}

/// A kind's bit in [`FlowFacts::reported`].
fn bit(kind: FindingKind) -> u16 {
    1u16 << (kind as u16)
}

/// A plain-HTTP answer with content, from a host not yet seen serving HTTPS.
#[derive(Debug, Clone)]
struct Pending {
    flow: FlowId,
    ts: Timestamp,
    frame: u64,
    detail: String,
}

/// Watches events; says what the sites in them got wrong.
#[derive(Debug, Default)]
pub struct FindingDetector {
    flows: HashMap<FlowId, FlowFacts>,
    /// Hosts (names, or addresses as text) seen serving HTTPS in this capture.
    https_hosts: HashSet<String>,
    /// Plain-HTTP content by host, until the host is seen serving HTTPS (or the capture ends).
    pending: HashMap<String, Vec<Pending>>,
    pending_count: usize,
}

impl FindingDetector {
    /// Looks at one event (`server`: its flow's server, when it has a flow); findings it shows
    /// are added to `out`.
    pub fn observe(&mut self, event: &Event, server: Option<Endpoint>, out: &mut Vec<Finding>) {
        match event {
            Event::TlsClientHello(e) => {
                if let Some(sni) = &e.sni {
                    self.flows.entry(e.flow).or_default().host = Some(host_of(sni));
                }
            }
            Event::TlsServerHello(e) => self.server_hello(e, server, out),
            Event::TlsCertificate(e) => self.certificate(e, out),
            Event::HttpRequest(e) => self.request(e),
            Event::Credential(c) => self.credential(c),
            Event::HttpResponse(e) => self.response(e, server, out),
            _ => {}
        }
    }

    /// Forgets a closed flow's facts (its findings stay said).
    pub fn flow_closed(&mut self, flow: FlowId) {
        self.flows.remove(&flow);
    }

    fn say(
        &mut self,
        flow: FlowId,
        kind: FindingKind,
        (ts, frame): (Timestamp, u64),
        host: Option<String>,
        detail: String,
        out: &mut Vec<Finding>,
    ) {
        // Once per flow and kind. A closed flow's facts are gone: only a waiting
        // `no_https_redirect` (once per flow by construction) is said for one.
        let facts = self.flows.entry(flow).or_default();
        if facts.reported & bit(kind) != 0 {
            return;
        }
        facts.reported |= bit(kind);
        let Rule {
            severity, advice, ..
        } = rule(kind);
        out.push(Finding {
            flow: Some(flow),
            ts,
            frame: Some(frame),
            kind,
            severity,
            host,
            detail,
            advice: advice.to_string(),
        });
    }

    fn host(&self, flow: FlowId) -> Option<String> {
        self.flows.get(&flow).and_then(|f| f.host.clone())
    }

    fn server_hello(
        &mut self,
        e: &TlsServerHello,
        server: Option<Endpoint>,
        out: &mut Vec<Finding>,
    ) {
        if e.hello_retry {
            return;
        }
        // The server answered: the name the client asked for serves HTTPS. Its address proves
        // only itself: another name on the same address may well have no HTTPS.
        let host = self.host(e.flow);
        match (&host, server) {
            (Some(h), _) => self.serves_https(h, out),
            (None, Some(s)) => self.serves_https(&s.0.ip().to_string(), out),
            (None, None) => {}
        }
        let at = (e.ts, e.frame);
        if matches!(
            e.version.as_str(),
            "SSL2.0" | "SSL3.0" | "TLS1.0" | "TLS1.1"
        ) {
            self.say(
                e.flow,
                FindingKind::WeakTlsVersion,
                at,
                host.clone(),
                format!("the server chose {}", e.version),
                out,
            );
        }
        if let Some(why) = weak_cipher(&e.cipher) {
            self.say(
                e.flow,
                FindingKind::WeakCipher,
                at,
                host.clone(),
                format!("the server chose {} ({why})", e.cipher),
                out,
            );
        }
        if let Some(kx) = static_key_exchange(&e.cipher) {
            self.say(
                e.flow,
                FindingKind::NoForwardSecrecy,
                at,
                host,
                format!(
                    "the server chose {} ({kx} key exchange: no forward secrecy)",
                    e.cipher
                ),
                out,
            );
        }
    }

    fn certificate(&mut self, e: &TlsCertificate, out: &mut Vec<Finding>) {
        if matches!(
            e.trust.result,
            TrustResult::Trusted | TrustResult::NotChecked
        ) {
            return;
        }
        let host = self.host(e.flow);
        self.say(
            e.flow,
            FindingKind::UntrustedCertificate,
            (e.ts, e.frame),
            host,
            format!("{}: {}", e.trust.result.as_str(), e.trust.detail),
            out,
        );
    }

    fn request(&mut self, e: &HttpRequest) {
        if let Some(h) = &e.host {
            // The first request names the host; keep-alive requests after it are not re-read.
            let facts = self.flows.entry(e.flow).or_default();
            if facts.host.is_none() {
                facts.host = Some(host_of(h));
            }
        }
    }

    fn credential(&mut self, c: &Credential) {
        if c.decrypted {
            return;
        }
        let facts = self.flows.entry(c.flow).or_default();
        if facts.plain_credential.is_none() {
            facts.plain_credential = Some((c.ts, c.frame, c.kind.as_str().to_string()));
        }
    }

    fn response(&mut self, e: &HttpResponse, server: Option<Endpoint>, out: &mut Vec<Finding>) {
        let host = self
            .host(e.flow)
            .or_else(|| server.map(|s| s.0.ip().to_string()));
        let at = (e.ts, e.frame);
        let location = header(&e.headers, "location");
        let to_https = (300..400).contains(&e.status)
            && location.is_some_and(|l| starts_with_ignore_case(l.trim(), "https://"));
        if e.decrypted {
            if let Some(h) = &host {
                self.serves_https(h, out);
            }
        } else if to_https {
            let credential = self
                .flows
                .get(&e.flow)
                .and_then(|f| f.plain_credential.clone());
            if let Some((ts, frame, kind)) = credential {
                self.say(
                    e.flow,
                    FindingKind::CredentialsBeforeRedirect,
                    (ts, frame),
                    host.clone(),
                    format!(
                        "a {kind} credential crossed in the clear, then the server answered {} \
                         with a redirect to {}",
                        e.status,
                        location.unwrap_or_default().trim()
                    ),
                    out,
                );
            }
        } else if (200..300).contains(&e.status) {
            // Once per flow: a keep-alive flow's later answers add nothing.
            let settled = self
                .flows
                .get(&e.flow)
                .is_some_and(|f| f.waiting || f.reported & bit(FindingKind::NoHttpsRedirect) != 0);
            if let Some(h) = host.as_ref().filter(|_| !settled) {
                let detail = format!(
                    "{h} answered a plain-HTTP request with {} {} instead of a redirect to \
                     https://, though it serves HTTPS",
                    e.status, e.reason
                );
                if self.https_hosts.contains(h) {
                    self.say(
                        e.flow,
                        FindingKind::NoHttpsRedirect,
                        at,
                        host.clone(),
                        detail,
                        out,
                    );
                } else if self.pending_count < MAX_PENDING {
                    self.pending.entry(h.clone()).or_default().push(Pending {
                        flow: e.flow,
                        ts: e.ts,
                        frame: e.frame,
                        detail,
                    });
                    self.pending_count += 1;
                    self.flows.entry(e.flow).or_default().waiting = true;
                }
            }
        }
        // Cookies: over plain HTTP any session cookie is exposed; over HTTPS, one without Secure
        // would be sent over plain HTTP too.
        for cookie in e
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| SetCookie::parse(v))
        {
            if !cookie.session_like() {
                continue;
            }
            if !cookie.secure || !e.decrypted {
                let detail = if e.decrypted {
                    format!("the session cookie {} is set without Secure", cookie.name)
                } else {
                    format!(
                        "the session cookie {} is set over plain HTTP{}",
                        cookie.name,
                        if cookie.secure {
                            " (its Secure flag cannot help there)"
                        } else {
                            ""
                        }
                    )
                };
                self.say(
                    e.flow,
                    FindingKind::CookieWithoutSecure,
                    at,
                    host.clone(),
                    detail,
                    out,
                );
            }
            if !cookie.http_only {
                self.say(
                    e.flow,
                    FindingKind::CookieWithoutHttponly,
                    at,
                    host.clone(),
                    format!("the session cookie {} is set without HttpOnly", cookie.name),
                    out,
                );
            }
        }
        if let Some(html) = &e.html {
            self.page(e, host.as_ref(), html, out);
        }
        if e.decrypted
            && (200..300).contains(&e.status)
            && header(&e.headers, "content-type")
                .is_some_and(|t| starts_with_ignore_case(t.trim(), "text/html"))
            && header(&e.headers, "strict-transport-security").is_none()
        {
            self.say(
                e.flow,
                FindingKind::MissingHsts,
                at,
                host.clone(),
match &host {
                    Some(h) => format!(
                        "the HTML page {h} served over HTTPS sends no Strict-Transport-Security header"
                    ),
                    None => "an HTML page served over HTTPS sends no Strict-Transport-Security \
                             header"
                        .to_string(),
                },
                out,
            );
        }
    }

    /// What an HTML page shows: a password input served in the clear, a form that posts to
    /// `http://`, and on an HTTPS page, what it loads over `http://`.
    fn page(
        &mut self,
        e: &HttpResponse,
        host: Option<&String>,
        html: &HtmlFacts,
        out: &mut Vec<Finding>,
    ) {
        let at = (e.ts, e.frame);
        let page = match host {
            Some(h) => format!("the page from {h}"),
            None => "the page".to_string(),
        };
        if html.password_input && !e.decrypted {
            self.say(
                e.flow,
                FindingKind::LoginFormOverHttp,
                at,
                host.cloned(),
                format!("{page} asks for a password and came over plain HTTP"),
                out,
            );
        }
        if let Some(action) = &html.http_form_action {
            self.say(
                e.flow,
                FindingKind::FormPostsToHttp,
                at,
                host.cloned(),
                format!("a form on {page} sends what is typed into it to {action}, in the clear"),
                out,
            );
        }
        if let Some((what, url)) = html.http_subresource.as_ref().filter(|_| e.decrypted) {
            self.say(
                e.flow,
                FindingKind::MixedContent,
                at,
                host.cloned(),
                format!("{page} came over HTTPS but loads a {what} over plain HTTP: {url}"),
                out,
            );
        }
    }

    /// `host` serves HTTPS: plain-HTTP content it gave earlier becomes a finding.
    fn serves_https(&mut self, host: &str, out: &mut Vec<Finding>) {
        if let Some(waiting) = self.pending.remove(host) {
            self.pending_count = self.pending_count.saturating_sub(waiting.len());
            for p in waiting {
                let closed = !self.flows.contains_key(&p.flow);
                self.say(
                    p.flow,
                    FindingKind::NoHttpsRedirect,
                    (p.ts, p.frame),
                    Some(host.to_string()),
                    p.detail,
                    out,
                );
                if closed {
                    self.flows.remove(&p.flow);
                }
            }
        }
        if self.https_hosts.len() < MAX_HOSTS && !self.https_hosts.contains(host) {
            self.https_hosts.insert(host.to_string());
        }
    }
}

/// A Host header's or SNI's name: lower case, without a port (an IPv6 literal's brackets
/// dropped).
fn host_of(value: &str) -> String {
    let v = value.trim().to_ascii_lowercase();
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    match v.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name.to_string()
        }
        _ => v,
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why a suite is weak, if it is, from its entry in the suite table the decryption code reads
/// too (tls-parser's, made from IANA's registry). A name the table does not know says nothing.
/// A cipher suite by its IANA name. tls-parser's `from_name` compares the name with each of its
/// 350 suites in turn; twice per ServerHello that was 1.3% of a report.
fn suite_named(name: &str) -> Option<&'static TlsCipherSuite> {
    static BY_NAME: std::sync::OnceLock<ahash::AHashMap<&'static str, &'static TlsCipherSuite>> =
        std::sync::OnceLock::new();
    BY_NAME
        .get_or_init(|| {
            let mut by_name = ahash::AHashMap::new();
            for suite in tls_parser::CIPHERS.values() {
                // The first of a name, as `from_name` finds it.
                by_name.entry(suite.name).or_insert(suite);
            }
            by_name
        })
        .get(name)
        .copied()
}

fn weak_cipher(name: &str) -> Option<&'static str> {
    let suite = suite_named(name)?;
    match suite.enc {
        TlsCipherEnc::Rc4 => return Some("RC4 is broken"),
        TlsCipherEnc::Null => return Some("NULL: no encryption at all"),
        _ => {}
    }
    if suite.name.contains("EXPORT") {
        Some("EXPORT: keys short enough to break")
    } else if suite.au == TlsCipherAu::Null
        && matches!(
            suite.kx,
            TlsCipherKx::Dh | TlsCipherKx::Ecdh | TlsCipherKx::Aecdh
        )
    {
        Some("anonymous: no certificate, anyone in the middle can answer")
    } else if matches!(suite.enc, TlsCipherEnc::Des | TlsCipherEnc::TripleDes) {
        Some("DES and 3DES: 64-bit blocks, broken by Sweet32")
    } else {
        None
    }
}

/// The key exchange of a suite without forward secrecy (RSA, static DH or ECDH), if it is one,
/// from the same table.
fn static_key_exchange(name: &str) -> Option<&'static str> {
    let suite = suite_named(name)?;
    let authenticated = suite.au != TlsCipherAu::Null;
    match suite.kx {
        TlsCipherKx::Rsa => Some("RSA"),
        TlsCipherKx::Dh if authenticated => Some("static DH"),
        TlsCipherKx::Ecdh if authenticated => Some("static ECDH"),
        _ => None,
    }
}

/// One `Set-Cookie` header, as far as findings need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub secure: bool,
    pub http_only: bool,
}

impl SetCookie {
    pub fn parse(header: &str) -> SetCookie {
        let mut parts = header.split(';');
        let pair = parts.next().unwrap_or("");
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let mut cookie = SetCookie {
            name: name.trim().to_string(),
            value: value.trim().trim_matches('"').to_string(),
            secure: false,
            http_only: false,
        };
        for attr in parts {
            let key = attr.split('=').next().unwrap_or("").trim();
            if key.eq_ignore_ascii_case("secure") {
                cookie.secure = true;
            } else if key.eq_ignore_ascii_case("httponly") {
                cookie.http_only = true;
            }
        }
        cookie
    }

    /// The contract's "session-like": a telling name, and a value that is not a plain flag.
    pub fn session_like(&self) -> bool {
        const WELL_KNOWN: [&str; 8] = [
            "phpsessid",
            "jsessionid",
            "connect.sid",
            "asp.net_sessionid",
            "aspsessionid",
            "cfid",
            "cftoken",
            "laravel_session",
        ];
        const PARTS: [&str; 7] = ["sess", "sid", "token", "auth", "jwt", "remember", "login"];
        let name = self.name.to_ascii_lowercase();
        let telling = WELL_KNOWN
            .iter()
            .any(|w| name == *w || name.starts_with("aspsessionid"))
            || PARTS.iter().any(|p| name.contains(p));
        let flag = matches!(
            self.value.to_ascii_lowercase().as_str(),
            "" | "0" | "1" | "no" | "yes" | "true" | "false"
        );
        telling && !flag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every suite tls-parser knows is found by its name as `from_name` finds it.
    #[test]
    fn suites_are_found_by_name() {
        for suite in tls_parser::CIPHERS.values() {
            let found = suite_named(suite.name).unwrap();
            assert!(std::ptr::eq(
                found,
                TlsCipherSuite::from_name(suite.name).unwrap()
            ));
        }
        assert!(suite_named("TLS_NOT_A_SUITE").is_none());
        assert!(suite_named("0x1301").is_none());
    }

    #[test]
    fn set_cookie_attributes_and_session_names() {
        let c = SetCookie::parse("PHPSESSID=abc123; path=/; HttpOnly");
        assert_eq!(
            (c.name.as_str(), c.secure, c.http_only),
            ("PHPSESSID", false, true)
        );
        assert!(c.session_like());
        let c = SetCookie::parse("session_token=\"x9\"; Secure; httponly; SameSite=Lax");
        assert!(c.secure && c.http_only && c.session_like());
        assert!(!SetCookie::parse("remember_me=0; Path=/").session_like());
        assert!(!SetCookie::parse("theme=dark").session_like());
        assert!(!SetCookie::parse("sid=").session_like());
    }

    fn server() -> Option<Endpoint> {
        Some(Endpoint("10.0.0.2:80".parse().unwrap()))
    }

    fn response(flow: FlowId, status: u16, headers: &[(&str, &str)], decrypted: bool) -> Event {
        Event::HttpResponse(HttpResponse {
            flow,
            ts: Timestamp(2_000_000),
            frame: 9,
            status,
            reason: "x".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body_len: 10,
            decrypted,
            stream: None,
            html: None,
        })
    }

    fn request(flow: FlowId, host: &str) -> Event {
        Event::HttpRequest(HttpRequest {
            flow,
            ts: Timestamp(1_000_000),
            frame: 4,
            method: "POST".into(),
            target: "/login".into(),
            version: "HTTP/1.1".into(),
            host: Some(host.into()),
            headers: Vec::new(),
            body_len: 0,
            decrypted: false,
            stream: None,
        })
    }

    fn kinds(found: &[Finding]) -> Vec<(FlowId, &'static str, Option<u64>)> {
        found
            .iter()
            .map(|f| (f.flow.unwrap_or(0), f.kind.as_str(), f.frame))
            .collect()
    }

    /// A password in the clear, then a redirect to HTTPS: too late. The finding points at the
    /// credential's packet.
    #[test]
    fn credentials_before_the_redirect() {
        let mut d = FindingDetector::default();
        let mut found = Vec::new();
        d.observe(&request(1, "shop.test"), server(), &mut found);
        let credential = Event::Credential(Credential {
            flow: 1,
            ts: Timestamp(1_000_000),
            frame: 5,
            kind: crate::creds::CredentialKind::HttpForm,
            username: Some("u".into()),
            secret: "p".into(),
            client: Endpoint("10.0.0.1:5000".parse().unwrap()),
            server: Endpoint("10.0.0.2:80".parse().unwrap()),
            location: "form field password".into(),
            decrypted: false,
        });
        d.observe(&credential, server(), &mut found);
        let redirect = response(1, 302, &[("Location", "https://shop.test/login")], false);
        d.observe(&redirect, server(), &mut found);
        d.observe(&redirect, server(), &mut found);
        assert_eq!(kinds(&found), [(1, "credentials_before_redirect", Some(5))]);
        // A redirect without a credential before it is what a site should do.
        let mut found = Vec::new();
        d.observe(&request(2, "shop.test"), server(), &mut found);
        d.observe(
            &response(2, 301, &[("Location", "https://shop.test/")], false),
            server(),
            &mut found,
        );
        assert_eq!(found, []);
    }

    /// Session cookies: over plain HTTP exposed whatever their flags; over HTTPS without Secure or
    /// HttpOnly. A preference cookie is no one's session.
    #[test]
    fn session_cookies_without_their_flags() {
        let mut d = FindingDetector::default();
        let mut found = Vec::new();
        d.observe(&request(1, "a.test"), server(), &mut found);
        d.observe(
            &response(
                1,
                200,
                &[
                    ("Set-Cookie", "PHPSESSID=9f2c; path=/"),
                    ("Set-Cookie", "lang=en"),
                ],
                false,
            ),
            server(),
            &mut found,
        );
        assert_eq!(
            kinds(&found),
            [
                (1, "cookie_without_secure", Some(9)),
                (1, "cookie_without_httponly", Some(9))
            ]
        );
        let mut found = Vec::new();
        d.observe(&request(2, "b.test"), server(), &mut found);
        d.observe(
            &response(
                2,
                200,
                &[
                    ("set-cookie", "auth_token=abc; Secure; HttpOnly"),
                    ("Strict-Transport-Security", "max-age=1"),
                    ("Content-Type", "text/html"),
                ],
                true,
            ),
            server(),
            &mut found,
        );
        assert_eq!(found, []);
        d.observe(
            &response(2, 200, &[("set-cookie", "auth_token=abc; HttpOnly")], true),
            server(),
            &mut found,
        );
        assert_eq!(kinds(&found), [(2, "cookie_without_secure", Some(9))]);
    }

    /// Plain-HTTP content from a host is a finding only once the capture shows that host serving
    /// HTTPS (later, here); a closed flow's findings are not said again.
    #[test]
    fn no_redirect_waits_for_proof_of_https() {
        let mut d = FindingDetector::default();
        let mut found = Vec::new();
        d.observe(&request(1, "a.test:8080"), server(), &mut found);
        d.observe(&response(1, 200, &[], false), server(), &mut found);
        assert_eq!(found, []);
        d.observe(&request(2, "a.test"), server(), &mut found);
        d.observe(
            &response(2, 200, &[("Content-Type", "text/html")], true),
            server(),
            &mut found,
        );
        assert_eq!(
            kinds(&found),
            [
                (1, "no_https_redirect", Some(9)),
                (2, "missing_hsts", Some(9))
            ]
        );
        // A redirect to HTTPS is the right answer.
        let mut found = Vec::new();
        d.observe(&request(3, "a.test"), server(), &mut found);
        d.observe(
            &response(3, 301, &[("Location", "https://a.test/")], false),
            server(),
            &mut found,
        );
        assert_eq!(found, []);
    }

    #[test]
    fn suites_and_hosts() {
        assert!(weak_cipher("TLS_RSA_WITH_RC4_128_SHA").is_some());
        assert!(weak_cipher("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA").is_some());
        assert!(weak_cipher("TLS_DH_anon_WITH_AES_128_CBC_SHA").is_some());
        assert!(weak_cipher("TLS_RSA_WITH_NULL_SHA256").is_some());
        assert_eq!(weak_cipher("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), None);
        assert_eq!(weak_cipher("TLS_AES_128_GCM_SHA256"), None);
        assert_eq!(
            static_key_exchange("TLS_RSA_WITH_AES_128_GCM_SHA256"),
            Some("RSA")
        );
        assert_eq!(
            static_key_exchange("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            None
        );
        assert_eq!(
            static_key_exchange("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
            None
        );
        assert_eq!(static_key_exchange("TLS_AES_256_GCM_SHA384"), None);
        // The table's view: EXPORT, static DH, RSA-PSK, and anonymous ECDH (ephemeral: weak for
        // want of a certificate, not for want of forward secrecy).
        assert_eq!(
            weak_cipher("TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
            Some("RC4 is broken")
        );
        assert_eq!(
            weak_cipher("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
            Some("EXPORT: keys short enough to break")
        );
        assert_eq!(
            static_key_exchange("TLS_DH_RSA_WITH_AES_128_CBC_SHA"),
            Some("static DH")
        );
        assert_eq!(
            static_key_exchange("TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"),
            Some("static ECDH")
        );
        assert_eq!(
            static_key_exchange("TLS_RSA_PSK_WITH_AES_128_CBC_SHA"),
            Some("RSA")
        );
        assert_eq!(
            static_key_exchange("TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
            None
        );
        assert!(weak_cipher("TLS_ECDH_anon_WITH_AES_128_CBC_SHA").is_some());
        assert_eq!(weak_cipher("0x1234"), None);
        assert_eq!(host_of("Example.COM:8080"), "example.com");
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("127.0.0.1"), "127.0.0.1");
    }
}
