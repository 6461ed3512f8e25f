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

use crate::{
    app::meta::AppEvent,
    flow::FlowRecord,
    output::FlowWriter,
    pipeline::{analysis::ModelFeed, enrich::Enricher},
};

/// Records that may wait for the writer before shards block.
pub const RECORD_QUEUE_SLOTS: usize = 65_536;

/// A running writer thread.
pub struct RecordWriter {
    sender: Sender<FlowRecord>,
    app_sender: Sender<AppEvent>,
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

/// The writer thread's two input channels.
struct Inputs {
    records: Receiver<FlowRecord>,
    app_events: Receiver<AppEvent>,
}

/// Application findings that may wait for the writer before packet threads
/// drop them (live) or wait (replay).
pub const APP_QUEUE_SLOTS: usize = 65_536;

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
        let (sender, receiver) = bounded(RECORD_QUEUE_SLOTS);
        let (app_sender, app_receiver) = bounded(APP_QUEUE_SLOTS);
        let counts = Arc::new(WriterCounts::default());
        let thread_counts = Arc::clone(&counts);
        let display = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("flow-writer".into())
            .spawn(move || {
                let inputs = Inputs {
                    records: receiver,
                    app_events: app_receiver,
                };
                write_all(writer, inputs, model, &thread_counts, &display)
            })
            .context("failed to start the flow writer thread")?;
        Ok(RecordWriter {
            sender,
            app_sender,
            handle,
            counts,
            path: path.to_path_buf(),
        })
    }

    /// Returns a sender for one more shard.
    pub fn sender(&self) -> Sender<FlowRecord> {
        self.sender.clone()
    }

    /// Returns a sender of application metadata for one more packet thread.
    pub fn app_sender(&self) -> Sender<AppEvent> {
        self.app_sender.clone()
    }

    /// Returns the writer's counters, shared with the metrics endpoint.
    pub fn counts(&self) -> Arc<WriterCounts> {
        Arc::clone(&self.counts)
    }

    /// Waits until every shard's sender is gone and all records are written.
    pub fn finish(self) -> anyhow::Result<u64> {
        drop(self.sender);
        drop(self.app_sender);
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

/// Writes every record. A failed write (disk full, closed pipe) does not stop
/// capture: the writer keeps taking records so the shards never block, counts
/// the ones it could not write, logs the cause at most once a minute, and
/// returns the first error when the channel closes.
fn write_all(
    mut writer: FlowWriter,
    inputs: Inputs,
    model: Option<ModelFeed>,
    counts: &WriterCounts,
    path: &Path,
) -> anyhow::Result<()> {
    let Inputs {
        records,
        mut app_events,
    } = inputs;
    let mut enricher = Enricher::default();
    let mut first_error: Option<std::io::Error> = None;
    let mut last_logged: Option<std::time::Instant> = None;

    loop {
        let mut record = crossbeam::select! {
            recv(records) -> message => match message {
                Ok(record) => record,
                Err(_) => break,
            },
            recv(app_events) -> message => {
                match message {
                    Ok(event) => enricher.add(event),
                    // Every packet thread has stopped; only records remain.
                    Err(_) => app_events = crossbeam::channel::never(),
                }
                continue;
            },
        };
        // Metadata of this flow may still wait in the other channel.
        for event in app_events.try_iter() {
            enricher.add(event);
        }
        enricher.attach(&mut record);

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
    counts
        .app_dropped
        .fetch_add(enricher.dropped, Ordering::Relaxed);

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
