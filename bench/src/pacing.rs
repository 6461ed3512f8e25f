//! Send-rate pacing and the frame budget: how many frames a run sends and when each is
//! due. Pure arithmetic, so it is tested without clocks.

use std::time::Duration;

/// Returns the time after the start of the run at which frame `index` (0-based) is due
/// at `rate_pps` frames per second, or `None` when the rate is 0 (unpaced).
pub fn due_offset(index: u64, rate_pps: u64) -> Option<Duration> {
    if rate_pps == 0 {
        return None;
    }
    // u128 keeps index * 1e9 exact for any u64 index.
    let nanos = u128::from(index) * 1_000_000_000 / u128::from(rate_pps);
    Some(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// Returns how long to wait before sending frame `index`, `elapsed` after the start. It
/// is zero when the frame is already due or the rate is 0.
pub fn wait_before(index: u64, rate_pps: u64, elapsed: Duration) -> Duration {
    match due_offset(index, rate_pps) {
        Some(due) => due.saturating_sub(elapsed),
        None => Duration::ZERO,
    }
}

/// Returns the number of frames to send from a source of `source_len` frames, or `None`
/// when only the time limit stops the run.
///
/// - neither `count` nor `loops`: one pass over the source;
/// - `count` only: `count` frames, cycling over the source as often as needed;
/// - `loops` only: `loops` passes, where 0 means no limit;
/// - both: whichever limit comes first.
pub fn frame_budget(source_len: u64, count: Option<u64>, loops: Option<u64>) -> Option<u64> {
    let pass_limit = match loops {
        None if count.is_some() => None,
        None => Some(source_len),
        Some(0) => None,
        Some(loops) => Some(source_len.saturating_mul(loops)),
    };
    match (count, pass_limit) {
        (Some(count), Some(limit)) => Some(count.min(limit)),
        (Some(count), None) => Some(count),
        (None, limit) => limit,
    }
}

/// Converts bytes sent over `elapsed` into megabits per second (10^6 bits).
pub fn mbit_per_sec(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    bytes as f64 * 8.0 / secs / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_offset_cases() {
        let cases = [
            (0, 1000, Some(Duration::ZERO)),
            (1, 1000, Some(Duration::from_millis(1))),
            (1500, 1000, Some(Duration::from_millis(1500))),
            (1, 3, Some(Duration::from_nanos(333_333_333))),
            (5, 0, None),
        ];
        for (index, rate, expected) in cases {
            assert_eq!(
                due_offset(index, rate),
                expected,
                "index {index} rate {rate}"
            );
        }
    }

    #[test]
    fn due_offset_large_index() {
        let due = due_offset(u64::MAX, 1).unwrap();
        assert_eq!(due, Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn wait_before_cases() {
        let cases = [
            (
                10,
                100,
                Duration::from_millis(50),
                Duration::from_millis(50),
            ),
            (10, 100, Duration::from_millis(100), Duration::ZERO),
            (10, 100, Duration::from_millis(150), Duration::ZERO),
            (10, 0, Duration::ZERO, Duration::ZERO),
        ];
        for (index, rate, elapsed, expected) in cases {
            assert_eq!(
                wait_before(index, rate, elapsed),
                expected,
                "index {index} elapsed {elapsed:?}"
            );
        }
    }

    #[test]
    fn frame_budget_cases() {
        let cases = [
            (100, None, None, Some(100)),
            (100, Some(250), None, Some(250)),
            (100, None, Some(3), Some(300)),
            (100, None, Some(0), None),
            (100, Some(250), Some(2), Some(200)),
            (100, Some(50), Some(2), Some(50)),
            (100, Some(50), Some(0), Some(50)),
            (0, None, None, Some(0)),
        ];
        for (len, count, loops, expected) in cases {
            assert_eq!(
                frame_budget(len, count, loops),
                expected,
                "len {len} count {count:?} loops {loops:?}"
            );
        }
    }

    #[test]
    fn mbit_per_sec_cases() {
        assert_eq!(mbit_per_sec(125_000, Duration::from_secs(1)), 1.0);
        assert_eq!(mbit_per_sec(125_000, Duration::ZERO), 0.0);
    }
}
