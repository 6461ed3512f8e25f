//! Steering packets to the worker that owns their flow.
//!
//! The two directions of a flow can arrive on different RX queues (AWS picks
//! the outer UDP source port from a hash of the inner 5-tuple). Each flow
//! belongs to one worker, chosen by the symmetric hash of its key; a worker
//! that receives a packet of another worker's flow passes it over a
//! single-producer ring. There is one ring per ordered pair of workers, so
//! no ring has two writers and no lock is taken.

use crossbeam::queue::ArrayQueue;

use crate::decap::Packet;

/// Packets each handoff ring holds.
pub const HANDOFF_RING_SLOTS: usize = 8192;

/// The rings between `n` workers: `rings[from * n + to]`.
pub struct Mesh {
    workers: usize,
    rings: Vec<ArrayQueue<Packet>>,
}

impl Mesh {
    /// Rings for `workers` workers (at least one).
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        let rings = (0..workers * workers)
            .map(|_| ArrayQueue::new(HANDOFF_RING_SLOTS))
            .collect();
        Mesh { workers, rings }
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The worker that owns `packet`'s flow.
    pub fn owner(&self, packet: &Packet) -> usize {
        owner_of(packet.key.symmetric_hash(), self.workers)
    }

    /// Tries to hand `packet` from worker `from` to worker `to`; gives it back
    /// when the ring is full.
    pub fn push(&self, from: usize, to: usize, packet: Packet) -> Result<(), Packet> {
        self.ring(from, to).push(packet)
    }

    /// Takes every packet waiting for worker `to`, from all other workers.
    pub fn drain_into(&self, to: usize, mut on_packet: impl FnMut(&Packet)) -> usize {
        let mut taken = 0;
        for from in 0..self.workers {
            if from == to {
                continue;
            }
            let ring = self.ring(from, to);
            while let Some(packet) = ring.pop() {
                on_packet(&packet);
                taken += 1;
            }
        }
        taken
    }

    fn ring(&self, from: usize, to: usize) -> &ArrayQueue<Packet> {
        &self.rings[from * self.workers + to]
    }
}

/// Maps a flow hash onto one of `workers` workers.
pub fn owner_of(hash: u64, workers: usize) -> usize {
    // Multiply-shift instead of `%`: unbiased enough and no division.
    ((u128::from(hash) * workers as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_of_stays_in_range() {
        for hash in [0, 1, u64::MAX / 2, u64::MAX] {
            assert!(owner_of(hash, 3) < 3, "hash {hash}");
        }
    }

    #[test]
    fn owner_of_single_worker_is_zero() {
        assert_eq!(owner_of(u64::MAX, 1), 0);
    }
}
