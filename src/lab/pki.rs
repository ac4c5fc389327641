//! The lab's PKI, made fresh at every start the way a private CA (HashiCorp Vault's PKI engine,
//! cert-manager's CA issuer) works: a root CA that clients are given, an issuing CA it signed,
//! and the server's certificate signed by that. The keys never leave memory, so nobody can use the
//! CA to vouch for anything once the lab stops; `lab --ca-out FILE` writes only the root's
//! certificate.
//!
//! It also makes the broken certificates the lab serves for the lesson (an offline badssl.com):
//! expired, for the wrong name, self-signed, and from a CA nobody was given.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use super::LAB_HOST;

/// The names the lab's good certificate is for.
pub const LAB_NAMES: [&str; 3] = [LAB_HOST, "localhost", "127.0.0.1"];
/// The only name the wrong-name certificate is for.
pub const WRONG_HOST: &str = "wrong.host.plainsight.test";
/// The root CA's common name, as the certificate pane and the trust verdict show it.
pub const ROOT_CN: &str = "plainsight lab root CA";

/// A certificate chain (leaf first, as the server sends it) and the leaf's private key.
pub struct ServerIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// What is wrong with a broken-certificate port's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenCertificate {
    Expired,
    WrongName,
    SelfSigned,
    UnknownCa,
}

impl BrokenCertificate {
    /// In the order of their ports (the HTTPS port + 1, + 2, ...).
    pub const ALL: [BrokenCertificate; 4] = [
        BrokenCertificate::Expired,
        BrokenCertificate::WrongName,
        BrokenCertificate::SelfSigned,
        BrokenCertificate::UnknownCa,
    ];

    /// A short name, as the banner lists it.
    pub fn name(self) -> &'static str {
        match self {
            BrokenCertificate::Expired => "expired",
            BrokenCertificate::WrongName => "wrong-name",
            BrokenCertificate::SelfSigned => "self-signed",
            BrokenCertificate::UnknownCa => "unknown-ca",
        }
    }

    /// What the certificate is, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            BrokenCertificate::Expired => {
                "issued by the lab CA, but its validity ended 30 days ago"
            }
            BrokenCertificate::WrongName => {
                "issued by the lab CA for wrong.host.plainsight.test, not for the name you asked"
            }
            BrokenCertificate::SelfSigned => "signed by its own key: no CA vouches for it",
            BrokenCertificate::UnknownCa => {
                "issued by \"plainsight unknown CA\", which no client was given"
            }
        }
    }
}

/// The lab's CA: its root (given to clients) and the issuing CA that signs servers' certificates.
pub struct LabPki {
    root_der: CertificateDer<'static>,
    root_pem: String,
    issuing_der: CertificateDer<'static>,
    issuing: Issuer<'static, KeyPair>,
    now: OffsetDateTime,
}

impl LabPki {
    /// A new root and issuing CA, valid from a day before `now`.
    pub fn new(now: OffsetDateTime) -> Result<LabPki, rcgen::Error> {
        let root_key = KeyPair::generate()?;
        let root_params = ca_params(ROOT_CN, now, Duration::days(3650));
        let root = root_params.self_signed(&root_key)?;
        let root_issuer = Issuer::new(root_params, root_key);
        let issuing_key = KeyPair::generate()?;
        let mut issuing_params = ca_params("plainsight lab issuing CA", now, Duration::days(1825));
        // Like a real issuing CA: it signs servers' certificates, not other CAs.
        issuing_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let issuing = issuing_params.signed_by(&issuing_key, &root_issuer)?;
        Ok(LabPki {
            root_der: root.der().clone(),
            root_pem: root.pem(),
            issuing_der: issuing.der().clone(),
            issuing: Issuer::new(issuing_params, issuing_key),
            now,
        })
    }

    /// The root's certificate (DER): what `--ca` and clients trust.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The root's certificate (PEM): what `lab --ca-out` writes.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The lab server's identity: a 90-day certificate (as Let's Encrypt issues) for
    /// [`LAB_NAMES`], sent with the issuing CA.
    pub fn server(&self) -> Result<ServerIdentity, rcgen::Error> {
        let key = KeyPair::generate()?;
        let params = leaf_params(&LAB_NAMES, self.now, Duration::days(90))?;
        let leaf = params.signed_by(&key, &self.issuing)?;
        Ok(identity(
            vec![leaf.der().clone(), self.issuing_der.clone()],
            &key,
        ))
    }

