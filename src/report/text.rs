//! The text report: a table of flows as they end, then the anomalies and the totals.

use std::collections::HashMap;
use std::io::Write;

use super::human_bytes;
use crate::event::{Credential, Endpoint, Event, FlowId, Summary};

/// Anomalies listed in full; the rest are counted by kind.
const ANOMALIES_LISTED: usize = 50;
/// Credentials listed in full; the rest are counted.
const CREDENTIALS_LISTED: usize = 10_000;
/// TLS connections described; the rest are counted.
const TLS_LISTED: usize = 10_000;

/// What an eavesdropper still learns from one TLS connection.
#[derive(Debug, Default, Clone)]
struct TlsSeen {
    flow: FlowId,
    server: String,
    sni: Option<String>,
    version: Option<String>,
    cipher: Option<String>,
    certificate: Option<String>,
    decryption: Option<String>,
}

pub struct TextReport<W: Write> {
    out: W,
    header_done: bool,
    open: HashMap<FlowId, (Endpoint, Endpoint)>,
    anomalies: Vec<String>,
    anomalies_unlisted: u64,
    credentials: Vec<Credential>,
    credentials_unlisted: u64,
    tls: Vec<TlsSeen>,
    tls_index: HashMap<FlowId, usize>,
    tls_unlisted: u64,
    pub broken: bool,
}

impl<W: Write> TextReport<W> {
    pub fn new(out: W) -> Self {
        TextReport {
            out,
            header_done: false,
            open: HashMap::new(),
            anomalies: Vec::new(),
            anomalies_unlisted: 0,
            credentials: Vec::new(),
            credentials_unlisted: 0,
            tls: Vec::new(),
            tls_index: HashMap::new(),
            tls_unlisted: 0,
            broken: false,
        }
    }

    fn line(&mut self, text: &str) {
        // Names, paths and secrets come from the network: no escape sequence reaches the terminal.
        if !self.broken && writeln!(self.out, "{}", super::printable(text)).is_err() {
            self.broken = true;
        }
    }

    pub fn write(&mut self, event: &Event) {
        match event {
            Event::FlowOpen {
                flow,
                client,
                server,
                ..
            } => {
                self.open.insert(*flow, (*client, *server));
            }
            Event::FlowClose {
                flow,
                reason,
                protocol,
                bytes_c2s,
                bytes_s2c,
                packets,
                missing_bytes,
                ..
            } => {
                if !self.header_done {
                    self.header_done = true;
                    self.line(&format!(
                        "{:>5}  {:<8} {:<40} {:<40} {:>7} {:>11} {:>11} {:>8}  {}",
                        "FLOW",
                        "PROTO",
                        "CLIENT",
                        "SERVER",
                        "PACKETS",
                        "C→S",
                        "S→C",
                        "MISSING",
                        "END"
                    ));
                }
                let (client, server) = self
                    .open
                    .remove(flow)
                    .map(|(c, s)| (c.to_string(), s.to_string()))
                    .unwrap_or_default();
                self.line(&format!(
                    "{:>5}  {:<8} {:<40} {:<40} {:>7} {:>11} {:>11} {:>8}  {}",
                    flow,
                    protocol.as_str(),
                    client,
                    server,
                    packets,
                    human_bytes(*bytes_c2s),
                    human_bytes(*bytes_s2c),
                    human_bytes(*missing_bytes),
                    reason.as_str()
                ));
            }
            Event::Anomaly {
                ts,
                flow,
                kind,
                detail,
            } => {
                if self.anomalies.len() < ANOMALIES_LISTED {
                    let flow = flow.map(|f| format!(" flow {f}")).unwrap_or_default();
                    self.anomalies
                        .push(format!("  {ts}  {:<22}{flow}  {detail}", kind.as_str()));
                } else {
                    self.anomalies_unlisted += 1;
                }
            }
            Event::Credential(c) => {
                if self.credentials.len() < CREDENTIALS_LISTED {
                    self.credentials.push(c.clone());
                } else {
                    self.credentials_unlisted += 1;
                }
            }
            Event::TlsClientHello { flow, sni, .. } => {
                if let Some(t) = self.tls_entry(*flow) {
                    t.sni = sni.clone();
                }
            }
            Event::TlsServerHello {
                flow,
                version,
                cipher,
                ..
            } => {
                if let Some(t) = self.tls_entry(*flow) {
                    t.version = Some(version.clone());
                    t.cipher = Some(cipher.clone());
                }
            }
            Event::TlsCertificate {
                flow,
                subject_cn,
                issuer_cn,
                not_after,
                ..
            } => {
                if let Some(t) = self.tls_entry(*flow) {
                    t.certificate = Some(format!(
                        "{} (issued by {issuer_cn}, until {not_after})",
                        subject_cn.as_deref().unwrap_or("no CN")
                    ));
                }
            }
            Event::TlsDecryption { flow, result, .. } => {
                if let Some(t) = self.tls_entry(*flow) {
                    t.decryption = Some(result.to_string());
                }
            }
            Event::HttpRequest { .. } | Event::HttpResponse { .. } | Event::DnsQuery { .. } => {}
            Event::Summary(summary) => self.totals(summary),
        }
    }

