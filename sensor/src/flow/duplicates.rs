//! Duplicate detection for one flow table: the same packet mirrored from both of
//! its ends arrives twice, and the second copy must not count. A direct-mapped
//! cache of recent packet fingerprints, shared by every flow of the table,
//! replaces a ring of fingerprints in each flow: the flows stay small, and a
//! busy flow keeps its copies however many packets arrive between them.
//!
//! NOTE: a cache entry is overwritten by the next packet whose fingerprint maps
//! to the same entry. With [`ENTRIES`] entries, a second copy is missed (and
//! counted as a packet) when about that many packets of the table arrive
//! between the two copies; at 1 Mpps per table that is 33 ms.

use super::config::DUPLICATE_WINDOW_NS;

/// Entries of the cache; a power of two. 16 bytes each: 512 KiB per table.
pub const ENTRIES: usize = 1 << 15;

/// Packet times are kept in units of 2^10 ns (about 1 µs), in 32 bits; the
/// comparison wraps, so only the distance between two times matters.
const TIME_SHIFT: u32 = 10;
const WINDOW_UNITS: u32 = (DUPLICATE_WINDOW_NS >> TIME_SHIFT) as u32;
/// Slot value of an entry that holds no packet.
const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry {
    fingerprint: u64,
    /// The flow's slot: a copy counts as a duplicate only within its own flow.
    slot: u32,
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
            slot: EMPTY,
            time: 0,
        };
        DuplicateFilter {
            entries: vec![empty; ENTRIES],
        }
    }
}

impl DuplicateFilter {
    /// Returns whether the flow in `slot` saw a packet with `fingerprint` within
    /// [`DUPLICATE_WINDOW_NS`] of `ts_ns`. When it did not, remembers this one.
    pub fn is_duplicate(&mut self, fingerprint: u64, slot: u32, ts_ns: u64) -> bool {
        let time = (ts_ns >> TIME_SHIFT) as u32;
        let index = (fingerprint as usize) & (ENTRIES - 1);
        let Some(entry) = self.entries.get_mut(index) else {
            return false;
        };
        if entry.slot == slot && entry.fingerprint == fingerprint {
            let apart = time.wrapping_sub(entry.time);
            if apart.min(apart.wrapping_neg()) <= WINDOW_UNITS {
                return true;
            }
        }
        *entry = Entry {
            fingerprint,
            slot,
            time,
        };
        false
    }
}
