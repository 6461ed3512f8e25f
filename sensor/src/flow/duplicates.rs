//! Duplicate detection for one flow table: the same packet mirrored from both of
//! its ends arrives twice, and the second copy must not count. A direct-mapped
//! cache of recent packet fingerprints, shared by every flow of the table,
//! replaces a ring of fingerprints in each flow. The flows stay small, and a
//! copy is found even when many packets of its flow arrive between the two,
//! which a ring of four missed (the note below gives the cache's reach). Entries
//! carry the flow's number, so a copy counts only within its own flow, and a new
//! flow that reuses a slot (or a 5-tuple) starts with no fingerprints.
//!
//! NOTE: a cache entry is overwritten by the next packet whose fingerprint maps
//! to the same entry. With [`ENTRIES`] entries, a second copy is likely missed,
//! and counted as a packet, when about that many packets of the table arrive
//! between the two copies. At 1 Mpps per table that is 8 ms, far more than the
//! two ends of a path in one region need. A larger cache no longer fits in a
//! core's L2 and cost 7% of replay time in misses.

use super::config::DUPLICATE_WINDOW_NS;

/// Entries of the cache; a power of two. 16 bytes each: 128 KiB per table.
pub const ENTRIES: usize = 1 << 13;

/// Packet times are kept in units of 2^10 ns (about 1 µs), in 32 bits. The
/// comparison wraps, so only the distance between two times matters.
const TIME_SHIFT: u32 = 10;
const WINDOW_UNITS: u32 = (DUPLICATE_WINDOW_NS >> TIME_SHIFT) as u32;
/// Flow number of an empty entry (whose fingerprint is 0).
const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry {
    fingerprint: u64,
    /// The flow's number (see [`DuplicateFilter::is_duplicate`]).
    flow: u32,
    time: u32,
}

/// Recent fingerprints of one flow table.
pub struct DuplicateFilter {
    entries: Vec<Entry>,
}

impl Default for DuplicateFilter {
    fn default() -> Self {
        let empty = Entry {
            fingerprint: 0,
            flow: EMPTY,
            time: 0,
        };
        DuplicateFilter {
            entries: vec![empty; ENTRIES],
        }
    }
}

impl DuplicateFilter {
    /// Returns whether flow number `flow` saw a packet with `fingerprint` within
    /// [`DUPLICATE_WINDOW_NS`] of `ts_ns`. When it did not, remembers this one.
    /// The table numbers its flows in creation order.
    pub fn is_duplicate(&mut self, fingerprint: u64, flow: u32, ts_ns: u64) -> bool {
        let time = (ts_ns >> TIME_SHIFT) as u32;
        let index = (fingerprint as usize) & (ENTRIES - 1);
        let Some(entry) = self.entries.get_mut(index) else {
            return false;
        };
        if entry.flow == flow && entry.fingerprint == fingerprint {
            let apart = time.wrapping_sub(entry.time);
            if apart.min(apart.wrapping_neg()) <= WINDOW_UNITS {
                return true;
            }
        }
        *entry = Entry {
            fingerprint,
            flow,
            time,
        };
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000_000_000;
    const MS: u64 = 1_000_000;

    #[test]
    fn copy_within_window_is_duplicate() {
        let mut filter = DuplicateFilter::default();
        assert!(!filter.is_duplicate(0xabcd, 3, T0));
        assert!(filter.is_duplicate(0xabcd, 3, T0 + 10 * MS));
        // A copy that arrives first on another queue: time goes backwards.
        assert!(filter.is_duplicate(0xabcd, 3, T0 - 10 * MS));
    }

    #[test]
    fn other_flow_or_late_copy_is_not_duplicate() {
        let mut filter = DuplicateFilter::default();
        assert!(!filter.is_duplicate(0xabcd, 3, T0));
        assert!(!filter.is_duplicate(0xabcd, 4, T0 + MS), "another flow");
        assert!(
            !filter.is_duplicate(0xabcd, 4, T0 + 2 * MS + DUPLICATE_WINDOW_NS),
            "outside the window"
        );
    }

    #[test]
    fn busy_flow_keeps_copies_apart_by_many_packets() {
        let mut filter = DuplicateFilter::default();
        let fingerprint = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for i in 0..1000 {
            assert!(!filter.is_duplicate(fingerprint(i), 0, T0 + i * 1000));
        }
        let copies = (0..1000)
            .filter(|&i| filter.is_duplicate(fingerprint(i), 0, T0 + MS + i * 1000))
            .count();
        // Direct mapping loses a copy only where two fingerprints share an entry.
        assert!(copies >= 900, "{copies} of 1000 copies found");
    }

    #[test]
    fn wrapped_time_units_still_compare_by_distance() {
        let mut filter = DuplicateFilter::default();
        // 2^42 ns is where the 32-bit time in 2^10 ns units wraps.
        let wrap = 1u64 << 42;
        assert!(!filter.is_duplicate(7, 1, wrap - MS));
        assert!(filter.is_duplicate(7, 1, wrap + MS));
    }
}