    fn tls_entry(&mut self, flow: FlowId) -> Option<&mut TlsSeen> {
        if !self.tls_index.contains_key(&flow) {
            if self.tls.len() >= TLS_LISTED {
                self.tls_unlisted += 1;
                return None;
            }
            let server = self
                .open
                .get(&flow)
                .map(|(_, s)| s.to_string())
                .unwrap_or_default();
            self.tls_index.insert(flow, self.tls.len());
            self.tls.push(TlsSeen {
                flow,
                server,
                ..Default::default()
            });
        }
        let i = *self.tls_index.get(&flow)?;
        self.tls.get_mut(i)
    }

    fn totals(&mut self, s: &Summary) {
        if !self.header_done {
            self.line("No TCP flows.");
        }
        if !self.credentials.is_empty() {
            self.line("");
            self.line(&format!(
                "Credentials ({}) — readable by anyone who can see the traffic",
                s.credentials
            ));
            self.line(&format!(
                "  {:<12} {:<22} {:<40} {:<24} {:<24} {}",
                "KIND", "CLIENT", "SERVER", "USER", "SECRET", "WHERE"
            ));
            for c in std::mem::take(&mut self.credentials) {
                let user = c.username.as_deref().unwrap_or("-");
                let mark = if c.decrypted { " (decrypted)" } else { "" };
                self.line(&format!(
                    "  {:<12} {:<22} {:<40} {:<24} {:<24} {}{mark}",
                    c.kind.as_str(),
                    c.client.to_string(),
                    format!("→ {}", c.server),
                    user,
                    c.secret,
                    c.location
                ));
            }
            if self.credentials_unlisted > 0 {
                self.line(&format!("  … and {} more", self.credentials_unlisted));
            }
        }
        if !self.tls.is_empty() {
            self.line("");
            self.line("TLS — the content is hidden, but an eavesdropper still sees:");
            for t in std::mem::take(&mut self.tls) {
                let mut parts = vec![format!(
                    "server name {}",
                    t.sni.as_deref().unwrap_or("(none sent)")
                )];
                if let (Some(v), Some(c)) = (&t.version, &t.cipher) {
                    parts.push(format!("{v} {c}"));
                }
                if let Some(cert) = &t.certificate {
                    parts.push(format!("certificate {cert}"));
                }
                if let Some(d) = &t.decryption {
                    parts.push(format!("decryption: {d}"));
                }
                self.line(&format!(
                    "  flow {:>4}  {:<24} {}",
                    t.flow,
                    t.server,
                    parts.join("; ")
                ));
            }
            if self.tls_unlisted > 0 {
                self.line(&format!("  … and {} more", self.tls_unlisted));
            }
            self.tls_index.clear();
        }
        if !self.anomalies.is_empty() {
            self.line("");
            self.line(&format!("Anomalies ({})", s.anomalies));
            for a in std::mem::take(&mut self.anomalies) {
                self.line(&a);
            }
            if self.anomalies_unlisted > 0 {
                self.line(&format!("  … and {} more", self.anomalies_unlisted));
            }
        }
        let protocols: Vec<String> = s
            .flows_by_protocol
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        self.line("");
        self.line("Totals");
        self.line(&format!(
            "  packets     {} ({})",
            s.packets,
            human_bytes(s.bytes)
        ));
        self.line(&format!(
            "  flows       {}{}",
            s.flows,
            if protocols.is_empty() {
                String::new()
            } else {
                format!(" ({})", protocols.join(", "))
            }
        ));
        self.line(&format!(
            "  plaintext   {} readable by anyone on the path",
            human_bytes(s.plaintext_bytes)
        ));
        self.line(&format!(
            "  encrypted   {} (TLS)",
            human_bytes(s.encrypted_bytes)
        ));
        self.line(&format!("  credentials {}", s.credentials));
        self.line(&format!("  anomalies   {}", s.anomalies));
        self.line(&format!("  duration    {:.3} s", s.duration));
        if !self.broken && self.out.flush().is_err() {
            self.broken = true;
        }
    }

    pub fn flush(&mut self) {
        if !self.broken && self.out.flush().is_err() {
            self.broken = true;
        }
    }
}
