//! NTLMSSP AUTHENTICATE (type 3) messages: the domain, user and NT response a client sends.

/// What a type-3 message reveals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmAuth {
    pub domain: String,
    pub user: String,
    pub workstation: String,
    /// The NT (or NTLMv2) response, hex.
    pub nt_response_hex: String,
}

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;

/// Finds an NTLMSSP type-3 message in `blob` (raw NTLM, or wrapped in SPNEGO as `Negotiate`
/// sends it) and reads it.
pub fn parse_authenticate(blob: &[u8]) -> Option<NtlmAuth> {
    let start = blob.windows(SIGNATURE.len()).position(|w| w == SIGNATURE)?;
    let msg = &blob[start..];
    if u32_at(msg, 8)? != 3 {
        return None;
    }
    let flags = u32_at(msg, 60).unwrap_or(NEGOTIATE_UNICODE);
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    let nt = field(msg, 20)?;
    let domain = text(field(msg, 28)?, unicode);
    let user = text(field(msg, 36)?, unicode);
    let workstation = field(msg, 44).map(|b| text(b, unicode)).unwrap_or_default();
    Some(NtlmAuth {
        domain,
        user,
        workstation,
        nt_response_hex: hex::encode(nt),
    })
}

/// A security buffer (length u16, max length u16, offset u32) at `at`, as a slice of `msg`.
fn field(msg: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(u16::from_le_bytes(msg.get(at..at + 2)?.try_into().ok()?));
    let offset = u32_at(msg, at + 4)? as usize;
    msg.get(offset..offset.checked_add(len)?)
}

fn u32_at(msg: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(msg.get(at..at + 4)?.try_into().ok()?))
}

fn text(bytes: &[u8], unicode: bool) -> String {
    if unicode {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a type-3 message the way clients lay it out.
    fn type3(domain: &str, user: &str, nt: &[u8]) -> Vec<u8> {
        let utf16 = |s: &str| {
            s.encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect::<Vec<u8>>()
        };
        let (d, u, w) = (utf16(domain), utf16(user), utf16("WS"));
        let mut msg = Vec::new();
        msg.extend_from_slice(SIGNATURE);
        msg.extend_from_slice(&3u32.to_le_bytes());
        let mut payload_at = 72u32;
        let mut payload = Vec::new();
        let mut buf = |bytes: &[u8], msg: &mut Vec<u8>| {
            msg.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            msg.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            msg.extend_from_slice(&payload_at.to_le_bytes());
            payload_at += bytes.len() as u32;
            payload.extend_from_slice(bytes);
        };
        buf(&[0; 24], &mut msg); // LM
        buf(nt, &mut msg);
        buf(&d, &mut msg);
        buf(&u, &mut msg);
        buf(&w, &mut msg);
        buf(&[], &mut msg); // session key
        msg.extend_from_slice(&(NEGOTIATE_UNICODE | 0x200).to_le_bytes());
        msg.resize(72, 0);
        msg.extend_from_slice(&payload);
        msg
    }

    #[test]
    fn reads_domain_user_and_nt_response() {
        let msg = type3("LAB", "dave", &[0xab, 0xcd, 0x01]);
        assert_eq!(
            parse_authenticate(&msg),
            Some(NtlmAuth {
                domain: "LAB".into(),
                user: "dave".into(),
                workstation: "WS".into(),
                nt_response_hex: "abcd01".into()
            })
        );
        // Wrapped in a few bytes of SPNEGO.
        let mut wrapped = vec![0xa1, 0x81, 0x90, 0x30];
        wrapped.extend_from_slice(&msg);
        assert!(parse_authenticate(&wrapped).is_some());
    }

    #[test]
    fn hostile_offsets_and_other_types_are_refused() {
        let mut msg = type3("LAB", "dave", &[1, 2, 3]);
        msg[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse_authenticate(&msg), None);
        let mut t1 = msg.clone();
        t1[8] = 1;
        assert_eq!(parse_authenticate(&t1), None);
        for cut in 0..msg.len() {
            let _ = parse_authenticate(&msg[..cut]);
        }
    }
}
