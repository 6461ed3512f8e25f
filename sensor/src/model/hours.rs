//! The hour-of-week activity profile of one device: connections per hour in 168 UTC
//! bins (Monday 00:00 is bin 0), each a decaying sum over the weeks observed.

use serde::{Deserialize, Serialize};

/// Bins in a week.
pub const HOURS_PER_WEEK: usize = 168;

const NS_PER_HOUR: u64 = 3_600_000_000_000;

/// Weight that a bin's past keeps each time the bin is observed again, so a changed
/// schedule takes over after a few weeks.
const BIN_DECAY: f64 = 0.9;

/// Bins on either side of the current one whose rate counts as expected too.
pub const NEIGHBOUR_HOURS: usize = 2;

/// Bins observed fewer times than this borrow the rate of the same hour on other days.
const MIN_BIN_HOURS: f64 = 2.0;

/// One hour-of-week bin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HourBin {
    /// Hours observed in this bin (decaying).
    pub hours: f64,
    /// Connections in those hours (decaying alike).
    pub connections: f64,
}

/// Hour-of-week profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HourProfile {
    /// [`HOURS_PER_WEEK`] bins.
    pub bins: Vec<HourBin>,
    /// Absolute hour (ns since the epoch / 1 h) being counted.
    pub hour: u64,
    /// Connections so far in that hour.
    pub current: u32,
    /// [`HourProfile::summary`] of `hour`, kept until the bins change. Not persisted.
    #[serde(skip)]
    summary: Option<(u64, HourSummary)>,
}

/// Equality of the learned profile; the cached summary is derived from it.
impl PartialEq for HourProfile {
    fn eq(&self, other: &Self) -> bool {
        self.bins == other.bins && self.hour == other.hour && self.current == other.current
    }
}

/// The rates of the current hour that the unusual-hours detector scores against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HourSummary {
    /// [`HourProfile::hour_of_day_hours`].
    pub hour_of_day_hours: f64,
    /// [`HourProfile::expected_rate`].
    pub expected_rate: f64,
    /// [`HourProfile::mean_rate`].
    pub mean_rate: f64,
}

impl HourProfile {
    /// Starts a profile at `now_ns`.
    pub fn starting_at(now_ns: u64) -> Self {
        HourProfile {
            bins: vec![HourBin::default(); HOURS_PER_WEEK],
            hour: now_ns / NS_PER_HOUR,
            current: 0,
            summary: None,
        }
    }

    /// Commits the finished hours before `now_ns` to their bins, silent ones with zero.
    pub fn roll_to(&mut self, now_ns: u64) {
        let hour = now_ns / NS_PER_HOUR;
        if hour <= self.hour {
            return;
        }
        let current = std::mem::take(&mut self.current);
        self.commit(self.hour, f64::from(current));
        // One silent week updates every bin once; older silence adds nothing new.
        let silent = (hour - self.hour - 1).min(HOURS_PER_WEEK as u64);
        for offset in 1..=silent {
            self.commit(self.hour + offset, 0.0);
        }
        self.hour = hour;
    }

    fn commit(&mut self, hour: u64, connections: f64) {
        self.summary = None;
        if let Some(bin) = self.bins.get_mut(hour_of_week(hour)) {
            bin.hours = bin.hours * BIN_DECAY + 1.0;
            bin.connections = bin.connections * BIN_DECAY + connections;
        }
    }

    /// Counts one connection in the current hour.
    pub fn count(&mut self) {
        self.current = self.current.saturating_add(1);
    }

    /// Returns the rates of the current hour. They change only when an hour is
    /// committed, so they are computed once per hour and then read from a cache,
    /// because the detector reads them for most connections.
    pub fn summary(&mut self) -> HourSummary {
        if let Some((hour, summary)) = self.summary
            && hour == self.hour
        {
            return summary;
        }
        let summary = HourSummary {
            hour_of_day_hours: self.hour_of_day_hours(),
            expected_rate: self.expected_rate(),
            mean_rate: self.mean_rate(),
        };
        self.summary = Some((self.hour, summary));
        summary
    }

    /// Expected connections per hour in the current hour's bin: the largest rate of
    /// that bin and the [`NEIGHBOUR_HOURS`] bins on either side, so a day that starts
    /// or ends a little earlier or later than usual is not unusual.
    pub fn expected_rate(&self) -> f64 {
        let bin = hour_of_week(self.hour);
        (0..=2 * NEIGHBOUR_HOURS)
            .map(|offset| (bin + HOURS_PER_WEEK + offset - NEIGHBOUR_HOURS) % HOURS_PER_WEEK)
            .map(|b| self.bin_rate(b))
            .fold(0.0, f64::max)
    }

