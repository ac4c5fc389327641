//! The lab: a small login site over HTTP and the same site over HTTPS (rustls, with a
//! certificate issued at start by the lab's own CA, see [`pki`]) and HTTP/3 (QUIC, on the HTTPS
//! port number over UDP), on 127.0.0.1 unless told otherwise, and, for the certificates lesson,
//! the same site behind broken certificates on the next ports. Its made-up logins
//! are what the classroom captures. [`demo`] tells the same story from built-in captures.

pub mod client;
pub mod demo;
mod h3;
pub mod mistakes;
pub mod pki;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::proto::tls::decrypt::KeyLog;
use mistakes::{LabPorts, Mistake};
use pki::{BrokenCertificate, LabPki, ServerIdentity};

/// The name the lab's certificate is made for (and 127.0.0.1, and localhost).
pub const LAB_HOST: &str = "lab.plainsight.test";
/// What the lab's HTTPS answers say to browsers: use HTTPS only, for a year.
const HSTS: &str = "Strict-Transport-Security: max-age=31536000\r\n";
/// Largest request head or body the lab reads.
const MAX_REQUEST: usize = 64 << 10;

#[derive(Debug, Clone)]
pub struct LabConfig {
    pub bind: IpAddr,
    pub http_port: u16,
    pub https_port: u16,
    /// Where to write the TLS session keys (NSS key log format), if anywhere.
    pub keylog: Option<PathBuf>,
    /// A key log to hand the session keys to as they are made (`demo --live` decrypts its own
    /// capture with it).
    pub shared_keys: Option<KeyLog>,
    /// Also serve the site behind each [`BrokenCertificate`], on the ports after the HTTPS one
    /// (ports the system chooses when `https_port` is 0).
    pub broken_certificates: bool,
    /// Also serve each [`Mistake`] on its own port, after the broken-certificate ones (ports
    /// the system chooses when `https_port` is 0).
    pub mistakes: bool,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            bind: IpAddr::from([127, 0, 0, 1]),
            http_port: 8080,
            https_port: 8443,
            keylog: None,
            shared_keys: None,
            broken_certificates: false,
            mistakes: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("cannot listen on {addr}: {source}. Is another lab already running? Choose other ports with --http-port and --https-port")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make the lab's certificate: {0}")]
    Certificate(String),
    #[error("cannot write the key log {path}: {source}")]
    KeyLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The running lab; dropping it (or [`Lab::stop`]) stops it.
pub struct Lab {
    pub http: SocketAddr,
    pub https: SocketAddr,
    /// HTTP/3: the HTTPS port number, over UDP.
    pub h3: SocketAddr,
    /// The certificate the HTTPS site presents (DER).
    pub certificate: Vec<u8>,
    /// The lab's root CA (DER), which vouches for [`Lab::certificate`]: what clients trust.
    pub ca_certificate: Vec<u8>,
    /// The same root CA in PEM, as `lab --ca-out` writes it.
    pub ca_pem: String,
    /// The broken-certificate ports, when asked for.
    pub broken: Vec<(BrokenCertificate, SocketAddr)>,
    /// The mistakes ports, when asked for.
    pub mistakes: Vec<(Mistake, SocketAddr)>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// rustls' key log: written to a file as browsers and curl write SSLKEYLOGFILE, and/or handed
/// to a shared [`KeyLog`].
#[derive(Debug)]
struct LabKeyLog {
    file: Option<Mutex<File>>,
    shared: Option<KeyLog>,
}

impl rustls::KeyLog for LabKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some(shared) = &self.shared {
            shared.insert(label, client_random.to_vec(), secret.to_vec());
        }
        if let Some(Ok(mut f)) = self.file.as_ref().map(|f| f.lock()) {
            let _ = writeln!(
                f,
                "{label} {} {}",
                hex::encode(client_random),
                hex::encode(secret)
            );
            let _ = f.flush();
        }
    }
}

