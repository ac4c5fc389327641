//! The output side of the engine: what the application layer found becomes events, anomalies are
//! counted (and the first ones of each kind written out), and the run's totals are kept.

use std::collections::HashMap;

use crate::base::{Endpoint, FlowId, Memo, Timestamp};
use crate::creds::Found;
use crate::event::{
    Anomaly, AnomalyKind, ChainCertificate, Credential, DecryptionResult, DnsQuery, Event,
    FlowClose, HttpRequest, HttpResponse, Payload, Protocol, RecordType, Summary, TlsCertificate,
    TlsClientHello, TlsDecryption, TlsRecord, TlsServerHello, Trust,
};
use crate::event::{Finding, FindingKind};
use crate::proto::analysis::{AppOutput, Output};
use crate::proto::findings::FindingDetector;
use crate::proto::http::{Request, Response};
use crate::proto::tls::handshake::{cipher_name, version_name, Certificate, CertificateCache};
use crate::proto::tls::trust::{changes_between, judge, validity_changes, Anchors};

/// Trust verdicts kept (each a few hundred bytes): a capture meets few distinct chains.
const MAX_VERDICTS: usize = 256;

/// Certificate chains whose digests are kept, and the largest kept (at most 512 KiB in all).
const CHAIN_DIGESTS: usize = 16;
const CHAIN_DIGEST_MAX_BYTES: usize = 32 * 1024;

/// The SHA-256 digest naming a chain among the trust verdicts.
fn chain_digest(chain: &[Vec<u8>]) -> Vec<u8> {
    use sha2::Digest;
    let mut sha = sha2::Sha256::new();
    for der in chain {
        sha.update((der.len() as u64).to_be_bytes());
        sha.update(der);
    }
    sha.finalize().to_vec()
}

/// At most this many anomalies of one kind are written out per run; all are counted.
pub const MAX_ANOMALIES_SHOWN_PER_KIND: u64 = 1000;

/// When something happens: the capture time and the packet (1-based in its capture).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct At {
    pub ts: Timestamp,
    pub frame: u64,
}

/// What events about a flow need to say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowContext {
    pub id: FlowId,
    /// Now: the packet being read, or the flow's last one when it closes.
    pub at: At,
    pub client: Endpoint,
    pub server: Endpoint,
}

/// A trust verdict given at a second of the capture, with the moments it could change.
type KnownVerdict = (u64, Vec<i64>, Trust);

/// Anomalies counted by kind, and which are written out: the first
/// [`MAX_ANOMALIES_SHOWN_PER_KIND`] of each kind.
#[derive(Debug, Default)]
pub(crate) struct AnomalyCap {
    counts: HashMap<AnomalyKind, u64>,
    /// Every anomaly counted, written out or not.
    pub total: u64,
}

impl AnomalyCap {
    /// Counts an anomaly: its detail as written out, or `None` when its kind has been written
    /// out often enough (the last one written says so).
    pub fn admit(&mut self, kind: AnomalyKind, detail: String) -> Option<String> {
        self.total += 1;
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        match (*n).cmp(&MAX_ANOMALIES_SHOWN_PER_KIND) {
            std::cmp::Ordering::Greater => None,
            std::cmp::Ordering::Equal => Some(format!(
                "{detail} (further {kind} anomalies are counted, not shown)"
            )),
            std::cmp::Ordering::Less => Some(detail),
        }
    }
}

