//! Classic pcap reading without a per-frame copy: the four standard magic numbers
//! (microsecond and nanosecond timestamps, both byte orders). The file is read in large
//! chunks into one buffer, each 16-byte record header is decoded in place, and a frame's
//! data is a slice of that buffer. Only the partial record at the end of a chunk moves to
//! the front of the buffer before the next read.

use std::io::{self, Read};
use std::path::Path;

use super::pcap::{MAX_RECORD_BYTES, PcapError, PcapFrame};

/// Bytes of the classic pcap file header.
pub(super) const FILE_HEADER_BYTES: usize = 24;
/// Bytes of a record header: seconds, fraction, captured length, original length.
const RECORD_HEADER_BYTES: usize = 16;
/// Bytes requested per read; the buffer starts at this size.
pub(super) const CHUNK_BYTES: usize = 1024 * 1024;

/// Byte order and timestamp unit, as the magic number encodes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Variant {
    big_endian: bool,
    nanosecond: bool,
}

impl Variant {
    /// Returns the variant for a file that starts with a classic pcap magic number, or
    /// `None` for anything else (pcapng, the modified pcap format, fewer than 4 bytes).
    pub(super) fn from_magic(prefix: &[u8]) -> Option<Self> {
        let magic = u32::from_le_bytes(*prefix.first_chunk::<4>()?);
        let (big_endian, nanosecond) = match magic {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            _ => return None,
        };
        Some(Variant {
            big_endian,
            nanosecond,
        })
    }

    fn decode_u32(self, bytes: [u8; 4]) -> u32 {
        if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    }
}

/// The fields of a record header, in host byte order.
#[derive(Clone, Copy, Debug)]
struct RecordHeader {
    ts_sec: u32,
    /// Microseconds or nanoseconds, as the magic number sets.
    ts_fraction: u32,
    caplen: u32,
    orig_len: u32,
}

impl RecordHeader {
    /// Returns the bytes of the record: header and captured data.
    fn record_bytes(self) -> usize {
        RECORD_HEADER_BYTES.saturating_add(self.caplen as usize)
    }
}

/// A classic pcap file after its header, read chunk by chunk.
pub(super) struct ClassicReader {
    reader: Box<dyn Read + Send>,
    variant: Variant,
    link_type: u32,
    /// Timestamp units per second.
    resolution: u32,
    /// Nanoseconds per timestamp unit.
    unit_ns: u64,
    /// Bytes read from the file. `buffer[start..end]` has not been returned as frames yet.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buffer[start]`, the next record.
    offset: u64,
    /// Whether a read returned 0 bytes.
    eof: bool,
}

impl ClassicReader {
    /// Decodes the file header from the first `filled` bytes of `buffer`, which the probe
    /// for the magic number read from `reader`, and keeps the rest for the first records.
    pub(super) fn new(
        path: &Path,
        reader: Box<dyn Read + Send>,
        buffer: Vec<u8>,
        filled: usize,
        variant: Variant,
    ) -> Result<Self, PcapError> {
        let header = buffer
            .get(..filled)
            .and_then(|b| b.first_chunk::<FILE_HEADER_BYTES>());
        let Some(header) = header else {
            return Err(PcapError::HeaderShort {
                path: path.to_path_buf(),
                len: filled as u64,
            });
        };
        // The link type is the last field of the file header.
        let [.., l0, l1, l2, l3] = *header;
        let (resolution, unit_ns) = if variant.nanosecond {
            (1_000_000_000, 1)
        } else {
            (1_000_000, 1_000)
        };
        Ok(ClassicReader {
            reader,
            variant,
            link_type: variant.decode_u32([l0, l1, l2, l3]),
            resolution,
            unit_ns,
            buffer,
            start: FILE_HEADER_BYTES,
            end: filled,
            offset: FILE_HEADER_BYTES as u64,
            eof: false,
        })
    }

    /// Returns the next frame, or `None` at the end of the file.
    #[inline]
    pub(super) fn next_frame(&mut self, path: &Path) -> Result<Option<PcapFrame<'_>>, PcapError> {
        let header = match self.buffered_header() {
            Some(header) => header,
            None => match self.read_record(path)? {
                Some(header) => header,
                None => return Ok(None),
            },
        };
        if header.ts_fraction >= self.resolution {
            return Err(self.invalid_fraction(path, header.ts_fraction));
        }

