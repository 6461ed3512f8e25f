//! Reading frames from pcap and pcapng files for replay: classic pcap in both byte
//! orders with microsecond or nanosecond timestamps, and pcapng with per-interface link
//! types and timestamp resolutions. A corrupt file gives an error that names the file
//! and the byte offset (tested with truncated and mutated files). Classic pcap with a
//! standard magic number goes through `pcap_classic`, which returns frames without
//! copying them; pcapng and the modified pcap format go through pcap-parser.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError as ParseError, create_reader};

use super::pcap_classic::{self, ClassicReader};
pub use super::pcap_error::PcapError;
use super::pcap_error::{KeepErrors, LastError, take_last_error};
use super::pcapng_header::{self, SectionHeader};

/// Initial read buffer of pcap-parser, which doubles up to [`MAX_RECORD_BYTES`] for
/// larger records.
const INITIAL_BUFFER_BYTES: usize = 256 * 1024;
/// Largest record accepted, record header included. Linux BIG TCP GSO packets reach 512 KiB; larger records are
/// taken as corruption.
pub(super) const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// One captured frame. `data` stays valid until the next call to
/// [`PcapReader::next_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapFrame<'a> {
    /// Capture time in nanoseconds since the Unix epoch. pcapng simple packet blocks
    /// have no time and repeat the previous packet's time (0 for the first).
    pub ts_ns: u64,
    pub data: &'a [u8],
    /// Length on the wire (pcap orig_len); larger than `data` when the capture cut it.
    pub wire_len: u32,
    /// pcap link type (1 Ethernet, 101 raw IP, 228 IPv4, 229 IPv6, …).
    pub link_type: u32,
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: u32,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp (if_tsoffset).
    offset_secs: i64,
}

/// A capture file opened for sequential reading.
pub struct PcapReader {
    path: PathBuf,
    format: Format,
}

/// The reader for a file's format.
enum Format {
    /// Classic pcap with one of its four standard magic numbers, read without pcap-parser.
    Classic(ClassicReader),
    /// pcapng and the modified pcap format (magic number 0xa1b2cd34).
    Parsed(ParsedReader),
}

/// A file read by pcap-parser, which copies each frame to `data`.
struct ParsedReader {
    reader: Box<dyn PcapReaderIterator + Send>,
    /// The last error of the file's reader, which pcap-parser reports without it.
    last_error: LastError,
    buffer_bytes: usize,
    /// File offset of the next block.
    offset: u64,
    /// Classic pcap: the file's interface, with nanosecond resolution for the nanosecond magic number.
    legacy: Option<Interface>,
    /// pcapng: the interfaces of the current section, by interface id.
    interfaces: Vec<Interface>,
    last_ts_ns: u64,
    data: Vec<u8>,
}

/// Metadata of a packet block, whose bytes were copied to `data`.
struct FrameMeta {
    ts_ns: u64,
    wire_len: u32,
    link_type: u32,
}

