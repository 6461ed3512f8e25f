//! The writer thread: takes finished flow records from every shard and writes
//! them as JSON lines. Records arrive at flow rate, not packet rate, and in
//! batches (see `outbox`), so the channels between threads cost little on the
//! packet path.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use anyhow::Context;

use crate::{
    output::{FlowWriter, write_advice},
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
}

/// Counters of the writer thread.
#[derive(Debug, Default)]
pub struct WriterCounts {
    /// Records whose whole line reached the output.
    pub written: AtomicU64,
    /// Records lost because the output failed: rejected while it failed, or
    /// still buffered when the writer stopped.
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
        result?;
        Ok(self.counts.written.load(Ordering::Relaxed))
    }
}

/// Minimum time between two log lines about failed writes.
const WRITE_ERROR_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Failed writes: the last error, and when one was last logged.
#[derive(Default)]
struct Failures {
    last: Option<std::io::Error>,
    last_logged: Option<std::time::Instant>,
}

impl Failures {
    /// Keeps a write error and logs it at most once a minute.
    fn note(&mut self, error: std::io::Error, counts: &WriterCounts, path: &Path) {
        if self
            .last_logged
            .is_none_or(|at| at.elapsed() >= WRITE_ERROR_LOG_INTERVAL)
        {
            self.last_logged = Some(std::time::Instant::now());
            tracing::error!(
                path = %path.display(),
                %error,
                failed_records = counts.failed.load(Ordering::Relaxed),
                "failed to write flow records; capture goes on and failed records are counted; {}",
                write_advice(&error, "--flows-out")
            );
        }
        self.last = Some(error);
    }
}

/// Returns `path` for messages, or `stdout` for `-`.
fn output_name(path: &Path) -> std::borrow::Cow<'_, str> {
    if path == Path::new("-") {
        "stdout".into()
    } else {
        path.to_string_lossy()
    }
}

/// Writes every record. A failed write (disk full, closed pipe) does not stop
/// capture: the writer keeps taking records so the shards never block, counts
/// the ones it could not write, and logs the cause at most once a minute. When
/// the channel closes, it flushes, counts what is still buffered as lost, and
/// returns an error when any record was lost. Errors that cost no record (the
/// output recovered and accepted every buffered line) are only logged.
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
            if let Err(error) = writer.write(record) {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                failures.note(error, counts, path);
            }
        }
        if batches.is_empty()
            && let Err(error) = writer.flush()
        {
            failures.note(error, counts, path);
        }
        counts
            .written
            .store(writer.written_records(), Ordering::Relaxed);
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

    let flushed = writer.flush();
    counts
        .written
        .store(writer.written_records(), Ordering::Relaxed);
    if let Err(error) = flushed {
        counts
            .failed
            .fetch_add(writer.pending_records(), Ordering::Relaxed);
        if let Err(cut_error) = writer.abandon() {
            tracing::warn!(
                path = %path.display(),
                error = %cut_error,
                "failed to cut the partly written last line off the flow output; the file ends with a partial record"
            );
        }
        failures.last = Some(error);
    }

    let written = counts.written.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    match failures.last {
        Some(error) if failed > 0 => Err(anyhow::anyhow!(
            "failed to write flow records to {}: {error}; {failed} of {} records were lost; {}",
            output_name(path),
            written + failed,
            write_advice(&error, "--flows-out")
        )),
        _ => {
            tracing::debug!(path = %path.display(), "flow writer finished");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(count: u32) -> Vec<Output> {
        (0..count)
            .map(|sequence| {
                Output::Record(crate::flow::FlowRecord {
                    sequence,
                    ..crate::flow::testing::record()
                })
            })
            .collect()
    }

    #[test]
    fn full_output_counts_every_record_lost() {
        let writer = RecordWriter::start(Path::new("/dev/full"), None).expect("opens");
        let counts = writer.counts();
        writer.sender().send(records(100)).expect("queued");

        let error = writer.finish().expect_err("/dev/full takes nothing");

        assert_eq!(counts.written.load(Ordering::Relaxed), 0);
        assert_eq!(counts.failed.load(Ordering::Relaxed), 100);
        let message = error.to_string();
        assert!(message.contains("/dev/full"), "{message}");
        assert!(message.contains("os error 28"), "{message}");
        assert!(
            message.contains("100 of 100 records were lost"),
            "{message}"
        );
        assert!(message.contains("free space"), "{message}");
    }

    #[test]
    fn working_output_counts_every_record_written() {
        let writer = RecordWriter::start(Path::new("/dev/null"), None).expect("opens");
        let counts = writer.counts();
        writer.sender().send(records(100)).expect("queued");

        assert_eq!(writer.finish().expect("written"), 100);
        assert_eq!(counts.failed.load(Ordering::Relaxed), 0);
    }
}