        let record_bytes = header.record_bytes();
        let start = self.start;
        let data = self
            .buffer
            .get(start..self.end)
            .and_then(|unread| unread.get(RECORD_HEADER_BYTES..record_bytes));
        let Some(data) = data else {
            return Err(self.truncated(path));
        };
        self.start = start + record_bytes;
        self.offset += record_bytes as u64;

        // Cannot overflow: u32::MAX seconds are about 4.3e18 ns, a quarter of u64::MAX,
        // and the fraction is below one second.
        let ts_ns =
            u64::from(header.ts_sec) * 1_000_000_000 + u64::from(header.ts_fraction) * self.unit_ns;
        Ok(Some(PcapFrame {
            ts_ns,
            data,
            wire_len: header.orig_len.max(header.caplen),
            link_type: self.link_type,
        }))
    }

    /// Decodes the next record header if the buffer contains the whole record.
    #[inline]
    fn buffered_header(&self) -> Option<RecordHeader> {
        let unread = self.buffer.get(self.start..self.end)?;
        let header = self.decode_header(unread)?;
        (header.record_bytes() <= unread.len()).then_some(header)
    }

    #[inline]
    fn decode_header(&self, unread: &[u8]) -> Option<RecordHeader> {
        let &[ts_sec, ts_fraction, caplen, orig_len] =
            unread.as_chunks::<4>().0.first_chunk::<4>()?;
        Some(RecordHeader {
            ts_sec: self.variant.decode_u32(ts_sec),
            ts_fraction: self.variant.decode_u32(ts_fraction),
            caplen: self.variant.decode_u32(caplen),
            orig_len: self.variant.decode_u32(orig_len),
        })
    }

    /// Reads until the buffer contains the next record, and decodes its header. Returns
    /// `None` when the file ends after the previous record.
    #[cold]
    #[inline(never)]
    fn read_record(&mut self, path: &Path) -> Result<Option<RecordHeader>, PcapError> {
        self.fill(RECORD_HEADER_BYTES, path)?;
        if self.start == self.end {
            return Ok(None);
        }
        let unread = self.buffer.get(self.start..self.end).unwrap_or_default();
        let Some(header) = self.decode_header(unread) else {
            return Err(self.truncated(path));
        };
        if header.record_bytes() > MAX_RECORD_BYTES {
            return Err(self.oversized(path));
        }
        self.fill(header.record_bytes(), path)?;
        match self.buffered_header() {
            Some(header) => Ok(Some(header)),
            None => Err(self.truncated(path)),
        }
    }

    /// Moves the unread bytes to the front of the buffer, grows it to fit `needed` bytes,
    /// and reads until it contains them or the file ends.
    fn fill(&mut self, needed: usize, path: &Path) -> Result<(), PcapError> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buffer.len() < needed {
            let grown = needed.next_power_of_two().min(MAX_RECORD_BYTES).max(needed);
            self.buffer.resize(grown, 0);
        }
        while self.end < needed && !self.eof {
            let space = self.buffer.get_mut(self.end..).unwrap_or_default();
            match self.reader.read(space) {
                Ok(0) => self.eof = true,
                Ok(read) => self.end = (self.end + read).min(self.buffer.len()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(PcapError::Read {
                        path: path.to_path_buf(),
                        offset: self.offset,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Returns the error for a record over [`MAX_RECORD_BYTES`]: `Truncated` when the
    /// file ends within that many bytes of the record, and `TooLarge` otherwise.
    ///
    /// NOTE: pcap-parser, which still reads pcapng, already returns `TooLarge` once its
    /// buffer, doubled up to the limit, contains more than half of it. The two formats
    /// therefore report a cut oversized record differently between 8 and 16 MiB.
    #[cold]
    fn oversized(&mut self, path: &Path) -> PcapError {
        if let Err(error) = self.fill(MAX_RECORD_BYTES, path) {
            return error;
        }
        if self.end - self.start < MAX_RECORD_BYTES {
            return self.truncated(path);
        }
        PcapError::TooLarge {
            path: path.to_path_buf(),
            offset: self.offset,
            max: MAX_RECORD_BYTES,
        }
    }

    #[cold]
    fn invalid_fraction(&self, path: &Path, ts_fraction: u32) -> PcapError {
        PcapError::Invalid {
            path: path.to_path_buf(),
            offset: self.offset,
            detail: format!(
                "timestamp fraction {ts_fraction} is not below {}",
                self.resolution
            ),
        }
    }

    #[cold]
    fn truncated(&self, path: &Path) -> PcapError {
        PcapError::Truncated {
            path: path.to_path_buf(),
            offset: self.offset,
        }
    }
}

/// Reads into `buffer` until it contains at least `min` bytes or the reader ends,
/// retrying interrupted reads. Returns the number of bytes read.
pub(super) fn read_at_least(
    reader: &mut dyn Read,
    buffer: &mut [u8],
    min: usize,
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < min {
        let space = buffer.get_mut(filled..).unwrap_or_default();
        match reader.read(space) {
            Ok(0) => break,
            Ok(read) => filled = (filled + read).min(buffer.len()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::capture::pcap::PcapReader;

    const VARIANTS: [(bool, bool); 4] =
        [(false, false), (false, true), (true, false), (true, true)];

    /// Record header fields (seconds, fraction, captured length, original length) and data.
    type Record = ([u32; 4], Vec<u8>);

    /// ts_ns, data, wire_len and link_type of one frame.
    type FrameFields = (u64, Vec<u8>, u32, u32);

    fn u32_bytes(big_endian: bool, value: u32) -> [u8; 4] {
        if big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        }
    }

    /// Builds a classic pcap file with the magic number that `big_endian` and `nanosecond`
    /// pick.
    fn file(big_endian: bool, nanosecond: bool, link: u32, records: &[Record]) -> Vec<u8> {
        let magic = if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut out = u32_bytes(big_endian, magic).to_vec();
        let version = if big_endian {
            [0, 2, 0, 4]
        } else {
            [2, 0, 4, 0]
        };
        out.extend_from_slice(&version);
        for value in [0, 0, 65535, link] {
            out.extend_from_slice(&u32_bytes(big_endian, value));
        }
        for (fields, data) in records {
            for &value in fields {
                out.extend_from_slice(&u32_bytes(big_endian, value));
            }
            out.extend_from_slice(data);
        }
        out
    }

    /// Builds a record whose captured length is the length of its data.
    fn record(sec: u32, fraction: u32, data_len: usize, orig_len: u32) -> Record {
        let data = (0..data_len).map(|i| (i * 7 + data_len) as u8).collect();
        ([sec, fraction, data_len as u32, orig_len], data)
    }

    /// Builds `count` records of 0 to 120 data bytes, some cut by the snap length.
    fn mixed_records(count: usize) -> Vec<Record> {
        (0..count)
            .map(|i| {
                let len = (i * 37) % 121;
                let orig_len = if i % 3 == 0 {
                    len as u32 + 1000
                } else {
                    len as u32
                };
                record(
                    1_700_000_000 + i as u32,
                    (i * 1013) as u32 % 1_000_000,
                    len,
                    orig_len,
                )
            })
            .collect()
    }

    fn collect(mut reader: PcapReader) -> Result<Vec<FrameFields>, PcapError> {
        let mut frames = Vec::new();
        while let Some(f) = reader.next_frame()? {
            frames.push((f.ts_ns, f.data.to_vec(), f.wire_len, f.link_type));
        }
        Ok(frames)
    }

    /// Reads every frame of `reader` in reads of `chunk_bytes`, and panics unless the
    /// classic pcap reader reads it.
    fn read_classic(
        reader: Box<dyn Read + Send>,
        chunk_bytes: usize,
    ) -> Result<Vec<FrameFields>, PcapError> {
        let reader = PcapReader::from_reader(Path::new("test.pcap"), reader, chunk_bytes)?;
        assert!(reader.is_classic(), "the classic reader is not used");
        collect(reader)
    }

    fn classic_frames(bytes: &[u8], chunk_bytes: usize) -> Result<Vec<FrameFields>, PcapError> {
        read_classic(Box::new(Cursor::new(bytes.to_vec())), chunk_bytes)
    }

    fn parsed_frames(bytes: &[u8]) -> Result<Vec<FrameFields>, PcapError> {
        let reader = Box::new(Cursor::new(bytes.to_vec()));
        collect(PcapReader::from_reader_parsed(
            Path::new("test.pcap"),
            reader,
        )?)
    }

    /// Returns the error variant and offset, for comparisons.
    fn summary(error: &PcapError) -> (&'static str, Option<u64>) {
        match error {
            PcapError::Open { .. } => ("open", None),
            PcapError::Directory { .. } => ("directory", None),
            PcapError::NotPcap { .. } => ("not pcap", None),
            PcapError::HeaderShort { .. } => ("header short", None),
            PcapError::Truncated { offset, .. } => ("truncated", Some(*offset)),
            PcapError::TooLarge { offset, .. } => ("too large", Some(*offset)),
            PcapError::Invalid { offset, .. } => ("invalid", Some(*offset)),
            PcapError::Read { offset, .. } => ("read", Some(*offset)),
        }
    }

    fn result_summary(
        result: &Result<Vec<FrameFields>, PcapError>,
    ) -> Result<usize, (&'static str, Option<u64>)> {
        result.as_ref().map(Vec::len).map_err(summary)
    }

    /// Returns bytes in steps of at most `step`. Every other call fails with EINTR, and
    /// every call fails with an I/O error once `fail_at` bytes were returned.
    struct ChoppyReader {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
        calls: usize,
        fail_at: Option<usize>,
    }

    impl ChoppyReader {
        fn new(bytes: &[u8], step: usize, fail_at: Option<usize>) -> Self {
            ChoppyReader {
                bytes: bytes.to_vec(),
                at: 0,
                step,
                calls: 0,
                fail_at,
            }
        }
    }

    impl Read for ChoppyReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 2 == 1 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let end = self.fail_at.unwrap_or(self.bytes.len());
            if self.at == end && self.fail_at.is_some() {
                return Err(io::Error::other("device error"));
            }
            let len = buf.len().min(self.step).min(end - self.at);
            buf[..len].copy_from_slice(&self.bytes[self.at..self.at + len]);
            self.at += len;
            Ok(len)
        }
    }

    #[test]
    fn magic_numbers() {
        let variant = |big_endian, nanosecond| {
            Some(Variant {
                big_endian,
                nanosecond,
            })
        };
        let cases: [(&[u8], Option<Variant>); 8] = [
            (&[0xd4, 0xc3, 0xb2, 0xa1], variant(false, false)),
            (&[0x4d, 0x3c, 0xb2, 0xa1], variant(false, true)),
            (&[0xa1, 0xb2, 0xc3, 0xd4], variant(true, false)),
            (&[0xa1, 0xb2, 0x3c, 0x4d], variant(true, true)),
            (&[0x34, 0xcd, 0xb2, 0xa1], None), // modified pcap
            (&[0x0a, 0x0d, 0x0d, 0x0a], None), // pcapng
            (&[0xd4, 0xc3, 0xb2], None),
            (&[], None),
        ];
        for (prefix, expected) in cases {
            assert_eq!(Variant::from_magic(prefix), expected, "{prefix:x?}");
        }
    }

    #[test]
    fn modified_format_uses_parser() {
        let mut bytes = 0xa1b2_cd34u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[2, 0, 4, 0]);
        for value in [0u32, 0, 65535, 1] {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        for value in [7u32, 8, 3, 3, 2] {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        bytes.extend_from_slice(&[0, 8, 0, 0]); // protocol, packet type, padding
        bytes.extend_from_slice(&[0xaa, 0xbb, 0xcc]);

        let reader = Box::new(Cursor::new(bytes));
        let reader =
            PcapReader::from_reader(Path::new("test.pcap"), reader, CHUNK_BYTES).expect("opens");
        assert!(!reader.is_classic());
        let frames = collect(reader).expect("reads");
        assert_eq!(frames, vec![(7_000_008_000, vec![0xaa, 0xbb, 0xcc], 3, 1)]);
    }

    #[test]
    fn variants_values() {
        for (big_endian, nanosecond) in VARIANTS {
            let records = [record(10, 5, 60, 60), record(11, 7, 42, 1500)];
            let bytes = file(big_endian, nanosecond, 228, &records);
            let frames = classic_frames(&bytes, CHUNK_BYTES).expect("reads");
            let unit = if nanosecond { 1 } else { 1_000 };
            let name = format!("big endian {big_endian}, nanosecond {nanosecond}");
            assert_eq!(frames.len(), 2, "{name}");
            assert_eq!(frames[0].0, 10_000_000_000 + 5 * unit, "{name}");
            assert_eq!(frames[0].1, records[0].1, "{name}");
            assert_eq!(frames[0].2, 60, "{name}");
            assert_eq!(frames[1].0, 11_000_000_000 + 7 * unit, "{name}");
            assert_eq!(frames[1].2, 1500, "{name}");
            assert_eq!(frames[1].3, 228, "{name}");
        }
    }

    #[test]
    fn edge_values_match_parser() {
        for (big_endian, nanosecond) in VARIANTS {
            let resolution = if nanosecond { 1_000_000_000 } else { 1_000_000 };
            let records = [
                record(0, 0, 0, 0),
                record(u32::MAX, resolution - 1, 1, 0), // orig_len below caplen
                record(u32::MAX, 0, 60, u32::MAX),
                record(1, resolution - 1, 60, 59),
            ];
            for link in [0, 1, 101, 0x8000_0001] {
                let bytes = file(big_endian, nanosecond, link, &records);
                let classic = classic_frames(&bytes, CHUNK_BYTES).expect("classic reads");
                let parsed = parsed_frames(&bytes).expect("pcap-parser reads");
                assert_eq!(classic, parsed, "big endian {big_endian}, link {link}");
            }
        }
    }

    #[test]
    fn records_split_across_chunks() {
        let records = mixed_records(40);
        for (big_endian, nanosecond) in VARIANTS {
            let bytes = file(big_endian, nanosecond, 1, &records);
            let expected = parsed_frames(&bytes).expect("pcap-parser reads");
            assert_eq!(expected.len(), records.len());
            for chunk_bytes in 1..=300 {
                let frames = classic_frames(&bytes, chunk_bytes).expect("reads");
                assert_eq!(frames, expected, "chunk of {chunk_bytes} bytes");
            }
        }
    }

    #[test]
    fn record_larger_than_buffer() {
        let records = [
            record(1, 0, 40, 40),
            record(2, 0, 70_000, 70_000),
            record(3, 0, 10, 10),
        ];
        let bytes = file(false, false, 1, &records);
        let frames = classic_frames(&bytes, 1000).expect("reads");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].1, records[1].1);
        assert_eq!(frames[2].1, records[2].1);
    }

    #[test]
    fn record_at_max_size() {
        let data_len = MAX_RECORD_BYTES - RECORD_HEADER_BYTES;
        let bytes = file(false, false, 1, &[record(1, 0, data_len, 0)]);
        let frames = classic_frames(&bytes, 4096).expect("reads");
        assert_eq!(frames[0].1.len(), data_len);
    }

    #[test]
    fn record_over_max_too_large() {
        let data_len = MAX_RECORD_BYTES - RECORD_HEADER_BYTES + 1;
        let mut bytes = file(
            false,
            false,
            1,
            &[record(1, 0, 10, 10), record(1, 0, data_len, 0)],
        );
        let result = classic_frames(&bytes, 4096);
        assert_eq!(
            result_summary(&result),
            Err(("too large", Some(24 + 16 + 10)))
        );

        // The file ends before MAX_RECORD_BYTES of the record.
        bytes.truncate(bytes.len() - 2);
        let result = classic_frames(&bytes, 4096);
        assert_eq!(
            result_summary(&result),
            Err(("truncated", Some(24 + 16 + 10)))
        );
    }

    #[test]
    fn truncation_every_offset() {
        for (big_endian, nanosecond) in VARIANTS {
            let records = [record(1, 2, 5, 5), record(3, 4, 0, 0), record(5, 6, 20, 64)];
            let bytes = file(big_endian, nanosecond, 1, &records);
            let mut boundaries = vec![24];
            for (_, data) in &records {
                boundaries.push(boundaries.last().unwrap() + 16 + data.len());
            }
            for len in 0..bytes.len() {
                let expected = if len < 24 {
                    Err(("header short", None))
                } else if let Some(complete) = boundaries.iter().position(|&end| end == len) {
                    Ok(complete)
                } else {
                    let record_start = boundaries.iter().rev().find(|&&end| end < len);
                    Err(("truncated", record_start.map(|&at| at as u64)))
                };
                let cut = &bytes[..len];
                for chunk_bytes in [24, 30, CHUNK_BYTES] {
                    let result = match Variant::from_magic(cut) {
                        Some(_) => classic_frames(cut, chunk_bytes),
                        None => parsed_frames(cut),
                    };
                    assert_eq!(
                        result_summary(&result),
                        expected,
                        "cut at {len}, chunk of {chunk_bytes} bytes"
                    );
                }
                assert_eq!(
                    result_summary(&parsed_frames(cut)),
                    expected,
                    "pcap-parser, cut at {len}"
                );
            }
        }
    }

    #[test]
    fn fraction_at_resolution_invalid() {
        for (big_endian, nanosecond) in VARIANTS {
            let resolution = if nanosecond { 1_000_000_000 } else { 1_000_000 };
            let records = [record(1, resolution - 1, 8, 8), record(2, resolution, 8, 8)];
            let bytes = file(big_endian, nanosecond, 1, &records);
            let result = classic_frames(&bytes, CHUNK_BYTES);
            assert_eq!(result_summary(&result), Err(("invalid", Some(24 + 16 + 8))));
            let Err(error) = result else { unreachable!() };
            assert_eq!(
                error.to_string(),
                parsed_frames(&bytes).unwrap_err().to_string()
            );
        }
    }

    #[test]
    fn interrupted_short_reads() {
        let bytes = file(true, false, 1, &mixed_records(30));
        let expected = classic_frames(&bytes, CHUNK_BYTES).expect("reads");
        for step in [1, 5, 16, 17, 100] {
            let reader = Box::new(ChoppyReader::new(&bytes, step, None));
            let frames = read_classic(reader, 64).expect("reads");
            assert_eq!(frames, expected, "reads of {step} bytes");
        }
    }

    #[test]
    fn read_error_offset() {
        let records = [record(1, 0, 50, 50), record(2, 0, 50, 50)];
        let bytes = file(false, false, 1, &records);
        let second = 24 + 16 + 50;
        for (fail_at, offset) in [(10, 0), (30, 24), (second + 3, second as u64)] {
            let reader = Box::new(ChoppyReader::new(&bytes, 7, Some(fail_at)));
            let result =
                PcapReader::from_reader(Path::new("test.pcap"), reader, 32).and_then(collect);
            assert_eq!(
                result_summary(&result),
                Err(("read", Some(offset))),
                "failure at byte {fail_at}"
            );
        }
    }

    #[test]
    fn real_captures_match_parser() {
        let names = [
            "aws-tm-vxlan-ssh-dns-ntp.pcap",
            "geneve-ipv4-3tlv-gcp-tcp.pcap",
            "geneve-ipv4-vxlan-dns-snaplen-truncated.pcap",
            "vxlan-gso-7092B-tcp-partial-csum.pcap",
            "vxlan-http-get.pcap",
            "vxlan-reserved-bits-set-http.pcap",
        ];
        for name in names {
            let Some(path) = crate::fixture::shared_capture(name) else {
                continue;
            };
            let bytes = std::fs::read(&path).expect("capture reads");
            let expected = parsed_frames(&bytes).expect("pcap-parser reads");
            assert!(!expected.is_empty(), "{name}");
            for chunk_bytes in [100, CHUNK_BYTES] {
                let frames = classic_frames(&bytes, chunk_bytes).expect("classic reads");
                assert_eq!(frames, expected, "{name}, chunk of {chunk_bytes} bytes");
            }
            let opened = PcapReader::open(&path).expect("capture opens");
            assert!(opened.is_classic(), "{name}");
        }
    }
}