impl PcapReader {
    /// Opens `path` and reads its file header.
    pub fn open(path: &Path) -> Result<Self, PcapError> {
        let file = File::open(path).map_err(|source| PcapError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        // Opening a directory succeeds, and only the first read fails (EISDIR).
        if file.metadata().is_ok_and(|meta| meta.is_dir()) {
            return Err(PcapError::Directory {
                path: path.to_path_buf(),
            });
        }
        Self::from_reader(path, Box::new(file), pcap_classic::CHUNK_BYTES)
    }

    /// Reads the first chunk of `reader`, which `path` names in errors, and picks the
    /// parser by the magic number. `chunk_bytes` sets the classic pcap read size.
    pub(super) fn from_reader(
        path: &Path,
        mut reader: Box<dyn Read + Send>,
        chunk_bytes: usize,
    ) -> Result<Self, PcapError> {
        // The classic reader checks MAX_RECORD_BYTES only for a record that its buffer
        // does not contain yet, so the buffer must start no larger than that.
        let chunk_bytes = chunk_bytes.clamp(pcap_classic::FILE_HEADER_BYTES, MAX_RECORD_BYTES);
        let mut buffer = vec![0; chunk_bytes];
        let filled =
            pcap_classic::read_at_least(&mut reader, &mut buffer, pcap_classic::FILE_HEADER_BYTES)
                .map_err(|source| PcapError::Read {
                    path: path.to_path_buf(),
                    offset: 0,
                    source,
                })?;
        let prefix = buffer.get(..filled).unwrap_or_default();
        let format = match pcap_classic::Variant::from_magic(prefix) {
            Some(variant) => {
                Format::Classic(ClassicReader::new(path, reader, buffer, filled, variant)?)
            }
            None => {
                let filled = read_section_header(path, &mut reader, &mut buffer, filled)?;
                // pcap-parser reads the probed bytes again, then the rest of the file.
                // Its first read returns up to INITIAL_BUFFER_BYTES of the probed bytes,
                // as a first read of the file itself would.
                buffer.truncate(filled);
                let reader = Box::new(Cursor::new(buffer).chain(reader));
                Format::Parsed(ParsedReader::open(path, reader, filled as u64)?)
            }
        };
        Ok(PcapReader {
            path: path.to_path_buf(),
            format,
        })
    }

    /// Opens `reader` with pcap-parser whatever its format, to compare with the classic
    /// pcap reader.
    #[cfg(test)]
    pub(super) fn from_reader_parsed(
        path: &Path,
        reader: Box<dyn Read + Send>,
    ) -> Result<Self, PcapError> {
        Ok(PcapReader {
            path: path.to_path_buf(),
            format: Format::Parsed(ParsedReader::open(path, reader, 0)?),
        })
    }

    /// Returns whether the classic pcap reader reads this file.
    #[cfg(test)]
    pub(super) fn is_classic(&self) -> bool {
        matches!(self.format, Format::Classic(_))
    }

    /// Returns the next frame, or `None` at the end of the file.
    #[inline]
    pub fn next_frame(&mut self) -> Result<Option<PcapFrame<'_>>, PcapError> {
        match &mut self.format {
            Format::Classic(reader) => reader.next_frame(&self.path),
            Format::Parsed(reader) => reader.next_frame(&self.path),
        }
    }
}

/// Reads the rest of the pcapng section header block that a file may start with into
/// `buffer`, which contains the first `filled` bytes of the file, and returns the bytes
/// it then contains. pcap-parser reports a file cut inside that block as an unknown
/// format, so this reports it as a short header.
// NOTE: a block longer than `buffer` (1 MiB in replay) is read only up to that size,
// so a file cut after that point reaches pcap-parser.
fn read_section_header(
    path: &Path,
    reader: &mut dyn Read,
    buffer: &mut [u8],
    filled: usize,
) -> Result<usize, PcapError> {
    let short = |len: usize| PcapError::HeaderShort {
        path: path.to_path_buf(),
        len: len as u64,
    };
    let prefix = buffer.get(..filled).unwrap_or_default();
    let block_bytes = match pcapng_header::section_header(prefix) {
        SectionHeader::NotPcapng => return Ok(filled),
        // The probe asked for more bytes than the byte-order magic needs, so the file
        // ends before it.
        SectionHeader::Short => return Err(short(filled)),
        // A length beyond any block is a corrupt field, not a file cut short.
        SectionHeader::Bytes(len) if len > MAX_RECORD_BYTES => {
            return Err(PcapError::TooLarge {
                path: path.to_path_buf(),
                offset: 0,
                max: MAX_RECORD_BYTES,
            });
        }
        SectionHeader::Bytes(len) => len.min(buffer.len()),
    };
    let space = buffer.get_mut(filled..).unwrap_or_default();
    let read = pcap_classic::read_at_least(reader, space, block_bytes.saturating_sub(filled))
        .map_err(|source| PcapError::Read {
            path: path.to_path_buf(),
            offset: filled as u64,
            source,
        })?;
    let filled = filled + read;
    if filled < block_bytes {
        return Err(short(filled));
    }
    Ok(filled)
}

