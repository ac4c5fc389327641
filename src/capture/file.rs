//! pcap and pcapng files (and stdin), read in pure Rust with `pcap-parser`.
//!
//! libpcap is not used for files: it refuses pcapng files whose interfaces have different link
//! types and skips decryption-secrets blocks, and it cannot say where a damaged file went wrong.

use std::fs::File;
use std::io::{Cursor, Read};
use std::ops::ControlFlow;
use std::path::Path;

use pcap_parser::nom;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

use super::{CaptureError, LinkType, Packet, SourceItem};
use crate::base::Timestamp;

/// The reader's buffer: large enough that refills are rare syscalls.
const BUFFER_SIZE: usize = 1 << 20;
/// A single block larger than this is taken as damage (real snap lengths are at most 256 KiB;
/// pcapng secrets blocks are small).
const MAX_BLOCK: usize = 64 << 20;
/// How much of the start of an input is read before deciding whether it is pcap or pcapng.
const SNIFF_SIZE: usize = 64 << 10;

const PCAP_NANOS_MAGIC_LE: u32 = 0xa1b2_3c4d;
const PCAP_NANOS_MAGIC_BE: u32 = 0x4d3c_b2a1;

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    offset_secs: i64,
}

/// How the records are read.
enum Reader {
    /// pcapng, and the rarer pcap variants: pcap-parser's streaming reader.
    Blocks(Box<dyn PcapReaderIterator + Send>),
    /// Standard pcap (what tcpdump writes), the common case for large files: records parsed in
    /// place from a buffer that only ever moves the one record cut by a read.
    Legacy(LegacyReader),
}

/// A capture file (or stdin) being read.
pub struct FileSource {
    name: String,
    reader: Reader,
    /// Legacy pcap: the file's link type and whether timestamps are in nanoseconds.
    legacy_link: LinkType,
    legacy_nanos: bool,
    /// pcapng: the interfaces of the current section, in order of their description blocks.
    interfaces: Vec<Interface>,
    last_ts: Timestamp,
    buffer_size: usize,
}

