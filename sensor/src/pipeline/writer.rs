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

use crate::{flow::FlowRecord, output::FlowWriter};

/// Records that may wait for the writer before shards block.
pub const RECORD_QUEUE_SLOTS: usize = 65_536;

/// A running writer thread.
pub struct RecordWriter {
    sender: Sender<FlowRecord>,
    handle: JoinHandle<anyhow::Result<()>>,
    written: Arc<AtomicU64>,
    path: PathBuf,
}

impl RecordWriter {
    /// Opens `path` (`-` for stdout) and starts the thread.
    pub fn start(path: &Path) -> anyhow::Result<Self> {
        let writer = FlowWriter::open(path)
            .with_context(|| format!("failed to open flow output {}", path.display()))?;
        let (sender, receiver) = bounded(RECORD_QUEUE_SLOTS);
        let written = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&written);
        let display = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("flow-writer".into())
            .spawn(move || write_all(writer, receiver, &counter, &display))
            .context("failed to start the flow writer thread")?;
        Ok(RecordWriter {
            sender,
            handle,
            written,
            path: path.to_path_buf(),
        })
    }

    /// A sender for one more shard.
    pub fn sender(&self) -> Sender<FlowRecord> {
        self.sender.clone()
    }

    /// The count of records written so far, shared with the metrics endpoint.
    pub fn written(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.written)
    }

    /// Waits until every shard's sender is gone and all records are written.
    pub fn finish(self) -> anyhow::Result<u64> {
        drop(self.sender);
        let result = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("the flow writer thread panicked"))?;
        result.with_context(|| format!("failed to write flow records to {}", self.path.display()))?;
        Ok(self.written.load(Ordering::Relaxed))
    }
}

fn write_all(
    mut writer: FlowWriter,
    records: Receiver<FlowRecord>,
    written: &AtomicU64,
    path: &Path,
) -> anyhow::Result<()> {
    for record in records.iter() {
        writer.write(&record)?;
        written.fetch_add(1, Ordering::Relaxed);
        if records.is_empty() {
            writer.flush()?;
        }
    }
    writer.flush()?;
    tracing::debug!(path = %path.display(), "flow writer finished");
    Ok(())
}
