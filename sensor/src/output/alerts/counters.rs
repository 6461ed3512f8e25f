//! Delivery counters of one alert sink, shared with the metrics exporter.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one sink. Sinks hand out an `Arc<SinkCounters>`; the exporter reads it
/// at scrape time with [`SinkCounters::snapshot`].
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Alerts delivered: written and flushed, or acknowledged with a 2xx status.
    pub sent: AtomicU64,
    /// Alerts given up: a write error, a response that is not retried (3xx, 4xx other
    /// than 429), or the last attempt failing.
    pub failed: AtomicU64,
    /// Repeated attempts: each try after the first adds one.
    pub retried: AtomicU64,
    /// Alerts never attempted: the queue was full, the sink had stopped, or the alert
    /// was still queued when the shutdown timeout ran out.
    pub dropped: AtomicU64,
}

/// The values of [`SinkCounters`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkCounts {
    pub sent: u64,
    pub failed: u64,
    pub retried: u64,
    pub dropped: u64,
}

impl SinkCounters {
    /// Reads every counter. The values are read one after another, not atomically as a
    /// group.
    pub fn snapshot(&self) -> SinkCounts {
        SinkCounts {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_retried(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }
}
