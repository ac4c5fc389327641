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
        let keylog = match &common.keylog {
            Some(path) => Some(load_keylog(path, notice)?),
            None => None,
        };
        Ok(AnalysisOptions {
            filter: common.filter.clone(),
            engine: EngineConfig {
                memcap: common.memcap,
                keylog,
                payloads: None,
            },
        })
    }
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
