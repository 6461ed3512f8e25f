//! Flow records as JSON lines (one JSON object per line), to a file or stdout.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::record_json::RecordJson;
use crate::flow::FlowRecord;

/// Bytes of lines gathered before they go to the sink in one write.
const CHUNK_BYTES: usize = 64 * 1024;

/// Initial size of the buffer: a full chunk and room for the record that
/// completes it. A record that does not fit in the empty buffer doubles it,
/// and it keeps that size.
const BUFFER_BYTES: usize = CHUNK_BYTES + 16 * 1024;

/// A buffered JSON-lines writer. Call [`FlowWriter::flush`] before dropping it to see
/// write errors; dropping flushes too, but ignores them.
///
/// Records are written straight into the buffer that goes to the sink, which
/// spares a copy of each line through a `BufWriter`. Errors behave as with a
/// `BufWriter`: a failed write keeps the bytes not written. Once they fill a
/// chunk, each new record first tries to write them, and is rejected with the
/// error when that fails.
///
/// A record counts as written only once the sink has accepted its whole line, so
/// records still buffered when the sink fails are not among
/// [`FlowWriter::written_records`] but among [`FlowWriter::pending_records`].
pub struct FlowWriter {
    sink: Box<dyn Write + Send>,
    /// The sink again when it is a regular file that this writer created, so
    /// that [`FlowWriter::abandon`] can cut a partly written line off its end.
    file: Option<File>,
    /// Lines not yet written to `sink` in `buffer[..used]`. The rest is
    /// zero-filled room for the next records.
    buffer: Vec<u8>,
    used: usize,
    json: RecordJson,
    /// Lines in `buffer[..used]`. The first may be partly written already.
    pending: u64,
    /// Records whose whole line the sink accepted.
    written: u64,
    /// Bytes the sink accepted.
    sink_bytes: u64,
    /// Bytes the sink accepted up to the end of the last whole line.
    line_end_bytes: u64,
}

impl FlowWriter {
    /// Opens `path` for writing, truncating it; `-` means stdout.
    pub fn open(path: &Path) -> io::Result<Self> {
        if path == Path::new("-") {
            return Ok(FlowWriter::from_writer(Box::new(super::stdout_file()?)));
        }
        let file = File::create(path)?;
        let cut_handle = if file.metadata()?.is_file() {
            Some(file.try_clone()?)
        } else {
            None
        };
        let mut writer = FlowWriter::from_writer(Box::new(file));
        writer.file = cut_handle;
        Ok(writer)
    }

    /// Creates a writer over any sink (tests, pipes).
    pub fn from_writer(sink: Box<dyn Write + Send>) -> Self {
        FlowWriter {
            sink,
            file: None,
            buffer: vec![0; BUFFER_BYTES],
            used: 0,
            json: RecordJson::default(),
            pending: 0,
            written: 0,
            sink_bytes: 0,
            line_end_bytes: 0,
        }
    }

    /// Writes one record as one line.
    pub fn write(&mut self, record: &FlowRecord) -> io::Result<()> {
        if self.used >= CHUNK_BYTES {
            self.write_buffered()?;
        }
        loop {
            let room = self.buffer.get_mut(self.used..).unwrap_or_default();
            if let Some(len) = self.json.write_line(room, record) {
                self.used += len;
                self.pending += 1;
                return Ok(());
            }
            // The record did not fit: empty the buffer, or when it is already
            // empty, double it, and write the record again.
            if self.used > 0 {
                self.write_buffered()?;
            } else {
                let size = self.buffer.len() * 2;
                self.buffer.resize(size, 0);
            }
        }
    }

