//! The certificate pane (`c`): who vouches for the server. The chain a TLS flow's server sent,
//! drawn as a ladder from the root at the top (the one a browser already has, or the rung where
//! trust breaks) down to the server's own certificate, each rung with its names, dates, key and
//! fingerprint; then what the verdict means and what the site's admin would do about it.
//!
//! Pure: a flow in, lines of styled pieces out (the wire view's [`Seg`]s); `draw` paints them.

use super::app::{FlowView, TlsView};
use super::draw::wrap_words;
use super::wire::{Look, Seg, WireLine};
use crate::base::rfc3339_day as day;
use crate::event::{ChainCertificate, TrustResult};

/// The pane's title and lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CertificateView {
    pub title: String,
    pub lines: Vec<WireLine>,
}

fn seg(text: impl Into<String>, look: Look) -> Seg {
    Seg {
        text: text.into(),
        look,
    }
}

/// The pane for `flow`, `width` columns wide, judged at the capture's time; `now` (seconds since
/// the epoch, the wall clock) adds "expired since" when a certificate trusted then is out of
/// date today.
pub fn certificate_view(flow: &FlowView, width: u16, now: u64) -> CertificateView {
    let mut lines: Vec<WireLine> = Vec::new();
    let width = usize::from(width).max(24);
    // Long text wrapped at word boundaries, each line indented as the first.
    let mut line = |segs: Vec<Seg>| {
        let [one] = segs.as_slice() else {
            lines.push(segs);
            return;
        };
        let indent = one.text.len() - one.text.trim_start().len();
        for part in wrap_words(one.text.trim_start(), width.saturating_sub(indent).max(16)) {
            lines.push(vec![seg(format!("{}{part}", " ".repeat(indent)), one.look)]);
        }
    };
    let title = format!(" Certificate · flow {} · {} ", flow.id, flow.server);
    let Some(tls) = &flow.tls else {
        line(vec![seg(
            "Not a TLS flow: nothing here proves who answered. Plain HTTP has no certificate, so \
             anyone on the path can answer in the server's name.",
            Look::Note,
        )]);
        return CertificateView { title, lines };
    };
    let name = tls.sni.clone();
    if tls.chain.is_empty() {
        for text in no_chain(flow, tls) {
            line(vec![seg(text, Look::Faint)]);
        }
        return CertificateView { title, lines };
    }
    let asked = name
        .clone()
        .or_else(|| tls.chain.first().and_then(|c| c.san.first().cloned()))
        .or_else(|| tls.chain.first().and_then(|c| c.subject_cn.clone()))
        .unwrap_or_else(|| "this server".into());
    line(vec![seg(format!("Who vouches for {asked}?"), Look::Client)]);
    line(Vec::new());
    let (result, anchor, detail) = match &tls.trust {
        Some(t) => (t.result, t.anchor.clone(), t.detail.clone()),
        None => (TrustResult::NotChecked, None, "not judged".into()),
    };
    let headline = match result {
        TrustResult::Trusted => "✓ TRUSTED".to_string(),
        TrustResult::NotChecked => "? NOT CHECKED".to_string(),
        other => format!("✗ NOT TRUSTED: {}", other.as_str().replace('_', " ")),
    };
    let good = result == TrustResult::Trusted;
    line(vec![seg(
        headline,
        if good { Look::Opaque } else { Look::Note },
    )]);
    line(vec![seg(format!("  {detail}"), Look::Faint)]);
    line(Vec::new());
    // The rung each failure points at (index in the chain as sent), judged at the flow's time
    // as the verdict was.
    let then = flow.first_ts.0 / crate::event::Timestamp::MICROS_PER_SEC;
    let expired = tls
        .chain
        .iter()
        .position(|c| epoch(&c.not_after).is_some_and(|t| t < then))
        .unwrap_or(0);
    let not_yet = tls
        .chain
        .iter()
        .position(|c| epoch(&c.not_before).is_some_and(|t| t > then))
        .unwrap_or(0);
    let broken_at = |c: &ChainCertificate, i: usize| -> Option<String> {
        match result {
            TrustResult::Expired if i == expired => {
                Some(format!("✗ expired on {}", day(&c.not_after)))
            }
            TrustResult::NotYetValid if i == not_yet => {
                Some(format!("✗ valid only from {}", day(&c.not_before)))
            }
            TrustResult::NameMismatch if i == 0 => Some(format!("✗ not for {asked}")),
            TrustResult::SelfSigned if i + 1 == tls.chain.len() => {
                Some("✗ signs itself: nobody vouches for it".into())
            }
            TrustResult::BadSignature if i + 1 == tls.chain.len() => {
                Some("✗ a signature does not check out".into())
            }
            _ => None,
        }
    };
    // The top of the ladder: the root that vouched, or the missing one.
    let top = tls.chain.last();
    let top_is_root = top.is_some_and(|c| c.subject == c.issuer);
    if good {
        let sent_root = top_is_root && top.and_then(|c| c.subject_cn.clone()) == anchor;
        if !sent_root {
            let root = anchor.clone().unwrap_or_else(|| "a root".into());
            line(vec![
                seg("  ROOT    ", Look::Opaque),
                seg(root, Look::Opaque),
            ]);
            let whose = if detail.contains("--ca") {
                "given with --ca (a private CA, installed on the client); not sent by the server"
            } else {
                "one of the roots browsers ship with (Mozilla's list); not sent by the server"
            };
            line(vec![seg(format!("          {whose}"), Look::Faint)]);
            line(vec![seg("       │ signed ↓", Look::Faint)]);
        }
    } else if matches!(result, TrustResult::UnknownIssuer) && !top_is_root {
        let issuer = top
            .and_then(|c| c.issuer_cn.clone().or_else(|| Some(c.issuer.clone())))
            .unwrap_or_default();
        line(vec![
            seg("  ✗ ???   ", Look::Note),
            seg(
                format!("nobody a browser trusts: \"{issuer}\" is not a known root"),
                Look::Note,
            ),
        ]);
        line(vec![seg("          ← trust breaks here", Look::Note)]);
        line(vec![seg("       │ signed ↓", Look::Faint)]);
    }
    let count = tls.chain.len();
    for (i, c) in tls.chain.iter().enumerate().rev() {
        let role = if i == 0 {
            "SERVER  "
        } else if c.subject == c.issuer {
            "ROOT    "
        } else if c.is_ca {
            "CA      "
        } else {
            "CERT    "
        };
        let name = c.subject_cn.clone().unwrap_or_else(|| c.subject.clone());
        let broken = broken_at(c, i);
        let look = if broken.is_some() {
            Look::Note
        } else if i == 0 {
            Look::Client
        } else {
            Look::Server
        };
        line(vec![
            seg(format!("  {role}"), look),
            seg(name, look),
            seg(format!("   (sent {}/{count})", i + 1), Look::Faint),
        ]);
        if let Some(b) = broken {
            line(vec![seg(format!("          {b}"), Look::Note)]);
        }
        if !c.san.is_empty() {
            let mut names = c.san.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
            if c.san.len() > 8 {
                names.push_str(&format!(" and {} more", c.san.len() - 8));
            }
            line(vec![seg(format!("          names   {names}"), Look::Faint)]);
        }
        line(vec![seg(
            format!("          subject {}", c.subject),
            Look::Faint,
        )]);
        line(vec![seg(
            format!("          issuer  {}", c.issuer),
            Look::Faint,
        )]);
        line(vec![seg(
            format!(
                "          valid   {} → {} · {} · {}",
                day(&c.not_before),
                day(&c.not_after),
                c.key,
                c.signature
            ),
            Look::Faint,
        )]);
        // Thirty-two bytes as a browser shows them, in two rows of sixteen.
        for (row, bytes) in fingerprint_rows(&c.sha256).into_iter().enumerate() {
            let label = if row == 0 { "sha256  " } else { "        " };
            line(vec![seg(format!("          {label}{bytes}"), Look::Faint)]);
        }
        if i > 0 {
            line(vec![seg("       │ signed ↓", Look::Faint)]);
        }
    }
    if good {
        if let Some(leaf) = tls.chain.first() {
            if let Some(end) = epoch(&leaf.not_after) {
                if end < now {
                    line(Vec::new());
                    line(vec![seg(
                        format!(
                            "  Since the capture this certificate has expired (on {}): a browser \
                             today would refuse it.",
                            day(&leaf.not_after)
                        ),
                        Look::Note,
                    )]);
                }
            }
        }
    }
    line(Vec::new());
    let (means, admin) = lesson(result, detail.contains("--ca"));
    line(vec![seg("What it means", Look::Client)]);
    line(vec![seg(format!("  {means}"), Look::Faint)]);
    line(vec![seg("What the site's admin would do", Look::Client)]);
    line(vec![seg(format!("  {admin}"), Look::Faint)]);
    line(Vec::new());
    line(vec![seg(
        if flow.udp || tls.version.as_deref() == Some("TLS1.3") {
            "This chain travelled encrypted (TLS 1.3): the key log opened it. Without it an \
             eavesdropper sees only the server name the client asked for."
        } else {
            "This chain crossed the wire readable (TLS 1.2 and older): anyone on the path sees \
             who the server claims to be."
        },
        Look::Faint,
    )]);
    CertificateView { title, lines }
}