impl FileSource {
    /// Opens a file; `-` reads standard input.
    pub fn open(path: &Path) -> Result<FileSource, CaptureError> {
        let name = path.display().to_string();
        if name == "-" {
            return Self::from_reader("stdin".to_string(), std::io::stdin());
        }
        let file = File::open(path).map_err(|source| CaptureError::Open {
            name: name.clone(),
            source,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(CaptureError::Open {
                name,
                source: std::io::Error::other("it is a directory, not a capture file"),
            });
        }
        Self::from_reader(name, file)
    }

    /// Reads a capture from any byte stream; `name` is used in messages.
    pub fn from_reader<R: Read + Send + 'static>(
        name: String,
        mut input: R,
    ) -> Result<FileSource, CaptureError> {
        // Pipes return short reads: gather the start first so the format check sees whole headers.
        let mut prefix = Vec::with_capacity(SNIFF_SIZE);
        (&mut input)
            .take(SNIFF_SIZE as u64)
            .read_to_end(&mut prefix)
            .map_err(|e| CaptureError::Read {
                name: name.clone(),
                detail: e.to_string(),
            })?;
        if prefix.is_empty() {
            return Err(CaptureError::Empty { name });
        }
        if let Some(header) = LegacyReader::header(&prefix) {
            let reader = LegacyReader::new(&prefix, &header, input);
            return Ok(FileSource {
                name,
                reader: Reader::Legacy(reader),
                legacy_link: LinkType(header.network.0 as u32),
                legacy_nanos: header.is_nanosecond_precision(),
                interfaces: Vec::new(),
                last_ts: Timestamp::default(),
                buffer_size: BUFFER_SIZE,
            });
        }
        let stream = Cursor::new(prefix).chain(input);
        let reader = create_reader(BUFFER_SIZE, stream).map_err(|e| CaptureError::NotACapture {
            name: name.clone(),
            detail: match e {
                PcapError::HeaderNotRecognized => "no pcap or pcapng header".to_string(),
                other => describe(&other),
            },
        })?;
        Ok(FileSource {
            name,
            reader: Reader::Blocks(reader),
            legacy_link: LinkType::ETHERNET,
            legacy_nanos: false,
            interfaces: Vec::new(),
            last_ts: Timestamp::default(),
            buffer_size: BUFFER_SIZE,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hands every item to `f`, in file order, until the end, damage, or a break. Damage is
    /// yielded as an item, never as an error: what came before it stays analysed. Packets are
    /// numbered from 1 in file order ([`Packet::frame`]), as Wireshark numbers frames.
    pub fn for_each(&mut self, mut f: impl FnMut(SourceItem<'_>) -> ControlFlow<()>) {
        let mut frame = 0u64;
        self.for_each_unnumbered(|item| match item {
            SourceItem::Packet(p) => {
                frame += 1;
                f(SourceItem::Packet(Packet { frame, ..p }))
            }
            other => f(other),
        });
    }

    fn for_each_unnumbered(&mut self, mut f: impl FnMut(SourceItem<'_>) -> ControlFlow<()>) {
        let reader = match &mut self.reader {
            Reader::Blocks(reader) => reader,
            Reader::Legacy(legacy) => {
                let (link, nanos) = (self.legacy_link, self.legacy_nanos);
                return legacy.for_each(link, nanos, &mut self.last_ts, f);
            }
        };
        loop {
            let offset = reader.consumed() as u64;
            match reader.next() {
                Ok((len, block)) => {
                    let flow = match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            self.legacy_link = LinkType(h.network.0 as u32);
                            self.legacy_nanos =
                                matches!(h.magic_number, PCAP_NANOS_MAGIC_LE | PCAP_NANOS_MAGIC_BE);
                            ControlFlow::Continue(())
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let micros = if self.legacy_nanos {
                                u64::from(b.ts_usec) / 1000
                            } else {
                                u64::from(b.ts_usec)
                            };
                            let ts = Timestamp::from_secs_micros(u64::from(b.ts_sec), micros);
                            self.last_ts = ts;
                            let end = (b.caplen as usize).min(b.data.len());
                            f(SourceItem::Packet(Packet {
                                ts,
                                frame: 0,
                                link: self.legacy_link,
                                data: &b.data[..end],
                                orig_len: b.origlen,
                            }))
                        }
                        PcapBlockOwned::NG(block) => {
                            Self::ng_block(&mut self.interfaces, &mut self.last_ts, block, &mut f)
                        }
                    };
                    reader.consume(len);
                    if flow.is_break() {
                        return;
                    }
                }
                Err(PcapError::Eof) => return,
                Err(PcapError::Incomplete(_)) => {
                    if let Err(e) = reader.refill() {
                        let detail =
                            format!("read failed at byte offset {offset}: {}", describe(&e));
                        let _ = f(SourceItem::Damage { offset, detail });
                        return;
                    }
                }
                Err(PcapError::BufferTooSmall) if self.buffer_size < MAX_BLOCK => {
                    self.buffer_size *= 2;
                    if !reader.grow(self.buffer_size) {
                        let _ = f(SourceItem::Damage {
                            offset,
                            detail: format!(
                                "a record at byte offset {offset} is too large to read"
                            ),
                        });
                        return;
                    }
                    if let Err(e) = reader.refill() {
                        let detail =
                            format!("read failed at byte offset {offset}: {}", describe(&e));
                        let _ = f(SourceItem::Damage { offset, detail });
                        return;
                    }
                }
                Err(e) => {
                    let detail = damage_detail(offset, e);
                    let _ = f(SourceItem::Damage { offset, detail });
                    return;
                }
            }
        }
    }

    fn ng_block(
        interfaces: &mut Vec<Interface>,
        last_ts: &mut Timestamp,
        block: Block<'_>,
        f: &mut impl FnMut(SourceItem<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        match block {
            Block::SectionHeader(_) => {
                interfaces.clear();
                ControlFlow::Continue(())
            }
            Block::InterfaceDescription(idb) => {
                interfaces.push(Interface {
                    link: LinkType(idb.linktype.0 as u32),
                    // An invalid resolution falls back to the pcapng default, microseconds.
                    resolution: idb.ts_resolution().filter(|r| *r > 0).unwrap_or(1_000_000),
                    offset_secs: idb.ts_offset(),
                });
                ControlFlow::Continue(())
            }
            Block::EnhancedPacket(epb) => {
                let iface = interfaces.get(epb.if_id as usize).copied();
                let link = iface.map_or(LinkType(u32::MAX), |i| i.link);
                let ts = match iface {
                    Some(i) => {
                        let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let micros = u128::from(units) * 1_000_000 / u128::from(i.resolution);
                        let micros = u64::try_from(micros).unwrap_or(u64::MAX);
                        let offset = i.offset_secs.saturating_mul(1_000_000);
                        Timestamp(micros.saturating_add_signed(offset))
                    }
                    None => *last_ts,
                };
                *last_ts = ts;
                let end = (epb.caplen as usize).min(epb.data.len());
                f(SourceItem::Packet(Packet {
                    ts,
                    frame: 0,
                    link,
                    data: &epb.data[..end],
                    orig_len: epb.origlen,
                }))
            }
            Block::SimplePacket(spb) => {
                // Simple packets belong to the first interface and carry no timestamp.
                let link = interfaces.first().map_or(LinkType(u32::MAX), |i| i.link);
                let end = (spb.origlen as usize).min(spb.data.len());
                f(SourceItem::Packet(Packet {
                    ts: *last_ts,
                    frame: 0,
                    link,
                    data: &spb.data[..end],
                    orig_len: spb.origlen,
                }))
            }
            Block::DecryptionSecrets(dsb) => {
                let end = (dsb.secrets_len as usize).min(dsb.data.len());
                f(SourceItem::Secrets {
                    secrets_type: dsb.secrets_type.0,
                    data: &dsb.data[..end],
                })
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

/// Standard pcap read in place: records are parsed straight from the buffer, and when one is cut
/// by the end of what was read, only that part record moves to the front before the next read.
struct LegacyReader {
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Unparsed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    big_endian: bool,
}

impl LegacyReader {
    /// The file header if `prefix` (the first bytes of the input) starts a standard pcap file;
    /// the modified (Kuznetzov) format and pcapng go to pcap-parser's own reader.
    fn header(prefix: &[u8]) -> Option<pcap_parser::PcapHeader> {
        let (_, header) = pcap_parser::parse_pcap_header(prefix).ok()?;
        (!header.is_modified_format()).then_some(header)
    }

    /// Reads records after the 24-byte header; `prefix` was already read from `input`.
    fn new(
        prefix: &[u8],
        header: &pcap_parser::PcapHeader,
        input: impl Read + Send + 'static,
    ) -> LegacyReader {
        // A prefix shorter than the sniff size is the whole input: no room for more is needed.
        let size = if prefix.len() < SNIFF_SIZE {
            prefix.len()
        } else {
            BUFFER_SIZE.max(prefix.len())
        };
        let mut buf = vec![0; size];
        buf[..prefix.len()].copy_from_slice(prefix);
        LegacyReader {
            input: Box::new(input),
            buf,
            start: 24,
            end: prefix.len(),
            offset: 24,
            big_endian: header.is_bigendian(),
        }
    }

    fn for_each(
        &mut self,
        link: LinkType,
        nanos: bool,
        last_ts: &mut Timestamp,
        mut f: impl FnMut(SourceItem<'_>) -> ControlFlow<()>,
    ) {
        let parse = if self.big_endian {
            pcap_parser::parse_pcap_frame_be
        } else {
            pcap_parser::parse_pcap_frame
        };
        loop {
            let offset = self.offset;
            let avail = &self.buf[self.start..self.end];
            if let Some(header) = avail.get(..16) {
                let caplen = if self.big_endian {
                    u32::from_be_bytes([header[8], header[9], header[10], header[11]])
                } else {
                    u32::from_le_bytes([header[8], header[9], header[10], header[11]])
                } as usize;
                if caplen + 16 > MAX_BLOCK {
                    let _ = f(SourceItem::Damage {
                        offset,
                        detail: damage_detail(offset, PcapError::<&[u8]>::BufferTooSmall),
                    });
                    return;
                }
            }
            match parse(avail) {
                Ok((rest, b)) => {
                    let used = avail.len() - rest.len();
                    let micros = if nanos {
                        u64::from(b.ts_usec) / 1000
                    } else {
                        u64::from(b.ts_usec)
                    };
                    let ts = Timestamp::from_secs_micros(u64::from(b.ts_sec), micros);
                    *last_ts = ts;
                    let flow = f(SourceItem::Packet(Packet {
                        ts,
                        frame: 0,
                        link,
                        data: b.data,
                        orig_len: b.origlen,
                    }));
                    self.start += used;
                    self.offset += used as u64;
                    if flow.is_break() {
                        return;
                    }
                }
                Err(nom::Err::Incomplete(needed)) => {
                    let missing = match needed {
                        nom::Needed::Size(n) => n.get(),
                        nom::Needed::Unknown => 1,
                    };
                    match self.refill(avail.len() + missing) {
                        Ok(true) => {}
                        Ok(false) if self.start == self.end => return,
                        Ok(false) => {
                            let _ = f(SourceItem::Damage {
                                offset,
                                detail: damage_detail(offset, PcapError::<&[u8]>::UnexpectedEof),
                            });
                            return;
                        }
                        Err(e) => {
                            let detail = format!("read failed at byte offset {offset}: {e}");
                            let _ = f(SourceItem::Damage { offset, detail });
                            return;
                        }
                    }
                }
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    let _ = f(SourceItem::Damage {
                        offset,
                        detail: damage_detail(offset, e),
                    });
                    return;
                }
            }
        }
    }

    /// Moves the unparsed bytes to the front and reads until at least `want` bytes are there or
    /// the input ends. False if nothing more could be read.
    fn refill(&mut self, want: usize) -> std::io::Result<bool> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let before = self.end;
        while self.end < want {
            if self.end == self.buf.len() {
                // Grown only when full, by doubling: a record claiming more than the input holds
                // costs what the input holds, not what it claims.
                let len = (self.buf.len() * 2).max(4096).min(want);
                self.buf.resize(len, 0);
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end > before)
    }
}

/// What a damaged record means, for the anomaly; the same words for both readers.
fn damage_detail<I>(offset: u64, e: PcapError<I>) -> String {
    match e {
        PcapError::UnexpectedEof => format!(
            "the record at byte offset {offset} runs past the end of the file (cut short or \
             damaged); everything before it was analysed"
        ),
        PcapError::BufferTooSmall => format!(
            "a record at byte offset {offset} claims more than {} MiB: the rest of the file is \
             garbage or damaged",
            MAX_BLOCK >> 20
        ),
        other => format!(
            "unreadable data at byte offset {offset} ({}); everything before it was analysed",
            describe(&other)
        ),
    }
}

fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::Eof => "end of file".into(),
        PcapError::BufferTooSmall => "a record is too large".into(),
        PcapError::UnexpectedEof => "unexpected end of file".into(),
        PcapError::ReadError => "I/O error".into(),
        PcapError::Incomplete(_) => "incomplete record".into(),
        PcapError::HeaderNotRecognized => "header not recognized".into(),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("malformed record: {}", kind.description())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `n` bytes a call, as pipes do.
    struct Trickle(Cursor<Vec<u8>>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }

    fn packets(source: &mut FileSource) -> (Vec<(Timestamp, Vec<u8>)>, Vec<String>) {
        let (mut packets, mut damage) = (Vec::new(), Vec::new());
        source.for_each(|item| {
            match item {
                SourceItem::Packet(p) => packets.push((p.ts, p.data.to_vec())),
                SourceItem::Damage { detail, .. } => damage.push(detail),
                SourceItem::Secrets { .. } => {}
            }
            ControlFlow::Continue(())
        });
        (packets, damage)
    }

    /// Records cut at every read boundary come out whole and in order, and a file cut inside a
    /// record ends with one damage item at that record's offset.
    #[test]
    fn standard_pcap_read_in_place_across_short_reads() {
        // One capture shorter than the first read, one longer (133 KB).
        for name in ["h2-multiplex.pcap", "http-ipv4.pcap"] {
            let path = format!("{}/captures/{name}", env!("CARGO_MANIFEST_DIR"));
            let data = std::fs::read(path).unwrap();
            let mut whole =
                FileSource::from_reader("whole".into(), Cursor::new(data.clone())).unwrap();
            assert!(matches!(whole.reader, Reader::Legacy(_)));
            let (expected, damage) = packets(&mut whole);
            assert!(expected.len() >= 20 && damage.is_empty(), "{name}");
            for step in [1, 7, 100, 4096] {
                let input = Trickle(Cursor::new(data.clone()), step);
                let mut source = FileSource::from_reader("trickle".into(), input).unwrap();
                assert_eq!(
                    packets(&mut source),
                    (expected.clone(), vec![]),
                    "{name} step {step}"
                );
            }
        }
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/captures/http-ipv4.pcap"
        ))
        .unwrap();
        let (expected, _) = packets(
            &mut FileSource::from_reader("whole".into(), Cursor::new(data.clone())).unwrap(),
        );
        assert_eq!(expected.len(), 68);
        let cut = data.len() - 10;
        let mut source =
            FileSource::from_reader("cut".into(), Cursor::new(data[..cut].to_vec())).unwrap();
        let (got, damage) = packets(&mut source);
        assert_eq!(got, expected[..67]);
        assert_eq!(damage.len(), 1);
        assert!(
            damage[0].contains("runs past the end of the file"),
            "{}",
            damage[0]
        );
    }
}
