//! Wi-Fi: 802.11 data frames, and the radiotap and PPI headers that monitor-mode captures put
//! in front of them. Protected frames are ciphertext (WEP, WPA): counted, never parsed.

use super::link::llc_snap;
use super::{header, short, DecodeError, Next};
use crate::capture::LinkType;

/// Frame control (2), duration (2), three addresses (6 each), sequence control (2).
const DATA_HEADER_LEN: usize = 24;
/// The fourth address of a frame between two access points (To DS and From DS both set).
const ADDR4_LEN: usize = 6;
const QOS_CONTROL_LEN: usize = 2;
const HT_CONTROL_LEN: usize = 4;
/// An A-MSDU subframe header: destination, source, length.
const AMSDU_SUBFRAME_LEN: usize = 14;
/// Radiotap: version, pad, length (2, little-endian), first present word (4).
const RADIOTAP_LEN: usize = 8;
/// PPI: version, flags, length (2, little-endian), the inner link type (4, little-endian).
const PPI_LEN: usize = 8;

const TYPE_DATA: u8 = 2;
const FLAG_TO_DS: u8 = 0x01;
const FLAG_FROM_DS: u8 = 0x02;
const FLAG_MORE_FRAGMENTS: u8 = 0x04;
const FLAG_PROTECTED: u8 = 0x40;
const FLAG_ORDER: u8 = 0x80;
/// Radiotap flags: the frame ends with its 4-byte FCS, and the FCS was wrong.
const RADIOTAP_FLAG_FCS_AT_END: u8 = 0x10;
const RADIOTAP_FLAG_BAD_FCS: u8 = 0x40;
const RADIOTAP_FLAG_DATA_PAD: u8 = 0x20;

/// An 802.11 frame. Data frames lead to LLC/SNAP and on to IP; management and control frames,
/// null data and fragments are not IP; protected ones are [`DecodeError::Protected`].
pub fn frame(data: &[u8], fcs_at_end: bool) -> Result<Next<'_>, DecodeError> {
    frame_padded(data, fcs_at_end, false)
}

/// An 802.11 frame; with `padded` (radiotap's Data Pad flag) the driver padded the MAC header
/// to a multiple of 4 bytes.
fn frame_padded(data: &[u8], fcs_at_end: bool, padded: bool) -> Result<Next<'_>, DecodeError> {
    let data = if fcs_at_end {
        data.get(..data.len().saturating_sub(4))
            .ok_or_else(|| short("802.11 frame"))?
    } else {
        data
    };
    let (h, mut rest) = header::<DATA_HEADER_LEN>(data, "802.11 header")?;
    let fc = FrameControl::new(h);
    if fc.version != 0 {
        return Err(DecodeError::Malformed(format!(
            "802.11 frame of protocol version {}",
            fc.version
        )));
    }
    // Null data (subtype bit 2) carries nothing; a fragment holds only part of a packet.
    if fc.kind != TYPE_DATA || fc.subtype & 0x04 != 0 {
        return Err(DecodeError::NotIp);
    }
    if fc.flags & FLAG_TO_DS != 0 && fc.flags & FLAG_FROM_DS != 0 {
        rest = header::<ADDR4_LEN>(rest, "802.11 fourth address")?.1;
    }
    let mut amsdu = false;
    if fc.subtype & 0x08 != 0 {
        let (qos, after) = header::<QOS_CONTROL_LEN>(rest, "802.11 QoS control")?;
        amsdu = qos[0] & 0x80 != 0;
        rest = after;
        if fc.flags & FLAG_ORDER != 0 {
            rest = header::<HT_CONTROL_LEN>(rest, "802.11 HT control")?.1;
        }
    }
    if padded {
        let header_len = data.len().saturating_sub(rest.len());
        rest = rest
            .get(header_len.next_multiple_of(4) - header_len..)
            .unwrap_or_default();
    }
    if fc.flags & FLAG_PROTECTED != 0 {
        // The body after the MAC header: security header, ciphertext and MIC.
        return Err(DecodeError::Protected {
            bytes: rest.len() as u64,
        });
    }
    if fc.flags & FLAG_MORE_FRAGMENTS != 0 || sequence_fragment(h) != 0 {
        return Err(DecodeError::NotIp);
    }
    if amsdu {
        // Several packets aggregated: the first subframe is read (each is its own LLC/SNAP).
        let (sub, after) = header::<AMSDU_SUBFRAME_LEN>(rest, "A-MSDU subframe header")?;
        let [.., hi, lo] = *sub;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        rest = after.get(..len).unwrap_or(after);
    }
    llc_snap(rest)
}

/// Radiotap, then an 802.11 frame. Its length is little-endian; its flags field says whether an
/// FCS ends the frame, and whether the radio found it wrong (then the bytes cannot be trusted).
pub fn radiotap(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (h, _) = header::<RADIOTAP_LEN>(data, "radiotap header")?;
    let [version, _pad, l0, l1, ..] = *h;
    if version != 0 {
        return Err(DecodeError::Malformed(format!(
            "radiotap header version {version}"
        )));
    }
    let len = usize::from(u16::from_le_bytes([l0, l1]));
    let (radio, frame_bytes) = match (data.get(..len), data.get(len..)) {
        (Some(radio), Some(rest)) if len >= RADIOTAP_LEN => (radio, rest),
        _ => return Err(short("radiotap header")),
    };
    let flags = radiotap_flags(radio).unwrap_or(0);
    if flags & RADIOTAP_FLAG_BAD_FCS != 0 {
        return Err(DecodeError::BadFcs);
    }
    frame_padded(
        frame_bytes,
        flags & RADIOTAP_FLAG_FCS_AT_END != 0,
        flags & RADIOTAP_FLAG_DATA_PAD != 0,
    )
}

