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
pub struct FlowWriter {
    sink: Box<dyn Write + Send>,
    /// Lines not yet written to `sink` in `buffer[..used]`. The rest is
    /// zero-filled room for the next records.
    buffer: Vec<u8>,
    used: usize,
    json: RecordJson,
}

impl FlowWriter {
    /// Opens `path` for writing, truncating it; `-` means stdout.
    pub fn open(path: &Path) -> io::Result<Self> {
        let sink: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            Box::new(File::create(path)?)
        };
        Ok(FlowWriter::from_writer(sink))
    }

    /// Creates a writer over any sink (tests, pipes).
    pub fn from_writer(sink: Box<dyn Write + Send>) -> Self {
        FlowWriter {
            sink,
            buffer: vec![0; BUFFER_BYTES],
            used: 0,
            json: RecordJson::default(),
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
        self.buffer.copy_within(written..self.used, 0);
        self.used -= written;
        result
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
