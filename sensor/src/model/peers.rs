//! The peer table of one device: every (peer, service port, protocol, role) it talked
//! with, with connection counts that decay over time, first and last seen, and bytes.
//! Bounded; the least recently seen peers are evicted first.

use crate::hash::HashMap;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::bounded::make_room_for;
use super::flow_view::Role;

/// Packet time after which a peer's decayed connection count halves: one week.
pub const PEER_HALF_LIFE_NS: u64 = 7 * 24 * 3_600_000_000_000;

/// One edge of a device. For a client edge `port` is the peer's service port; for a
/// server edge it is the device's own service port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PeerKey {
    pub addr: IpAddr,
    pub port: u16,
    pub protocol: u8,
    pub role: Role,
}

/// Traffic statistics of one edge.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerStats {
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
    /// Connections, decaying by half every [`PEER_HALF_LIFE_NS`].
    pub weight: f64,
    pub connections: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
}

/// Bounded peer table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerTable {
    #[serde(with = "super::serde_map")]
    pub peers: HashMap<PeerKey, PeerStats>,
}

impl PeerTable {
    pub fn get(&self, key: &PeerKey) -> Option<&PeerStats> {
        self.peers.get(key)
    }

    /// Adds one flow record's traffic with `key` at `now_ns`. A new peer is inserted,
    /// after evicting the least recently seen when the table already has `max` peers.
    /// Returns the evicted keys.
    pub fn touch(
        &mut self,
        key: PeerKey,
        now_ns: u64,
        opens: bool,
        bytes_out: u64,
        bytes_in: u64,
        max: usize,
    ) -> Vec<PeerKey> {
        let evicted = make_room_for(&mut self.peers, &key, max, |p| p.last_seen_ns);
        let stats = self.peers.entry(key).or_insert(PeerStats {
            first_seen_ns: now_ns,
            last_seen_ns: now_ns,
            weight: 0.0,
            connections: 0,
            bytes_out: 0,
            bytes_in: 0,
        });
        if opens {
            let elapsed = now_ns.saturating_sub(stats.last_seen_ns);
            stats.weight = stats.weight * half_life_decay(elapsed) + 1.0;
            stats.connections = stats.connections.saturating_add(1);
        }
        stats.last_seen_ns = stats.last_seen_ns.max(now_ns);
        stats.bytes_out = stats.bytes_out.saturating_add(bytes_out);
        stats.bytes_in = stats.bytes_in.saturating_add(bytes_in);
        evicted
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.peers.len()
    }
}

/// Factor by which a weight decays over `elapsed_ns` with [`PEER_HALF_LIFE_NS`].
fn half_life_decay(elapsed_ns: u64) -> f64 {
    0.5f64.powf(elapsed_ns as f64 / PEER_HALF_LIFE_NS as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(last_octet: u8) -> PeerKey {
        PeerKey {
            addr: IpAddr::from([203, 0, 113, last_octet]),
            port: 443,
            protocol: 6,
            role: Role::Client,
        }
    }

    #[test]
    fn touch_counts_connections() {
        let mut table = PeerTable::default();
        table.touch(key(1), 10, true, 100, 200, 8);
        table.touch(key(1), 20, false, 50, 0, 8);
        let stats = table.get(&key(1)).unwrap();
        assert_eq!(stats.connections, 1);
        assert_eq!(stats.bytes_out, 150);
        assert_eq!(stats.first_seen_ns, 10);
        assert_eq!(stats.last_seen_ns, 20);
    }

    #[test]
    fn weight_halves_after_half_life() {
        let mut table = PeerTable::default();
        table.touch(key(1), 0, true, 0, 0, 8);
        table.touch(key(1), PEER_HALF_LIFE_NS, true, 0, 0, 8);
        let weight = table.get(&key(1)).unwrap().weight;
        assert!((weight - 1.5).abs() < 1e-9);
    }

    #[test]
    fn table_evicts_least_recent() {
        let mut table = PeerTable::default();
        let mut evicted = Vec::new();
        for i in 0..9u8 {
            evicted.extend(table.touch(key(i), u64::from(i), true, 0, 0, 8));
        }
        assert_eq!(evicted, vec![key(0)]);
        assert_eq!(table.len(), 8);
    }
}
