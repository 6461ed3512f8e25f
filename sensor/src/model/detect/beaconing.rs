//! Beaconing: connections from a device to one external endpoint at regular intervals
//! with regular sizes, as command-and-control implants call home. Regularity uses the
//! coefficient of variation (CV, standard deviation / mean) of the inter-arrival times
//! over the last [`SERIES_LEN`] connections, scaled so that the configured maximum CV
//! scores 0. With the default 0.5, sleeps with ±20 % jitter (CV about 0.12) score 0.77.
//! A handful of random arrivals (CV 0.3 or more by chance, about 1 on average) scores
//! 0.4 or less. The score is damped
//! when the edge was already part of the baseline and when other devices also talk to
//! the endpoint, because benign periodic traffic (update checks, time sync, telemetry)
//! is usually both.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use super::{Context, Finding, FlowRing, MAX_TRACKERS, Scope, Trackers, format_bytes, format_secs};
use crate::model::alert::endpoint_with_port;
use crate::model::bounded::make_room_for;
use crate::model::config::duration_ns;
use crate::model::detector::Detector;
use crate::model::flow_view::Role;

/// Connections kept per series.
pub const SERIES_LEN: usize = 16;

/// Score factor for an edge the device already had during its learning period.
const BASELINE_EDGE_FACTOR: f64 = 0.5;

/// Recent connections of a device to one external endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BeaconSeries {
    pub last_ns: u64,
    /// Start times of the last [`SERIES_LEN`] connections, ns.
    pub starts: VecDeque<u64>,
    /// Bytes of those connections, both directions.
    pub sizes: VecDeque<u64>,
    pub flows: FlowRing,
}

/// Summary of a series: mean and coefficient of variation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub cv: f64,
}