    /// Connections per hour in bin `b`, borrowing from the same hour of the other days
    /// while the bin itself has been observed less than [`MIN_BIN_HOURS`] times.
    fn bin_rate(&self, b: usize) -> f64 {
        let Some(bin) = self.bins.get(b) else {
            return 0.0;
        };
        if bin.hours >= MIN_BIN_HOURS {
            return bin.connections / bin.hours;
        }
        let hour_of_day = b % 24;
        let (hours, connections) = self
            .bins
            .iter()
            .skip(hour_of_day)
            .step_by(24)
            .fold((0.0, 0.0), |(h, c), bin| {
                (h + bin.hours, c + bin.connections)
            });
        if hours > 0.0 {
            connections / hours
        } else {
            0.0
        }
    }

    /// Mean connections per hour over all observed hours.
    pub fn mean_rate(&self) -> f64 {
        let (hours, connections) = self.bins.iter().fold((0.0, 0.0), |(h, c), bin| {
            (h + bin.hours, c + bin.connections)
        });
        if hours > 0.0 {
            connections / hours
        } else {
            0.0
        }
    }

    /// Hours observed in the bins of the current hour of day, all weekdays together.
    pub fn hour_of_day_hours(&self) -> f64 {
        let hour_of_day = hour_of_week(self.hour) % 24;
        self.bins
            .iter()
            .skip(hour_of_day)
            .step_by(24)
            .map(|bin| bin.hours)
            .sum()
    }

    /// Whether the profile has its bins and finite values.
    pub fn is_valid(&self) -> bool {
        self.bins.len() == HOURS_PER_WEEK
            && self.bins.iter().all(|bin| {
                bin.hours.is_finite()
                    && bin.connections.is_finite()
                    && bin.hours >= 0.0
                    && bin.connections >= 0.0
            })
    }
}

/// Hour-of-week bin of an absolute hour. 1970-01-01 was a Thursday, 3 days after Monday.
pub fn hour_of_week(hour: u64) -> usize {
    let days = hour / 24;
    let weekday = (days + 3) % 7;
    (weekday * 24 + hour % 24) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_of_week_known_times() {
        // 2019-06-27 was a Thursday; 15:00 UTC.
        let thursday_15 = 1_561_647_600 / 3600;
        // 1970-01-05 was a Monday.
        let monday_0 = 4 * 24;
        assert_eq!(hour_of_week(thursday_15), 3 * 24 + 15);
        assert_eq!(hour_of_week(monday_0), 0);
    }

    #[test]
    fn silent_hours_count_as_observed() {
        let mut profile = HourProfile::starting_at(0);
        profile.count();
        profile.roll_to(5 * NS_PER_HOUR);
        let hours: f64 = profile.bins.iter().map(|b| b.hours).sum();
        assert_eq!(hours, 5.0);
        assert!((profile.mean_rate() - 0.2).abs() < 1e-9);
    }

    fn direct_summary(profile: &HourProfile) -> HourSummary {
        HourSummary {
            hour_of_day_hours: profile.hour_of_day_hours(),
            expected_rate: profile.expected_rate(),
            mean_rate: profile.mean_rate(),
        }
    }

    #[test]
    fn summary_follows_committed_hours() {
        let mut profile = HourProfile::starting_at(0);
        for _ in 0..10 {
            profile.count();
        }
        profile.roll_to(NS_PER_HOUR);
        let first = profile.summary();
        assert_eq!(first, direct_summary(&profile));
        for _ in 0..4 {
            profile.count();
        }
        profile.roll_to(2 * NS_PER_HOUR);
        let second = profile.summary();
        assert_eq!(second, direct_summary(&profile));
        assert_ne!(second, first);
    }

    #[test]
    fn summary_follows_hour_change() {
        let mut profile = HourProfile::starting_at(0);
        for _ in 0..10 {
            profile.count();
        }
        profile.roll_to(2 * NS_PER_HOUR);
        profile.roll_to(24 * NS_PER_HOUR);
        profile.hour = 1;
        let at_one = profile.summary();
        profile.hour = 5;
        assert_eq!(profile.summary(), direct_summary(&profile));
        assert_ne!(profile.summary(), at_one);
    }

    #[test]
    fn summary_after_restore_matches() {
        let mut profile = HourProfile::starting_at(0);
        for hour in 1..30 {
            for _ in 0..hour % 7 {
                profile.count();
            }
            profile.roll_to(hour * NS_PER_HOUR);
        }
        let expected = profile.summary();
        let json = serde_json::to_string(&profile).unwrap();
        assert!(!json.contains("summary"));
        let mut restored: HourProfile = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, profile);
        assert_eq!(restored.summary(), expected);
    }

    #[test]
    fn expected_rate_uses_neighbours() {
        let mut profile = HourProfile::starting_at(0);
        for _ in 0..10 {
            profile.count();
        }
        profile.roll_to(2 * NS_PER_HOUR);
        profile.roll_to(24 * NS_PER_HOUR);
        profile.hour = 1;
        assert!(profile.expected_rate() > 9.0);
        profile.hour = 2;
        assert!(profile.expected_rate() > 9.0);
        profile.hour = 3;
        assert_eq!(profile.expected_rate(), 0.0);
    }
}
