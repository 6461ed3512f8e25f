//! Joins application metadata to flow records in the writer thread.
//!
//! Application parsers run where the frame bytes are (the thread that received
//! the packet), while a flow's records come from the thread that owns the flow.
//! Both send to the writer thread, which keeps each flow's metadata until the
//! flow's final record and attaches it to every record of the flow.

use std::{borrow::Cow, collections::hash_map::Entry, net::IpAddr};

use crate::{
    app::{
        dns::DnsName,
        meta::{AppEvent, AppFinding, DnsMeta, FlowApp},
        passive_dns::{PassiveDns, PassiveDnsConfig},
    },
    flow::{EndReason, FlowKey, FlowRecord},
    hash::HashMap,
    text::parse_ip_text,
};

/// Flows whose metadata may wait for their records at once.
pub const MAX_PENDING_FLOWS: usize = 1 << 20;

/// Clients whose DNS answers are kept at once, for naming their peers.
pub const MAX_NAMED_CLIENTS: usize = 16_384;

/// Metadata by flow, waiting for the flows' records, and the names each client
/// resolved (passive DNS).
#[derive(Default)]
pub struct Enricher {
    flows: HashMap<FlowKey, FlowApp>,
    /// Passive DNS per (VNI, client address).
    names: HashMap<(u32, IpAddr), PassiveDns>,
    /// Findings dropped because `MAX_PENDING_FLOWS` flows were waiting.
    pub dropped: u64,
}

impl Enricher {
    /// Keeps one finding for its flow, and the names a DNS response gave its
    /// client.
    pub fn add(&mut self, event: AppEvent) {
        if let AppFinding::DnsResponse(dns) = &event.finding {
            self.learn_names(event.key.vni, event.receiver, dns, event.ts_ns);
        }
        // One lookup serves both cases, where `get_mut` and `insert` hashed the key twice.
        let full = self.flows.len() >= MAX_PENDING_FLOWS;
        match self.flows.entry(event.key) {
            Entry::Occupied(mut known) => known.get_mut().add(event.finding),
            Entry::Vacant(_) if full => self.dropped += 1,
            Entry::Vacant(new) => new.insert(FlowApp::default()).add(event.finding),
        }
    }

    /// Attaches the flow's metadata to `record`, and removes it after the
    /// flow's final record.
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
        if let Some(names) = self.names.get(&(record.vni, record.src_addr)) {
            // The answer must still have been valid when the flow started.
            record.dst_name = names
                .lookup_at(record.dst_addr.into(), record.flow_start_ns)
                .map(str::to_owned);
        }
    }

    fn learn_names(&mut self, vni: u32, client: IpAddr, dns: &DnsMeta, now_ns: u64) {
        // Addresses are parsed before the query name is checked, because a response
        // without one gives no names.
        let mut addresses = dns.answers.iter().filter_map(|a| parse_ip_text(a));
        let Some(first) = addresses.next() else {
            return;
        };
        // A name shown with escapes (`\.`, `\DDD`) contains bytes that its text form
        // cannot carry back into a DnsName, so it is not used.
        let Some(query) = dns.query.as_deref().filter(|text| !text.contains('\\')) else {
            return;
        };
        // The presentation form comes straight from the text when nothing in it
        // needs an escape, which spares building a DnsName and writing it out.
        let name = match DnsName::dotted_presentation(query) {
            Some(text) => text,
            None => match DnsName::from_dotted(query) {
                Some(name) => Cow::Owned(name.to_string()),
                None => return,
            },
        };
        let ttl = dns.min_ttl.unwrap_or(0);

        // The length test comes first, so the key is hashed only when the table is full.
        if self.names.len() >= MAX_NAMED_CLIENTS && !self.names.contains_key(&(vni, client)) {
            // NOTE: all clients' names are forgotten at once when the table is
            // full; records then go unnamed until clients resolve names again.
            self.names.clear();
        }
        let map = self
            .names
            .entry((vni, client))
            .or_insert_with(|| PassiveDns::new(PassiveDnsConfig::default()));
        for addr in std::iter::once(first).chain(addresses) {
            map.insert_presentation(addr.into(), &name, ttl, now_ns);
        }
    }

    /// Flows with metadata waiting for their final record.
    pub fn pending(&self) -> usize {
        self.flows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Addr;

    const CLIENT: [u8; 4] = [10, 0, 0, 9];
    const RESOLVER: [u8; 4] = [10, 0, 0, 2];
    const SERVER: [u8; 4] = [192, 0, 2, 7];

    fn response_event() -> AppEvent {
        AppEvent {
            key: FlowKey {
                vni: 5,
                protocol: 17,
                src: Addr::v4(RESOLVER),
                dst: Addr::v4(CLIENT),
                sport: 53,
                dport: 40_000,
            }
            .canonical()
            .0,
            receiver: CLIENT.into(),
            ts_ns: 1_000,
            finding: AppFinding::DnsResponse(DnsMeta {
                id: 1,
                query: Some("update-check.example.net".into()),
                qtype: Some(1),
                rcode: Some(0),
                answers: vec!["192.0.2.7".into()],
                min_ttl: Some(300),
                partial: false,
            }),
        }
    }

    fn record(src: [u8; 4], dst: [u8; 4]) -> FlowRecord {
        FlowRecord {
            vni: 5,
            src_addr: src.into(),
            dst_addr: dst.into(),
            src_port: 40_001,
            dst_port: 443,
            start_ns: 2_000,
            end_ns: 3_000,
            flow_start_ns: 2_000,
            ..crate::flow::testing::record()
        }
    }

    #[test]
    fn record_after_the_answer_expired_gets_no_name() {
        let mut enricher = Enricher::default();
        enricher.add(response_event());
        // The answer's TTL is 300 s; a flow two hours later must not carry it,
        // whatever else this client did in between.
        let two_hours = 7_200_000_000_000;
        let mut late = FlowRecord {
            start_ns: two_hours,
            end_ns: two_hours + 1_000,
            flow_start_ns: two_hours,
            ..record(CLIENT, SERVER)
        };
        enricher.attach(&mut late);
        assert_eq!(late.dst_name, None);
    }

    #[test]
    fn record_names_resolved_peer() {
        let mut enricher = Enricher::default();
        enricher.add(response_event());
        let mut connection = record(CLIENT, SERVER);
        enricher.attach(&mut connection);
        assert_eq!(
            connection.dst_name.as_deref(),
            Some("update-check.example.net")
        );
    }

    #[test]
    fn other_client_gets_no_name() {
        let mut enricher = Enricher::default();
        enricher.add(response_event());
        let mut connection = record([10, 0, 0, 10], SERVER);
        enricher.attach(&mut connection);
        assert_eq!(connection.dst_name, None);
    }

    #[test]
    fn dns_record_gets_its_metadata_once() {
        let mut enricher = Enricher::default();
        enricher.add(response_event());
        let mut lookup = record(CLIENT, RESOLVER);
        lookup.protocol = 17;
        lookup.src_port = 40_000;
        lookup.dst_port = 53;
        enricher.attach(&mut lookup);
        assert!(lookup.dns.is_some(), "first record carries DNS metadata");
        assert_eq!(enricher.pending(), 0, "final record releases the flow");
    }
}
