//! Flow records as JSON lines (one JSON object per line), to a file or stdout.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::flow::FlowRecord;

/// A buffered JSON-lines writer. Call [`FlowWriter::flush`] before dropping it to see
/// write errors; dropping flushes too, but ignores them.
pub struct FlowWriter {
    out: BufWriter<Box<dyn Write + Send>>,
    /// One record's line, built before it goes to `out`.
    line: Vec<u8>,
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
            out: BufWriter::with_capacity(64 * 1024, sink),
            line: Vec::with_capacity(4096),
        }
    }

    /// Writes one record as one line.
    pub fn write(&mut self, record: &FlowRecord) -> io::Result<()> {
        self.line.clear();
        super::record_json::write_record(&mut self.line, record).map_err(io::Error::from)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
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
}
