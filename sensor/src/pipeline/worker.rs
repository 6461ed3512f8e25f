//! The live worker: one per RX queue, on its own pinned thread. It takes a
//! batch from its AF_XDP socket, decapsulates each frame, accounts the packet
//! to its own shard or hands it to the worker that owns the flow, takes the
//! packets other workers handed to it, and publishes its counters.

use std::{
    sync::{
        Arc, Barrier,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    app::extract::{AppExtractor, counters_of},
    capture::xsk::QueueSocket,
    decap::{Decoder, Packet},
    pipeline::{
        clock::{PacketClock, monotonic_ns},
        shard::Shard,
        stats::{LocalCounts, WorkerStats},
        steer::Mesh,
    },
};

/// How long one poll of the socket waits for frames before the worker checks
/// for shutdown and moves its clock on.
const POLL_TIMEOUT_MS: i32 = 50;
/// How often the kernel's ring counters are read.
const RING_STATS_INTERVAL: Duration = Duration::from_secs(1);

/// State of one queue worker.
pub struct Worker {
    pub index: usize,
    pub socket: QueueSocket,
    pub decoder: Decoder,
    /// `None` with `--no-app-metadata`.
    pub extractor: Option<AppExtractor>,
    /// The worker's flows; its outbox also carries the application findings.
    pub shard: Shard,
    pub mesh: Arc<Mesh>,
    pub stats: Arc<crate::pipeline::stats::StatsBlocks>,
    pub clock: PacketClock,
    pub stop: Arc<AtomicBool>,
    /// Shared by all workers: passed once every worker stopped receiving.
    pub stopped: Arc<Barrier>,
}

impl Worker {
    /// Runs until `stop` is set, then ends every flow of its shard.
    pub fn run(mut self) {
        let mut local = LocalCounts::default();
        let mut last_ring_stats = Instant::now();
        let queue = self.socket.queue();

        while !self.stop.load(Ordering::Relaxed) {
            let now_mono = monotonic_ns();
            let result = {
                let Worker {
                    index,
                    socket,
                    decoder,
                    extractor,
                    shard,
                    mesh,
                    clock,
                    stop,
                    ..
                } = &mut self;
                socket.recv_batch(POLL_TIMEOUT_MS, |frame| {
                    local.frames += 1;
                    local.bytes += frame.data.len() as u64;
                    let stamp = frame.meta.map(|meta| meta.rx_time_ns);
                    let ts_ns = clock.frame_time(stamp, now_mono);
                    let wire_len = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
                    if let Some(packet) = decoder.decode(frame.data, wire_len, ts_ns) {
                        if let Some(event) = extractor
                            .as_mut()
                            .and_then(|extractor| extractor.inspect(&packet, frame.data))
                        {
                            shard.app_event(event);
                        }
                        route(*index, packet, mesh, shard, stop, &mut local);
                    }
                })
            };
            if let Err(error) = result {
                tracing::error!(queue, %error, "AF_XDP receive failed; stopping the sensor");
                self.stop.store(true, Ordering::Relaxed);
                break;
            }

            self.take_handoffs();
            let now = self.clock.now();
            let shard = &mut self.shard;
            if let Some(extractor) = &mut self.extractor {
                extractor.expire(now, |event| shard.app_event(event));
            }
            self.shard.advance(now);
            // A full queue loses findings at once. Records wait for room, and
            // while the worker waits its ring can fill and drop frames (counted).
            local.app_dropped += self.shard.flush();
            self.publish(&local);

            if last_ring_stats.elapsed() >= RING_STATS_INTERVAL {
                last_ring_stats = Instant::now();
                self.publish_ring_stats();
            }
        }

        // Once every worker has stopped receiving, nobody hands over packets
        // any more: take what is left, then end every flow.
        self.stopped.wait();
        let shard = &mut self.shard;
        if let Some(extractor) = &mut self.extractor {
            extractor.finish(|event| shard.app_event(event));
        }
        self.take_handoffs();
        local.app_dropped += self.shard.finish();
        self.publish(&local);
        self.publish_ring_stats();
        tracing::debug!(queue, frames = local.frames, "worker stopped");
    }

    fn take_handoffs(&mut self) {
        let shard = &mut self.shard;
        self.mesh
            .drain_into(self.index, |packet| shard.observe(packet));
    }

    fn publish(&self, local: &LocalCounts) {
        let stats: &WorkerStats = &self.stats[self.index];
        stats.publish(local, self.decoder.counters(), &self.shard.stats());
        stats.publish_app(&counters_of(self.extractor.as_ref()), local.app_dropped);
    }

    fn publish_ring_stats(&self) {
        match self.socket.ring_stats() {
            Ok(ring) => self.stats[self.index].publish_ring(&ring),
            Err(error) => {
                tracing::warn!(queue = self.socket.queue(), %error, "failed to read XDP_STATISTICS")
            }
        }
    }
}

/// Accounts `packet` locally or hands it to the worker that owns its flow.
/// While that worker's ring is full, this worker takes its own handoffs, so
/// two workers waiting on each other still make progress. At shutdown the
/// owner may have stopped taking packets; the packet is then accounted here,
/// so it ends up in a second, partial record of its flow instead of being lost.
fn route(
    me: usize,
    packet: Packet,
    mesh: &Mesh,
    shard: &mut Shard,
    stop: &AtomicBool,
    local: &mut LocalCounts,
) {
    let owner = mesh.owner(&packet);
    if owner == me {
        shard.observe(&packet);
        return;
    }

    local.steered += 1;
    let mut pending = packet;
    loop {
        match mesh.push(me, owner, pending) {
            Ok(()) => return,
            Err(back) => {
                local.steer_full += 1;
                pending = back;
                if stop.load(Ordering::Relaxed) {
                    shard.observe(&pending);
                    return;
                }
                mesh.drain_into(me, |handed| shard.observe(handed));
                std::thread::yield_now();
            }
        }
    }
}