impl Lab {
    pub fn start(config: &LabConfig) -> Result<Lab, LabError> {
        let bind = |port: u16| {
            let addr = SocketAddr::new(config.bind, port);
            TcpListener::bind(addr).map_err(|source| LabError::Bind { addr, source })
        };
        let http_listener = bind(config.http_port)?;
        let https_listener = bind(config.https_port)?;
        let cert_err = |e: rcgen::Error| LabError::Certificate(e.to_string());
        let pki = LabPki::new(time::OffsetDateTime::now_utc()).map_err(cert_err)?;
        let identity = pki.server().map_err(cert_err)?;
        let certificate = identity
            .chain
            .first()
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let file = match &config.keylog {
            Some(path) => Some(Mutex::new(
                File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| LabError::KeyLog {
                        path: path.clone(),
                        source,
                    })?,
            )),
            None => None,
        };
        let key_log: Option<Arc<dyn rustls::KeyLog>> =
            if file.is_some() || config.shared_keys.is_some() {
                Some(Arc::new(LabKeyLog {
                    file,
                    shared: config.shared_keys.clone(),
                }))
            } else {
                None
            };
        let tls = tls_config(identity, key_log.clone())?;
        let h3_tls = tls.clone();
        let tls = Arc::new(tls);
        let stop = Arc::new(AtomicBool::new(false));
        let http = http_listener
            .local_addr()
            .map_err(|source| LabError::Bind {
                addr: SocketAddr::new(config.bind, config.http_port),
                source,
            })?;
        let https = https_listener
            .local_addr()
            .map_err(|source| LabError::Bind {
                addr: SocketAddr::new(config.bind, config.https_port),
                source,
            })?;
        // HTTP/3 on the HTTPS port number, over UDP.
        let h3_socket = UdpSocket::bind(https).map_err(|source| LabError::Bind {
            addr: https,
            source,
        })?;
        let h3 = h3_socket.local_addr().map_err(|source| LabError::Bind {
            addr: https,
            source,
        })?;
        let mut threads = Vec::new();
        threads.push(h3::start(h3_socket, h3_tls, stop.clone())?);
        let mut broken = Vec::new();
        if config.broken_certificates {
            for (i, kind) in BrokenCertificate::ALL.into_iter().enumerate() {
                let port = match config.https_port {
                    0 => 0,
                    p => p.saturating_add(1 + i as u16),
                };
                let listener = bind(port)?;
                let addr = listener.local_addr().map_err(|source| LabError::Bind {
                    addr: SocketAddr::new(config.bind, port),
                    source,
                })?;
                let tls = Arc::new(tls_config(
                    pki.broken(kind).map_err(cert_err)?,
                    key_log.clone(),
                )?);
                threads.push(serve(listener, stop.clone(), move |stream| {
                    serve_tls(&tls, stream, |s| handle(s, "https", HSTS));
                }));
                broken.push((kind, addr));
            }
        }
        let mut mistakes = Vec::new();
        if config.mistakes {
            let mut listeners = Vec::new();
            for (i, mistake) in Mistake::ALL.into_iter().enumerate() {
                let port = match config.https_port {
                    0 => 0,
                    p => p.saturating_add(1 + BrokenCertificate::ALL.len() as u16 + i as u16),
                };
                let listener = bind(port)?;
                let addr = listener.local_addr().map_err(|source| LabError::Bind {
                    addr: SocketAddr::new(config.bind, port),
                    source,
                })?;
                mistakes.push((mistake, addr));
                listeners.push(listener);
            }
            let ports = LabPorts {
                http: http.port(),
                https: https.port(),
                login_over_http: mistakes
                    .iter()
                    .find(|(m, _)| *m == Mistake::LoginOverHttp)
                    .map_or(http.port(), |(_, a)| a.port()),
            };
            for (listener, &(mistake, _)) in listeners.into_iter().zip(&mistakes) {
                let tls = tls.clone();
                threads.push(serve(listener, stop.clone(), move |stream| {
                    if mistake.https() {
                        serve_tls(&tls, stream, |s| answer_mistake(s, mistake, ports));
                    } else {
                        let mut stream = stream;
                        answer_mistake(&mut stream, mistake, ports);
                    }
                }));
            }
        }
        threads.push(serve(http_listener, stop.clone(), |stream| {
            let mut stream = stream;
            handle(&mut stream, "http", "")
        }));
        // Real sites tell browsers where their HTTP/3 is: Alt-Svc on the HTTPS answers. And the
        // HTTPS side does what a careful site does: HSTS, so it yields no finding.
        let alt_svc = format!("Alt-Svc: h3=\":{}\"; ma=3600\r\n{HSTS}", h3.port());
        threads.push(serve(https_listener, stop.clone(), move |stream| {
            serve_tls(&tls, stream, |s| handle(s, "https", &alt_svc));
        }));
        Ok(Lab {
            http,
            https,
            h3,
            certificate,
            ca_certificate: pki.root_der().to_vec(),
            ca_pem: pki.root_pem().to_string(),
            broken,
            mistakes,
            stop,
            threads,
        })
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The lab's TLS settings for one certificate chain.
fn tls_config(
    identity: ServerIdentity,
    key_log: Option<Arc<dyn rustls::KeyLog>>,
) -> Result<ServerConfig, LabError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LabError::Certificate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| LabError::Certificate(e.to_string()))?;
    // HTTP/1.1 only: a browser then speaks the HTTP/1.1 that plainsight reads after decryption.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    if let Some(key_log) = key_log {
        tls.key_log = key_log;
    }
    Ok(tls)
}