impl ParsedReader {
    /// Opens `reader` with pcap-parser. `probed` is the number of bytes read from the
    /// file before, which the error for a file shorter than its header reports.
    fn open(path: &Path, reader: Box<dyn Read + Send>, probed: u64) -> Result<Self, PcapError> {
        let (reader, last_error) = KeepErrors::new(reader);
        let reader = create_reader(INITIAL_BUFFER_BYTES, reader).map_err(|e| match e {
            ParseError::HeaderNotRecognized => PcapError::NotPcap {
                path: path.to_path_buf(),
            },
            ParseError::Eof | ParseError::UnexpectedEof | ParseError::Incomplete(_) => {
                PcapError::HeaderShort {
                    path: path.to_path_buf(),
                    len: probed,
                }
            }
            ParseError::ReadError => PcapError::Read {
                path: path.to_path_buf(),
                offset: 0,
                source: take_last_error(&last_error),
            },
            other => PcapError::Invalid {
                path: path.to_path_buf(),
                offset: 0,
                detail: format!("{other:?}"),
            },
        })?;
        Ok(ParsedReader {
            reader,
            last_error,
            buffer_bytes: INITIAL_BUFFER_BYTES,
            offset: 0,
            legacy: None,
            interfaces: Vec::new(),
            last_ts_ns: 0,
            data: Vec::new(),
        })
    }

    fn next_frame(&mut self, path: &Path) -> Result<Option<PcapFrame<'_>>, PcapError> {
        loop {
            let (consumed, meta) = match self.reader.next() {
                Ok((consumed, block)) => {
                    let meta = read_block(
                        block,
                        &mut self.legacy,
                        &mut self.interfaces,
                        &mut self.data,
                        self.last_ts_ns,
                    )
                    .map_err(|detail| PcapError::Invalid {
                        path: path.to_path_buf(),
                        offset: self.offset,
                        detail,
                    })?;
                    (consumed, meta)
                }
                Err(ParseError::Eof) => return Ok(None),
                Err(ParseError::Incomplete(_)) => {
                    if self.reader.refill().is_err() {
                        return Err(self.error_read(path));
                    }
                    continue;
                }
                Err(ParseError::BufferTooSmall) => {
                    let bigger = self.buffer_bytes.saturating_mul(2);
                    if bigger > MAX_RECORD_BYTES || !self.reader.grow(bigger) {
                        return Err(PcapError::TooLarge {
                            path: path.to_path_buf(),
                            offset: self.offset,
                            max: MAX_RECORD_BYTES,
                        });
                    }
                    self.buffer_bytes = bigger;
                    if self.reader.refill().is_err() {
                        return Err(self.error_read(path));
                    }
                    continue;
                }
                Err(ParseError::UnexpectedEof) => {
                    return Err(PcapError::Truncated {
                        path: path.to_path_buf(),
                        offset: self.offset,
                    });
                }
                Err(ParseError::ReadError) => return Err(self.error_read(path)),
                Err(other) => {
                    let detail = match other {
                        ParseError::NomError(_, kind) | ParseError::OwnedNomError(_, kind) => {
                            format!("malformed block ({})", kind.description())
                        }
                        other => format!("{other:?}"),
                    };
                    return Err(PcapError::Invalid {
                        path: path.to_path_buf(),
                        offset: self.offset,
                        detail,
                    });
                }
            };
            self.reader.consume(consumed);
            self.offset += consumed as u64;
            if let Some(meta) = meta {
                self.last_ts_ns = meta.ts_ns;
                return Ok(Some(PcapFrame {
                    ts_ns: meta.ts_ns,
                    data: &self.data,
                    wire_len: meta.wire_len,
                    link_type: meta.link_type,
                }));
            }
        }
    }

    fn error_read(&self, path: &Path) -> PcapError {
        PcapError::Read {
            path: path.to_path_buf(),
            offset: self.offset,
            source: take_last_error(&self.last_error),
        }
    }
}

