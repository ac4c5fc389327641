//! JA4 client fingerprints, to FoxIO's specification (technical_details/JA4.md, BSD-3 licensed):
//! `t13d1516h2_8daaf6152771_e5627efa2ab1`.

use sha2::{Digest, Sha256};

use crate::base::Memo;

/// GREASE values (RFC 8701) look like `0x?a?a` with both bytes equal; JA4 ignores them.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// What JA4 needs from a ClientHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ja4Input {
    /// The ClientHello's legacy version field.
    pub legacy_version: u16,
    /// supported_versions, if the extension is present.
    pub supported_versions: Vec<u16>,
    pub has_sni: bool,
    pub ciphers: Vec<u16>,
    /// Extension types in the order sent.
    pub extensions: Vec<u16>,
    /// The first ALPN value, if any.
    pub first_alpn: Option<Vec<u8>>,
    /// signature_algorithms in the order sent.
    pub signature_algorithms: Vec<u16>,
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 | 0x0200 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn alpn_code(alpn: Option<&[u8]>) -> String {
    let (Some(&first), Some(&last)) = (alpn.and_then(|a| a.first()), alpn.and_then(|a| a.last()))
    else {
        return "00".to_string();
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        format!("{}{}", first as char, last as char)
    } else {
        // Not alphanumeric: the first hex digit of the first byte and the last of the last byte.
        format!("{:x}{:x}", first >> 4, last & 0x0f)
    }
}

/// The first 12 hex digits of the SHA-256 of `text`, or twelve zeros for an empty list.
fn hash12(text: &[u8]) -> String {
    if text.is_empty() {
        return "000000000000".to_string();
    }
    let digest = Sha256::digest(text);
    hex::encode(&digest[..6])
}

/// Distinct ClientHellos (as JA4 sees them: [`Ja4Key`]) whose fingerprints are kept per
/// thread, and the values (ciphers, extensions, signature algorithms) a kept one may hold: at
/// most 256 KiB. A capture's clients send a few dozen distinct ClientHellos, each many times
/// (the benchmark capture: 20 770 ClientHellos, 42 distinct), and two SHA-256, hex and
/// formatting for each were 4% of a run.
const JA4_KEPT: usize = 256;
const JA4_KEPT_MAX_VALUES: usize = 512;

thread_local! {
    static JA4_MEMO: std::cell::RefCell<Memo<Ja4Key, String, JA4_KEPT>> =
        std::cell::RefCell::default();
}

/// Appends `values` as comma-separated 4-digit lowercase hex. Written out by hand: this runs for
/// every ClientHello, and `format!` per value was a tenth of a whole run on a TLS-heavy capture.
fn push_hex_list(out: &mut Vec<u8>, values: &[u16]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        for shift in [12, 8, 4, 0] {
            out.push(DIGITS[usize::from((v >> shift) & 0xf)]);
        }
    }
}

/// The JA4 fingerprint (for TLS over TCP).
pub fn ja4(input: &Ja4Input) -> String {
    let key = Ja4Key::of(input);
    JA4_MEMO.with_borrow_mut(|memo| {
        let keep = key.values.len() <= JA4_KEPT_MAX_VALUES;
        memo.get_or_work(&key, keep, || key.fingerprint())
    })
}

/// The JA4 fingerprint, worked out.
#[cfg(test)]
fn compute(input: &Ja4Input) -> String {
    Ja4Key::of(input).fingerprint()
}

/// What a JA4 fingerprint depends on: GREASE values left out, the lists JA4 sorts sorted.
/// Clients such as Chromium pick GREASE values and the order of extensions at random for each
/// connection, so their ClientHellos rarely repeat, while this does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Ja4Key {
    version: u16,
    has_sni: bool,
    /// The first ALPN value's first and last bytes.
    alpn: Option<(u8, u8)>,
    /// Extensions counted, SNI and ALPN included.
    extension_count: usize,
    /// The ciphers (sorted), the extensions (sorted, SNI and ALPN left out) and the signature
    /// algorithms (in the order sent), one after the other: one allocation per ClientHello
    /// instead of three.
    values: Vec<u16>,
    /// Where the extensions and the signature algorithms start in `values`.
    extensions_at: usize,
    signatures_at: usize,
}

impl Ja4Key {
    fn of(input: &Ja4Input) -> Ja4Key {
        let version = input
            .supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(input.legacy_version);
        let mut values = Vec::with_capacity(
            input.ciphers.len() + input.extensions.len() + input.signature_algorithms.len(),
        );
        values.extend(input.ciphers.iter().copied().filter(|c| !is_grease(*c)));
        values.sort_unstable();
        let extensions_at = values.len();
        let mut extension_count = 0;
        values.extend(
            input
                .extensions
                .iter()
                .copied()
                .filter(|e| !is_grease(*e))
                .inspect(|_| extension_count += 1)
                .filter(|e| *e != 0x0000 && *e != 0x0010),
        );
        let (_, extensions) = values.split_at_mut(extensions_at);
        extensions.sort_unstable();
        let signatures_at = values.len();
        values.extend(
            input
                .signature_algorithms
                .iter()
                .copied()
                .filter(|s| !is_grease(*s)),
        );
        let alpn = input
            .first_alpn
            .as_deref()
            .and_then(|a| Some((*a.first()?, *a.last()?)));
        Ja4Key {
            version,
            has_sni: input.has_sni,
            alpn,
            extension_count,
            values,
            extensions_at,
            signatures_at,
        }
    }