/// Why a TLS flow shows no chain.
fn no_chain(flow: &FlowView, tls: &TlsView) -> Vec<String> {
    let asked = tls
        .sni
        .as_deref()
        .map(|s| format!(" (it asked for {s})"))
        .unwrap_or_default();
    let encrypted = flow.udp || tls.version.as_deref() == Some("TLS1.3");
    if encrypted && tls.decryption.as_ref().is_none_or(|(r, _)| r != "ok") {
        vec![
            format!(
                "The certificate travelled encrypted ({}): an eavesdropper without the keys \
                 does not see who the server claimed to be, only the name the client asked \
                 for{asked}.",
                if flow.udp { "QUIC" } else { "TLS 1.3" }
            ),
            "Give the session keys (--keylog FILE) and the chain appears here.".into(),
        ]
    } else if tls.version.is_some() {
        vec![
            "No certificate in this connection: a resumed session, whose certificate was \
             checked when the session began."
                .into(),
        ]
    } else {
        vec!["No certificate seen yet: the handshake has not got that far in the capture.".into()]
    }
}

/// What a verdict means, and what the site's admin would do: two sentences for students.
fn lesson(result: TrustResult, private: bool) -> (&'static str, &'static str) {
    const GET_ONE: &str = "For a public name, get a certificate from a public CA (Let's Encrypt: \
         free, renewed automatically with ACME) and send the whole chain; for an internal name, \
         run a private CA (HashiCorp Vault's PKI, cert-manager) and install its root on every \
         client.";
    match result {
        TrustResult::Trusted if private => (
            "Trusted because its root was given with --ca: a private CA. Machines that had it \
             installed (as a company installs its CA on its laptops) trust the server; anyone \
             else sees a warning.",
            "Right for internal names: keep the private CA (Vault, cert-manager) and give its \
             root to every client. A public site needs a public CA such as Let's Encrypt.",
        ),
        TrustResult::Trusted => (
            "Every signature checks out up to a root that browsers ship with, the certificate \
             names this server and is in date. The padlock means: encrypted, and to whoever \
             holds this name's key. It does not mean the site is honest.",
            "Nothing to fix: renew before it expires, automatically (ACME: certbot, \
             cert-manager).",
        ),
        TrustResult::UnknownIssuer => (
            "No root a browser has vouches for this chain: a private CA (fine where its root is \
             installed), an intermediate the server forgot to send, or a look-alike. A visitor \
             gets a warning; one who clicks through could be talking to an attacker.",
            GET_ONE,
        ),
        TrustResult::SelfSigned => (
            "The certificate vouches for itself. Anyone can make one for any name in a second, \
             so it proves nothing: an attacker in the middle would present one just like it.",
            GET_ONE,
        ),
        TrustResult::Expired => (
            "Certificates are short-lived on purpose: a stolen key is useful only until they \
             expire. Browsers refuse expired ones, and users who learn to click through warnings \
             are what attackers count on.",
            "Renew automatically: ACME clients (certbot, cert-manager) renew weeks before the \
             end date.",
        ),
        TrustResult::NotYetValid => (
            "Valid only later: a clock is wrong, the CA's, the server's, or the capturing \
             machine's.",
            "Set the clocks right (NTP) and issue the certificate again.",
        ),
        TrustResult::NameMismatch => (
            "The certificate may be genuine, but it is for other names: it binds a key to the \
             names it lists, and for any other name it proves nothing.",
            "Issue a certificate listing every name the site answers to (its subject \
             alternative names), or send visitors to the name it has.",
        ),
        TrustResult::BadSignature => (
            "A signature does not verify: the chain was damaged or forged. Browsers refuse it \
             outright.",
            "Install the certificate and its chain exactly as the CA issued them.",
        ),
        TrustResult::NotChecked => (
            "No certificate could be judged.",
            "Nothing to say until the chain is seen.",
        ),
    }
}

/// An RFC 3339 time (`2026-12-02T10:00:00Z`) as seconds since the epoch, if it reads and is not
/// before 1970.
fn epoch(rfc3339: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

/// A SHA-256 fingerprint as browsers show it: byte pairs, colon-separated, upper case, sixteen
/// bytes a row.
fn fingerprint_rows(hex: &str) -> Vec<String> {
    let pairs: Vec<String> = hex
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).to_uppercase())
        .collect();
    pairs.chunks(16).map(|row| row.join(":")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_and_fingerprints() {
        assert_eq!(epoch("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch("2026-12-02T10:00:01Z"), Some(1_796_205_601));
        assert_eq!(epoch("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(epoch("junk"), None);
        assert_eq!(fingerprint_rows("ab01"), ["AB:01"]);
        assert_eq!(fingerprint_rows(&"0f".repeat(32)).len(), 2);
    }
}