/// Applies one block: headers update the interfaces, packet blocks copy their data into
/// `data`. Returns an error message for impossible values.
fn read_block(
    block: PcapBlockOwned<'_>,
    legacy: &mut Option<Interface>,
    interfaces: &mut Vec<Interface>,
    data: &mut Vec<u8>,
    last_ts_ns: u64,
) -> Result<Option<FrameMeta>, String> {
    match block {
        PcapBlockOwned::LegacyHeader(header) => {
            let resolution = if header.is_nanosecond_precision() {
                1_000_000_000
            } else {
                1_000_000
            };
            *legacy = Some(Interface {
                link_type: header.network.0 as u32,
                resolution,
                offset_secs: 0,
            });
            Ok(None)
        }
        PcapBlockOwned::Legacy(record) => {
            let interface = legacy.ok_or("packet record before the file header")?;
            let ts_ns = timestamp_ns(
                interface,
                u64::from(record.ts_sec),
                u64::from(record.ts_usec),
            );
            if u64::from(record.ts_usec) >= interface.resolution {
                return Err(format!(
                    "timestamp fraction {} is not below {}",
                    record.ts_usec, interface.resolution
                ));
            }
            copy_into(data, record.data);
            let wire_len = record.origlen.max(record.caplen);
            Ok(Some(FrameMeta {
                ts_ns,
                wire_len,
                link_type: interface.link_type,
            }))
        }
        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
            interfaces.clear();
            Ok(None)
        }
        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
            let resolution = ts_resolution(idb.if_tsresol).ok_or_else(|| {
                format!(
                    "interface timestamp resolution code {} is invalid",
                    idb.if_tsresol
                )
            })?;
            interfaces.push(Interface {
                link_type: idb.linktype.0 as u32,
                resolution,
                offset_secs: idb.ts_offset(),
            });
            Ok(None)
        }
        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
            let interface = interfaces.get(epb.if_id as usize).copied().ok_or_else(|| {
                format!(
                    "packet refers to interface {}, but {} are described",
                    epb.if_id,
                    interfaces.len()
                )
            })?;
            let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            let ts_ns = timestamp_ns(
                interface,
                ticks / interface.resolution,
                ticks % interface.resolution,
            );
            copy_into(data, epb.packet_data());
            let wire_len = epb.origlen.max(epb.caplen);
            Ok(Some(FrameMeta {
                ts_ns,
                wire_len,
                link_type: interface.link_type,
            }))
        }
        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
            let interface = interfaces
                .first()
                .copied()
                .ok_or("simple packet block before any interface")?;
            copy_into(data, spb.packet_data());
            let wire_len = spb.origlen.max(data.len() as u32);
            Ok(Some(FrameMeta {
                ts_ns: last_ts_ns,
                wire_len,
                link_type: interface.link_type,
            }))
        }
        PcapBlockOwned::NG(_) => Ok(None),
    }
}

/// Decodes pcapng if_tsresol into units per second: 10^n, or 2^n when the top bit is set.
// NOTE: pcap-parser 0.17.0 `ts_resolution` rejects every binary (2^n) resolution,
// because it compares the code with its top bit still set; hence this decoder.
fn ts_resolution(code: u8) -> Option<u64> {
    let exponent = u32::from(code & 0x7f);
    if code & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        2u64.checked_pow(exponent)
    }
}

fn copy_into(data: &mut Vec<u8>, bytes: &[u8]) {
    data.clear();
    data.extend_from_slice(bytes);
}

