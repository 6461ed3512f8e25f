//! Packet-time arithmetic for scenarios: the fixed start, days and hours in
//! nanoseconds, the daily activity curve, and Poisson arrivals.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub const SECOND_NS: u64 = 1_000_000_000;
pub const MINUTE_NS: u64 = 60 * SECOND_NS;
pub const HOUR_NS: u64 = 60 * MINUTE_NS;
pub const DAY_NS: u64 = 24 * HOUR_NS;

/// Start of every scenario: Monday 2025-03-03 00:00:00 UTC, in ns since the Unix epoch.
pub const SCENARIO_START_NS: u64 = 1_740_960_000 * SECOND_NS;

/// Returns the hour of the day (UTC, fractional) at `t_ns`.
pub fn hour_of_day(t_ns: u64) -> f64 {
    (t_ns % DAY_NS) as f64 / HOUR_NS as f64
}

/// Returns the day index of `t_ns` counted from the scenario start.
pub fn day_index(t_ns: u64) -> u64 {
    t_ns.saturating_sub(SCENARIO_START_NS) / DAY_NS
}

/// Returns whether day `day` (from the Monday start) is Saturday or Sunday.
pub fn is_weekend(day: u64) -> bool {
    day % 7 >= 5
}

/// Relative activity of user-driven traffic at `t_ns`: 1.0 at 14:00 UTC, about 0.15 at
/// night, a Gaussian bump of 4.5 hours' width in between.
pub fn diurnal(t_ns: u64) -> f64 {
    let distance = (hour_of_day(t_ns) - 14.0) / 4.5;
    0.15 + 0.85 * (-distance * distance).exp()
}

/// Draws arrival times in `[from, to)` of a Poisson process whose rate per hour at
/// time t is `rate(t)`, which must stay at or below `max_rate` (thinning).
pub fn poisson(
    rng: &mut ChaCha8Rng,
    from: u64,
    to: u64,
    max_rate: f64,
    rate: impl Fn(u64) -> f64,
) -> Vec<u64> {
    let mut times = Vec::new();
    if max_rate <= 0.0 {
        return times;
    }
    let mean_gap = HOUR_NS as f64 / max_rate;
    let mut t = from as f64;
    loop {
        // 1 - U lies in (0, 1], so the logarithm is finite.
        let u: f64 = rng.random();
        t += -(1.0 - u).ln() * mean_gap;
        if t >= to as f64 {
            return times;
        }
        let at = t as u64;
        if rng.random::<f64>() * max_rate < rate(at) {
            times.push(at);
        }
    }
}

/// Draws a time uniformly in `[from, to)` (or `from` when the range is empty).
pub fn uniform_time(rng: &mut ChaCha8Rng, from: u64, to: u64) -> u64 {
    if to <= from {
        return from;
    }
    rng.random_range(from..to)
}

/// Draws a value around `mean` from a log-normal distribution with spread `sigma`,
/// clamped to `[min, max]`.
pub fn log_normal(rng: &mut ChaCha8Rng, mean: f64, sigma: f64, min: u32, max: u32) -> u32 {
    // Box-Muller transform of two uniform draws into one standard normal draw.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let value = mean * (sigma * normal - sigma * sigma / 2.0).exp();
    (value.round() as u32).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn start_is_monday_midnight() {
        // 1970-01-01 was a Thursday, so Mondays are 4 days after a multiple of 7.
        let days = SCENARIO_START_NS / DAY_NS;
        assert_eq!(SCENARIO_START_NS % DAY_NS, 0);
        assert_eq!((days + 3) % 7, 0);
    }

    #[test]
    fn diurnal_peak_and_night() {
        let peak = diurnal(SCENARIO_START_NS + 14 * HOUR_NS);
        let night = diurnal(SCENARIO_START_NS + 3 * HOUR_NS);
        assert!((peak - 1.0).abs() < 1e-9, "peak {peak}");
        assert!(night < 0.2, "night {night}");
    }

    #[test]
    fn poisson_count_near_rate() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let times = poisson(&mut rng, 0, 100 * HOUR_NS, 60.0, |_| 60.0);
        assert!(
            (5500..6500).contains(&times.len()),
            "{} arrivals",
            times.len()
        );
    }

    #[test]
    fn poisson_times_sorted_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let times = poisson(&mut rng, HOUR_NS, 2 * HOUR_NS, 100.0, |_| 50.0);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times.iter().all(|&t| (HOUR_NS..2 * HOUR_NS).contains(&t)));
    }

    #[test]
    fn log_normal_clamped() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            let value = log_normal(&mut rng, 5000.0, 2.0, 100, 20_000);
            assert!((100..=20_000).contains(&value), "{value}");
        }
    }
}
