//! The DNS baseline of one device, which calibrates the DNS tunnelling and DGA
//! detectors. It keeps the registered domains the device queried (bounded, least
//! recently queried evicted) and its DNS queries per volume window (running mean and
//! variance). It also keeps the largest bursts the device produced before: distinct
//! names under one domain, and random-looking NXDOMAIN names. Those peaks halve every
//! week.

use crate::hash::HashMap;
use serde::{Deserialize, Serialize};

use super::bounded::oldest_keys;
use super::welford::Welford;

/// Registered domains kept per device.
///
/// NOTE: an entry takes roughly 100 bytes with its name, so a full table costs about
/// 25 KiB per device (an estimate, not measured).
pub const MAX_DOMAINS: usize = 256;

/// Closed windows after which a window's weight in the query-rate mean halves, roughly:
/// one week of 10-minute windows.
const RATE_HORIZON: u32 = 1008;

/// Half-life of the burst peaks, in ns: one week.
const PEAK_HALF_LIFE_NS: f64 = 7.0 * 24.0 * 3_600_000_000_000.0;

/// Query counts of one device under one registered domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainStats {
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
    pub queries: u32,
    /// A NOERROR response came for a name under the domain.
    pub resolved: bool,
    /// Largest number of distinct names under the domain in one tunnelling window.
    pub peak_names: Peak,
}

/// A maximum that halves every week after it was set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    pub value: f64,
    pub at_ns: u64,
}

impl Peak {
    /// Returns the peak decayed to `now_ns`.
    pub fn at(&self, now_ns: u64) -> f64 {
        let elapsed = now_ns.saturating_sub(self.at_ns) as f64;
        self.value * 0.5f64.powf(elapsed / PEAK_HALF_LIFE_NS)
    }

    /// Raises the peak to `value` when that is above the decayed peak.
    pub fn raise(&mut self, value: f64, now_ns: u64) {
        if value.is_finite() && value >= self.at(now_ns) {
            *self = Peak {
                value,
                at_ns: now_ns,
            };
        }
    }
}

/// Result of counting one query in the domain table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DomainTouch {
    /// The domain got its first NOERROR response from this device.
    pub newly_resolved: bool,
    /// Domains evicted to make room, with whether each had resolved.
    pub evicted: Vec<(String, bool)>,
}

/// DNS baseline of one device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsProfile {
    #[serde(with = "super::serde_map")]
    pub domains: HashMap<String, DomainStats>,
    /// Window length in ns that `window` counts in; 0 before the first query.
    pub window_ns: u64,
    /// Index of the current window (`time / window_ns`).
    pub window: u64,
    /// Queries in the current window.
    pub current_queries: u32,
    /// Queries per closed window.
    pub queries: Welford,
    /// Largest number of distinct random-looking NXDOMAIN domains in one DGA window.
    pub nx_peak: Peak,
}

impl DnsProfile {
    /// Counts one query at `now_ns` in the window of length `window_ns` that contains it.
    /// The first query starts the windows. The statistics start over when the window
    /// length changed (a restored state after the setting changed).
    pub fn count_query(&mut self, now_ns: u64, window_ns: u64) {
        let window_ns = window_ns.max(1);
        let window = now_ns / window_ns;
        if self.window_ns != window_ns {
            self.window_ns = window_ns;
            self.window = window;
            self.current_queries = 0;
            self.queries = Welford::default();
        }
        if window > self.window {
            self.queries
                .add(f64::from(self.current_queries), RATE_HORIZON);
            self.queries
                .add_zeros(window - self.window - 1, RATE_HORIZON);
            self.window = window;
            self.current_queries = 0;
        }
        self.current_queries = self.current_queries.saturating_add(1);
    }

    /// Queries per window above which the current window's rate is unusual: the mean
    /// plus three standard deviations of the closed windows, at least 1.
    pub fn rate_level(&self) -> f64 {
        (self.queries.mean + 3.0 * self.queries.std_dev()).max(1.0)
    }

    /// Counts a query under `domain` at `now_ns`; `resolved` when its response was
    /// NOERROR. Evicts the least recently queried eighth when the table is full.
    pub fn touch_domain(&mut self, domain: &str, now_ns: u64, resolved: bool) -> DomainTouch {
        let mut touch = DomainTouch::default();
        // Looked up by `&str` first, so a query under a known domain copies no name.
        if !self.domains.contains_key(domain) {
            if self.domains.len() >= MAX_DOMAINS {
                let count = (MAX_DOMAINS / 8).max(1);
                for key in oldest_keys(&self.domains, count, |d| d.last_seen_ns) {
                    if let Some(stats) = self.domains.remove(&key) {
                        touch.evicted.push((key, stats.resolved));
                    }
                }
            }
            let stats = DomainStats {
                first_seen_ns: now_ns,
                ..Default::default()
            };
            self.domains.insert(domain.to_owned(), stats);
        }
        let Some(stats) = self.domains.get_mut(domain) else {
            return touch;
        };
        stats.last_seen_ns = stats.last_seen_ns.max(now_ns);
        stats.queries = stats.queries.saturating_add(1);
        if resolved && !stats.resolved {
            stats.resolved = true;
            touch.newly_resolved = true;
        }
        touch
    }

    /// Whether this device resolved a name under `domain` before.
    pub fn resolved(&self, domain: &str) -> bool {
        self.domains.get(domain).is_some_and(|d| d.resolved)
    }

    /// Whether every statistic is finite.
    pub fn is_valid(&self) -> bool {
        self.queries.is_valid()
            && self.nx_peak.value.is_finite()
            && self
                .domains
                .values()
                .all(|d| d.peak_names.value.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = 600_000_000_000;

    #[test]
    fn rate_closes_windows() {
        let mut profile = DnsProfile::default();
        for _ in 0..6 {
            profile.count_query(WINDOW * 10, WINDOW);
        }
        profile.count_query(WINDOW * 13, WINDOW);
        assert_eq!(profile.queries.count, 3);
        assert!((profile.queries.mean - 2.0).abs() < 1e-9);
        assert_eq!(profile.current_queries, 1);
    }

    #[test]
    fn first_query_starts_windows() {
        let mut profile = DnsProfile::default();
        profile.count_query(WINDOW * 1_000_000, WINDOW);
        assert_eq!(profile.queries.count, 0);
    }

    #[test]
    fn domain_resolved_once() {
        let mut profile = DnsProfile::default();
        assert!(!profile.touch_domain("example.com", 1, false).newly_resolved);
        assert!(profile.touch_domain("example.com", 2, true).newly_resolved);
        assert!(!profile.touch_domain("example.com", 3, true).newly_resolved);
        assert!(profile.resolved("example.com"));
    }

    #[test]
    fn domain_table_bounded() {
        let mut profile = DnsProfile::default();
        let mut evicted = 0;
        for i in 0..(MAX_DOMAINS as u64 + 10) {
            evicted += profile
                .touch_domain(&format!("d{i}.example"), i, true)
                .evicted
                .len();
        }
        assert!(profile.domains.len() <= MAX_DOMAINS);
        assert_eq!(evicted + profile.domains.len(), MAX_DOMAINS + 10);
    }

    #[test]
    fn peak_halves_in_a_week() {
        let mut peak = Peak::default();
        peak.raise(40.0, 0);
        let week = PEAK_HALF_LIFE_NS as u64;
        assert!((peak.at(week) - 20.0).abs() < 1e-9);
        peak.raise(10.0, week);
        assert!((peak.at(week) - 20.0).abs() < 1e-9);
    }
}
