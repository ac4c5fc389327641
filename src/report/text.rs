//! The text report: a table of flows as they end, then the anomalies and the totals.

use std::collections::HashMap;
use std::io::Write;

use super::human_bytes;
use crate::event::{
    Anomaly, Credential, Endpoint, Event, FlowClose, FlowId, Protocol, Summary, Transport,
};

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
    /// The chain as sent, from the server's certificate up, and the trust verdict, in words.
    chain: Option<String>,
    trust: Option<String>,
    decryption: Option<String>,
    /// QUIC: its first packets open without keys.
    quic: bool,
}

/// A chain in a line, from the server's certificate up to the root: "a.test ← signed by B CA ←
/// signed by Root (not sent; a root the client has)".
fn chain_words(chain: &[crate::event::ChainCertificate], trust: &crate::event::Trust) -> String {
    let name = |c: &crate::event::ChainCertificate| {
        c.subject_cn.clone().unwrap_or_else(|| c.subject.clone())
    };
    let mut words: Vec<String> = chain
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let what = if i == 0 { "" } else { "signed by " };
            format!(
                "{what}{} ({}, {} to {})",
                name(c),
                c.key,
                crate::base::rfc3339_day(&c.not_before),
                crate::base::rfc3339_day(&c.not_after)
            )
        })
        .collect();
    let top_is_root = chain.last().is_some_and(|c| c.subject == c.issuer);
    if !top_is_root {
        let issuer = chain
            .last()
            .map(|c| c.issuer_cn.clone().unwrap_or_else(|| c.issuer.clone()));
        match (&trust.anchor, issuer) {
            (Some(anchor), _) if trust.result == crate::event::TrustResult::Trusted => words.push(
                format!("signed by {anchor} (a root the client has, not sent)"),
            ),
            (_, Some(issuer)) => words.push(format!("signed by {issuer} (not sent)")),
            _ => {}
        }
    }
    words.join(" ← ")
}