/// A TLS connection the lab accepted.
type TlsStream = StreamOwned<ServerConnection, TcpStream>;

/// One HTTPS exchange on an accepted connection, answered by `answer`.
fn serve_tls(tls: &Arc<ServerConfig>, stream: TcpStream, answer: impl FnOnce(&mut TlsStream)) {
    let Ok(conn) = ServerConnection::new(tls.clone()) else {
        return;
    };
    let mut tls_stream = StreamOwned::new(conn, stream);
    answer(&mut tls_stream);
    tls_stream.conn.send_close_notify();
    let _ = tls_stream.flush();
}

/// Accepts connections until `stop`, one thread each.
fn serve(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    handler: impl Fn(TcpStream) + Send + Sync + Clone + 'static,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let _ = listener.set_nonblocking(true);
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let h = handler.clone();
                    thread::spawn(move || h(stream));
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

/// One request, one response (with `extra` header lines), then the connection closes.
fn handle<S: Read + Write>(stream: &mut S, scheme: &str, extra: &str) {
    let Some((method, path, body)) = read_request(stream) else {
        return;
    };
    let (status, page) = route(&method, &path, &body, scheme);
    respond(stream, status, extra, &page);
}

/// One request to a mistakes port, answered with its mistake.
fn answer_mistake<S: Read + Write>(stream: &mut S, mistake: Mistake, ports: LabPorts) {
    let Some((method, path, _)) = read_request(stream) else {
        return;
    };
    let (status, headers, page) = mistake.answer(&method, &path, ports);
    respond(stream, status, &headers, &page);
}

/// Writes an HTML answer with `extra` header lines; the connection closes after it.
fn respond<S: Write>(stream: &mut S, status: &str, extra: &str, page: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn read_request<S: Read>(stream: &mut S) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(head)) => {
                let method = req.method?.to_string();
                let path = req.path?.to_string();
                let len = req
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| {
                        std::str::from_utf8(h.value)
                            .ok()?
                            .trim()
                            .parse::<usize>()
                            .ok()
                    })
                    .unwrap_or(0)
                    .min(MAX_REQUEST);
                let mut body = buf[head..].to_vec();
                while body.len() < len {
                    let n = stream.read(&mut chunk).ok()?;
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                body.truncate(len);
                return Some((method, path, body));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST => continue,
            _ => return None,
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn route(method: &str, path: &str, body: &[u8], scheme: &str) -> (&'static str, String) {
    let path = path.split('?').next().unwrap_or(path);
    match (method, path) {
        ("GET", "/") | ("GET", "/login") => ("200 OK", login_page(scheme, None)),
        ("POST", "/login") => {
            let user = form_urlencoded::parse(body)
                .find(|(k, _)| k == "username")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            ("200 OK", login_page(scheme, Some(&user)))
        }
        _ => (
            "404 Not Found",
            "<!doctype html><title>Not found</title><p>Not found.</p>".to_string(),
        ),
    }
}

fn login_page(scheme: &str, welcomed: Option<&str>) -> String {
    let (banner, color) = if scheme == "https" {
        (
            "HTTPS: this page and your password travel encrypted",
            "#1b7f3a",
        )
    } else {
        (
            "HTTP: anyone on the network can read what you type here",
            "#b00020",
        )
    };
    let content = match welcomed {
        Some(user) => format!(
            "<h1>Welcome, {}!</h1><p>You are signed in to the plainsight lab over {}.</p><p><a href=\"/\">Back</a></p>",
            escape(user),
            scheme.to_uppercase()
        ),
        None => "<h1>Sign in</h1>\
                 <form method=\"post\" action=\"/login\">\
                 <label>User name <input name=\"username\" autocomplete=\"username\"></label><br>\
                 <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label><br>\
                 <button type=\"submit\">Sign in</button></form>\
                 <p><small>A lab for plainsight: use a made-up password, never a real one.</small></p>"
            .to_string(),
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>plainsight lab</title></head>\
         <body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\">\
         <p style=\"color:#fff;background:{color};padding:.5em\">{banner}</p>{content}</body></html>"
    )
}

/// What `plainsight lab` was asked for.
#[derive(Debug, Clone, Default)]
pub struct LabCommand {
    /// Address to bind (127.0.0.1 when `None`).
    pub bind: Option<String>,
    pub http_port: u16,
    pub https_port: u16,
    pub keylog: Option<PathBuf>,
    /// Where to write the lab CA's certificate (PEM).
    pub ca_out: Option<PathBuf>,
    /// Also serve the HTTPS mistakes, one per port.
    pub mistakes: bool,
}

/// `plainsight lab`: the login site over HTTP and HTTPS, and the broken-certificate ports, until
/// `stop` is set, with what to type to watch it on stdout.
pub fn run_until(command: &LabCommand, stop: &AtomicBool) -> anyhow::Result<()> {
    use anyhow::Context;
    let bind: IpAddr = match &command.bind {
        Some(b) => b.parse().with_context(|| {
            format!("--bind {b:?} is not an IP address (for example 127.0.0.1)")
        })?,
        None => IpAddr::from([127, 0, 0, 1]),
    };
    if !bind.is_loopback() {
        eprintln!(
            "plainsight: WARNING: the lab listens on {bind}, reachable from other machines. \
             Never let real people type real passwords into it: everything they send is shown on screen."
        );
    }
    let keylog = command.keylog.clone();
    let lab = Lab::start(&LabConfig {
        bind,
        http_port: command.http_port,
        https_port: command.https_port,
        keylog: keylog.clone(),
        shared_keys: None,
        broken_certificates: true,
        mistakes: command.mistakes,
    })?;
    if let Some(path) = &command.ca_out {
        std::fs::write(path, &lab.ca_pem)
            .with_context(|| format!("cannot write the lab's CA to {}", path.display()))?;
    }
    print!("{}", banner(&lab, command));
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(200));
    }
    lab.stop();
    Ok(())
}