/// Adds a connection to the device's series for its external peer and scores the
/// series. `fleet_others` is the number of other devices that use the endpoint.
pub fn check(ctx: &Context, trackers: &mut Trackers, fleet_others: u32) -> Option<Finding> {
    let view = ctx.view;
    let record = view.record;
    if !view.opens || ctx.side.role != Role::Client || ctx.peer_home || ctx.peer_group {
        return None;
    }
    let key = (ctx.side.peer, view.service_port, record.protocol);
    make_room_for(&mut trackers.beacons, &key, MAX_TRACKERS, |s| s.last_ns);
    let series = trackers.beacons.entry(key).or_default();
    series.last_ns = ctx.now_ns;
    if series.starts.len() >= SERIES_LEN {
        series.starts.pop_front();
        series.sizes.pop_front();
    } else if series.starts.capacity() == 0 {
        // One allocation each of the final size, where growing would take three.
        series.starts.reserve_exact(SERIES_LEN);
        series.sizes.reserve_exact(SERIES_LEN);
    }
    series.starts.push_back(record.flow_start_ns);
    series.sizes.push_back(
        record
            .src_to_dst
            .bytes
            .saturating_add(record.dst_to_src.bytes),
    );
    series.flows.push(ctx.alert_flow());

    let detectors = &ctx.config.detectors;
    if (series.starts.len() as u32) < detectors.beacon_min_connections.max(3) {
        return None;
    }
    let intervals = interval_spread(&series.starts)?;
    let min_interval = duration_ns(detectors.beacon_min_interval) as f64 / 1e9;
    let max_interval = duration_ns(detectors.beacon_max_interval) as f64 / 1e9;
    if intervals.mean < min_interval || intervals.mean > max_interval {
        return None;
    }
    if intervals.cv > detectors.beacon_max_interval_cv {
        return None;
    }
    // Only a regular series needs its sizes, so they come after the intervals.
    let sizes = spread_of(series.sizes.iter().map(|&s| s as f64))?;
    let baseline_edge = ctx
        .edge_before
        .is_some_and(|edge| edge.first_seen_ns < ctx.learned_at_ns);
    let edge_factor = if baseline_edge {
        BASELINE_EDGE_FACTOR
    } else {
        1.0
    };
    let fleet_factor = 1.0 / (1.0 + f64::from(fleet_others)).sqrt();
    let max_cv = detectors.beacon_max_interval_cv.max(f64::EPSILON);
    let regularity = (1.0 - intervals.cv / max_cv).max(0.0) * (1.0 - 0.5 * sizes.cv.min(1.0));
    let score = regularity * edge_factor * fleet_factor;
    let scope = match ctx.admit(Detector::Beaconing, score, || {
        Scope::endpoint(endpoint_with_port(ctx.side.peer, view.service_port))
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let explanation = format!(
        "{} connected to {} {} times every {} on average (interval CV {:.2}, size CV {:.2}, mean {}); {}, and {} other {} use the endpoint.",
        ctx.side.device,
        scope.endpoint.as_deref().unwrap_or_default(),
        series.starts.len(),
        format_secs(intervals.mean),
        intervals.cv,
        sizes.cv,
        format_bytes(sizes.mean),
        if baseline_edge {
            "the edge is in the baseline"
        } else {
            "the edge is new since learning"
        },
        fleet_others,
        if fleet_others == 1 {
            "device"
        } else {
            "devices"
        }
    );
    Some(Finding::alert(
        Detector::Beaconing,
        score,
        scope,
        explanation,
        series.flows.to_vec(),
    ))
}

/// Mean (s) and CV of the intervals between sorted connection starts.
fn interval_spread(starts: &VecDeque<u64>) -> Option<Spread> {
    // A series contains at most SERIES_LEN starts, so they sort on the stack. A longer
    // one can only come from a state file written by other code.
    let mut buffer = [0u64; SERIES_LEN];
    let mut heap = Vec::new();
    let sorted = if starts.len() <= SERIES_LEN {
        let sorted = &mut buffer[..starts.len()];
        for (slot, &start) in sorted.iter_mut().zip(starts) {
            *slot = start;
        }
        sorted
    } else {
        heap.extend(starts.iter().copied());
        heap.as_mut_slice()
    };
    sorted.sort_unstable();
    spread_of(
        sorted
            .windows(2)
            .map(|pair| (pair[1] - pair[0]) as f64 / 1e9),
    )
}

/// [`spread`] of the values of an iterator, collected on the stack when there are
/// at most [`SERIES_LEN`] of them, so each value is computed once.
fn spread_of(values: impl ExactSizeIterator<Item = f64>) -> Option<Spread> {
    let mut buffer = [0.0; SERIES_LEN];
    let heap: Vec<f64>;
    let values = if values.len() <= SERIES_LEN {
        let count = values.len();
        for (slot, value) in buffer.iter_mut().zip(values) {
            *slot = value;
        }
        &buffer[..count]
    } else {
        heap = values.collect();
        heap.as_slice()
    };
    spread(values)
}

/// Mean and coefficient of variation of `values`; `None` for fewer than two values or
/// a zero mean.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if mean <= 0.0 {
        return None;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    Some(Spread {
        mean,
        cv: variance.sqrt() / mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::{Flow, Harness, LEARNING_SECS};

    const DEVICE: [u8; 4] = [10, 0, 1, 5];
    const C2: [u8; 4] = [203, 0, 113, 66];

    /// Connection times from `start` s, each `period` s ± up to 20 % after the last,
    /// as an implant that sleeps with jitter calls home.
    fn times(start: u64, period: u64, count: usize) -> Vec<u64> {
        let jitter = [0.0, 0.15, -0.1, 0.2, -0.2, 0.05, -0.15, 0.1, 0.0, -0.05];
        let mut t = start as f64;
        (0..count)
            .map(|i| {
                let at = t as u64;
                t += period as f64 * (1.0 + jitter[i % jitter.len()]);
                at
            })
            .collect()
    }

    fn warm(harness: &mut Harness) {
        // The device browses a common endpoint during learning.
        for hour in 0..30u64 {
            harness.observe(Flow::tcp(DEVICE, [198, 51, 100, 1], 443).at_secs(hour * 3600));
        }
    }

    /// Computes the spread as it was computed before it took a slice: with three
    /// passes over an iterator.
    fn iterator_spread(values: impl Iterator<Item = f64> + Clone) -> Option<Spread> {
        let n = values.clone().count();
        if n < 2 {
            return None;
        }
        let mean = values.clone().sum::<f64>() / n as f64;
        if mean <= 0.0 {
            return None;
        }
        let variance = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        Some(Spread {
            mean,
            cv: variance.sqrt() / mean,
        })
    }

    #[test]
    fn spread_of_matches_iterator_spread() {
        let cases: [Vec<f64>; 6] = [
            Vec::new(),
            vec![3.0],
            vec![0.0, 0.0, 0.0],
            vec![400.0, 900.0, 1300.0, 415.0, 1.0e9],
            (0..SERIES_LEN).map(|i| (i * i) as f64 * 0.37).collect(),
            (0..40).map(|i| (i % 7) as f64 + 0.1).collect(),
        ];
        for values in cases {
            assert_eq!(
                spread_of(values.iter().copied()),
                iterator_spread(values.iter().copied()),
                "{values:?}"
            );
        }
    }

    #[test]
    fn interval_spread_matches_sorted_copy() {
        let reference = |starts: &VecDeque<u64>| {
            let mut sorted: Vec<u64> = starts.iter().copied().collect();
            sorted.sort_unstable();
            iterator_spread(
                sorted
                    .windows(2)
                    .map(|pair| (pair[1] - pair[0]) as f64 / 1e9),
            )
        };
        let second = 1_000_000_000u64;
        let cases: [Vec<u64>; 5] = [
            Vec::new(),
            vec![5 * second],
            vec![30 * second, 10 * second, 20 * second, 45 * second],
            (0..SERIES_LEN as u64)
                .map(|i| i * i * second)
                .rev()
                .collect(),
            (0..20u64).map(|i| (i * 7919 % 20) * second).collect(),
        ];
        for starts in cases {
            let starts = VecDeque::from(starts);
            assert_eq!(interval_spread(&starts), reference(&starts), "{starts:?}");
        }
    }

    #[test]
    fn jittered_beacon_alerts() {
        let mut harness = Harness::new();
        warm(&mut harness);
        for t in times(LEARNING_SECS + 7200, 60, 8) {
            harness.observe(Flow::tcp(DEVICE, C2, 443).bytes(400, 900).at_secs(t));
        }
        let alerts = harness.alerts_of(Detector::Beaconing);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].endpoint.as_deref(), Some("203.0.113.66:443"));
    }

    #[test]
    fn beacon_in_learning_does_not_alert() {
        let mut harness = Harness::new();
        for t in times(600, 60, 20) {
            harness.observe(Flow::tcp(DEVICE, C2, 443).at_secs(t));
        }
        assert!(harness.alerts_of(Detector::Beaconing).is_empty());
    }

    #[test]
    fn baseline_periodic_edge_does_not_alert() {
        // An hourly update check that started during learning and continues.
        let mut harness = Harness::new();
        for t in times(0, 3600, 60) {
            harness.observe(Flow::tcp(DEVICE, [198, 51, 100, 80], 443).at_secs(t));
        }
        assert!(harness.alerts_of(Detector::Beaconing).is_empty());
    }

    #[test]
    fn random_arrivals_do_not_alert() {
        let mut harness = Harness::new();
        warm(&mut harness);
        let gaps = [5, 300, 20, 900, 45, 10, 1200, 60, 30, 700, 15, 400];
        let mut t = LEARNING_SECS + 7200;
        for gap in gaps {
            t += gap;
            harness.observe(Flow::tcp(DEVICE, C2, 443).at_secs(t));
        }
        assert!(harness.alerts_of(Detector::Beaconing).is_empty());
    }

    #[test]
    fn few_random_uploads_do_not_alert() {
        // Seven uploads at random times within 50 minutes (interval CV about 0.4).
        let mut harness = Harness::new();
        warm(&mut harness);
        let offsets = [0, 160, 700, 900, 1500, 1700, 2300, 2950];
        for offset in offsets {
            let t = LEARNING_SECS + 7200 + offset;
            harness.observe(Flow::tcp(DEVICE, C2, 443).bytes(1_000_000, 200).at_secs(t));
        }
        assert!(harness.alerts_of(Detector::Beaconing).is_empty());
    }

    #[test]
    fn spread_of_constant_is_zero() {
        let spread = spread(&[5.0, 5.0, 5.0]).unwrap();
        assert_eq!(spread.cv, 0.0);
    }
}
