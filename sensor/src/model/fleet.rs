//! Fleet-wide rarity: how many devices use each external endpoint (address, port,
//! protocol) as clients, how many devices use each service in each role, and how many
//! devices resolved a name under each registered domain.
//!
//! NOTE: with several model shards each shard counts only its own devices, so rarity
//! is per shard. The sensor runs one shard per process.

use crate::hash::HashMap;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::bounded::make_room_for;
use super::flow_view::Role;

/// Key of a fleet count: an external endpoint or a service in a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetKey {
    /// An external endpoint that devices connect to.
    Endpoint {
        addr: IpAddr,
        port: u16,
        protocol: u8,
    },
    /// A service used in a role.
    Service { protocol: u8, port: u16, role: Role },
    /// A registered domain that devices resolved a name under, by the hash of its name.
    Domain { hash: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetEntry {
    /// Devices whose peer or service table contains this key.
    pub devices: u32,
    pub last_seen_ns: u64,
}

/// Bounded fleet counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    #[serde(with = "super::serde_map")]
    pub entries: HashMap<FleetKey, FleetEntry>,
    /// Entries evicted to stay within the limit.
    pub evicted: u64,
}

impl Fleet {
    /// Devices that use `key`.
    pub fn devices(&self, key: &FleetKey) -> u32 {
        self.entries.get(key).map_or(0, |entry| entry.devices)
    }

    /// Counts one more device for `key`.
    pub fn add(&mut self, key: FleetKey, now_ns: u64, max: usize) {
        let evicted = make_room_for(&mut self.entries, &key, max, |e| e.last_seen_ns);
        self.evicted += evicted.len() as u64;
        let entry = self.entries.entry(key).or_insert(FleetEntry {
            devices: 0,
            last_seen_ns: now_ns,
        });
        entry.devices = entry.devices.saturating_add(1);
        entry.last_seen_ns = entry.last_seen_ns.max(now_ns);
    }

    /// Marks `key` as used now, without counting a new device.
    pub fn refresh(&mut self, key: &FleetKey, now_ns: u64) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.last_seen_ns = entry.last_seen_ns.max(now_ns);
        }
    }

    /// Counts one device less for `key` (the device forgot it); removes it at zero.
    pub fn remove(&mut self, key: &FleetKey) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.devices = entry.devices.saturating_sub(1);
            if entry.devices == 0 {
                self.entries.remove(key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Damping factor for something `others` other devices also do: 1 when no other device
/// does it, 1/2 with one other, 1/3 with two.
pub fn rarity(others: u32) -> f64 {
    1.0 / (1.0 + f64::from(others))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FleetKey {
        FleetKey::Endpoint {
            addr: IpAddr::from([198, 51, 100, 7]),
            port: 443,
            protocol: 6,
        }
    }

    #[test]
    fn add_and_remove_count_devices() {
        let mut fleet = Fleet::default();
        fleet.add(key(), 1, 16);
        fleet.add(key(), 2, 16);
        fleet.remove(&key());
        assert_eq!(fleet.devices(&key()), 1);
        fleet.remove(&key());
        assert_eq!(fleet.len(), 0);
    }

    #[test]
    fn fleet_evicts_when_full() {
        let mut fleet = Fleet::default();
        for port in 0..9u16 {
            let key = FleetKey::Service {
                protocol: 6,
                port,
                role: Role::Server,
            };
            fleet.add(key, u64::from(port), 8);
        }
        assert_eq!(fleet.evicted, 1);
        assert_eq!(fleet.len(), 8);
    }
}
