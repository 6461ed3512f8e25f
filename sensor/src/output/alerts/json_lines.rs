//! Alerts as JSON lines to a file or stdout, flushed after every alert.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::counters::SinkCounters;
use super::error::AlertSinkError;

/// Writes each alert as one JSON object on one line and flushes it at once, so a log
/// shipper reads every alert as soon as it is raised. Alerts are rare, so the flush per
/// alert costs little.
pub struct JsonLinesSink {
    path: PathBuf,
    out: BufWriter<Box<dyn Write + Send>>,
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
            out: BufWriter::new(sink),
            counters: Arc::default(),
        }
    }

    fn open(path: &Path, append: bool) -> Result<Self, AlertSinkError> {
        if path == Path::new("-") {
            return Ok(Self::from_writer("stdout", Box::new(io::stdout())));
        }
        let file: File = OpenOptions::new()
            .write(true)
            .create(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|source| AlertSinkError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(JsonLinesSink {
            path: path.to_path_buf(),
            out: BufWriter::new(Box::new(file)),
            counters: Arc::default(),
        })
    }

    /// Serializes `alert` and writes it as one line.
    pub fn send<T: Serialize>(&mut self, alert: &T) -> Result<(), AlertSinkError> {
        let json = serde_json::to_vec(alert).map_err(AlertSinkError::Encode)?;
        self.send_json(&json)
    }

    /// Writes one alert that is already JSON (one object, no newline) as one line.
    pub fn send_json(&mut self, json: &[u8]) -> Result<(), AlertSinkError> {
        let written = self
            .out
            .write_all(json)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        match written {
            Ok(()) => {
                self.counters.add_sent();
                Ok(())
            }
            Err(source) => {
                self.counters.add_failed();
                Err(AlertSinkError::Write {
                    path: self.path.clone(),
                    source,
                })
            }
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
