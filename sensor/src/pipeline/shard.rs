//! A flow shard: one worker's flow table and the path of its finished
//! records to the writer thread. Live capture runs one shard per worker;
//! replay runs one.

use crossbeam::channel::Sender;

use crate::{
    decap::Packet,
    flow::{FlowConfig, FlowRecord, FlowStats, FlowTable},
};

/// How often (in packet time) a shard looks for timed-out flows.
pub const EXPIRY_INTERVAL_NS: u64 = 100_000_000;

/// One worker's flows.
pub struct Shard {
    table: FlowTable,
    records: Sender<FlowRecord>,
    last_expiry_ns: u64,
    /// Latest packet time this shard has seen.
    now_ns: u64,
}

impl Shard {
    /// Creates a shard whose finished records go to `records`.
    pub fn new(config: FlowConfig, records: Sender<FlowRecord>) -> Self {
        Shard {
            table: FlowTable::new(config),
            records,
            last_expiry_ns: 0,
            now_ns: 0,
        }
    }

    /// Accounts one packet to its flow.
    pub fn observe(&mut self, packet: &Packet) {
        self.now_ns = self.now_ns.max(packet.ts_ns);
        let records = &self.records;
        self.table
            .observe(packet, &mut |record| send(records, record));
    }

    /// Moves packet time to `now_ns` (if later) and, at most every
    /// [`EXPIRY_INTERVAL_NS`], ends flows that timed out.
    pub fn advance(&mut self, now_ns: u64) {
        self.now_ns = self.now_ns.max(now_ns);
        if self.now_ns.saturating_sub(self.last_expiry_ns) < EXPIRY_INTERVAL_NS {
            return;
        }
        self.last_expiry_ns = self.now_ns;
        let records = &self.records;
        self.table
            .expire(self.now_ns, &mut |record| send(records, record));
    }

    /// Ends every flow (shutdown or end of replay).
    pub fn finish(&mut self) {
        let records = &self.records;
        self.table.drain(&mut |record| send(records, record));
    }

    /// Returns the flow table's counters.
    pub fn stats(&self) -> FlowStats {
        self.table.stats()
    }
}

fn send(records: &Sender<FlowRecord>, record: FlowRecord) {
    // The writer thread only stops after every shard has been dropped, so a
    // send can fail only if it died; its own error is reported there.
    if records.send(record).is_err() {
        tracing::error!("flow record dropped: the writer thread has stopped");
    }
}
