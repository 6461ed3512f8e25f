//! The writer thread: takes finished flow records from every shard and writes
//! them as JSON lines. Records arrive at flow rate, not packet rate, and in
//! batches (see `outbox`), so the channels between threads cost little on the
//! packet path.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use anyhow::Context;

use crate::{
    output::FlowWriter,
    pipeline::{
        analysis::ModelFeed,
        enrich::Enricher,
        item_queue::{ItemReceiver, ItemSender, item_queue},
        outbox::Output,
    },
};

/// Findings and records that may wait for the writer before packet threads
/// wait (or, live, drop findings).
pub const QUEUE_ITEMS: usize = 65_536;

/// A running writer thread.
pub struct RecordWriter {
    sender: ItemSender<Output>,
    handle: JoinHandle<anyhow::Result<()>>,
    counts: Arc<WriterCounts>,
    path: PathBuf,
}

/// Counters of the writer thread.
#[derive(Debug, Default)]
pub struct WriterCounts {
    pub written: AtomicU64,
    /// Records lost because the output failed.
    pub failed: AtomicU64,
    /// Application findings dropped because too many flows waited for records.
    pub app_dropped: AtomicU64,
}

impl RecordWriter {
    /// Opens `path` (`-` for stdout) and starts the thread. Each record, once
    /// written, goes on to `model` when one is given.
    pub fn start(path: &Path, model: Option<ModelFeed>) -> anyhow::Result<Self> {
        let writer = FlowWriter::open(path).with_context(|| {
            format!(
                "failed to open flow output {}: check the path and its permissions",
                path.display()
            )
        })?;
        let (sender, receiver) = item_queue(QUEUE_ITEMS);
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

    /// Returns the channel for one more packet thread's outbox.
    pub fn sender(&self) -> ItemSender<Output> {
        self.sender.clone()
    }

    /// Returns the writer's counters, shared with the metrics endpoint.
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
        result
            .with_context(|| format!("failed to write flow records to {}", self.path.display()))?;
        Ok(self.counts.written.load(Ordering::Relaxed))
    }
}

/// Minimum time between two log lines about failed writes.
const WRITE_ERROR_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Failed writes: the first error, returned at the end, and when the last one
/// was logged.
#[derive(Default)]
struct Failures {
    first: Option<std::io::Error>,
    last_logged: Option<std::time::Instant>,
}

impl Failures {
    /// Counts one failed record and logs the cause at most once a minute.
    fn note(&mut self, error: std::io::Error, counts: &WriterCounts, path: &Path) {
        counts.failed.fetch_add(1, Ordering::Relaxed);
        if self
            .last_logged
            .is_none_or(|at| at.elapsed() >= WRITE_ERROR_LOG_INTERVAL)
        {
            self.last_logged = Some(std::time::Instant::now());
            tracing::error!(
                path = %path.display(),
                %error,
                failed_records = counts.failed.load(Ordering::Relaxed),
                "failed to write flow records; capture goes on and failed records are counted"
            );
        }
        self.first.get_or_insert(error);
    }
}

/// Writes every record. A failed write (disk full, closed pipe) does not stop
/// capture: the writer keeps taking records so the shards never block, counts
/// the ones it could not write, logs the cause at most once a minute, and
/// returns the first error when the channel closes.
// Not inlined, so that profiles (the peer benchmark's callgrind runs) can tell this
// thread by its entry function.
#[inline(never)]
fn write_all(
    mut writer: FlowWriter,
    batches: ItemReceiver<Output>,
    model: Option<ModelFeed>,
    counts: &WriterCounts,
    path: &Path,
) -> anyhow::Result<()> {
    let mut enricher = Enricher::default();
    let mut failures = Failures::default();
    // Enricher drops already added to `counts.app_dropped`.
    let mut reported_drops = 0;

    // The batch's records. Each moves here once, is completed and written in
    // place, and goes on to the model when there is one, because a record is
    // large and every move copies it. Sized before the batch, because growing
    // the list copied every record again.
    let mut records = Vec::new();
    while let Some(mut batch) = batches.recv() {
        records.reserve(batch.len());
        for item in batch.drain(..) {
            let record = match item {
                Output::App(event) => {
                    enricher.add(event);
                    continue;
                }
                Output::Record(record) => {
                    records.push(record);
                    records.last_mut()
                }
            };
            let Some(record) = record else {
                continue;
            };
            enricher.attach(record);
            match writer.write(record) {
                Ok(()) => {
                    counts.written.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => failures.note(error, counts, path),
            }
        }
        if batches.is_empty()
            && let Err(error) = writer.flush()
        {
            failures.note(error, counts, path);
        }
        batches.recycle(batch);
        match &model {
            Some(feed) if !records.is_empty() => {
                let spare = feed.spare_batch(records.len());
                feed.offer(std::mem::replace(&mut records, spare));
            }
            _ => records.clear(),
        }
        // Publish the enricher's drops as they happen, not only at shutdown.
        counts
            .app_dropped
            .fetch_add(enricher.dropped - reported_drops, Ordering::Relaxed);
        reported_drops = enricher.dropped;
    }

    if let Err(error) = writer.flush() {
        failures.first.get_or_insert(error);
    }
    match failures.first {
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