/// Events out, and the counts they add up to.
#[derive(Default)]
pub(crate) struct Recorder {
    anomaly_cap: AnomalyCap,
    pub summary: Summary,
    /// Certificates already described, shared by all flows.
    certificates: CertificateCache,
    /// Trust verdicts already given, by chain and server name: when, the moments it could change
    /// (so that a verdict holds exactly where it would be given again, whichever flow of the
    /// capture asked first), and the verdict.
    verdicts: HashMap<(Vec<u8>, Option<String>), KnownVerdict>,
    /// The roots chains are judged against: Mozilla's, and those given with `--ca`.
    anchors: Anchors,
    /// The digests naming chains in `verdicts`, for the chains seen last: a server sends the
    /// same chain to every client, and digesting it for each connection was 1.5% of a run on
    /// the benchmark capture.
    chain_digests: Memo<Vec<Vec<u8>>, Vec<u8>, CHAIN_DIGESTS>,
    /// What the application layer found during the current packet (reused, not reallocated).
    pub pending: Vec<Output>,
    /// What sites got wrong, from the events made. Taken out while events pass it (an `Option`:
    /// a default detector in its place would seed three hash maps per packet).
    findings: Option<FindingDetector>,
    found: Vec<Finding>,
    /// One shard of a split run (`report -j` on one file): every anomaly is written out and no
    /// finding is looked for, since the anomaly cap and the findings span the whole capture; the
    /// run's merger applies both to the merged events.
    pub shard: bool,
}

impl Recorder {
    /// A recorder that judges certificates against Mozilla's roots and `roots` (DER).
    pub fn with_roots(roots: &[Vec<u8>]) -> Recorder {
        Recorder {
            anchors: Anchors::new(roots),
            ..Recorder::default()
        }
    }

    /// Counts an anomaly and writes it out, unless its kind has been written out too often.
    pub fn anomaly<F: FnMut(Event)>(
        &mut self,
        out: &mut F,
        ts: Timestamp,
        frame: Option<u64>,
        flow: Option<FlowId>,
        kind: AnomalyKind,
        detail: String,
    ) {
        let detail = if self.shard {
            Some(detail)
        } else {
            self.anomaly_cap.admit(kind, detail)
        };
        let Some(detail) = detail else {
            return;
        };
        out(Event::Anomaly(Anomaly {
            ts,
            frame,
            flow,
            kind,
            detail,
        }));
    }

    /// Every anomaly counted so far, shown or not.
    pub fn anomalies(&self) -> u64 {
        self.anomaly_cap.total
    }