pub struct TextReport<W: Write> {
    out: W,
    header_done: bool,
    /// Open flows: client, server, and whether it is QUIC (over UDP).
    open: HashMap<FlowId, (Endpoint, Endpoint, bool)>,
    anomalies: Vec<String>,
    anomalies_unlisted: u64,
    /// What the sites got wrong, most severe first when written.
    findings: Vec<crate::event::Finding>,
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
            findings: Vec::new(),
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
            Event::FlowOpen(e) => {
                self.open
                    .insert(e.flow, (e.client, e.server, e.transport == Transport::Udp));
            }
            Event::FlowClose(e) => self.flow_close(e),
            Event::Anomaly(e) => self.anomaly(e),
            Event::Credential(c) => {
                if self.credentials.len() < CREDENTIALS_LISTED {
                    self.credentials.push(c.clone());
                } else {
                    self.credentials_unlisted += 1;
                }
            }
            Event::TlsClientHello(e) => {
                if let Some(t) = self.tls_entry(e.flow) {
                    t.sni = e.sni.clone();
                }
            }
            Event::TlsServerHello(e) => {
                if let Some(t) = self.tls_entry(e.flow) {
                    t.version = Some(e.version.clone());
                    t.cipher = Some(e.cipher.clone());
                }
            }
            Event::TlsCertificate(e) => {
                if let Some(t) = self.tls_entry(e.flow) {
                    t.certificate = Some(format!(
                        "{} (issued by {}, until {})",
                        e.subject_cn.as_deref().unwrap_or("no CN"),
                        e.issuer_cn,
                        e.not_after
                    ));
                    t.chain = Some(chain_words(&e.chain, &e.trust));
                    t.trust = Some(match e.trust.result {
                        crate::event::TrustResult::Trusted => format!("trust: {}", e.trust.detail),
                        other => format!(
                            "trust: NOT trusted ({}): {}",
                            other.as_str(),
                            e.trust.detail
                        ),
                    });
                }
            }
            Event::TlsDecryption(e) => {
                if let Some(t) = self.tls_entry(e.flow) {
                    // Why not, when it did not open (no key, forward secrecy, an unsupported suite).
                    t.decryption = Some(if e.result == crate::event::DecryptionResult::Ok {
                        e.result.as_str().to_string()
                    } else {
                        format!("{} ({})", e.result, e.detail)
                    });
                }
            }
            Event::HttpRequest(_)
            | Event::HttpResponse(_)
            | Event::DnsQuery(_)
            | Event::Payload(_)
            | Event::TlsRecord(_) => {}
            Event::Finding(f) => {
                if self.findings.len() < CREDENTIALS_LISTED {
                    self.findings.push(f.clone());
                }
            }
            Event::Summary(summary) => self.totals(summary),
        }
    }

    /// A row of the flow table, under the header the first row brings.
    fn flow_close(&mut self, e: &FlowClose) {
        if !self.header_done {
            self.header_done = true;
            self.line(&format!(
                "{:>5}  {:<8} {:<40} {:<40} {:>7} {:>11} {:>11} {:>8}  {}",
                "FLOW", "PROTO", "CLIENT", "SERVER", "PACKETS", "C→S", "S→C", "MISSING", "END"
            ));
        }
        let (client, server) = self
            .open
            .remove(&e.flow)
            .map(|(c, s, _)| (c.to_string(), s.to_string()))
            .unwrap_or_default();
        self.line(&format!(
            "{:>5}  {:<8} {:<40} {:<40} {:>7} {:>11} {:>11} {:>8}  {}",
            e.flow,
            e.protocol.as_str(),
            client,
            server,
            e.packets,
            human_bytes(e.bytes_c2s),
            human_bytes(e.bytes_s2c),
            human_bytes(e.missing_bytes),
            e.reason.as_str()
        ));
    }

    fn anomaly(&mut self, e: &Anomaly) {
        if self.anomalies.len() < ANOMALIES_LISTED {
            let flow = e.flow.map(|f| format!(" flow {f}")).unwrap_or_default();
            self.anomalies.push(format!(
                "  {}  {:<22}{flow}  {}",
                e.ts,
                e.kind.as_str(),
                e.detail
            ));
        } else {
            self.anomalies_unlisted += 1;
        }
    }

    fn tls_entry(&mut self, flow: FlowId) -> Option<&mut TlsSeen> {
        if !self.tls_index.contains_key(&flow) {
            if self.tls.len() >= TLS_LISTED {
                self.tls_unlisted += 1;
                return None;
            }
            let (server, quic) = self
                .open
                .get(&flow)
                .map(|(_, s, quic)| (s.to_string(), *quic))
                .unwrap_or_default();
            self.tls_index.insert(flow, self.tls.len());
            self.tls.push(TlsSeen {
                flow,
                server,
                quic,
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
        self.credentials_section(s);
        self.findings_section(s);
        self.tls_section();
        self.anomalies_section(s);
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
            "  encrypted   {} ({}{})",
            human_bytes(s.encrypted_bytes),
            if s.flows_by_protocol.contains_key(&Protocol::Quic) {
                "TLS and QUIC"
            } else {
                "TLS"
            },
            if s.wifi_protected_frames > 0 {
                ", and Wi-Fi frames under WEP/WPA"
            } else {
                ""
            }
        ));
        if s.wifi_protected_frames > 0 {
            self.line(&format!(
                "  Wi-Fi       {} frames encrypted (WEP/WPA): {}",
                s.wifi_protected_frames,
                Summary::WIFI_LESSON
            ));
        }
        self.line(&format!("  credentials {}", s.credentials));
        self.line(&format!("  findings    {}", s.findings));
        self.line(&format!("  anomalies   {}", s.anomalies));
        self.line(&format!("  duration    {:.3} s", s.duration));
        if !self.broken && self.out.flush().is_err() {
            self.broken = true;
        }
    }

    fn credentials_section(&mut self, s: &Summary) {
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
    }

    fn findings_section(&mut self, s: &Summary) {
        if self.findings.is_empty() {
            return;
        }
        self.line("");
        self.line(&format!(
            "Findings ({}) — what the sites got wrong, and the fix",
            s.findings
        ));
        let mut findings = std::mem::take(&mut self.findings);
        // Most severe first; in capture order within a severity.
        findings.sort_by_key(|f| f.severity as u8);
        for f in findings {
            let flow = f.flow.map(|id| format!("flow {id}")).unwrap_or_default();
            self.line(&format!(
                "  {:<6} {:<28} {:<9} {}: {}",
                f.severity.as_str().to_uppercase(),
                f.kind.as_str(),
                flow,
                f.host.as_deref().unwrap_or("-"),
                f.detail
            ));
            self.line(&format!("{:46}fix: {}", "", f.advice));
        }
    }

    fn tls_section(&mut self) {
        if !self.tls.is_empty() {
            self.line("");
            self.line("TLS — the content is hidden, but an eavesdropper still sees:");
            for t in std::mem::take(&mut self.tls) {
                let mut parts = vec![format!(
                    "server name {}",
                    t.sni.as_deref().unwrap_or("(none sent)")
                )];
                if t.quic {
                    parts.insert(0, "QUIC, whose Initial packets anyone can open".to_string());
                }
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
                if let Some(chain) = &t.chain {
                    self.line(&format!("{:37}chain: {chain}", ""));
                }
                if let Some(trust) = &t.trust {
                    self.line(&format!("{:37}{trust}", ""));
                }
            }
            if self.tls_unlisted > 0 {
                self.line(&format!("  … and {} more", self.tls_unlisted));
            }
            self.tls_index.clear();
        }
    }

    fn anomalies_section(&mut self, s: &Summary) {
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
    }

    pub fn flush(&mut self) {
        if !self.broken && self.out.flush().is_err() {
            self.broken = true;
        }
    }
}
