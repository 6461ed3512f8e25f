//! Alerts as JSON lines to a file or stdout, written and flushed one alert at a time.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::counters::SinkCounters;
use super::error::AlertSinkError;

/// Writes each alert as one JSON object on one line and flushes it at once, so a log
/// shipper reads every alert as soon as it is raised. Alerts are rare, so the flush per
/// alert costs little.
///
/// An alert counts as sent only when its whole line was written. When a write fails
/// part way (a full disk), the start of the line is cut off a regular file again, so the
/// file contains whole lines only and the next alert starts a line of its own.
pub struct JsonLinesSink {
    path: PathBuf,
    out: Box<dyn Write + Send>,
    /// The output again when it is a regular file, to cut a partly written line.
    file: Option<File>,
    /// Length of the regular file up to the end of its last whole line.
    line_end: u64,
    /// The line being written, kept to reuse its allocation.
    line: Vec<u8>,
    counters: Arc<SinkCounters>,
}

impl JsonLinesSink {
    /// Opens `path` for writing, truncating it; `-` means stdout.
    pub fn create(path: &Path) -> Result<Self, AlertSinkError> {
        Self::open(path, false)
    }

    /// Opens `path` for appending, creating it when missing; `-` means stdout.
    pub fn append(path: &Path) -> Result<Self, AlertSinkError> {
        Self::open(path, true)
    }

    /// Creates a sink over any writer (tests, pipes); `name` appears in errors.
    pub fn from_writer(name: &str, sink: Box<dyn Write + Send>) -> Self {
        JsonLinesSink {
            path: PathBuf::from(name),
            out: sink,
            file: None,
            line_end: 0,
            line: Vec::new(),
            counters: Arc::default(),
        }
    }

    fn open(path: &Path, append: bool) -> Result<Self, AlertSinkError> {
        if path == Path::new("-") {
            let stdout = crate::output::stdout_file().map_err(|source| AlertSinkError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            return Ok(Self::from_writer("stdout", Box::new(stdout)));
        }
        let open_error = |source| AlertSinkError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file: File = OpenOptions::new()
            .write(true)
            .create(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(open_error)?;
        let metadata = file.metadata().map_err(open_error)?;
        let cut_handle = if metadata.is_file() {
            Some(file.try_clone().map_err(open_error)?)
        } else {
            None
        };
        let mut sink = Self::from_writer("", Box::new(file));
        sink.path = path.to_path_buf();
        sink.file = cut_handle;
        sink.line_end = metadata.len();
        Ok(sink)
    }

    /// Serializes `alert` and writes it as one line.
    pub fn send<T: Serialize>(&mut self, alert: &T) -> Result<(), AlertSinkError> {
        let json = serde_json::to_vec(alert).map_err(AlertSinkError::Encode)?;
        self.send_json(&json)
    }

    /// Writes one alert that is already JSON (one object, no newline) as one line.
    pub fn send_json(&mut self, json: &[u8]) -> Result<(), AlertSinkError> {
        self.line.clear();
        self.line.extend_from_slice(json);
        self.line.push(b'\n');
        let (written, result) = write_counted(&mut self.out, &self.line);
        let result = result.and_then(|()| self.out.flush());
        match result {
            Ok(()) => {
                self.line_end += written as u64;
                self.counters.add_sent();
                Ok(())
            }
            Err(source) => {
                if written > 0 {
                    self.cut_partial_line();
                }
                self.counters.add_failed();
                Err(AlertSinkError::Write {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// Cuts the start of a line that a failed write left at the end of a regular file,
    /// and moves the write position back to the end of the last whole line. A file that
    /// another program made shorter meanwhile is left as it is.
    fn cut_partial_line(&mut self) {
        let Some(file) = &self.file else {
            return;
        };
        let cut = crate::output::cut_if_longer(file, self.line_end).and_then(|cut| {
            if cut {
                (&*file).seek(SeekFrom::Start(self.line_end))?;
            }
            Ok(())
        });
        if let Err(error) = cut {
            tracing::warn!(
                path = %self.path.display(),
                %error,
                "failed to cut a partly written alert off the alert file; it ends with a partial line"
            );
        }
    }

    /// Returns the file path, or `stdout`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters of this sink (`retried` and `dropped` stay 0).
    pub fn counters(&self) -> Arc<SinkCounters> {
        Arc::clone(&self.counters)
    }
}

/// Writes all of `bytes` to `out`, retrying interrupted writes. Returns the number of
/// bytes written, which is less than `bytes.len()` when the result is an error.
fn write_counted(out: &mut dyn Write, bytes: &[u8]) -> (usize, io::Result<()>) {
    let mut written = 0;
    while let Some(rest) = bytes.get(written..).filter(|rest| !rest.is_empty()) {
        match out.write(rest) {
            Ok(0) => {
                let error = io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the alert output accepted no more bytes",
                );
                return (written, Err(error));
            }
            Ok(count) => written += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return (written, Err(error)),
        }
    }
    (written, Ok(()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A file with `room` bytes left, as a nearly full disk: the write that reaches
    /// the limit is cut short, and later writes fail with ENOSPC.
    struct NearlyFull {
        file: File,
        room: Arc<AtomicUsize>,
    }

    impl Write for NearlyFull {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let room = self.room.load(Ordering::Relaxed);
            if room == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let count = self.file.write(&buf[..buf.len().min(room)])?;
            self.room.fetch_sub(count, Ordering::Relaxed);
            Ok(count)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.file.flush()
        }
    }

    #[test]
    fn failed_write_cut_and_next_line_whole() {
        let dir = std::env::temp_dir().join(format!("sensor-alert-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("alerts.jsonl");
        let file = File::create(&path).expect("create");
        let room = Arc::new(AtomicUsize::new(15));
        let mut sink = JsonLinesSink::from_writer(
            "alerts.jsonl",
            Box::new(NearlyFull {
                file: file.try_clone().expect("clone"),
                room: Arc::clone(&room),
            }),
        );
        sink.file = Some(file);

        sink.send_json(b"{\"alert\":1}").expect("fits");
        assert!(sink.send_json(b"{\"alert\":2}").is_err());
        room.store(1000, Ordering::Relaxed);
        sink.send_json(b"{\"alert\":3}").expect("room again");

        let text = std::fs::read_to_string(&path).expect("read back");
        assert_eq!(text, "{\"alert\":1}\n{\"alert\":3}\n");
        let counts = sink.counters().snapshot();
        assert_eq!(counts.sent, 2);
        assert_eq!(counts.failed, 1);
        std::fs::remove_dir_all(&dir).ok();
    }
}
