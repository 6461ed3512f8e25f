//! Keeps records with implausible times away from the model.
//!
//! The model's windows and learning periods follow packet time, so one record
//! dated years ahead (a forged or corrupt timestamp) would move a device's
//! clock there for good. Records later than the wall clock by more than a day
//! are rejected outright. A record that jumps far ahead of the model's clock is
//! held back; the jump is accepted only when enough records in a row agree with
//! it (a replay of a later capture), and dropped when time returns to normal.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::flow::FlowRecord;

/// How far past the wall clock a record may end.
const MAX_AHEAD_OF_WALL_NS: u64 = 24 * 3600 * 1_000_000_000;
/// How far past the model's clock a record may end without confirmation.
const MAX_JUMP_NS: u64 = 6 * 3600 * 1_000_000_000;
/// Records in a row past a jump that confirm it.
const JUMP_CONFIRMATION: usize = 64;

/// The decision about one record.
pub enum Admission {
    /// Give the model the record.
    Accept,
    /// The record confirmed a jump: give the model these records, in order. The
    /// last one is a copy of the record.
    Confirmed(Vec<FlowRecord>),
    /// Held back (as a copy) until a jump is confirmed or dropped.
    Held,
    /// Rejected: it ends later than the wall clock allows.
    Rejected,
}

/// The guard's state: records held past a jump, and counts.
#[derive(Default)]
pub struct TimeGuard {
    held: Vec<FlowRecord>,
    /// Records rejected or dropped for their time.
    pub rejected: u64,
}

impl TimeGuard {
    /// Decides about `record`, given the latest packet time the model accepted and
    /// the wall clock ([`wall_ns`]). The record is copied only when it is held, so
    /// the usual record goes to the model without a move.
    pub fn admit(&mut self, record: &FlowRecord, model_now_ns: u64, wall_now_ns: u64) -> Admission {
        if record.end_ns > wall_now_ns.saturating_add(MAX_AHEAD_OF_WALL_NS) {
            self.rejected += 1;
            return Admission::Rejected;
        }
        let jumps = model_now_ns > 0 && record.end_ns > model_now_ns.saturating_add(MAX_JUMP_NS);
        if jumps {
            self.held.push(record.clone());
            if self.held.len() < JUMP_CONFIRMATION {
                return Admission::Held;
            }
            return Admission::Confirmed(std::mem::take(&mut self.held));
        }
        if !self.held.is_empty() {
            self.rejected += self.held.len() as u64;
            self.held.clear();
        }
        Admission::Accept
    }

    /// Records still held at the end of input: a jump nothing contradicted.
    pub fn finish(&mut self) -> Vec<FlowRecord> {
        std::mem::take(&mut self.held)
    }
}

/// Returns the wall clock in ns since the Unix epoch, 0 before it.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600 * 1_000_000_000;
    const NOW: u64 = 1_700_000_000_000_000_000;

    fn record(end_ns: u64) -> FlowRecord {
        FlowRecord {
            start_ns: end_ns,
            end_ns,
            flow_start_ns: end_ns,
            ..crate::flow::testing::record()
        }
    }

    fn accepted(admission: Admission) -> usize {
        match admission {
            Admission::Accept => 1,
            Admission::Confirmed(records) => records.len(),
            Admission::Held | Admission::Rejected => 0,
        }
    }

    #[test]
    fn future_of_wall_clock_rejected() {
        let mut guard = TimeGuard::default();
        let admission = guard.admit(&record(NOW + 48 * HOUR), 0, NOW);
        assert!(matches!(admission, Admission::Rejected));
        assert_eq!(guard.rejected, 1);
    }

    #[test]
    fn lone_jump_dropped() {
        let mut guard = TimeGuard::default();
        let wall = NOW + 100_000 * HOUR;
        assert_eq!(
            accepted(guard.admit(&record(NOW + 87_600 * HOUR), NOW, wall)),
            0
        );
        assert_eq!(accepted(guard.admit(&record(NOW + HOUR / 2), NOW, wall)), 1);
        assert_eq!(guard.rejected, 1);
    }

    #[test]
    fn confirmed_jump_accepted() {
        let mut guard = TimeGuard::default();
        let wall = NOW + 100_000 * HOUR;
        let mut total = 0;
        for i in 0..JUMP_CONFIRMATION as u64 {
            total += accepted(guard.admit(&record(NOW + 48 * HOUR + i), NOW, wall));
        }
        assert_eq!(total, JUMP_CONFIRMATION);
        assert_eq!(guard.rejected, 0);
    }

    #[test]
    fn normal_record_accepted() {
        let mut guard = TimeGuard::default();
        assert_eq!(
            accepted(guard.admit(&record(NOW + HOUR), NOW, NOW + 2 * HOUR)),
            1
        );
    }
}
