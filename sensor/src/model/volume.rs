//! Per-window volume statistics of one device. Bytes in and out (to all peers, and to
//! external peers only), connections and distinct peers accumulate over epoch-aligned
//! windows. Each closed window updates the mean and variance of every sum and the
//! decaying peak of external bytes out.

use serde::{Deserialize, Serialize};

use super::welford::Welford;

/// Closed windows after which a window's weight in the mean halves, roughly: one week
/// of 10-minute windows.
pub const VOLUME_HORIZON: u32 = 1008;

/// Sums of the current window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowSums {
    pub bytes_out: u64,
    pub bytes_in: u64,
    /// Bytes sent to addresses outside the home networks.
    pub external_bytes_out: u64,
    pub connections: u64,
    /// Peers first touched in this window.
    pub distinct_peers: u64,
}

/// Volume baseline of one device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeStats {
    /// Window length in ns that `window` counts in.
    pub window_ns: u64,
    /// Index of the current window (`time / window_ns`).
    pub window: u64,
    pub current: WindowSums,
    pub bytes_out: Welford,
    pub bytes_in: Welford,
    pub external_bytes_out: Welford,
    pub connections: Welford,
    pub distinct_peers: Welford,
    /// Largest external bytes out of a closed window, decaying by half every
    /// [`VOLUME_HORIZON`] windows.
    pub external_peak: f64,
    /// Windows closed so far.
    pub closed_windows: u64,
}

impl VolumeStats {
    /// Starts the statistics in the window of length `window_ns` that contains `now_ns`.
    pub fn starting_at(now_ns: u64, window_ns: u64) -> Self {
        let window_ns = window_ns.max(1);
        VolumeStats {
            window_ns,
            window: now_ns / window_ns,
            ..Default::default()
        }
    }

    /// Closes every window before `window`: the current one with its sums, the silent
    /// ones between with zeros.
    pub fn roll_to(&mut self, window: u64) {
        if window <= self.window {
            return;
        }
        let sums = std::mem::take(&mut self.current);
        self.close(&sums);
        let silent = window - self.window - 1;
        if silent > 0 {
            for stats in self.all_mut() {
                stats.add_zeros(silent, VOLUME_HORIZON);
            }
            let decay = peak_decay().powf(silent.min(u64::from(u32::MAX)) as f64);
            self.external_peak *= decay;
            self.closed_windows += silent;
        }
        self.window = window;
    }

    fn close(&mut self, sums: &WindowSums) {
        self.bytes_out.add(sums.bytes_out as f64, VOLUME_HORIZON);
        self.bytes_in.add(sums.bytes_in as f64, VOLUME_HORIZON);
        self.external_bytes_out
            .add(sums.external_bytes_out as f64, VOLUME_HORIZON);
        self.connections
            .add(sums.connections as f64, VOLUME_HORIZON);
        self.distinct_peers
            .add(sums.distinct_peers as f64, VOLUME_HORIZON);
        self.external_peak =
            (self.external_peak * peak_decay()).max(sums.external_bytes_out as f64);
        self.closed_windows += 1;
    }

    fn all_mut(&mut self) -> [&mut Welford; 5] {
        [
            &mut self.bytes_out,
            &mut self.bytes_in,
            &mut self.external_bytes_out,
            &mut self.connections,
            &mut self.distinct_peers,
        ]
    }

    /// Whether every statistic is finite.
    pub fn is_valid(&self) -> bool {
        let stats = [
            self.bytes_out,
            self.bytes_in,
            self.external_bytes_out,
            self.connections,
            self.distinct_peers,
        ];
        stats.iter().all(Welford::is_valid) && self.external_peak.is_finite()
    }
}

/// Per-window decay factor of the peak: half after [`VOLUME_HORIZON`] windows.
fn peak_decay() -> f64 {
    0.5f64.powf(1.0 / f64::from(VOLUME_HORIZON))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_closes_current_window() {
        let mut volume = VolumeStats::starting_at(10, 1);
        volume.current.external_bytes_out = 1000;
        volume.roll_to(11);
        assert_eq!(volume.closed_windows, 1);
        assert_eq!(volume.external_peak, 1000.0);
        assert_eq!(volume.current, WindowSums::default());
    }

    #[test]
    fn roll_adds_silent_windows() {
        let mut volume = VolumeStats::starting_at(10, 1);
        volume.current.bytes_out = 400;
        volume.roll_to(14);
        assert_eq!(volume.closed_windows, 4);
        assert!((volume.bytes_out.mean - 100.0).abs() < 1e-9);
    }

    #[test]
    fn roll_backwards_ignored() {
        let mut volume = VolumeStats::starting_at(10, 1);
        volume.roll_to(5);
        assert_eq!(volume.window, 10);
    }
}
