//! The writer thread: takes finished flow records from every shard and writes
//! them as JSON lines. Records arrive at flow rate, not packet rate, so a
//! channel between threads costs nothing on the packet path.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use anyhow::Context;
use crossbeam::channel::{Receiver, Sender, bounded};

use crate::{flow::FlowRecord, output::FlowWriter, pipeline::analysis::ModelFeed};

/// Records that may wait for the writer before shards block.
pub const RECORD_QUEUE_SLOTS: usize = 65_536;

/// A running writer thread.
pub struct RecordWriter {
    sender: Sender<FlowRecord>,
    handle: JoinHandle<anyhow::Result<()>>,
    counts: Arc<WriterCounts>,
    path: PathBuf,
}

/// What the writer thread counts.
#[derive(Debug, Default)]
pub struct WriterCounts {
    pub written: AtomicU64,
    /// Records lost because the output failed.
    pub failed: AtomicU64,
}

impl RecordWriter {
    /// Opens `path` (`-` for stdout) and starts the thread. Each record, once
    /// written, goes on to `model` when one is given.
    pub fn start(path: &Path, model: Option<ModelFeed>) -> anyhow::Result<Self> {
        let writer = FlowWriter::open(path).with_context(|| {
            format!("failed to open flow output {}: check the path and its permissions", path.display())
        })?;
        let (sender, receiver) = bounded(RECORD_QUEUE_SLOTS);
        let counts = Arc::new(WriterCounts::default());
        let thread_counts = Arc::clone(&counts);
        let display = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("flow-writer".into())
            .spawn(move || write_all(writer, receiver, model, &thread_counts, &display))
            .context("failed to start the flow writer thread")?;
        Ok(RecordWriter {
            sender,
            handle,
            counts,
            path: path.to_path_buf(),
        })
    }

    /// A sender for one more shard.
    pub fn sender(&self) -> Sender<FlowRecord> {
        self.sender.clone()
    }

    /// The writer's counters, shared with the metrics endpoint.
    pub fn counts(&self) -> Arc<WriterCounts> {
        Arc::clone(&self.counts)
    }

    /// Waits until every shard's sender is gone and all records are written.
    pub fn finish(self) -> anyhow::Result<u64> {
        drop(self.sender);
        let result = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("the flow writer thread panicked"))?;
        result.with_context(|| format!("failed to write flow records to {}", self.path.display()))?;
        Ok(self.counts.written.load(Ordering::Relaxed))
    }
}

/// Least time between two log lines about failed writes.
const WRITE_ERROR_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Writes every record. A failed write (disk full, closed pipe) does not stop
/// capture: the writer keeps taking records so the shards never block, counts
/// the ones it could not write, logs the cause at most once a minute, and
/// returns the first error when the channel closes.
fn write_all(
    mut writer: FlowWriter,
    records: Receiver<FlowRecord>,
    model: Option<ModelFeed>,
    counts: &WriterCounts,
    path: &Path,
) -> anyhow::Result<()> {
    let mut first_error: Option<std::io::Error> = None;
    let mut last_logged: Option<std::time::Instant> = None;

    for record in records.iter() {
        let written = writer.write(&record).and_then(|()| {
            if records.is_empty() {
                writer.flush()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                counts.written.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                if last_logged.is_none_or(|at| at.elapsed() >= WRITE_ERROR_LOG_INTERVAL) {
                    last_logged = Some(std::time::Instant::now());
                    tracing::error!(
                        path = %path.display(),
                        %error,
                        failed_records = counts.failed.load(Ordering::Relaxed),
                        "failed to write flow records; capture goes on and failed records are counted"
                    );
                }
                first_error.get_or_insert(error);
            }
        }
        if let Some(feed) = &model {
            feed.offer(record);
        }
    }

    if let Err(error) = writer.flush() {
        first_error.get_or_insert(error);
    }
    match first_error {
        Some(error) => Err(anyhow::Error::new(error).context(format!(
            "{} flow records could not be written",
            counts.failed.load(Ordering::Relaxed)
        ))),
        None => {
            tracing::debug!(path = %path.display(), "flow writer finished");
            Ok(())
        }
    }
}