/// Converts seconds and a fraction in the interface's units to nanoseconds since the
/// epoch, saturating instead of overflowing.
fn timestamp_ns(interface: Interface, secs: u64, fraction: u64) -> u64 {
    let secs = secs.saturating_add_signed(interface.offset_secs);
    let fraction_ns =
        u128::from(fraction) * 1_000_000_000 / u128::from(interface.resolution.max(1));
    secs.saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(fraction_ns).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::Frame;

    const FRAME_A: &[u8] = &[0xaa; 60];
    const FRAME_B: &[u8] = &[0xbb; 42];

    /// Builds a classic pcap file; `big_endian` and `nanos` pick the magic number.
    fn classic(
        big_endian: bool,
        nanos: bool,
        link: u32,
        records: &[(u32, u32, &[u8], u32)],
    ) -> Vec<u8> {
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        out.extend_from_slice(&u16b(2));
        out.extend_from_slice(&u16b(4));
        out.extend_from_slice(&u32b(0));
        out.extend_from_slice(&u32b(0));
        out.extend_from_slice(&u32b(65535));
        out.extend_from_slice(&u32b(link));
        for &(sec, frac, data, orig) in records {
            out.extend_from_slice(&u32b(sec));
            out.extend_from_slice(&u32b(frac));
            out.extend_from_slice(&u32b(data.len() as u32));
            out.extend_from_slice(&u32b(orig));
            out.extend_from_slice(data);
        }
        out
    }

    fn ng_block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        body.resize(body.len().next_multiple_of(4), 0);
        let total = (body.len() + 12) as u32;
        let mut out = Vec::new();
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&total.to_le_bytes());
        out
    }

    fn ng_section() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        ng_block(0x0a0d_0d0a, &body)
    }

    /// Builds an interface description block; `tsresol` adds the if_tsresol option.
    fn ng_interface(link: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&link.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        if let Some(code) = tsresol {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[code, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        ng_block(1, &body)
    }

    fn ng_packet(interface: u32, ticks: u64, data: &[u8], orig: u32) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ticks as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&orig.to_le_bytes());
        body.extend_from_slice(data);
        ng_block(6, &body)
    }

    fn ng_simple(data: &[u8]) -> Vec<u8> {
        let mut body = (data.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(data);
        ng_block(3, &body)
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("sensor-pcap-{}-{name}", std::process::id()))
    }

    fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
        let path = temp_path(name);
        std::fs::write(&path, bytes).expect("write temp capture");
        path
    }

    /// ts_ns, data, wire_len and link_type of one frame.
    type FrameFields = (u64, Vec<u8>, u32, u32);

    /// Reads every frame of `bytes` written to a temporary file.
    fn read_all(name: &str, bytes: &[u8]) -> Result<Vec<FrameFields>, PcapError> {
        let path = write_temp(name, bytes);
        let result = (|| {
            let mut reader = PcapReader::open(&path)?;
            let mut frames = Vec::new();
            while let Some(f) = reader.next_frame()? {
                frames.push((f.ts_ns, f.data.to_vec(), f.wire_len, f.link_type));
            }
            Ok(frames)
        })();
        std::fs::remove_file(&path).ok();
        result
    }

    #[test]
    fn classic_variants() {
        let records: &[(u32, u32, &[u8], u32)] = &[(10, 5, FRAME_A, 60), (11, 7, FRAME_B, 1500)];
        for (big_endian, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
            let name = format!("classic-{big_endian}-{nanos}");
            let frames = read_all(&name, &classic(big_endian, nanos, 1, records)).expect("reads");
            let unit = if nanos { 1 } else { 1_000 };
            assert_eq!(frames.len(), 2, "{name}");
            assert_eq!(frames[0].0, 10_000_000_000 + 5 * unit, "{name}");
            assert_eq!(frames[0].1, FRAME_A, "{name}");
            assert_eq!(frames[1].2, 1500, "{name}");
            assert_eq!(frames[1].3, 1, "{name}");
        }
    }

    #[test]
    fn classic_raw_link_type() {
        let frames =
            read_all("raw", &classic(false, false, 101, &[(1, 0, FRAME_B, 42)])).expect("reads");
        assert_eq!(frames[0].3, 101);
    }

    #[test]
    fn classic_jumbo_record() {
        let jumbo = Frame::vxlan(1).udp(1, 2).payload(300_000).build();
        let frames = read_all(
            "jumbo",
            &classic(false, false, 1, &[(1, 0, &jumbo, jumbo.len() as u32)]),
        );
        assert_eq!(frames.expect("reads")[0].1.len(), jumbo.len());
    }

    #[test]
    fn pcapng_interfaces_and_resolution() {
        let mut file = ng_section();
        file.extend(ng_interface(1, None)); // microseconds
        file.extend(ng_interface(101, Some(9))); // nanoseconds
        file.extend(ng_packet(0, 1_500_000, FRAME_A, 100));
        file.extend(ng_packet(1, 2_000_000_007, FRAME_B, 42));
        file.extend(ng_simple(FRAME_B));
        let frames = read_all("ng", &file).expect("reads");
        assert_eq!(frames.len(), 3);
        assert_eq!(
            (frames[0].0, frames[0].2, frames[0].3),
            (1_500_000_000, 100, 1)
        );
        assert_eq!((frames[1].0, frames[1].3), (2_000_000_007, 101));
        assert_eq!(frames[1].1, FRAME_B);
        assert_eq!((frames[2].0, frames[2].3), (2_000_000_007, 1));
        assert_eq!(frames[2].1, FRAME_B);
    }

    #[test]
    fn pcapng_binary_resolution() {
        let mut file = ng_section();
        file.extend(ng_interface(1, Some(0x80 | 10))); // 2^-10 s
        file.extend(ng_packet(0, 1024 + 512, FRAME_A, 60));
        let frames = read_all("ng-binary", &file).expect("reads");
        assert_eq!(frames[0].0, 1_500_000_000);
    }

    #[test]
    fn pcapng_unknown_interface() {
        let mut file = ng_section();
        file.extend(ng_interface(1, None));
        let offset = file.len();
        file.extend(ng_packet(3, 0, FRAME_A, 60));
        match read_all("ng-bad-if", &file) {
            Err(PcapError::Invalid { offset: at, .. }) => assert_eq!(at, offset as u64),
            other => panic!("expected an invalid-data error, got {other:?}"),
        }
    }

    #[test]
    fn truncated_file_error() {
        let file = classic(false, false, 1, &[(1, 0, FRAME_A, 60), (2, 0, FRAME_B, 42)]);
        let cut = &file[..file.len() - 10];
        match read_all("cut", cut) {
            Err(PcapError::Truncated { offset, .. }) => assert_eq!(offset, 24 + 16 + 60),
            other => panic!("expected a truncation error, got {other:?}"),
        }
    }

    #[test]
    fn garbage_file_error() {
        assert!(matches!(
            read_all("garbage", b"this is not a capture file at all"),
            Err(PcapError::NotPcap { .. })
        ));
    }

    #[test]
    fn empty_file_error() {
        assert!(read_all("empty", b"").is_err());
    }

    fn huge_record(data_len: usize) -> Vec<u8> {
        let mut file = classic(false, false, 1, &[]);
        for v in [1u32, 0, 0x7fff_ffff, 0x7fff_ffff] {
            file.extend_from_slice(&v.to_le_bytes());
        }
        file.resize(file.len() + data_len, 0);
        file
    }

    #[test]
    fn huge_record_short_file() {
        let result = read_all("huge-short", &huge_record(100));
        assert!(
            matches!(result, Err(PcapError::Truncated { offset: 24, .. })),
            "{result:?}"
        );
    }

    #[test]
    fn huge_record_too_large() {
        let result = read_all("huge", &huge_record(MAX_RECORD_BYTES + 1024));
        assert!(
            matches!(result, Err(PcapError::TooLarge { offset: 24, .. })),
            "{result:?}"
        );
    }

    /// Formats an error with its causes, as the sensor prints it.
    fn message(error: PcapError) -> String {
        format!("{:#}", anyhow::Error::new(error))
    }

    #[test]
    fn missing_file_names_cause_once() {
        let error = PcapReader::open(Path::new("/nonexistent/capture.pcap"))
            .err()
            .expect("fails");
        assert_eq!(
            message(error),
            "failed to open capture /nonexistent/capture.pcap: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn directory_error_names_fix() {
        // With a trailing slash, as shell completion writes a directory.
        let dir = std::env::temp_dir().join("");
        let error = PcapReader::open(&dir).err().expect("fails");
        assert!(matches!(error, PcapError::Directory { .. }), "{error:?}");
        let text = message(error);
        assert!(
            text.contains("is a directory, not a capture file"),
            "{text}"
        );
        assert!(text.contains("/*.pcap"), "{text}");
        assert!(!text.contains("//*.pcap"), "{text}");
    }

    #[test]
    fn pcapng_cut_in_section_header_is_short() {
        let section = ng_section();
        for len in 4..section.len() {
            let result = read_all("ng-cut-header", &section[..len]);
            let Err(PcapError::HeaderShort { len: at, .. }) = result else {
                panic!("cut after {len} bytes: expected a short header, got {result:?}");
            };
            assert_eq!(at, len as u64);
        }
        assert_eq!(read_all("ng-header-only", &section).expect("reads"), []);
    }

    #[test]
    fn pcapng_corrupt_header_length_too_large() {
        let mut section = ng_section();
        section[4..8].copy_from_slice(&0xffff_fffcu32.to_le_bytes());
        section.extend_from_slice(&[0; 64]);
        let result = read_all("ng-corrupt-length", &section);
        let Err(PcapError::TooLarge { offset: 0, max, .. }) = result else {
            panic!("expected a block that is too large, got {result:?}");
        };
        assert_eq!(max, MAX_RECORD_BYTES);
    }

    #[test]
    fn short_header_message_says_cut() {
        let error = read_all("cut-10", &classic(false, false, 1, &[])[..10]).expect_err("cut");
        assert_eq!(
            message(error),
            format!(
                "{} ends inside its file header, after 10 bytes: it is empty or was cut while \
                 being written; wait until the capture is complete, or copy or capture it again",
                temp_path("cut-10").display()
            )
        );
    }

    /// A reader whose every read fails with EIO, as a failing disk would.
    struct FailingReader;

    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(libc::EIO))
        }
    }

    #[test]
    fn read_error_carries_os_error() {
        let mut ng = ng_section();
        ng.extend(ng_interface(1, None));
        ng.extend(ng_packet(0, 5, FRAME_A, 60));
        let classic_file = classic(false, false, 1, &[(1, 0, FRAME_A, 60)]);
        for (format, bytes) in [("pcapng", ng), ("classic", classic_file)] {
            let reader = Box::new(Cursor::new(bytes).chain(FailingReader));
            let result = PcapReader::from_reader(Path::new("test.pcap"), reader, 64 * 1024)
                .and_then(|mut reader| {
                    while reader.next_frame()?.is_some() {}
                    Ok(())
                });
            let Err(error @ PcapError::Read { .. }) = result else {
                panic!("{format}: expected a read error, got {result:?}");
            };
            let text = message(error);
            assert!(
                text.ends_with(": Input/output error (os error 5)"),
                "{format}: {text}"
            );
        }
    }

    #[test]
    fn truncated_message_names_fix() {
        let file = classic(false, false, 1, &[(1, 0, FRAME_A, 60)]);
        let error = read_all("cut-message", &file[..file.len() - 10]).expect_err("cut");
        let text = message(error);
        assert!(
            text.contains("ends inside a record at byte offset 24"),
            "{text}"
        );
        assert!(text.contains("copy or capture it again"), "{text}");
    }

    #[test]
    fn too_large_message_names_limit() {
        let error =
            read_all("huge-message", &huge_record(MAX_RECORD_BYTES + 1024)).expect_err("too large");
        let text = message(error);
        assert!(
            text.contains(&format!("larger than {MAX_RECORD_BYTES} bytes")),
            "{text}"
        );
        assert!(text.contains("probably corrupt"), "{text}");
    }

    #[test]
    fn corrupt_files_never_panic() {
        let mut ng = ng_section();
        ng.extend(ng_interface(1, Some(6)));
        ng.extend(ng_packet(0, 5, FRAME_A, 60));
        ng.extend(ng_simple(FRAME_B));
        let classic_file = classic(true, true, 1, &[(1, 2, FRAME_A, 60), (3, 4, FRAME_B, 42)]);
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for base in [&ng, &classic_file] {
            for len in 0..base.len() {
                let _ = read_all("prefix", &base[..len]);
            }
            for _ in 0..300 {
                let mut bytes = base.clone();
                for _ in 0..3 {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = next() as u8;
                }
                let _ = read_all("mutated", &bytes);
            }
        }
    }
}
