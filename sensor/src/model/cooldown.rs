//! Alert deduplication: at most one alert per (device, detector, endpoint or scope)
//! within the cooldown.

use crate::hash::HashMap;
use serde::{Deserialize, Serialize};

use super::bounded::make_room;
use super::detector::Detector;
use super::device::DeviceKey;

/// Cooldown entries kept; beyond it the oldest are forgotten (and could alert again).
pub const MAX_COOLDOWN_ENTRIES: usize = 65_536;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CooldownKey {
    pub device: DeviceKey,
    pub detector: Detector,
    /// Endpoint, or another scope the detector chose; `None` for one per device.
    pub scope: Option<String>,
}

/// Time of the last alert per key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cooldown {
    #[serde(with = "super::serde_map")]
    pub last_alert_ns: HashMap<CooldownKey, u64>,
}

impl Cooldown {
    /// Whether an alert for `key` may go out at `now_ns`; records it when it may.
    pub fn allow(&mut self, key: CooldownKey, now_ns: u64, cooldown_ns: u64) -> bool {
        if let Some(&last) = self.last_alert_ns.get(&key) {
            if now_ns < last.saturating_add(cooldown_ns) {
                return false;
            }
        } else if self.last_alert_ns.len() >= MAX_COOLDOWN_ENTRIES {
            self.prune(now_ns, cooldown_ns);
            make_room(&mut self.last_alert_ns, MAX_COOLDOWN_ENTRIES, |t| *t);
        }
        self.last_alert_ns.insert(key, now_ns);
        true
    }

    /// Forgets keys whose cooldown has passed.
    pub fn prune(&mut self, now_ns: u64, cooldown_ns: u64) {
        self.last_alert_ns
            .retain(|_, last| now_ns < last.saturating_add(cooldown_ns));
    }

    pub fn len(&self) -> usize {
        self.last_alert_ns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CooldownKey {
        CooldownKey {
            device: DeviceKey {
                vni: 1,
                addr: "10.0.0.1".parse().unwrap(),
            },
            detector: Detector::RareEndpoint,
            scope: Some("203.0.113.9:443".into()),
        }
    }

    #[test]
    fn cooldown_blocks_repeat() {
        let mut cooldown = Cooldown::default();
        assert!(cooldown.allow(key(), 100, 50));
        assert!(!cooldown.allow(key(), 149, 50));
    }

    #[test]
    fn cooldown_allows_after_expiry() {
        let mut cooldown = Cooldown::default();
        assert!(cooldown.allow(key(), 100, 50));
        assert!(cooldown.allow(key(), 150, 50));
    }

    #[test]
    fn prune_forgets_expired() {
        let mut cooldown = Cooldown::default();
        cooldown.allow(key(), 100, 50);
        cooldown.prune(200, 50);
        assert_eq!(cooldown.len(), 0);
    }
}
