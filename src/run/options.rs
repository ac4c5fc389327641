//! What every run needs besides its inputs, resolved once from the command line.

use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::CommonArgs;
use crate::engine::EngineConfig;
use crate::proto::tls::decrypt::KeyLog;

#[derive(Debug, Clone, Default)]
pub struct AnalysisOptions {
    /// `-f/--filter`: a libpcap filter expression.
    pub filter: Option<String>,
    pub engine: EngineConfig,
}

impl AnalysisOptions {
    /// The options the common arguments ask for, the key log read. Lines for the user (key-log
    /// lines that could not be used) go to `notice`.
    pub fn from_args(common: &CommonArgs, notice: &mut dyn FnMut(String)) -> Result<Self> {
        let mut keylog = match &common.keylog {
            Some(path) => Some(load_keylog(path, notice)?),
            None => None,
        };
        for path in &common.server_keys {
            let key = load_server_key(path)?;
            keylog
                .get_or_insert_with(KeyLog::default)
                .add_server_key(key);
        }
        let mut roots = Vec::new();
        for path in &common.ca {
            roots.extend(load_ca(path)?);
        }
        Ok(AnalysisOptions {
            filter: common.filter.clone(),
            engine: EngineConfig {
                memcap: common.memcap,
                keylog,
                payloads: None,
                roots: std::sync::Arc::new(roots),
            },
        })
    }
}

/// Reads the PEM certificates of a `--ca` file (DER each).
pub fn load_ca(path: &Path) -> Result<Vec<Vec<u8>>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read the CA file {}", path.display()))?
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: not PEM certificates", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{} holds no certificate: give a PEM file with -----BEGIN CERTIFICATE----- blocks",
        path.display()
    );
    Ok(certs)
}

/// Reads a server's RSA private key (PEM, PKCS#8 or PKCS#1).
pub fn load_server_key(path: &Path) -> Result<rsa::RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the server key {}: give the server's private key as PEM",
            path.display()
        )
    })?;
    rsa::RsaPrivateKey::from_pkcs8_pem(&text)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&text))
        .map_err(|_| {
            anyhow::anyhow!(
                "{} is not an RSA private key in PEM (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY); only RSA keys can open an RSA key exchange",
                path.display()
            )
        })
}

/// Reads a key log once; lines it cannot use are named through `notice`, the rest kept.
pub fn load_keylog(path: &Path, notice: &mut dyn FnMut(String)) -> Result<KeyLog> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the key log {}: give the file that SSLKEYLOGFILE wrote",
            path.display()
        )
    })?;
    let (keylog, warnings) = KeyLog::parse(&String::from_utf8_lossy(&bytes));
    for w in warnings.iter().take(5) {
        notice(format!("key log {}: {w}; line skipped", path.display()));
    }
    if warnings.len() > 5 {
        notice(format!(
            "key log {}: {} more lines skipped",
            path.display(),
            warnings.len() - 5
        ));
    }
    if keylog.is_empty() {
        notice(format!(
            "key log {}: no TLS session secrets in it (expected lines like CLIENT_RANDOM <hex> <hex>); nothing can be decrypted",
            path.display()
        ));
    }
    Ok(keylog)
}
