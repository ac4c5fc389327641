//! Would a browser trust this chain? rustls-webpki builds and checks the path from the leaf, through
//! the intermediates the server sent, to one of Mozilla's roots (webpki-roots, built into the
//! binary so the verdict does not depend on the machine), at the capture's time, for the server
//! name the client asked for.

use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, Error, KeyUsage};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use super::handshake::attribute_text;
use crate::event::TrustResult;

/// A trust verdict: the result, the CN of the root that vouches (when one does), and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub result: TrustResult,
    pub anchor: Option<String>,
    pub detail: String,
}

/// The roots chains are judged against: Mozilla's (webpki-roots), then any given with `--ca`.
#[derive(Debug, Clone)]
pub struct Anchors(pub Vec<TrustAnchor<'static>>);

impl Default for Anchors {
    fn default() -> Self {
        Anchors::new(&[])
    }
}

impl Anchors {
    /// Mozilla's roots and `extra` (DER certificates; one that cannot be a root is left out).
    pub fn new(extra: &[Vec<u8>]) -> Anchors {
        let mut all = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        all.extend(extra.iter().filter_map(|der| {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                .ok()
                .map(|a| a.to_owned())
        }));
        Anchors(all)
    }
}

/// Judges `chain` (DER, leaf first, as sent) for `name` (the SNI; without one, the leaf's own
/// first name) at `secs` since the epoch, against `anchors`.
pub fn judge(
    chain: &[Vec<u8>],
    name: Option<&str>,
    secs: u64,
    anchors: &[TrustAnchor<'static>],
) -> Verdict {
    let verdict = |result, anchor, detail: String| Verdict {
        result,
        anchor,
        detail,
    };
    let Some(leaf_der) = chain.first() else {
        return verdict(TrustResult::NotChecked, None, "no certificate".into());
    };
    let leaf_der = CertificateDer::from(leaf_der.as_slice());
    let Ok(leaf) = EndEntityCert::try_from(&leaf_der) else {
        return verdict(
            TrustResult::BadSignature,
            None,
            "the server's certificate cannot be read as X.509".into(),
        );
    };
    let intermediates: Vec<CertificateDer<'_>> = chain
        .iter()
        .skip(1)
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let path = leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        anchors,
        &intermediates,
        time,
        KeyUsage::server_auth(),
        None,
        None,
    );
    let (anchor, mozilla) = match path {
        Ok(path) => {
            let subject = path.anchor().subject.as_ref();
            let mozilla = webpki_roots::TLS_SERVER_ROOTS
                .iter()
                .any(|r| r.subject.as_ref() == subject);
            (anchor_name(subject), mozilla)
        }
        Err(e) => {
            let (result, detail) = failure(&e, chain, secs);
            return verdict(result, None, detail);
        }
    };
    let name = name.map(str::to_string).or_else(|| first_name(chain));
    let Some(name) = name else {
        return verdict(
            TrustResult::NameMismatch,
            anchor,
            "no server name was sent and the certificate names none".into(),
        );
    };
    let matches = ServerName::try_from(name.as_str())
        .map(|n| leaf.verify_is_valid_for_subject_name(&n).is_ok())
        .unwrap_or(false);
    if !matches {
        let names = leaf_names(chain);
        let detail = if names.is_empty() {
            format!(
                "the certificate is not for {name}: a browser warns that the name does not match"
            )
        } else {
            format!(
                "the certificate is for {}, not for {name}: a browser warns that the name does not \
                 match",
                names.join(", ")
            )
        };
        return verdict(TrustResult::NameMismatch, anchor, detail);
    }
    let by = anchor.clone().unwrap_or_else(|| "a root".into());
    let detail = if mozilla {
        format!("a browser trusts it: {by}, one of Mozilla's roots, vouches for {name}")
    } else {
        format!(
            "trusted through {by}, a root given with --ca: browsers that were given it too (a \
             private CA installed on them) trust {name}; others warn"
        )
    };
    verdict(TrustResult::Trusted, anchor, detail)
}

/// The moments (Unix seconds) at which a verdict on `chain` can change: when a certificate of
/// it becomes valid, and the second after it expires. Between two of them, [`judge`] says the
/// same (the roots have no validity period for it).
pub fn validity_changes(chain: &[Vec<u8>]) -> Vec<i64> {
    chain
        .iter()
        .filter_map(|d| X509Certificate::from_der(d).ok())
        .flat_map(|(_, c)| {
            let validity = c.validity();
            [
                validity.not_before.timestamp(),
                validity.not_after.timestamp().saturating_add(1),
            ]
        })
        .collect()
}

/// Whether a verdict given at `then` may differ at `now`: a validity change lies between.
pub fn changes_between(changes: &[i64], then: u64, now: u64) -> bool {
    let (then, now) = (
        i64::try_from(then).unwrap_or(i64::MAX),
        i64::try_from(now).unwrap_or(i64::MAX),
    );
    let (lo, hi) = (then.min(now), then.max(now));
    changes.iter().any(|&at| lo < at && at <= hi)
}

/// Why the path failed, in the contract's words, naming the certificate at fault.
fn failure(e: &Error, chain: &[Vec<u8>], secs: u64) -> (TrustResult, String) {
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .map_while(|d| X509Certificate::from_der(d).ok().map(|(_, c)| c))
        .collect();
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    match e {
        Error::CertExpired { .. } => {
            let at_fault = parsed
                .iter()
                .enumerate()
                .find(|(_, c)| c.validity().not_after.timestamp() < secs)
                .map(|(i, c)| (i, c, c.validity().not_after));
            let detail = validity_detail(
                at_fault,
                "expired on",
                "before the capture: a browser warns, as it would for a certificate nobody renewed",
            )
            .unwrap_or_else(|| {
                "a certificate of the chain had expired at the time of the capture".into()
            });
            (TrustResult::Expired, detail)
        }
        Error::CertNotValidYet { .. } => {
            let at_fault = parsed
                .iter()
                .enumerate()
                .find(|(_, c)| c.validity().not_before.timestamp() > secs)
                .map(|(i, c)| (i, c, c.validity().not_before));
            let detail = validity_detail(
                at_fault,
                "is valid only from",
                "after the capture: a wrong clock, on the server's CA or on this machine",
            )
            .unwrap_or_else(|| {
                "a certificate of the chain was not yet valid at the time of the capture".into()
            });
            (TrustResult::NotYetValid, detail)
        }
        Error::InvalidSignatureForPublicKey
        | Error::UnsupportedSignatureAlgorithmContext(_)
        | Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => (
            TrustResult::BadSignature,
            format!("a signature in the chain does not check out ({e})"),
        ),
        _ if self_signed(chain) => (
            TrustResult::SelfSigned,
            "the certificate signs itself: no authority vouches for it, so a browser warns".into(),
        ),
        _ => {
            let Some(top) = parsed.last() else {
                return (
                    TrustResult::UnknownIssuer,
                    "no root a browser knows vouches for this chain".into(),
                );
            };
            let issuer = top
                .issuer()
                .iter_common_name()
                .next()
                .and_then(attribute_text)
                .unwrap_or_else(|| top.issuer().to_string());
            // A look-alike: the name of one of Mozilla's roots on a chain its key never signed.
            // (Compared as text: the same name may be written in other string types.)
            let wanted = top.issuer().to_string();
            let look_alike = webpki_roots::TLS_SERVER_ROOTS.iter().any(|r| {
                with_subject(r.subject.as_ref(), |n| n.to_string() == wanted) == Some(true)
            });
            let detail = if look_alike {
                format!(
                    "\"{issuer}\" is the name of one of Mozilla's roots, but that root's key did not \
                     sign this chain: a look-alike, and names are not trust"
                )
            } else {
                format!(
                    "no root a browser knows vouches for \"{issuer}\", which signed the top of the \
                     chain: a private CA (trusted only where it was installed, see --ca), or an \
                     intermediate the server did not send"
                )
            };
            (TrustResult::UnknownIssuer, detail)
        }
    }
}

/// "the server's certificate (a.test) expired on 2024-04-01, before the capture: ...", for the
/// certificate at fault: its place in the chain, itself, and the date it breaks.
fn validity_detail(
    at_fault: Option<(usize, &X509Certificate<'_>, x509_parser::time::ASN1Time)>,
    verb: &str,
    why: &str,
) -> Option<String> {
    let (i, c, date) = at_fault?;
    let which = if i == 0 {
        "the server's certificate"
    } else {
        "a CA certificate"
    };
    let cn = c
        .subject()
        .iter_common_name()
        .next()
        .and_then(attribute_text)
        .unwrap_or_else(|| c.subject().to_string());
    let d = date.to_datetime().date();
    Some(format!(
        "{which} ({cn}) {verb} {:04}-{:02}-{:02}, {why}",
        d.year(),
        d.month() as u8,
        d.day()
    ))
}

/// The leaf names itself as its issuer.
fn self_signed(chain: &[Vec<u8>]) -> bool {
    chain
        .first()
        .and_then(|d| X509Certificate::from_der(d).ok())
        .is_some_and(|(_, c)| c.subject().as_raw() == c.issuer().as_raw())
}

/// The leaf's DNS names and IP addresses (its SAN), at most a few, for the mismatch's words.
fn leaf_names(chain: &[Vec<u8>]) -> Vec<String> {
    let Some((_, cert)) = chain
        .first()
        .and_then(|d| X509Certificate::from_der(d).ok())
    else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .take(4)
        .collect()
}

/// The leaf's first DNS name (or its CN), to judge a chain sent without SNI.
fn first_name(chain: &[Vec<u8>]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(chain.first()?).ok()?;
    let san = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|ext| {
            ext.value.general_names.iter().find_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
        });
    san.or_else(|| {
        cert.subject()
            .iter_common_name()
            .next()
            .and_then(attribute_text)
    })
}

/// The CN of a trust anchor's subject (its DER without the outer SEQUENCE).
fn anchor_name(subject: &[u8]) -> Option<String> {
    with_subject(subject, |name| {
        let cn = name.iter_common_name().next().and_then(attribute_text);
        cn.or_else(|| name.iter_organization().next().and_then(attribute_text))
    })
    .flatten()
}

/// `f` applied to a trust anchor's subject (its DER without the outer SEQUENCE), parsed.
fn with_subject<T>(subject: &[u8], f: impl FnOnce(&X509Name<'_>) -> T) -> Option<T> {
    let len = subject.len();
    let mut der = vec![0x30];
    if len < 0x80 {
        der.push(len as u8);
    } else if len < 0x100 {
        der.extend([0x81, len as u8]);
    } else {
        der.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    der.extend_from_slice(subject);
    let (_, name) = X509Name::from_der(&der).ok()?;
    Some(f(&name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, Issuer, KeyPair};

    fn params(names: &[&str]) -> CertificateParams {
        let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("x"));
        p
    }

    /// 2026-12-02, when the certificates below are valid.
    const NOW: u64 = 1_796_200_000;

    /// A verdict is given again exactly when a certificate's validity changes in between: the
    /// second after `not_after` (and at `not_before`), in either direction of time.
    #[test]
    fn a_verdict_changes_only_across_a_validity_boundary() {
        let mut p = params(&["expiring.test"]);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2026, 12, 3);
        let cert = p.self_signed(&KeyPair::generate().unwrap()).unwrap();
        let chain = vec![cert.der().to_vec()];
        let changes = validity_changes(&chain);
        // 2026-01-01 and the second after 2026-12-03T00:00:00Z.
        assert_eq!(changes, [1_767_225_600, 1_796_256_001]);
        let expiry = 1_796_256_000;
        assert!(!changes_between(&changes, NOW, expiry));
        assert!(changes_between(&changes, NOW, expiry + 1));
        assert!(changes_between(&changes, expiry + 1, NOW));
        assert!(!changes_between(&changes, expiry + 1, expiry + 90_000));
        let at = |secs| judge(&chain, Some("expiring.test"), secs, &[]).result;
        assert_eq!(at(expiry), TrustResult::SelfSigned);
        assert_eq!(at(expiry + 1), TrustResult::Expired);
    }

    #[test]
    fn self_signed_and_private_ca_chains_are_not_trusted() {
        let key = KeyPair::generate().unwrap();
        let own = params(&["lab.test"]).self_signed(&key).unwrap();
        let mozilla = Anchors::default();
        let v = judge(&[own.der().to_vec()], Some("lab.test"), NOW, &mozilla.0);
        assert_eq!(v.result, TrustResult::SelfSigned, "{v:?}");
        // A leaf from a private CA, sent with that CA: no Mozilla root vouches.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = params(&[]);
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "Private CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, &ca_key);
        let leaf = params(&["lab.test"]).signed_by(&key, &issuer).unwrap();
        let chain = [leaf.der().to_vec(), ca_cert.der().to_vec()];
        let v = judge(&chain, Some("lab.test"), NOW, &mozilla.0);
        assert_eq!(v.result, TrustResult::UnknownIssuer, "{v:?}");
        assert_eq!(
            judge(&[], None, NOW, &mozilla.0).result,
            TrustResult::NotChecked
        );
        assert_eq!(
            judge(&[b"junk".to_vec()], None, NOW, &mozilla.0).result,
            TrustResult::BadSignature
        );
        // The private CA given as a root (`--ca`): trusted, vouched for by it; for another
        // name, a mismatch; years later, expired.
        let private = Anchors::new(&[ca_cert.der().to_vec()]);
        let v = judge(&chain, Some("lab.test"), NOW, &private.0);
        assert_eq!(v.result, TrustResult::Trusted, "{v:?}");
        assert_eq!(v.anchor.as_deref(), Some("Private CA"));
        assert!(v.detail.contains("--ca"), "{v:?}");
        let v = judge(&chain, Some("other.test"), NOW, &private.0);
        assert_eq!(v.result, TrustResult::NameMismatch, "{v:?}");
        // Before its validity began (rcgen's certificates start in 1975).
        let v = judge(&chain, Some("lab.test"), 0, &private.0);
        assert_eq!(v.result, TrustResult::NotYetValid, "{v:?}");
    }
}
