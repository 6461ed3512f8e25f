//! The flow plan under construction: the seeded random stream, the fleet, the time
//! range, and the flows added so far, with helpers that pick ports, round-trip times
//! and the mirroring device for each new flow.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::dns;
use super::flow::{FlowSpec, Shape, is_internal};
use super::names::Lookup;
use super::time::MINUTE_NS;
use super::topology::{PORT_DNS, Topology};

/// Client ports: the Linux default ephemeral range.
const EPHEMERAL_FIRST: u16 = 32768;
const EPHEMERAL_LAST: u16 = 60999;

/// Flows of one scenario, in the order they were planned (not in time order).
pub struct Plan<'a> {
    pub rng: ChaCha8Rng,
    pub topology: &'a Topology,
    /// First and last instant of packet time, in ns since the Unix epoch.
    pub start_ns: u64,
    pub end_ns: u64,
    pub flows: Vec<FlowSpec>,
    /// Next ephemeral port of each client. A BTreeMap keeps iteration deterministic.
    next_port: BTreeMap<Ipv4Addr, u16>,
}

impl<'a> Plan<'a> {
    pub fn new(rng: ChaCha8Rng, topology: &'a Topology, start_ns: u64, end_ns: u64) -> Plan<'a> {
        Plan {
            rng,
            topology,
            start_ns,
            end_ns,
            flows: Vec::new(),
            next_port: BTreeMap::new(),
        }
    }

    /// Returns the next ephemeral port of `client`, starting at a random port and
    /// counting up as Linux does for connections to different servers.
    pub fn ephemeral_port(&mut self, client: Ipv4Addr) -> u16 {
        let span = u32::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        let first = EPHEMERAL_FIRST + (self.rng.random_range(0..span) as u16);
        let port = self.next_port.entry(client).or_insert(first);
        let current = *port;
        *port = if current >= EPHEMERAL_LAST {
            EPHEMERAL_FIRST
        } else {
            current + 1
        };
        current
    }

    /// Draws a round-trip time: about 0.2 to 0.6 ms inside the VPC; for external peers a
    /// base of 10 to 90 ms that depends only on the address, plus up to 10% jitter.
    pub fn rtt(&mut self, a: Ipv4Addr, b: Ipv4Addr) -> u64 {
        if is_internal(a) && is_internal(b) {
            return self.rng.random_range(200_000..600_000);
        }
        let external = if is_internal(a) { b } else { a };
        let base_ms = 10 + u64::from(u32::from(external).wrapping_mul(2_654_435_761) % 80);
        let base = base_ms * 1_000_000;
        base + self.rng.random_range(0..base / 10 + 1)
    }

    /// Adds a flow from `client` to `server:server_port` with a fresh client port, and
    /// returns the time of its last packet. `None` when neither end is a device.
    pub fn add(
        &mut self,
        start_ns: u64,
        client: Ipv4Addr,
        server: Ipv4Addr,
        server_port: u16,
        shape: Shape,
    ) -> Option<u64> {
        let client_port = self.ephemeral_port(client);
        self.add_with_port(start_ns, client, client_port, server, server_port, shape)
    }

    /// Like [`Plan::add`] with the client port given. Flows outside the scenario's time
    /// range are dropped (and return `None`).
    pub fn add_with_port(
        &mut self,
        start_ns: u64,
        client: Ipv4Addr,
        client_port: u16,
        server: Ipv4Addr,
        server_port: u16,
        shape: Shape,
    ) -> Option<u64> {
        let rtt_ns = self.rtt(client, server);
        let spec = FlowSpec {
            start_ns,
            client,
            client_port,
            server,
            server_port,
            rtt_ns,
            shape,
            mirror: 0,
        };
        self.push(spec)
    }

    /// Adds `lookup` as one UDP exchange from `client` to the DNS server `server`,
    /// answered `rtt_ns` after the query. Returns the time of the response.
    pub fn add_dns(
        &mut self,
        start_ns: u64,
        client: Ipv4Addr,
        server: Ipv4Addr,
        lookup: &Lookup,
        rtt_ns: u64,
    ) -> Option<u64> {
        let id: u16 = self.rng.random();
        let shape = Shape::Udp {
            request: dns::query(id, &lookup.name, lookup.qtype),
            response: Some(dns::response(id, &lookup.name, lookup.qtype, &lookup.reply)),
        };
        let client_port = self.ephemeral_port(client);
        let spec = FlowSpec {
            start_ns,
            client,
            client_port,
            server,
            server_port: PORT_DNS,
            rtt_ns,
            shape,
            mirror: 0,
        };
        self.push(spec)
    }

    /// Sets the flow's mirroring device and keeps the flow when it lies inside the
    /// scenario's time range. Returns the time of its last packet; `None` when the flow
    /// was dropped or neither end is a device.
    fn push(&mut self, mut spec: FlowSpec) -> Option<u64> {
        // NOTE: each flow is mirrored once, from its client's ENI when the client is a
        // device. AWS mirrors a flow between two monitored ENIs at both ENIs. The
        // sensor drops the second copy as a duplicate, so one copy gives the same
        // flow records.
        spec.mirror = self
            .topology
            .index_of(spec.client)
            .or_else(|| self.topology.index_of(spec.server))?;
        let end = spec.start_ns + estimate_duration(&spec);
        if spec.start_ns < self.start_ns || end >= self.end_ns {
            return None;
        }
        self.flows.push(spec);
        Some(end)
    }
}

/// Estimates a flow's duration from its shape without rendering it: round trips,
/// gaps between rounds, and 30 µs per data segment.
fn estimate_duration(spec: &FlowSpec) -> u64 {
    match &spec.shape {
        Shape::TcpSession {
            rounds,
            request,
            response,
            gap_ns,
        } => {
            let rounds = u64::from((*rounds).max(1));
            let segments = u64::from(request / 1400 + response / 1400 + 2) * rounds;
            (rounds + 3) * spec.rtt_ns + (rounds - 1) * gap_ns + segments * 30_000
        }
        Shape::TcpUnanswered { attempts } => u64::from(*attempts) * 1_000_000_000,
        _ => spec.rtt_ns,
    }
    .min(60 * MINUTE_NS)
}
