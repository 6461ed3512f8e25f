//! Running mean and variance (Welford's update). Up to `horizon` samples the result is
//! the exact mean and population variance; beyond it each new sample weighs
//! 1/`horizon`, so old behaviour fades exponentially.

use serde::{Deserialize, Serialize};

/// Mean and population variance of a stream of samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Welford {
    /// Samples seen, capped at the horizon.
    pub count: u32,
    pub mean: f64,
    pub variance: f64,
}

impl Welford {
    /// Adds one sample. `horizon` (at least 1) caps the effective sample count.
    pub fn add(&mut self, x: f64, horizon: u32) {
        if !x.is_finite() {
            return;
        }
        if self.count < horizon.max(1) {
            self.count += 1;
        }
        let alpha = 1.0 / f64::from(self.count);
        let delta = x - self.mean;
        let step = alpha * delta;
        self.mean += step;
        self.variance = (1.0 - alpha) * (self.variance + delta * step);
    }

    /// Adds `n` samples of zero (windows in which the device was silent). Work is
    /// bounded by the horizon: beyond it, the result no longer changes measurably.
    pub fn add_zeros(&mut self, n: u64, horizon: u32) {
        let n = n.min(u64::from(horizon.max(1)) * 4);
        for _ in 0..n {
            self.add(0.0, horizon);
        }
    }

    pub fn std_dev(&self) -> f64 {
        self.variance.max(0.0).sqrt()
    }

    /// Whether every field is finite and the variance is not negative.
    pub fn is_valid(&self) -> bool {
        self.mean.is_finite() && self.variance.is_finite() && self.variance >= 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_exact_below_horizon() {
        let mut stats = Welford::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            stats.add(x, 100);
        }
        assert_eq!(stats.count, 8);
        assert!((stats.mean - 5.0).abs() < 1e-12);
        assert!((stats.variance - 4.0).abs() < 1e-12);
    }

    #[test]
    fn welford_forgets_beyond_horizon() {
        let mut stats = Welford::default();
        for _ in 0..100 {
            stats.add(10.0, 10);
        }
        for _ in 0..100 {
            stats.add(0.0, 10);
        }
        assert!(stats.mean < 0.01);
    }

    #[test]
    fn welford_add_zeros_matches_loop() {
        let mut batch = Welford::default();
        let mut single = Welford::default();
        batch.add(6.0, 50);
        single.add(6.0, 50);
        batch.add_zeros(3, 50);
        for _ in 0..3 {
            single.add(0.0, 50);
        }
        assert_eq!(batch, single);
    }

    #[test]
    fn welford_ignores_nan() {
        let mut stats = Welford::default();
        stats.add(f64::NAN, 10);
        assert_eq!(stats.count, 0);
    }
}