    /// Writes the buffered lines and flushes the sink.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_buffered()?;
        self.sink.flush()
    }

    /// Returns the number of records whose whole line the sink accepted.
    pub fn written_records(&self) -> u64 {
        self.written
    }

    /// Returns the number of records that [`FlowWriter::write`] accepted and
    /// the sink has not yet accepted whole.
    pub fn pending_records(&self) -> u64 {
        self.pending
    }

    /// Gives up the buffered records after a failed flush, so that dropping
    /// the writer tries no more writes. When the sink is a regular file that
    /// accepted only the start of a line, cuts that start off, so that the file
    /// ends with a whole line (unless another program made it shorter). Count [`FlowWriter::pending_records`] as lost
    /// before calling this.
    pub fn abandon(&mut self) -> io::Result<()> {
        self.used = 0;
        self.pending = 0;
        match &self.file {
            Some(file) if self.sink_bytes > self.line_end_bytes => {
                super::cut_if_longer(file, self.line_end_bytes)?;
                self.sink_bytes = self.line_end_bytes;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes the buffered lines to the sink. When a write fails, the lines
    /// not written move to the front of the buffer.
    fn write_buffered(&mut self) -> io::Result<()> {
        let mut written = 0;
        let result = loop {
            let rest = self.buffer.get(written..self.used).unwrap_or_default();
            if rest.is_empty() {
                break Ok(());
            }
            match self.sink.write(rest) {
                Ok(0) => {
                    break Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the flow output accepted no more bytes",
                    ));
                }
                Ok(count) => written += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => break Err(error),
            }
        };
        let written = written.min(self.used);
        self.count_written(written);
        self.buffer.copy_within(written..self.used, 0);
        self.used -= written;
        result
    }

    /// Counts the records whose lines end within the first `written` bytes
    /// of the buffer, which the sink has just accepted.
    fn count_written(&mut self, written: usize) {
        if written == self.used {
            // The buffer contains whole lines, so its end is the end of a line.
            self.written += self.pending;
            self.pending = 0;
            self.sink_bytes += written as u64;
            self.line_end_bytes = self.sink_bytes;
            return;
        }
        // A failed write. JSON escapes every control character inside a
        // string, so each newline in the buffer ends one record's line.
        let lines = self.buffer.get(..self.used).unwrap_or_default();
        let (sent, unsent) = lines.split_at_checked(written).unwrap_or((lines, &[]));
        let unwritten = unsent.iter().filter(|&&byte| byte == b'\n').count() as u64;
        if let Some(last) = sent.iter().rposition(|&byte| byte == b'\n') {
            self.line_end_bytes = self.sink_bytes + last as u64 + 1;
        }
        self.sink_bytes += sent.len() as u64;
        self.written += self.pending.saturating_sub(unwritten);
        self.pending = unwritten;
    }
}

