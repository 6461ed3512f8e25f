//! Model counters for metrics: devices, evictions, events, and alerts by detector and
//! severity, plus the findings that the learning period, the minimum score and the
//! cooldown held back.

use serde::Serialize;

use super::alert::Severity;
use super::detector::Detector;

/// Counters of one model since it was created or restored. Gauges (`devices_tracked`,
/// `fleet_entries`, `cooldown_entries`) are current values; the rest only grow.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelStats {
    pub devices_tracked: u64,
    pub devices_evicted: u64,
    pub peers_evicted: u64,
    pub services_evicted: u64,
    pub fleet_entries: u64,
    pub fleet_evicted: u64,
    pub cooldown_entries: u64,
    /// Flow records observed.
    pub events_processed: u64,
    /// Flow records with neither end inside the home networks.
    pub events_without_device: u64,
    /// Unknown home sources forgotten because too many sent only unanswered flows
    /// (a spoofed-source flood).
    pub held_sources_dropped: u64,
    /// Alerts emitted, indexed by [`Detector::index`] then [`Severity::index`].
    pub alerts: [[u64; Severity::ALL.len()]; Detector::ALL.len()],
    /// Findings at or above the minimum score that the learning period held back.
    pub alerts_suppressed_learning: u64,
    /// Findings that an earlier alert's cooldown held back.
    pub alerts_suppressed_cooldown: u64,
    /// Findings below the minimum score.
    pub findings_below_min_score: u64,
}

impl ModelStats {
    /// Alerts emitted by `detector` with `severity`.
    pub fn alerts_total(&self, detector: Detector, severity: Severity) -> u64 {
        self.alerts
            .get(detector.index())
            .and_then(|row| row.get(severity.index()))
            .copied()
            .unwrap_or(0)
    }

    /// Alerts emitted by `detector`, all severities.
    pub fn alerts_of(&self, detector: Detector) -> u64 {
        Severity::ALL
            .iter()
            .map(|&severity| self.alerts_total(detector, severity))
            .sum()
    }

    pub(crate) fn count_alert(&mut self, detector: Detector, severity: Severity) {
        if let Some(count) = self
            .alerts
            .get_mut(detector.index())
            .and_then(|row| row.get_mut(severity.index()))
        {
            *count += 1;
        }
    }
}