    /// Turns what the application layer found (in [`Recorder::pending`]) into events.
    pub fn emit_pending<F: FnMut(Event)>(&mut self, ctx: &FlowContext, out: &mut F) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        if self.shard {
            for output in pending.drain(..) {
                self.emit(output, ctx, out);
            }
            self.pending = pending;
            return;
        }
        // Every event passes the findings detector on its way out; what it finds follows it.
        let mut detector = self.findings.take().unwrap_or_default();
        let mut found = std::mem::take(&mut self.found);
        let mut said = Vec::new();
        let server = Some(ctx.server);
        for output in pending.drain(..) {
            self.emit(output, ctx, &mut |event: Event| {
                detector.observe(&event, server, &mut found);
                out(event);
                for finding in found.drain(..) {
                    said.push(finding.kind);
                    out(Event::Finding(finding));
                }
            });
        }
        self.findings = Some(detector);
        for kind in said {
            count_finding(&mut self.summary, kind);
        }
        // The buffers go back, their capacity kept.
        self.found = found;
        self.pending = pending;
    }

    /// One finding as an event (built where it is handed on: events are large to move), counted
    /// in the totals. A certificate that cannot be read is not shown; a parse error becomes an
    /// anomaly.
    fn emit<F: FnMut(Event)>(&mut self, output: Output, ctx: &FlowContext, out: &mut F) {
        let (flow, ts, frame) = (ctx.id, ctx.at.ts, output.frame);
        match output.item {
            AppOutput::Request {
                request,
                decrypted,
                stream,
            } => out(Event::HttpRequest(http_request(
                request, ctx, frame, decrypted, stream,
            ))),
            AppOutput::Response {
                response,
                decrypted,
                stream,
            } => out(Event::HttpResponse(http_response(
                response, ctx, frame, decrypted, stream,
            ))),
            AppOutput::Credential { found, decrypted } => out(Event::Credential(
                self.credential(found, ctx, frame, decrypted),
            )),
            AppOutput::ClientHello(c) => out(Event::TlsClientHello(TlsClientHello {
                flow,
                ts,
                frame,
                sni: c.sni,
                alpn: c.alpn,
                offered_versions: c.offered_versions,
                cipher_suites: c.cipher_suites,
                ja4: c.ja4,
            })),
            AppOutput::ServerHello(s) => out(Event::TlsServerHello(TlsServerHello {
                flow,
                ts,
                frame,
                version: version_name(s.version),
                cipher: cipher_name(s.cipher),
                alpn: s.alpn,
                hello_retry: s.retry,
            })),
            AppOutput::Certificate {
                chain: ders,
                server_name,
            } => {
                // The leaf must read; a certificate further up that does not is left out.
                let chain: Vec<ChainCertificate> = ders
                    .iter()
                    .enumerate()
                    .map_while(|(i, der)| match self.certificates.describe(der) {
                        Some(c) => Some(Some(c)),
                        None if i > 0 => Some(None),
                        None => None,
                    })
                    .flatten()
                    .map(chain_certificate)
                    .collect();
                let trust = self.trust(&ders, server_name.as_deref(), ts);
                if let Some(leaf) = chain.first() {
                    out(Event::TlsCertificate(TlsCertificate {
                        flow,
                        ts,
                        frame,
                        subject_cn: leaf.subject_cn.clone(),
                        san: leaf.san.clone(),
                        issuer_cn: leaf.issuer_cn.clone().unwrap_or_default(),
                        not_after: leaf.not_after.clone(),
                        chain,
                        trust,
                    }));
                }
            }
            AppOutput::Decryption { result, detail } => {
                if result == DecryptionResult::Ok {
                    self.summary.decrypted_flows += 1;
                }
                out(Event::TlsDecryption(TlsDecryption {
                    flow,
                    ts,
                    frame,
                    result,
                    detail,
                }));
            }
            AppOutput::Dns(q) => out(Event::DnsQuery(DnsQuery {
                ts,
                frame,
                client: ctx.client,
                server: ctx.server,
                name: q.name,
                qtype: q.qtype,
            })),
            AppOutput::Payload {
                dir,
                offset,
                data,
                decrypted,
            } => out(Event::Payload(Payload {
                flow,
                ts,
                frame,
                dir: dir.into(),
                offset,
                data,
                decrypted,
            })),
            AppOutput::Record(r) => out(Event::TlsRecord(TlsRecord {
                flow,
                ts,
                frame,
                dir: r.dir.into(),
                content_type: RecordType::of(r.content_type),
                length: r.length as u64,
                head: hex::encode(&r.head),
                inner_type: r.inner_type.map(RecordType::of),
            })),
            AppOutput::ParseError(detail) => self.anomaly(
                out,
                ts,
                Some(frame),
                Some(flow),
                AnomalyKind::ParseError,
                detail,
            ),
        }
    }

    /// A credential, counted in the totals.
    #[inline]
    fn credential(
        &mut self,
        found: Found,
        ctx: &FlowContext,
        frame: u64,
        decrypted: bool,
    ) -> Credential {
        self.summary.credentials += 1;
        *self
            .summary
            .credentials_by_kind
            .entry(found.kind.as_str().to_string())
            .or_insert(0) += 1;
        Credential {
            flow: ctx.id,
            ts: ctx.at.ts,
            frame,
            kind: found.kind,
            username: found.username,
            secret: found.secret,
            client: ctx.client,
            server: ctx.server,
            location: found.location,
            decrypted,
        }
    }

    /// The trust verdict on a chain, at the capture's time: judged once per distinct chain and
    /// server name (servers send the same chain to every client), and again only when a
    /// certificate of it became valid or expired in between.
    fn trust(&mut self, chain: &[Vec<u8>], name: Option<&str>, ts: Timestamp) -> Trust {
        let now = ts.secs();
        let key = (self.digest_of(chain), name.map(str::to_string));
        if let Some((then, changes, known)) = self.verdicts.get(&key) {
            if !changes_between(changes, *then, now) {
                return known.clone();
            }
        }
        let v = judge(chain, name, now, &self.anchors.0);
        let trust = Trust {
            result: v.result,
            anchor: v.anchor,
            detail: v.detail,
        };
        if self.verdicts.len() >= MAX_VERDICTS {
            self.verdicts.clear();
        }
        self.verdicts
            .insert(key, (now, validity_changes(chain), trust.clone()));
        trust
    }

    /// A chain's digest, kept for the chains seen last.
    fn digest_of(&mut self, chain: &[Vec<u8>]) -> Vec<u8> {
        let size: usize = chain.iter().map(Vec::len).sum();
        self.chain_digests
            .get_or_work(chain, size <= CHAIN_DIGEST_MAX_BYTES, || {
                chain_digest(chain)
            })
    }

    /// Counts a closed flow in the totals.
    pub fn flow_closed(&mut self, close: &FlowClose) {
        if let Some(findings) = &mut self.findings {
            findings.flow_closed(close.flow);
        }
        let bytes = close.bytes_c2s + close.bytes_s2c;
        *self
            .summary
            .flows_by_protocol
            .entry(close.protocol)
            .or_insert(0) += 1;
        if matches!(close.protocol, Protocol::Tls | Protocol::Quic) {
            self.summary.encrypted_bytes += bytes;
        } else if close.starttls {
            // In the clear up to the switch, TLS records from it on.
            let encrypted = close.tls_bytes.min(bytes);
            self.summary.encrypted_bytes += encrypted;
            self.summary.plaintext_bytes += bytes - encrypted;
        } else if close.protocol.is_plaintext() {
            self.summary.plaintext_bytes += bytes;
        }
    }
}