impl Drop for FlowWriter {
    fn drop(&mut self) {
        // Errors cannot be returned here; `flush` reports them.
        let _ = self.write_buffered();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decap::{DecapConfig, Decoder};
    use crate::fixture::Frame;
    use crate::flow::{FlowConfig, FlowTable};

    #[test]
    fn writer_one_line_per_record() {
        let dir = std::env::temp_dir().join(format!("sensor-flow-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("flows.jsonl");

        let mut table = FlowTable::new(FlowConfig::default());
        let mut decoder = Decoder::new(DecapConfig::default());
        for port in [1, 2] {
            let frame = Frame::vxlan(1).udp(port, 53);
            let packet = decoder
                .decode(&frame.build(), frame.wire_len(), 5)
                .expect("decoded");
            table.observe(&packet, &mut |_| {});
        }
        let mut writer = FlowWriter::open(&path).expect("open");
        table.drain(&mut |r| writer.write(&r).expect("write"));
        writer.flush().expect("flush");

        let text = std::fs::read_to_string(&path).expect("read back");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let value: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
            assert_eq!(value["dst_port"], 53);
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A sink that stores what it accepts: at most `per_call` bytes a call,
    /// after `interruptions` calls that fail with `Interrupted`, and nothing
    /// once `broken` is set.
    #[derive(Clone, Default)]
    struct Sink {
        bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
        per_call: usize,
        interruptions: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        broken: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            use std::sync::atomic::Ordering;
            if self.broken.load(Ordering::Relaxed) {
                return Err(io::Error::other("disk full"));
            }
            if self.interruptions.load(Ordering::Relaxed) > 0 {
                self.interruptions.fetch_sub(1, Ordering::Relaxed);
                return Err(io::ErrorKind::Interrupted.into());
            }
            let count = buf.len().min(self.per_call);
            self.bytes
                .lock()
                .expect("lock")
                .extend_from_slice(&buf[..count]);
            Ok(count)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> Vec<u8> {
            self.bytes.lock().expect("lock").clone()
        }
    }

    fn line(sequence: u32) -> Vec<u8> {
        let mut line = serde_json::to_vec(&record(sequence)).expect("serialized");
        line.push(b'\n');
        line
    }

    fn record(sequence: u32) -> FlowRecord {
        FlowRecord {
            sequence,
            ..crate::flow::testing::record()
        }
    }

    #[test]
    fn partial_and_interrupted_writes_keep_order() {
        let sink = Sink {
            per_call: 1000,
            ..Sink::default()
        };
        sink.interruptions
            .store(3, std::sync::atomic::Ordering::Relaxed);
        let mut writer = FlowWriter::from_writer(Box::new(sink.clone()));
        let mut expected = Vec::new();
        for sequence in 0..500 {
            writer.write(&record(sequence)).expect("written");
            expected.extend(line(sequence));
        }
        writer.flush().expect("flushed");
        assert_eq!(sink.text(), expected);
    }

    #[test]
    fn failed_sink_rejects_records_once_full() {
        let sink = Sink {
            per_call: usize::MAX,
            ..Sink::default()
        };
        sink.broken
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut writer = FlowWriter::from_writer(Box::new(sink.clone()));
        let mut accepted = 0;
        let mut rejected = 0;
        for sequence in 0..1000 {
            match writer.write(&record(sequence)) {
                Ok(()) => accepted += 1,
                Err(_) => rejected += 1,
            }
        }
        assert!(writer.flush().is_err());
        let line_len = line(0).len();
        assert_eq!(accepted, CHUNK_BYTES.div_ceil(line_len));
        assert_eq!(rejected, 1000 - accepted);
        assert!(writer.used < CHUNK_BYTES + line_len);
    }

    #[test]
    fn sink_repaired_gets_every_accepted_record() {
        let sink = Sink {
            per_call: usize::MAX,
            ..Sink::default()
        };
        sink.broken
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut writer = FlowWriter::from_writer(Box::new(sink.clone()));
        let mut expected = Vec::new();
        for sequence in 0..1000 {
            if sequence == 700 {
                sink.broken
                    .store(false, std::sync::atomic::Ordering::Relaxed);
            }
            if writer.write(&record(sequence)).is_ok() {
                expected.extend(line(sequence));
            }
        }
        drop(writer);
        assert_eq!(sink.text(), expected);
    }

    /// A sink with room for `room` bytes, as a nearly full disk: the write
    /// that reaches the limit is cut short, and later writes fail with ENOSPC.
    struct FullAfter<W> {
        inner: W,
        room: usize,
    }

    impl<W: Write> Write for FullAfter<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let count = buf.len().min(self.room);
            let count = self.inner.write(&buf[..count])?;
            self.room -= count;
            Ok(count)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    #[test]
    fn failed_flush_counts_whole_lines_only() {
        let sink = Sink {
            per_call: usize::MAX,
            ..Sink::default()
        };
        let full = FullAfter {
            inner: sink.clone(),
            room: line(0).len() * 5 / 2,
        };
        let mut writer = FlowWriter::from_writer(Box::new(full));
        for sequence in 0..10 {
            writer.write(&record(sequence)).expect("buffered");
        }

        let error = writer.flush().expect_err("the sink is full");

        assert_eq!(error.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(writer.written_records(), 2);
        assert_eq!(writer.pending_records(), 8);
        let accepted = sink.text();
        assert_eq!(accepted.len(), line(0).len() * 5 / 2);
        assert_eq!(accepted.iter().filter(|&&byte| byte == b'\n').count(), 2);
    }

    #[test]
    fn failed_write_counts_rejected_record_as_not_written() {
        let full = FullAfter {
            inner: Sink {
                per_call: usize::MAX,
                ..Sink::default()
            },
            room: 0,
        };
        let mut writer = FlowWriter::from_writer(Box::new(full));
        let mut accepted = 0;
        for sequence in 0..1000 {
            if writer.write(&record(sequence)).is_ok() {
                accepted += 1;
            }
        }
        assert!(writer.flush().is_err());
        assert_eq!(writer.written_records(), 0);
        assert_eq!(writer.pending_records(), accepted);
    }

    #[test]
    fn recovered_sink_counts_every_record() {
        let sink = Sink {
            per_call: 100,
            ..Sink::default()
        };
        let mut writer = FlowWriter::from_writer(Box::new(sink.clone()));
        sink.broken
            .store(true, std::sync::atomic::Ordering::Relaxed);
        for sequence in 0..10 {
            writer.write(&record(sequence)).expect("buffered");
        }
        assert!(writer.flush().is_err());
        sink.broken
            .store(false, std::sync::atomic::Ordering::Relaxed);
        writer.flush().expect("flushed");
        assert_eq!(writer.written_records(), 10);
        assert_eq!(writer.pending_records(), 0);
    }

    #[test]
    fn abandon_cuts_partial_line_off_file() {
        let dir = std::env::temp_dir().join(format!("sensor-flow-abandon-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("flows.jsonl");
        let file = File::create(&path).expect("create");
        let full = FullAfter {
            inner: file.try_clone().expect("clone"),
            room: line(0).len() * 5 / 2,
        };
        let mut writer = FlowWriter::from_writer(Box::new(full));
        writer.file = Some(file);
        for sequence in 0..10 {
            writer.write(&record(sequence)).expect("buffered");
        }
        assert!(writer.flush().is_err());

        writer.abandon().expect("cut");
        drop(writer);

        let mut expected = line(0);
        expected.extend(line(1));
        assert_eq!(std::fs::read(&path).expect("read back"), expected);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn open_keeps_file_for_cut_only_when_regular() {
        let dir = std::env::temp_dir().join(format!("sensor-flow-regular-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let regular = FlowWriter::open(&dir.join("flows.jsonl")).expect("open file");
        let device = FlowWriter::open(Path::new("/dev/null")).expect("open /dev/null");
        assert!(regular.file.is_some());
        assert!(device.file.is_none());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn zero_byte_write_is_an_error() {
        let sink = Sink::default();
        let mut writer = FlowWriter::from_writer(Box::new(sink));
        writer.write(&record(1)).expect("buffered");
        let error = writer.flush().expect_err("no byte accepted");
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn record_larger_than_buffer_written() {
        // Every byte of the name is escaped as six, so the line is about
        // 1.2 MB, many times the buffer.
        let large = FlowRecord {
            dst_name: Some("\u{1}".repeat(200_000)),
            ..record(7)
        };
        let sink = Sink {
            per_call: usize::MAX,
            ..Sink::default()
        };
        let mut writer = FlowWriter::from_writer(Box::new(sink.clone()));
        writer.write(&record(1)).expect("written");
        writer.write(&large).expect("written");
        writer.write(&record(2)).expect("written");
        writer.flush().expect("flushed");

        let mut expected = line(1);
        expected.extend(serde_json::to_vec(&large).expect("serialized"));
        expected.push(b'\n');
        expected.extend(line(2));
        assert_eq!(sink.text(), expected);
    }
}
