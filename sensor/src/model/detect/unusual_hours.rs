//! Unusual hours: a device active in an hour-of-week bin where it is normally silent.
//! Silence compares the bin's expected connection rate (with its neighbours, see
//! [`HourProfile::expected_rate`]) with a tenth of the device's mean hourly rate. The
//! burst factor grows with this hour's connections over that expectation.

use super::{Context, Finding, Scope};
use crate::model::detector::Detector;
use crate::model::hours::{HourProfile, hour_of_week};

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Scores the device's connections so far in the current hour.
pub fn check(ctx: &Context, hours: &mut HourProfile) -> Option<Finding> {
    if !ctx.view.opens {
        return None;
    }
    let current = hours.current;
    if current < ctx.config.detectors.unusual_hours_min_connections {
        return None;
    }
    let summary = hours.summary();
    if summary.hour_of_day_hours < 1.0 {
        return None;
    }
    let expected = summary.expected_rate;
    let mean = summary.mean_rate;
    let quiet_level = 0.1 * mean;
    let silence = if quiet_level > 0.0 {
        1.0 - (expected / quiet_level).min(1.0)
    } else if expected > 0.0 {
        0.0
    } else {
        1.0
    };
    // The burst is in [0, 1) for the finite, non-negative rates of a valid profile,
    // so an hour that is not silent scores 0 without the exponential.
    let score = if silence == 0.0 {
        0.0
    } else {
        let burst = 1.0 - (-f64::from(current) / (3.0 * (expected + 1.0))).exp();
        silence * burst
    };
    let scope = match ctx.admit(Detector::UnusualHours, score, Scope::default) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let bin = hour_of_week(hours.hour);
    let weekday = WEEKDAYS.get(bin / 24).copied().unwrap_or("?");
    let explanation = format!(
        "{} made {current} connections in the hour from {weekday} {:02}:00 UTC, when it averages {expected:.2} per hour (its mean over all hours is {mean:.1}).",
        ctx.side.device,
        bin % 24
    );
    Some(Finding::alert(
        Detector::UnusualHours,
        score,
        scope,
        explanation,
        vec![ctx.alert_flow()],
    ))
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness};

    const DEVICE: [u8; 4] = [10, 0, 1, 5];
    const SERVER: [u8; 4] = [10, 0, 1, 20];

    /// Office hours: 20 connections an hour from 08:00 to 18:00 UTC for `days` days.
    fn office(harness: &mut Harness, days: u64) {
        for day in 0..days {
            for hour in 8..18u64 {
                for i in 0..20u64 {
                    harness.observe(
                        Flow::tcp(DEVICE, SERVER, 443)
                            .at_secs(day * 86_400 + hour * 3600 + i * 170),
                    );
                }
            }
        }
    }

    #[test]
    fn night_activity_alerts() {
        let mut harness = Harness::new();
        office(&mut harness, 2);
        for i in 0..10u64 {
            harness.observe(Flow::tcp(DEVICE, SERVER, 443).at_secs(2 * 86_400 + 3 * 3600 + i * 60));
        }
        let alerts = harness.alerts_of(Detector::UnusualHours);
        let device: Vec<_> = alerts
            .iter()
            .filter(|a| a.device.to_string() == "10.0.1.5")
            .collect();
        assert_eq!(device.len(), 1);
    }

    #[test]
    fn early_start_does_not_alert() {
        let mut harness = Harness::new();
        office(&mut harness, 2);
        for i in 0..20u64 {
            harness.observe(
                Flow::tcp(DEVICE, SERVER, 443).at_secs(2 * 86_400 + 6 * 3600 + 1800 + i * 60),
            );
        }
        assert!(harness.alerts_of(Detector::UnusualHours).is_empty());
    }

    #[test]
    fn office_rhythm_does_not_alert() {
        let mut harness = Harness::new();
        office(&mut harness, 4);
        assert!(harness.alerts_of(Detector::UnusualHours).is_empty());
    }

    #[test]
    fn night_activity_in_learning_does_not_alert() {
        let mut harness = Harness::new();
        office(&mut harness, 1);
        for i in 0..10u64 {
            harness.observe(Flow::tcp(DEVICE, SERVER, 443).at_secs(86_400 - 7200 + i * 60));
        }
        assert!(harness.alerts_of(Detector::UnusualHours).is_empty());
    }
}
