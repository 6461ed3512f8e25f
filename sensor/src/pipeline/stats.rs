//! Per-worker counters. Each worker counts in plain locals and publishes them
//! here once per batch; the metrics endpoint sums all workers at scrape time.
//! Every worker's block sits on its own cache lines, so publishing never
//! contends with another core.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam::utils::CachePadded;

use crate::{
    app::extract::{AppCounters, REJECT_SLOTS},
    capture::xsk::RingStats,
    decap::{DecapCounters, DecapError},
    flow::FlowStats,
};

/// One worker's published counters (cumulative since start).
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Frames taken from the AF_XDP socket (or read from the pcap files).
    pub frames: AtomicU64,
    /// Bytes of those frames, outer headers included.
    pub bytes: AtomicU64,
    pub decoded: AtomicU64,
    pub truncated: AtomicU64,
    pub rejected: [AtomicU64; DecapError::COUNT],
    pub flows_active: AtomicU64,
    pub flows_created: AtomicU64,
    pub flows_expired: AtomicU64,
    pub flows_evicted: AtomicU64,
    pub duplicate_packets: AtomicU64,
    /// Packets handed to the worker that owns their flow.
    pub steered: AtomicU64,
    /// Times a handoff ring was full and the worker had to wait.
    pub steer_full: AtomicU64,
    pub ring_rx_dropped: AtomicU64,
    pub ring_rx_ring_full: AtomicU64,
    pub ring_fill_empty: AtomicU64,
    pub ring_invalid_descs: AtomicU64,
    /// Application messages parsed: DNS, HTTP, TLS, QUIC.
    pub app_parsed: [AtomicU64; 4],
    /// Parser rejects, in the slot order of `app::extract::reject_labels`.
    pub app_rejected: [AtomicU64; REJECT_SLOTS],
    pub app_hellos_abandoned: AtomicU64,
    /// Findings lost because the queue to the flow writer was full.
    pub app_dropped: AtomicU64,
}

/// The `protocol` label values of `app_parsed`, in its order.
pub const APP_PROTOCOLS: [&str; 4] = ["dns", "http", "tls", "quic"];

/// The counters a worker keeps locally between publications.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalCounts {
    pub frames: u64,
    pub bytes: u64,
    pub steered: u64,
    pub steer_full: u64,
    pub app_dropped: u64,
}

impl WorkerStats {
    /// Publishes a worker's current totals.
    pub fn publish(&self, local: &LocalCounts, decap: &DecapCounters, flows: &FlowStats) {
        store(&self.frames, local.frames);
        store(&self.bytes, local.bytes);
        store(&self.steered, local.steered);
        store(&self.steer_full, local.steer_full);
        store(&self.decoded, decap.decoded);
        store(&self.truncated, decap.truncated);
        for (slot, value) in self.rejected.iter().zip(decap.rejected.iter()) {
            store(slot, *value);
        }
        store(&self.flows_active, flows.active);
        store(&self.flows_created, flows.created);
        store(
            &self.flows_expired,
            flows.expired + flows.tcp_ended + flows.drained,
        );
        store(&self.flows_evicted, flows.evicted);
        store(&self.duplicate_packets, flows.duplicates);
    }

    /// Publishes the application parsers' counters.
    pub fn publish_app(&self, app: &AppCounters, dropped: u64) {
        let parsed = [app.dns, app.http, app.tls, app.quic];
        for (slot, value) in self.app_parsed.iter().zip(parsed) {
            store(slot, value);
        }
        for (slot, value) in self.app_rejected.iter().zip(app.rejected) {
            store(slot, value);
        }
        store(&self.app_hellos_abandoned, app.hellos_abandoned);
        store(&self.app_dropped, dropped);
    }

    /// Publishes the kernel's ring counters for this worker's socket.
    pub fn publish_ring(&self, ring: &RingStats) {
        store(&self.ring_rx_dropped, ring.rx_dropped);
        store(&self.ring_rx_ring_full, ring.rx_ring_full);
        store(&self.ring_fill_empty, ring.rx_fill_ring_empty);
        store(&self.ring_invalid_descs, ring.rx_invalid_descs);
    }
}

/// Reads a published counter.
pub fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn store(counter: &AtomicU64, value: u64) {
    counter.store(value, Ordering::Relaxed);
}

/// One stats block per worker, each on its own cache lines.
pub type StatsBlocks = Vec<CachePadded<WorkerStats>>;

/// Creates `workers` zeroed stats blocks.
pub fn stats_blocks(workers: usize) -> StatsBlocks {
    (0..workers)
        .map(|_| CachePadded::new(WorkerStats::default()))
        .collect()
}
