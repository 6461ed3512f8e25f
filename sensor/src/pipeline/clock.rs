//! Packet time for live capture: converts the kernel's monotonic clock, which
//! the XDP program stamps into each frame, to nanoseconds since the Unix epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A stamp further than this from the current monotonic time is taken as
/// stale metadata (the program could not stamp that frame) and ignored.
const MAX_STAMP_SKEW_NS: u64 = 10_000_000_000;

/// Maps `CLOCK_MONOTONIC` readings to wall-clock time.
#[derive(Clone, Copy, Debug)]
pub struct PacketClock {
    /// Wall-clock ns minus monotonic ns, sampled once at start so that packet
    /// times never jump when the wall clock is stepped.
    offset_ns: i128,
}

impl PacketClock {
    /// Samples both clocks now.
    pub fn new() -> Self {
        let mono = monotonic_ns();
        let wall = wall_ns();
        PacketClock {
            offset_ns: i128::from(wall) - i128::from(mono),
        }
    }

    /// The current time, in ns since the Unix epoch, on this clock.
    pub fn now(&self) -> u64 {
        self.to_wall(monotonic_ns())
    }

    /// The packet time of a frame: its XDP stamp when plausible, else `now`.
    pub fn frame_time(&self, stamp_mono_ns: Option<u64>, now_mono_ns: u64) -> u64 {
        match stamp_mono_ns {
            Some(stamp) if stamp.abs_diff(now_mono_ns) <= MAX_STAMP_SKEW_NS => self.to_wall(stamp),
            _ => self.to_wall(now_mono_ns),
        }
    }

    fn to_wall(self, mono_ns: u64) -> u64 {
        let wall = i128::from(mono_ns) + self.offset_ns;
        u64::try_from(wall.max(0)).unwrap_or(u64::MAX)
    }
}

impl Default for PacketClock {
    fn default() -> Self {
        Self::new()
    }
}

/// `CLOCK_MONOTONIC` in ns: the clock behind `bpf_ktime_get_ns()`.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(rc, 0, "CLOCK_MONOTONIC is always available on Linux");
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

fn wall_ns() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_time_uses_plausible_stamp() {
        let clock = PacketClock { offset_ns: 1_000 };
        assert_eq!(clock.frame_time(Some(5_000), 6_000), 6_000);
    }

    #[test]
    fn frame_time_ignores_stale_stamp() {
        let clock = PacketClock { offset_ns: 1_000 };
        let now = 100 * MAX_STAMP_SKEW_NS;
        assert_eq!(clock.frame_time(Some(7), now), now + 1_000);
    }

    #[test]
    fn frame_time_without_stamp_is_now() {
        let clock = PacketClock { offset_ns: 0 };
        assert_eq!(clock.frame_time(None, 42), 42);
    }
}
