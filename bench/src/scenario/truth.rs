//! The ground-truth file of a scenario: time range, learning period, devices, injected
//! attacks with the detectors that count as detecting them, and the benign events
//! that a naive detector could take for attacks.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::attacks::Attack;
use super::benign::NoiseEvent;

/// Version of the truth file format.
pub const TRUTH_SCHEMA_VERSION: u32 = 1;

/// Ground truth of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub seed: u64,
    pub vni: u32,
    /// First and last instant of packet time, in ns since the Unix epoch.
    pub start_ns: u64,
    pub end_ns: u64,
    pub learning_period_hours: u64,
    /// Monitored devices as (address, role name).
    pub devices: Vec<(Ipv4Addr, &'static str)>,
    pub attacks: Vec<Attack>,
    pub noise: Vec<NoiseEvent>,
}

impl Truth {
    /// Returns the truth as the JSON object that `cargo xtask eval` reads.
    pub fn to_json(&self) -> Value {
        let devices: Vec<Value> = self
            .devices
            .iter()
            .map(|(addr, role)| json!({"addr": addr.to_string(), "role": role}))
            .collect();
        let attacks: Vec<Value> = self
            .attacks
            .iter()
            .map(|attack| {
                json!({
                    "kind": attack.kind,
                    "device": attack.device.to_string(),
                    "start_ns": attack.start_ns,
                    "end_ns": attack.end_ns,
                    "detectors": attack.detectors,
                    "related_detectors": attack.related_detectors,
                    "related_devices": attack
                        .related_devices
                        .iter()
                        .map(Ipv4Addr::to_string)
                        .collect::<Vec<String>>(),
                    "description": attack.description,
                })
            })
            .collect();
        let noise: Vec<Value> = self
            .noise
            .iter()
            .map(|event| {
                let devices: Vec<String> = event.devices.iter().map(Ipv4Addr::to_string).collect();
                json!({
                    "kind": event.kind,
                    "time_ns": event.time_ns,
                    "devices": devices,
                    "description": event.description,
                })
            })
            .collect();
        json!({
            "schema_version": TRUTH_SCHEMA_VERSION,
            "seed": self.seed,
            "vni": self.vni,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "learning_period_hours": self.learning_period_hours,
            "devices": devices,
            "attacks": attacks,
            "benign_events": noise,
        })
    }
}