    fn ciphers(&self) -> &[u16] {
        self.values.get(..self.extensions_at).unwrap_or_default()
    }

    fn extensions(&self) -> &[u16] {
        self.values
            .get(self.extensions_at..self.signatures_at)
            .unwrap_or_default()
    }

    fn signature_algorithms(&self) -> &[u16] {
        self.values.get(self.signatures_at..).unwrap_or_default()
    }

    fn fingerprint(&self) -> String {
        let alpn = self.alpn.map(|(first, last)| [first, last]);
        let (ciphers, extensions) = (self.ciphers(), self.extensions());
        let a = format!(
            "t{}{}{:02}{:02}{}",
            version_code(self.version),
            if self.has_sni { 'd' } else { 'i' },
            ciphers.len().min(99),
            self.extension_count.min(99),
            alpn_code(alpn.as_ref().map(|a| a.as_slice()))
        );
        let sigs = self.signature_algorithms();
        let mut text = Vec::with_capacity(6 * self.values.len() + 1);
        push_hex_list(&mut text, ciphers);
        let b = hash12(&text);
        text.clear();
        push_hex_list(&mut text, extensions);
        if !sigs.is_empty() {
            text.push(b'_');
            push_hex_list(&mut text, sigs);
        }
        let c = if extensions.is_empty() && sigs.is_empty() {
            hash12(b"")
        } else {
            hash12(&text)
        };
        format!("{a}_{b}_{c}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of FoxIO's JA4 specification (technical_details/JA4.md, "Example" and
    /// "Raw Output"): JA4 = t13d1516h2_8daaf6152771_e5627efa2ab1. GREASE values added here must
    /// not change it.
    #[test]
    fn foxio_worked_example() {
        let input = Ja4Input {
            legacy_version: 0x0303,
            supported_versions: vec![0x2a2a, 0x0304, 0x0303],
            has_sni: true,
            ciphers: vec![
                0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x3a3a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
                0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xfafa,
            ],
            first_alpn: Some(b"h2".to_vec()),
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
        };
        assert_eq!(ja4(&input), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        // The same specification: without signature algorithms the list ends without "_".
        let no_sigs = Ja4Input {
            signature_algorithms: vec![],
            ..input
        };
        assert!(ja4(&no_sigs).ends_with("_6d807ffa2a79"));
    }

    #[test]
    fn alpn_and_versions() {
        assert_eq!(alpn_code(Some(b"http/1.1")), "h1");
        assert_eq!(alpn_code(Some(b"h")), "hh");
        assert_eq!(alpn_code(Some(&[0xab, 0x01])), "a1");
        assert_eq!(alpn_code(None), "00");
        assert!(is_grease(0x1a1a) && is_grease(0xfafa) && !is_grease(0x1a2a) && !is_grease(0x0a0b));
        let old = Ja4Input {
            legacy_version: 0x0301,
            ..Default::default()
        };
        assert_eq!(ja4(&old), "t10i000000_000000000000_000000000000");
    }

    /// The memo answers what working it out answers: for inputs seen again, for more inputs
    /// than it keeps (so that it empties), for inputs differing in one value only, and for
    /// inputs too large to keep.
    #[test]
    fn memo_gives_the_fingerprint_of_every_input() {
        let inputs: Vec<Ja4Input> = (0..3 * JA4_KEPT as u16)
            .map(|n| Ja4Input {
                legacy_version: 0x0303,
                supported_versions: vec![0x0304],
                has_sni: n % 2 == 0,
                ciphers: vec![0x1301, n, 0xc02f],
                extensions: vec![0x0000, 0x000a, n],
                first_alpn: (n % 3 == 0).then(|| b"h2".to_vec()),
                signature_algorithms: vec![0x0403, n],
            })
            .chain([Ja4Input {
                ciphers: (0..600).collect(),
                ..Default::default()
            }])
            .collect();
        for _ in 0..3 {
            for input in &inputs {
                assert_eq!(ja4(input), compute(input));
            }
        }
        let fingerprints: std::collections::HashSet<String> = inputs.iter().map(ja4).collect();
        assert_eq!(fingerprints.len(), inputs.len(), "inputs told apart");
        // Chromium's way: other GREASE values, extensions in another order; the same JA4.
        let first = &inputs[0];
        let mut shuffled = first.clone();
        shuffled.extensions.reverse();
        shuffled.extensions.push(0x3a3a);
        shuffled.ciphers.insert(0, 0xdada);
        shuffled.signature_algorithms.push(0x7a7a);
        assert_eq!(ja4(&shuffled), ja4(first));
        assert_eq!(compute(&shuffled), compute(first));
    }
}
