//! A flow shard: one worker's flow table and the outbox that carries its
//! finished records, and the application findings of the same thread, to the
//! writer thread. Live capture runs one shard per worker; replay runs one.

use crate::{
    app::meta::AppEvent,
    decap::Packet,
    flow::{FlowConfig, FlowStats, FlowTable},
    pipeline::outbox::Outbox,
};

/// How often (in packet time) a shard looks for timed-out flows.
pub const EXPIRY_INTERVAL_NS: u64 = 100_000_000;

/// One worker's flows.
pub struct Shard {
    table: FlowTable,
    outbox: Outbox,
    last_expiry_ns: u64,
    /// Latest packet time this shard has seen.
    now_ns: u64,
}

impl Shard {
    /// Creates a shard whose finished records go to `outbox`.
    pub fn new(config: FlowConfig, outbox: Outbox) -> Self {
        Shard {
            table: FlowTable::new(config),
            outbox,
            last_expiry_ns: 0,
            now_ns: 0,
        }
    }

    /// Accounts one packet to its flow.
    pub fn observe(&mut self, packet: &Packet) {
        self.now_ns = self.now_ns.max(packet.ts_ns);
        let outbox = &mut self.outbox;
        self.table
            .observe(packet, &mut |record| outbox.record(record));
    }

    /// Queues an application finding of this thread for the writer.
    pub fn app_event(&mut self, event: AppEvent) {
        self.outbox.app_event(event);
    }

    /// Moves packet time to `now_ns` (if later) and, at most every
    /// [`EXPIRY_INTERVAL_NS`], ends flows that timed out.
    pub fn advance(&mut self, now_ns: u64) {
        self.now_ns = self.now_ns.max(now_ns);
        if self.now_ns.saturating_sub(self.last_expiry_ns) < EXPIRY_INTERVAL_NS {
            return;
        }
        self.last_expiry_ns = self.now_ns;
        let outbox = &mut self.outbox;
        self.table
            .expire(self.now_ns, &mut |record| outbox.record(record));
    }

    /// Ends every flow (shutdown or end of replay) and flushes the outbox.
    /// Returns the findings dropped by the flush.
    pub fn finish(&mut self) -> u64 {
        let outbox = &mut self.outbox;
        self.table.drain(&mut |record| outbox.record(record));
        self.outbox.flush()
    }

    /// Sends what waits in the outbox; returns the findings dropped.
    pub fn flush(&mut self) -> u64 {
        self.outbox.flush()
    }

    /// Returns the flow table's counters.
    pub fn stats(&self) -> FlowStats {
        self.table.stats()
    }
}