/// What the lab serves and how to watch it, as `plainsight lab` prints it.
fn banner(lab: &Lab, command: &LabCommand) -> String {
    use std::fmt::Write as _;
    let mut b = String::new();
    let ip = lab.https.ip();
    let resolve = |port: u16| format!("--resolve {LAB_HOST}:{port}:{ip}");
    let ca = command
        .ca_out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "lab-ca.pem".into());
    let _ = writeln!(
        b,
        "plainsight lab — a login page to watch being sniffed (made-up passwords only)"
    );
    let _ = writeln!(b, "  HTTP   http://{}/", lab.http);
    let _ = writeln!(
        b,
        "  HTTPS  https://{LAB_HOST}:{}/   (certificate from the lab's own CA, \"{}\")",
        lab.https.port(),
        pki::ROOT_CN
    );
    let _ = writeln!(
        b,
        "  HTTP/3 the same over QUIC (UDP port {}; announced with Alt-Svc)",
        lab.h3.port()
    );
    match &command.ca_out {
        Some(path) => {
            let _ = writeln!(
                b,
                "  The lab's CA is in {}: trust it with curl --cacert, or import it into a \
                 browser as an authority. It is new at every start, and its key dies with the lab.",
                path.display()
            );
        }
        None => {
            let _ = writeln!(
                b,
                "  (add --ca-out FILE to write the lab's CA, so that curl --cacert FILE and a \
                 browser trust the lab without -k)"
            );
        }
    }
    let _ = writeln!(
        b,
        "  Try: curl --cacert {ca} {} https://{LAB_HOST}:{}/",
        resolve(lab.https.port()),
        lab.https.port()
    );
    if !lab.broken.is_empty() {
        let _ = writeln!(
            b,
            "\nBroken certificates, for the lesson (the same site; a browser warns, curl exits 60):"
        );
        for (kind, addr) in &lab.broken {
            let _ = writeln!(
                b,
                "  {:<5} {:<12} {}",
                addr.port(),
                kind.name(),
                kind.describe()
            );
        }
    }
    if !lab.mistakes.is_empty() {
        let _ = writeln!(
            b,
            "\nHTTPS done wrong, one mistake per port (plainsight names each as a finding; \
             names need --resolve {LAB_HOST}:PORT:{ip} or a hosts entry):"
        );
        for (mistake, addr) in &lab.mistakes {
            let _ = writeln!(
                b,
                "  {:<5} {:<28} {}",
                addr.port(),
                mistake.finding().as_str(),
                mistake.url(ip, addr.port())
            );
            let _ = writeln!(b, "        {}", mistake.describe());
        }
        let _ = writeln!(
            b,
            "  (TLS 1.0, RC4, 3DES and RSA key exchange are mistakes too; the lab's TLS library \
             refuses them: see captures/tls10-3des.pcap)"
        );
    }
    match &command.keylog {
        Some(k) => {
            let _ = writeln!(b, "\nTLS session keys are written to {}", k.display());
        }
        None => {
            let _ = writeln!(
                b,
                "\n(add --keylog FILE to write the TLS session keys, for decryption)"
            );
        }
    }
    let mut ports = vec![lab.http.port(), lab.https.port()];
    ports.extend(lab.broken.iter().map(|(_, a)| a.port()));
    ports.extend(lab.mistakes.iter().map(|(_, a)| a.port()));
    let filter = port_filter(&ports);
    let _ = writeln!(b, "\nWatch it in another terminal:");
    let _ = writeln!(
        b,
        "  sudo plainsight live -i lo -f '{filter}'{}{}",
        command
            .keylog
            .as_ref()
            .map(|k| format!(" --keylog {}", k.display()))
            .unwrap_or_default(),
        command
            .ca_out
            .as_ref()
            .map(|k| format!(" --ca {}", k.display()))
            .unwrap_or_default()
    );
    let _ = writeln!(b, "Ctrl-C stops the lab.");
    b
}

/// A BPF filter for the lab's ports: the consecutive ones as one range.
fn port_filter(ports: &[u16]) -> String {
    let mut sorted = ports.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("portrange {}-{}", sorted[i], sorted[j])
        } else {
            format!("port {}", sorted[i])
        });
        i = j + 1;
    }
    parts.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_ports_make_a_short_filter() {
        assert_eq!(
            port_filter(&[8080, 8443, 8444, 8445, 9000]),
            "port 8080 or portrange 8443-8445 or port 9000"
        );
        assert_eq!(port_filter(&[8080, 8443]), "port 8080 or port 8443");
    }

    #[test]
    fn routes() {
        let (status, page) = route(
            "POST",
            "/login",
            b"username=alice%3Cb%3E&password=x",
            "http",
        );
        assert_eq!(status, "200 OK");
        assert!(page.contains("Welcome, alice&lt;b&gt;!"));
        assert!(route("GET", "/", b"", "https")
            .1
            .contains("type=\"password\""));
        assert_eq!(route("GET", "/nope", b"", "http").0, "404 Not Found");
    }
}