/// The radiotap Flags field, if present: after the present words, and after the TSFT field
/// (8 bytes, aligned to 8 from the header's start) when that is present.
fn radiotap_flags(radio: &[u8]) -> Option<u8> {
    const TSFT: u32 = 1 << 0;
    const FLAGS: u32 = 1 << 1;
    const EXTENDED: u32 = 1 << 31;
    let word = |i: usize| -> Option<u32> {
        let bytes = radio.get(4 + 4 * i..8 + 4 * i)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    };
    let present = word(0)?;
    if present & FLAGS == 0 {
        return None;
    }
    let mut words = 1;
    while word(words - 1)? & EXTENDED != 0 {
        words += 1;
    }
    let mut offset = 4 + 4 * words;
    if present & TSFT != 0 {
        offset = offset.div_ceil(8) * 8 + 8;
    }
    radio.get(offset).copied()
}

/// PPI (Per-Packet Information), then a packet of the link type it names (802.11 in practice).
pub fn ppi(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (h, _) = header::<PPI_LEN>(data, "PPI header")?;
    let [version, _flags, l0, l1, d0, d1, d2, d3] = *h;
    if version != 0 {
        return Err(DecodeError::Malformed(format!(
            "PPI header version {version}"
        )));
    }
    let len = usize::from(u16::from_le_bytes([l0, l1]));
    let inner = LinkType(u32::from_le_bytes([d0, d1, d2, d3]));
    let (fields, rest) = match (data.get(PPI_LEN..len), data.get(len..)) {
        (Some(fields), Some(rest)) => (fields, rest),
        _ => return Err(short("PPI header")),
    };
    // The 802.11-Common field's flags say whether the frame ends in its FCS, and whether the
    // FCS was wrong (Kismet writes both).
    match ppi_common_flags(fields) {
        Some(flags) if inner == LinkType::IEEE802_11 => {
            if flags & PPI_FLAG_BAD_FCS != 0 {
                return Err(DecodeError::BadFcs);
            }
            frame(rest, flags & PPI_FLAG_FCS_PRESENT != 0)
        }
        _ => Ok(Next::Link(inner, rest)),
    }
}

const PPI_FIELD_80211_COMMON: u16 = 2;
const PPI_FLAG_FCS_PRESENT: u16 = 0x0001;
const PPI_FLAG_BAD_FCS: u16 = 0x0004;

/// The flags of PPI's 802.11-Common field (type 2: TSF, 8 bytes, then the flags), if present.
/// Fields are a type and a length (little-endian), then that many bytes.
fn ppi_common_flags(mut fields: &[u8]) -> Option<u16> {
    while let [t0, t1, l0, l1, rest @ ..] = fields {
        let len = usize::from(u16::from_le_bytes([*l0, *l1]));
        let data = rest.get(..len)?;
        if u16::from_le_bytes([*t0, *t1]) == PPI_FIELD_80211_COMMON {
            let flags = data.get(8..10)?.first_chunk::<2>()?;
            return Some(u16::from_le_bytes(*flags));
        }
        fields = rest.get(len..)?;
    }
    None
}

/// The AVS capture header (version 1 or 2: a big-endian magic, then the header's length), as
/// older Linux drivers wrote before radiotap; then an 802.11 frame without its FCS.
pub fn avs(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (h, _) = header::<8>(data, "AVS header")?;
    let [m0, m1, m2, m3, l0, l1, l2, l3] = *h;
    if !matches!(
        u32::from_be_bytes([m0, m1, m2, m3]),
        AVS_MAGIC_V1 | AVS_MAGIC_V2
    ) {
        return Err(DecodeError::Malformed(
            "AVS header without its magic".into(),
        ));
    }
    let len = u32::from_be_bytes([l0, l1, l2, l3]);
    match usize::try_from(len).ok().and_then(|len| data.get(len..)) {
        Some(rest) if len >= 8 => frame(rest, false),
        _ => Err(short("AVS header")),
    }
}

const AVS_MAGIC_V1: u32 = 0x8021_1001;
const AVS_MAGIC_V2: u32 = 0x8021_1002;

/// The Prism monitoring header (a message code, then the message's length in the host's byte
/// order, 144 in practice), or an AVS header written under the same link type, as Wireshark
/// also accepts; then an 802.11 frame without its FCS.
pub fn prism(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let (h, _) = header::<8>(data, "Prism header")?;
    let [m0, m1, m2, m3, l0, l1, l2, l3] = *h;
    if u32::from_be_bytes([m0, m1, m2, m3]) & 0xffff_fff0 == 0x8021_1000 {
        return avs(data);
    }
    let le = u32::from_le_bytes([l0, l1, l2, l3]);
    let be = u32::from_be_bytes([l0, l1, l2, l3]);
    let len = if le <= 1024 { le } else { be };
    match usize::try_from(len).ok().and_then(|len| data.get(len..)) {
        Some(rest) if len >= 8 => frame(rest, false),
        _ => Err(short("Prism header")),
    }
}

/// The first byte of frame control: protocol version (2 bits), type (2), subtype (4); then the
/// flags byte.
struct FrameControl {
    version: u8,
    kind: u8,
    subtype: u8,
    flags: u8,
}

impl FrameControl {
    fn new(h: &[u8; DATA_HEADER_LEN]) -> Self {
        let [fc, flags, ..] = *h;
        FrameControl {
            version: fc & 0x03,
            kind: (fc >> 2) & 0x03,
            subtype: fc >> 4,
            flags,
        }
    }
}

/// The fragment number: the low 4 bits of sequence control (the header's last two bytes,
/// little-endian).
fn sequence_fragment(h: &[u8; DATA_HEADER_LEN]) -> u8 {
    let [.., lo, _hi] = *h;
    lo & 0x0f
}
