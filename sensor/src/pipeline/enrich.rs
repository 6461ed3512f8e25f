//! Joins application metadata to flow records in the writer thread.
//!
//! Application parsers run where the frame bytes are (the thread that received
//! the packet), while a flow's records come from the thread that owns the flow.
//! Both send to the writer thread, which keeps each flow's metadata until the
//! flow's final record and attaches it to every record of the flow.

use std::collections::HashMap;

use crate::{
    app::meta::{AppEvent, FlowApp},
    flow::{EndReason, FlowKey, FlowRecord},
};

/// Flows whose metadata may wait for their records at once.
pub const MAX_PENDING_FLOWS: usize = 1 << 20;

/// Metadata by flow, waiting for the flows' records.
#[derive(Default)]
pub struct Enricher {
    flows: HashMap<FlowKey, FlowApp>,
    /// Findings dropped because `MAX_PENDING_FLOWS` flows were waiting.
    pub dropped: u64,
}

impl Enricher {
    /// Keeps one finding for its flow.
    pub fn add(&mut self, event: AppEvent) {
        if let Some(app) = self.flows.get_mut(&event.key) {
            app.add(event.finding);
            return;
        }
        if self.flows.len() >= MAX_PENDING_FLOWS {
            self.dropped += 1;
            return;
        }
        let mut app = FlowApp::default();
        app.add(event.finding);
        self.flows.insert(event.key, app);
    }

    /// Attaches the flow's metadata to `record`; forgets it after the flow's
    /// final record.
    pub fn attach(&mut self, record: &mut FlowRecord) {
        let key = FlowKey {
            vni: record.vni,
            protocol: record.protocol,
            src: record.src_addr.into(),
            dst: record.dst_addr.into(),
            sport: record.src_port,
            dport: record.dst_port,
        }
        .canonical()
        .0;
        let app = if record.reason == EndReason::Active {
            self.flows.get(&key).cloned()
        } else {
            self.flows.remove(&key)
        };
        if let Some(app) = app {
            record.dns = app.dns;
            record.http = app.http;
            record.tls = app.tls;
        }
    }

    /// Flows with metadata waiting for their final record.
    pub fn pending(&self) -> usize {
        self.flows.len()
    }
}
