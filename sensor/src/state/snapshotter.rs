//! Periodic snapshots from the model thread, every N seconds of wall time.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::SnapshotError;
use super::store::SnapshotStore;

/// Periodic saves of the state through a [`SnapshotStore`], once per interval of wall
/// time. When saves succeed, a `kill -9` loses at most one interval of learning, plus the
/// time between two ticks and the time one save takes.
///
/// The interval is wall time, not packet time: a replay runs faster than the capture it
/// reads, and what a crash loses is wall-clock work.
///
/// NOTE: saving runs on the calling thread, so the model stops for the time it takes to
/// build, encode and fsync the state; [`last_save_duration`](Self::last_save_duration)
/// reports it.
#[derive(Debug)]
pub struct Snapshotter<T> {
    store: SnapshotStore<T>,
    interval: Duration,
    last_attempt: Option<Instant>,
    last_saved: Option<SystemTime>,
    last_save_duration: Option<Duration>,
    saves: u64,
    failures: u64,
}

impl<T: Serialize + DeserializeOwned> Snapshotter<T> {
    /// Creates a snapshotter that saves through `store` every `interval`. The first save
    /// is due one interval after the first [`tick`](Self::tick). The snapshot age starts
    /// from the modification time of an existing file, when there is one.
    pub fn new(store: SnapshotStore<T>, interval: Duration) -> Self {
        let last_saved = store.path().metadata().and_then(|m| m.modified()).ok();
        Snapshotter {
            store,
            interval,
            last_attempt: None,
            last_saved,
            last_save_duration: None,
            saves: 0,
            failures: 0,
        }
    }

    /// Saves the state that `state` builds once an interval has passed since the last
    /// attempt, successful or not. Before that it does nothing and does not call `state`.
    /// Returns `None` when no save was due, else the result of the save. A failed save is
    /// retried one interval later, not at the next tick.
    pub fn tick(
        &mut self,
        now: Instant,
        state: impl FnOnce() -> T,
    ) -> Option<Result<u64, SnapshotError>> {
        let Some(last) = self.last_attempt else {
            self.last_attempt = Some(now);
            return None;
        };
        if now.saturating_duration_since(last) < self.interval {
            return None;
        }
        self.last_attempt = Some(now);
        Some(self.save_now(&state()))
    }

    /// Saves `state` at once (at shutdown or end of input).
    pub fn save_now(&mut self, state: &T) -> Result<u64, SnapshotError> {
        let started = Instant::now();
        let result = self.store.save(state);
        self.last_save_duration = Some(started.elapsed());
        match result {
            Ok(_) => {
                self.saves += 1;
                self.last_saved = Some(SystemTime::now());
            }
            Err(_) => self.failures += 1,
        }
        result
    }

    /// Seconds of wall time since the snapshot on disk was written, or `None` when there
    /// is none yet. The value of `sensor_model_snapshot_age_seconds`.
    pub fn age_seconds(&self) -> Option<f64> {
        let saved = self.last_saved?;
        let age = SystemTime::now()
            .duration_since(saved)
            .unwrap_or(Duration::ZERO);
        Some(age.as_secs_f64())
    }

    /// Successful saves by this snapshotter.
    pub fn saves(&self) -> u64 {
        self.saves
    }

    /// Failed saves by this snapshotter.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Wall time the last save took, encoding and fsync included.
    pub fn last_save_duration(&self) -> Option<Duration> {
        self.last_save_duration
    }

    /// Returns the store, to load from it at start.
    pub fn store(&self) -> &SnapshotStore<T> {
        &self.store
    }
}
