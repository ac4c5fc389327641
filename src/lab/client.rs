//! The demo's scripted client: a login over HTTP, then the same over HTTPS, with a real HTTP
//! client (ureq, on rustls) that trusts the lab's CA and nothing else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::sleep;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// The made-up accounts the demo types in.
pub const DEMO_HTTP_LOGIN: (&str, &str) = ("alice", "Demo-Http-Pass");
pub const DEMO_HTTPS_LOGIN: (&str, &str) = ("bob", "Demo-Https-Pass");

/// Logs in over HTTP, waits, then logs in over HTTPS. Returns what went wrong, in words.
pub fn scripted_logins(
    http: SocketAddr,
    https: SocketAddr,
    ca_certificate: &[u8],
    pause: Duration,
) -> Result<(), String> {
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(vec![Certificate::from_der(
            ca_certificate,
        )
        .to_owned()])))
        .build();
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().tls_config(tls).build());
    let login = |url: String, (user, pass): (&str, &str)| -> Result<(), String> {
        agent
            .post(&url)
            .send_form([("username", user), ("password", pass)])
            .map(|_| ())
            .map_err(|e| format!("{url}: {e}"))
    };
    sleep(pause);
    login(format!("http://{http}/login"), DEMO_HTTP_LOGIN)?;
    sleep(pause);
    login(format!("https://{https}/login"), DEMO_HTTPS_LOGIN)
}
