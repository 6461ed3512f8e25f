//! The analysis thread: takes finished flow records from the writer thread,
//! feeds them to the pattern-of-life model, sends its alerts to the alert
//! sinks and snapshots the learned state.
//!
//! Records arrive at flow rate. In live capture a full queue drops the record
//! (counted), so a slow model never stalls the packet path; in replay the
//! writer waits instead, so a replay always gives the same alerts.
//!
//! NOTE: there is one model shard per process, so fleet rarity sees every
//! device. Splitting devices over several model threads would need the fleet
//! counts shared between them.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::Context;
use crossbeam::channel::RecvTimeoutError;

use crate::{
    flow::FlowRecord,
    model::{Alert, Model, ModelConfig, ModelState, ModelStats},
    output::alerts::{AlertSinks, SinkCounters},
    pipeline::{
        alert_failures::AlertFailures,
        clock::PacketClock,
        item_queue::{ItemReceiver, ItemSender, item_queue},
        time_guard::{Admission, TimeGuard, wall_ns},
    },
    state::{SnapshotStore, Snapshotter},
};

/// Records that may wait for the model.
pub const MODEL_QUEUE_RECORDS: usize = 65_536;
/// Packet time between two calls of the model's `tick`.
const TICK_INTERVAL_NS: u64 = 1_000_000_000;
/// Wall time between two copies of the model's counters for the metrics endpoint.
const STATS_INTERVAL: Duration = Duration::from_millis(250);
/// Minimum time between two warnings about rejected record times.
const TIME_WARNING_INTERVAL: Duration = Duration::from_secs(60);
/// How long the thread waits for a record before it checks the clock.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// Settings of the analysis thread.
pub struct AnalysisConfig {
    pub model: ModelConfig,
    pub sinks: AlertSinks<Alert>,
    /// Path of the learned-state file; `None` persists nothing.
    pub state_path: Option<PathBuf>,
    pub snapshot_interval: Duration,
    /// Live capture: packet time also moves with the clock while no record
    /// arrives, so beaconing and volume windows close on quiet networks.
    pub live_clock: Option<PacketClock>,
    /// Live capture drops records when the queue is full; replay waits.
    pub drop_when_full: bool,
}

/// Counters the metrics endpoint reads.
#[derive(Default)]
pub struct AnalysisStats {
    pub records_processed: AtomicU64,
    pub records_dropped: AtomicU64,
    /// Records kept from the model for an implausible time (see `time_guard`).
    pub records_rejected_time: AtomicU64,
    /// The model's own counters, refreshed every tick.
    pub model: Mutex<ModelStats>,
    /// Seconds since the last snapshot, ×1000; `u64::MAX` when none exists.
    pub snapshot_age_millis: AtomicU64,
    /// The alert sinks' counters, by sink kind.
    pub sinks: Mutex<Vec<(&'static str, Arc<SinkCounters>)>>,
}

/// The writer thread's handle to the analysis thread.
#[derive(Clone)]
pub struct ModelFeed {
    sender: ItemSender<FlowRecord>,
    drop_when_full: bool,
    stats: Arc<AnalysisStats>,
}

impl ModelFeed {
    /// Returns an empty batch for at least `capacity` records, reusing one that the
    /// model has finished with when there is one.
    pub fn spare_batch(&self, capacity: usize) -> Vec<FlowRecord> {
        self.sender.spare_batch(capacity)
    }

    /// Hands a batch of records to the model.
    pub fn offer(&self, records: Vec<FlowRecord>) {
        let count = records.len() as u64;
        let sent = if self.drop_when_full {
            self.sender.try_send(records).is_ok()
        } else {
            self.sender.send(records).is_ok()
        };
        if !sent {
            self.stats
                .records_dropped
                .fetch_add(count, Ordering::Relaxed);
        }
    }
}

/// A running analysis thread.
pub struct Analysis {
    handle: JoinHandle<anyhow::Result<()>>,
    stats: Arc<AnalysisStats>,
}

impl Analysis {
    /// Restores the model from its snapshot (a rejected snapshot is logged and
    /// moved aside, and the model starts fresh), then starts the thread.
    pub fn start(config: AnalysisConfig) -> anyhow::Result<(Analysis, ModelFeed)> {
        let stats = Arc::new(AnalysisStats::default());
        *lock(&stats.sinks) = config
            .sinks
            .sinks()
            .iter()
            .map(|sink| (sink.kind(), sink.counters()))
            .collect();

        let snapshotter = config.state_path.as_ref().map(|path| {
            Snapshotter::new(
                SnapshotStore::<ModelState>::new(path.clone()),
                config.snapshot_interval,
            )
        });
        let model = restore(&config.model, snapshotter.as_ref());
        stats.snapshot_age_millis.store(u64::MAX, Ordering::Relaxed);

        let (sender, receiver) = item_queue(MODEL_QUEUE_RECORDS);
        let feed = ModelFeed {
            sender,
            drop_when_full: config.drop_when_full,
            stats: Arc::clone(&stats),
        };
        let thread_stats = Arc::clone(&stats);
        let handle = std::thread::Builder::new()
            .name("analysis".into())
            .spawn(move || {
                let AnalysisConfig {
                    sinks, live_clock, ..
                } = config;
                run(
                    model,
                    sinks,
                    snapshotter,
                    live_clock,
                    receiver,
                    &thread_stats,
                )
            })
            .context("failed to start the analysis thread")?;
        Ok((Analysis { handle, stats }, feed))
    }

