//! The services of one device: each (protocol, port) it used as a client or served as
//! a server, with first and last seen and a connection count. Bounded; the least
//! recently used services are evicted first.

use crate::hash::HashMap;
use serde::{Deserialize, Serialize};

use super::bounded::make_room_for;
use super::flow_view::Role;

/// Services kept per device.
pub const MAX_SERVICES_PER_DEVICE: usize = 1024;

/// A service in one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceKey {
    pub protocol: u8,
    pub port: u16,
    pub role: Role,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStats {
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
    pub connections: u64,
}

/// Bounded service set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceTable {
    #[serde(with = "super::serde_map")]
    pub services: HashMap<ServiceKey, ServiceStats>,
}

impl ServiceTable {
    pub fn contains(&self, key: &ServiceKey) -> bool {
        self.services.contains_key(key)
    }

    /// Records one connection of `key`; returns the services evicted to make room.
    pub fn touch(&mut self, key: ServiceKey, now_ns: u64) -> Vec<ServiceKey> {
        let evicted = make_room_for(&mut self.services, &key, MAX_SERVICES_PER_DEVICE, |s| {
            s.last_seen_ns
        });
        let stats = self.services.entry(key).or_insert(ServiceStats {
            first_seen_ns: now_ns,
            last_seen_ns: now_ns,
            connections: 0,
        });
        stats.last_seen_ns = stats.last_seen_ns.max(now_ns);
        stats.connections = stats.connections.saturating_add(1);
        evicted
    }
}