/// A finding counted in the totals.
pub(crate) fn count_finding(summary: &mut Summary, kind: FindingKind) {
    summary.findings += 1;
    *summary
        .findings_by_kind
        .entry(kind.as_str().to_string())
        .or_insert(0) += 1;
}

fn chain_certificate(c: Certificate) -> ChainCertificate {
    ChainCertificate {
        subject: c.subject,
        issuer: c.issuer,
        subject_cn: c.subject_cn,
        issuer_cn: Some(c.issuer_cn).filter(|cn| !cn.is_empty()),
        san: c.san,
        not_before: c.not_before,
        not_after: c.not_after,
        key: c.key,
        signature: c.signature,
        sha256: c.sha256,
        is_ca: c.is_ca,
    }
}

#[inline]
fn http_request(
    r: Request,
    ctx: &FlowContext,
    frame: u64,
    decrypted: bool,
    stream: Option<u32>,
) -> HttpRequest {
    HttpRequest {
        flow: ctx.id,
        ts: ctx.at.ts,
        frame,
        host: r.host().map(str::to_string),
        method: r.method,
        target: r.target,
        version: r.version,
        headers: r.headers,
        body_len: r.body_len,
        decrypted,
        stream,
    }
}

#[inline]
fn http_response(
    r: Response,
    ctx: &FlowContext,
    frame: u64,
    decrypted: bool,
    stream: Option<u32>,
) -> HttpResponse {
    HttpResponse {
        flow: ctx.id,
        ts: ctx.at.ts,
        frame,
        status: r.status,
        reason: r.reason,
        headers: r.headers,
        body_len: r.body_len,
        decrypted,
        stream,
        html: r.html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kept digests are those of every chain: seen again, more chains than are kept (so
    /// that the memo empties), chains too long to keep, the same bytes cut differently.
    #[test]
    fn chain_digests_are_those_of_every_chain() {
        let mut chains: Vec<Vec<Vec<u8>>> = (0..3 * CHAIN_DIGESTS as u8)
            .map(|n| vec![vec![n; 1500], vec![0x30; 900]])
            .collect();
        chains.push(vec![vec![7; CHAIN_DIGEST_MAX_BYTES + 1]]);
        chains.push(vec![vec![0; 1000], vec![0; 500]]);
        chains.push(vec![vec![0; 500], vec![0; 1000]]);
        let mut recorder = Recorder::default();
        let mut names = std::collections::HashSet::new();
        for round in 0..3 {
            for chain in &chains {
                let digest = recorder.digest_of(chain);
                assert_eq!(digest, chain_digest(chain));
                if round == 0 {
                    names.insert(digest);
                }
            }
        }
        assert_eq!(names.len(), chains.len(), "every chain named apart");
    }
}