    /// Returns the counters the metrics endpoint reads.
    pub fn stats(&self) -> Arc<AnalysisStats> {
        Arc::clone(&self.stats)
    }

    /// Waits until every feed is dropped and the thread has saved its state.
    /// Returns an error when an alert sink lost alerts or the final save of the
    /// model state failed.
    pub fn finish(self) -> anyhow::Result<()> {
        self.handle.join().map_err(|_| {
            anyhow::anyhow!(
                "the analysis thread panicked, a bug in the sensor; the alerts after the \
                     panic and the final model state are lost"
            )
        })?
    }
}

/// Combines the outcome of a run's flow output with the analysis thread's `alerts`
/// outcome. When both failed, the flow error is returned and the alert error is
/// logged, because records are the larger loss.
pub fn run_outcome<T>(records: anyhow::Result<T>, alerts: anyhow::Result<()>) -> anyhow::Result<T> {
    match records {
        Ok(value) => alerts.map(|()| value),
        Err(error) => {
            if let Err(alerts_error) = alerts {
                tracing::error!("{alerts_error:#}");
            }
            Err(error)
        }
    }
}

fn restore(config: &ModelConfig, snapshotter: Option<&Snapshotter<ModelState>>) -> Model {
    let Some(snapshotter) = snapshotter else {
        return Model::new(config.clone());
    };
    let path = snapshotter.store().path().display().to_string();
    match snapshotter.store().load() {
        Ok(Some(state)) => match Model::restore(config.clone(), state) {
            Ok(model) => {
                tracing::info!(path, "model state restored");
                model
            }
            Err(error) => {
                let rejected = snapshotter.store().reject(error.to_string());
                tracing::error!(error = %rejected, "model state rejected; learning from scratch");
                Model::new(config.clone())
            }
        },
        Ok(None) => {
            tracing::info!(path, "no model state yet; learning from scratch");
            Model::new(config.clone())
        }
        Err(error) => {
            tracing::error!(%error, "model state rejected; learning from scratch");
            Model::new(config.clone())
        }
    }
}

// Not inlined, so that profiles (the peer benchmark's callgrind runs) can tell this
// thread by its entry function.
#[inline(never)]
fn run(
    mut model: Model,
    mut sinks: AlertSinks<Alert>,
    mut snapshotter: Option<Snapshotter<ModelState>>,
    live_clock: Option<PacketClock>,
    records: ItemReceiver<FlowRecord>,
    stats: &AnalysisStats,
) -> anyhow::Result<()> {
    let mut now_ns = 0u64;
    let mut last_tick_ns = 0u64;
    let mut last_published = Instant::now();
    let mut guard = TimeGuard::default();
    let mut last_time_warning: Option<Instant> = None;
    let mut failures = AlertFailures::default();
    let mut send_alert = |alert: Alert| {
        tracing::info!(
            device = %alert.device,
            vni = alert.vni,
            detector = alert.detector.id(),
            score = alert.score,
            endpoint = alert.endpoint.as_deref().unwrap_or("-"),
            "alert: {}",
            alert.explanation
        );
        if let Err(error) = sinks.send(&alert) {
            failures.note(error, Instant::now());
        }
    };

    loop {
        match records.recv_timeout(IDLE_WAIT) {
            Ok(batch) => {
                // One wall-clock reading per batch: the guard's bound is a day, and a
                // batch takes milliseconds.
                let wall_now_ns = wall_ns();
                for record in &batch {
                    match guard.admit(record, now_ns, wall_now_ns) {
                        Admission::Accept => {
                            now_ns = now_ns.max(record.end_ns);
                            model.observe(record, &mut send_alert);
                            stats.records_processed.fetch_add(1, Ordering::Relaxed);
                        }
                        Admission::Confirmed(records) => {
                            for record in records {
                                now_ns = now_ns.max(record.end_ns);
                                model.observe(&record, &mut send_alert);
                                stats.records_processed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Admission::Held => {}
                        Admission::Rejected => {
                            stats
                                .records_rejected_time
                                .store(guard.rejected, Ordering::Relaxed);
                            if last_time_warning
                                .is_none_or(|at| at.elapsed() >= TIME_WARNING_INTERVAL)
                            {
                                last_time_warning = Some(Instant::now());
                                tracing::warn!(
                                    rejected = guard.rejected,
                                    "flow record ends more than a day after the wall clock; the model ignores it"
                                );
                            }
                        }
                    }
                }
                records.recycle(batch);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Some(clock) = &live_clock {
            now_ns = now_ns.max(clock.now());
        }
        if now_ns.saturating_sub(last_tick_ns) >= TICK_INTERVAL_NS {
            last_tick_ns = now_ns;
            model.tick(now_ns, &mut send_alert);
        }
        if last_published.elapsed() >= STATS_INTERVAL {
            last_published = Instant::now();
            *lock(&stats.model) = model.stats();
            stats
                .records_rejected_time
                .store(guard.rejected, Ordering::Relaxed);
        }
        if let Some(snapshotter) = snapshotter.as_mut() {
            save_due(snapshotter, &model, stats);
        }
    }

    for record in guard.finish() {
        now_ns = now_ns.max(record.end_ns);
        model.observe(&record, &mut send_alert);
        stats.records_processed.fetch_add(1, Ordering::Relaxed);
    }
    stats
        .records_rejected_time
        .store(guard.rejected, Ordering::Relaxed);
    model.tick(now_ns, &mut send_alert);
    *lock(&stats.model) = model.stats();
    let saved = match snapshotter.as_mut() {
        Some(snapshotter) => save_at_stop(snapshotter, &model),
        None => Ok(()),
    };
    let sink_counts = sinks.shutdown();
    for (kind, counts) in &sink_counts {
        tracing::info!(
            sink = kind,
            sent = counts.sent,
            failed = counts.failed,
            dropped = counts.dropped,
            "alert sink closed"
        );
    }
    let delivered = failures.into_result(&sink_counts);
    match (saved, delivered) {
        (Err(save_error), Err(alerts_error)) => {
            Err(anyhow::anyhow!("{alerts_error:#}; and {save_error:#}"))
        }
        (Err(error), Ok(())) | (Ok(()), Err(error)) => Err(error),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// Saves the model state at stop. Returns an error that names the file, the OS
/// error and the fix when the save fails, because the learning since the last
/// snapshot is then lost.
fn save_at_stop(snapshotter: &mut Snapshotter<ModelState>, model: &Model) -> anyhow::Result<()> {
    let path = snapshotter.store().path().display().to_string();
    match snapshotter.save_now(&model.state()) {
        Ok(bytes) => {
            tracing::info!(bytes, path, "model state saved");
            Ok(())
        }
        // The snapshot error's message already contains the OS error, so it
        // becomes part of this message instead of a cause printed after it.
        Err(error) => Err(anyhow::anyhow!(
            "failed to save the model state at stop, so the learning since the last \
             snapshot is lost: {error}"
        )),
    }
}

fn save_due(snapshotter: &mut Snapshotter<ModelState>, model: &Model, stats: &AnalysisStats) {
    if let Some(Err(error)) = snapshotter.tick(Instant::now(), || model.state()) {
        tracing::error!(%error, "failed to save the model state; retrying after one interval");
    }
    let age = snapshotter
        .age_seconds()
        .map_or(u64::MAX, |secs| (secs * 1000.0) as u64);
    stats.snapshot_age_millis.store(age, Ordering::Relaxed);
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(state_path: PathBuf) -> AnalysisConfig {
        AnalysisConfig {
            model: ModelConfig::default(),
            sinks: AlertSinks::new(),
            state_path: Some(state_path),
            snapshot_interval: Duration::from_secs(300),
            live_clock: None,
            drop_when_full: false,
        }
    }

    fn temp_dir(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sensor-analysis-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        dir
    }

    #[test]
    fn final_save_written() {
        let dir = temp_dir("saved");
        let path = dir.join("model.snap");
        let (analysis, feed) = Analysis::start(config(path.clone())).expect("starts");

        drop(feed);

        analysis.finish().expect("saved");
        assert!(path.is_file());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn failed_final_save_is_error() {
        let dir = temp_dir("unsaved");
        let path = dir.join("model.snap");
        let (analysis, feed) = Analysis::start(config(path)).expect("starts");
        std::fs::remove_dir_all(&dir).expect("remove the state directory");

        drop(feed);

        let message = format!("{:#}", analysis.finish().expect_err("nowhere to save"));
        assert!(
            message.starts_with("failed to save the model state at stop"),
            "{message}"
        );
        assert!(message.contains("model.snap.tmp"), "{message}");
        assert!(
            message.contains("No such file or directory (os error 2)"),
            "{message}"
        );
        assert_eq!(message.matches("os error").count(), 1, "{message}");
    }

    #[test]
    fn run_outcome_prefers_flow_error() {
        let flows = || anyhow::bail!("flows failed");
        let alerts = || anyhow::bail!("alerts failed");

        assert_eq!(run_outcome(Ok(7), Ok(())).unwrap(), 7);
        let error = run_outcome(Ok(7), alerts()).unwrap_err();
        assert_eq!(error.to_string(), "alerts failed");
        let error = run_outcome::<u32>(flows(), Ok(())).unwrap_err();
        assert_eq!(error.to_string(), "flows failed");
        let error = run_outcome::<u32>(flows(), alerts()).unwrap_err();
        assert_eq!(error.to_string(), "flows failed");
    }
}