    /// A broken certificate for the lesson.
    pub fn broken(&self, kind: BrokenCertificate) -> Result<ServerIdentity, rcgen::Error> {
        let key = KeyPair::generate()?;
        let ninety = Duration::days(90);
        match kind {
            BrokenCertificate::Expired => {
                let mut params = leaf_params(&LAB_NAMES, self.now, ninety)?;
                params.not_before = self.now - Duration::days(120);
                params.not_after = self.now - Duration::days(30);
                let leaf = params.signed_by(&key, &self.issuing)?;
                Ok(identity(
                    vec![leaf.der().clone(), self.issuing_der.clone()],
                    &key,
                ))
            }
            BrokenCertificate::WrongName => {
                let params = leaf_params(&[WRONG_HOST], self.now, ninety)?;
                let leaf = params.signed_by(&key, &self.issuing)?;
                Ok(identity(
                    vec![leaf.der().clone(), self.issuing_der.clone()],
                    &key,
                ))
            }
            BrokenCertificate::SelfSigned => {
                let leaf = leaf_params(&LAB_NAMES, self.now, ninety)?.self_signed(&key)?;
                Ok(identity(vec![leaf.der().clone()], &key))
            }
            BrokenCertificate::UnknownCa => {
                // A CA made here and thrown away: the server sends only its own certificate,
                // as servers do, and no client has the root.
                let ca_key = KeyPair::generate()?;
                let unknown = Issuer::new(
                    ca_params("plainsight unknown CA", self.now, Duration::days(3650)),
                    ca_key,
                );
                let leaf = leaf_params(&LAB_NAMES, self.now, ninety)?.signed_by(&key, &unknown)?;
                Ok(identity(vec![leaf.der().clone()], &key))
            }
        }
    }
}

fn identity(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> ServerIdentity {
    ServerIdentity {
        chain,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "plainsight lab");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, now: OffsetDateTime, lifetime: Duration) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - Duration::days(1);
    params.not_after = now + lifetime;
    params
}

fn leaf_params(
    names: &[&str],
    now: OffsetDateTime,
    lifetime: Duration,
) -> Result<CertificateParams, rcgen::Error> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    params.distinguished_name = name(names.first().copied().unwrap_or(LAB_HOST));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - Duration::days(1);
    params.not_after = now + lifetime;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TrustResult;
    use crate::proto::tls::trust::{judge, Anchors};

    #[test]
    fn each_certificate_gets_the_verdict_its_port_teaches() {
        let now = OffsetDateTime::now_utc();
        let secs = now.unix_timestamp() as u64;
        let pki = LabPki::new(now).unwrap();
        let lab_ca = Anchors::new(&[pki.root_der().to_vec()]);
        let der = |id: ServerIdentity| id.chain.iter().map(|c| c.to_vec()).collect::<Vec<_>>();
        let good = der(pki.server().unwrap());
        assert_eq!(good.len(), 2);
        let v = judge(&good, Some(LAB_HOST), secs, &lab_ca.0);
        assert_eq!(v.result, TrustResult::Trusted, "{v:?}");
        assert_eq!(v.anchor.as_deref(), Some(ROOT_CN));
        // Without the lab CA, Mozilla's roots do not know it.
        let v = judge(&good, Some(LAB_HOST), secs, &Anchors::default().0);
        assert_eq!(v.result, TrustResult::UnknownIssuer, "{v:?}");
        for (kind, want) in [
            (BrokenCertificate::Expired, TrustResult::Expired),
            (BrokenCertificate::WrongName, TrustResult::NameMismatch),
            (BrokenCertificate::SelfSigned, TrustResult::SelfSigned),
            (BrokenCertificate::UnknownCa, TrustResult::UnknownIssuer),
        ] {
            let chain = der(pki.broken(kind).unwrap());
            let v = judge(&chain, Some(LAB_HOST), secs, &lab_ca.0);
            assert_eq!(v.result, want, "{kind:?}: {v:?}");
        }
        assert!(pki.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
