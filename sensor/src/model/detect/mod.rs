//! Detectors: one module each. A detector reads one flow record as seen by one device
//! (the [`Context`]) and updates its own short-term tracker where it needs one. It
//! returns a [`Finding`] with a score in [0, 1]. It passes the score through the alert
//! gate ([`Context::admit`]) first, which stops findings by the learning period, the
//! minimum score and the cooldown. Only for a finding that becomes an alert does it
//! write the explanation with numbers and collect the flows behind it.

pub mod beaconing;
pub mod brute_force;
pub mod dga;
pub mod dns_tunnelling;
pub mod horizontal_scan;
pub mod lateral_movement;
pub mod new_service;
pub mod outbound_volume;
pub mod rare_endpoint;
pub mod unusual_hours;
pub mod vertical_scan;

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::VecDeque;

use crate::hash::HashMap;
use std::net::IpAddr;

use super::alert::{AlertFlow, MAX_ALERT_FLOWS};
use super::config::ModelConfig;
use super::detector::Detector;
use super::flow_view::{FlowView, Role, Side};
use super::gate::{Gate, Verdict};
use super::peers::{PeerKey, PeerStats};
use super::port_set::DetectorPorts;

/// Short-term trackers kept per device and per tracker map.
pub const MAX_TRACKERS: usize = 256;

const NS_PER_HOUR: f64 = 3_600_000_000_000.0;

/// One flow record as seen by one device, with what the baseline knew before it.
pub struct Context<'a> {
    pub config: &'a ModelConfig,
    /// The port lists of `config`, as sets.
    pub ports: &'a DetectorPorts,
    pub view: &'a FlowView<'a>,
    pub side: Side,
    /// Packet time of the record's end.
    pub now_ns: u64,
    /// The peer is inside the home networks.
    pub peer_home: bool,
    /// The peer is a multicast, broadcast or unspecified address.
    pub peer_group: bool,
    /// The device's edge to the peer, and its statistics before this record (`None`
    /// for a new edge).
    pub edge: PeerKey,
    pub edge_before: Option<PeerStats>,
    /// When the device's learning period ends.
    pub learned_at_ns: u64,
    /// Hours since the device was first seen, at least 1.
    pub hours_known: f64,
    /// The alert gate of the device's findings about this record. A cell, because
    /// the detectors share the context while the gate records alerts in the
    /// cooldown.
    pub gate: RefCell<Gate<'a>>,
}

impl Context<'_> {
    pub fn alert_flow(&self) -> AlertFlow {
        AlertFlow::from_record(self.view.record)
    }

    /// Passes a finding of `detector` with `score` through the alert gate. Returns
    /// the finding's scope when it becomes an alert, and otherwise the stopped
    /// finding, without evidence, for the engine to count. `scope` runs only for
    /// findings at or above the minimum score and past the learning period, because
    /// the cooldown is keyed by it.
    pub fn admit(
        &self,
        detector: Detector,
        score: f64,
        scope: impl FnOnce() -> Scope,
    ) -> Result<Scope, Finding> {
        let screened = self.gate.borrow().screen(detector, score);
        if let Some(verdict) = screened {
            return Err(Finding::stopped(detector, score, verdict));
        }
        let scope = scope();
        let verdict = self
            .gate
            .borrow_mut()
            .cool_down(detector, scope.dedup_key());
        match verdict {
            Verdict::Alert => Ok(scope),
            verdict => Err(Finding::stopped(detector, score, verdict)),
        }
    }
}

/// The endpoint and cooldown scope of a finding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// The peer or `peer:port` concerned, written into the alert.
    pub endpoint: Option<String>,
    /// Cooldown key besides device and detector; the endpoint when `None`.
    pub dedup: Option<String>,
}

impl Scope {
    /// Returns a scope of the endpoint alone.
    pub fn endpoint(endpoint: String) -> Scope {
        Scope {
            endpoint: Some(endpoint),
            dedup: None,
        }
    }

    /// Returns a scope without endpoint, deduplicated by `dedup`.
    pub fn dedup(dedup: impl Into<String>) -> Scope {
        Scope {
            endpoint: None,
            dedup: Some(dedup.into()),
        }
    }

    /// Key that the cooldown uses besides device and detector.
    pub fn dedup_key(&self) -> Option<&str> {
        self.dedup.as_deref().or(self.endpoint.as_deref())
    }
}

/// Result of a detector: the score, the gate's verdict, and for an alert the evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub detector: Detector,
    pub score: f64,
    pub verdict: Verdict,
    /// The peer or `peer:port` concerned, written into the alert.
    pub endpoint: Option<String>,
    /// Empty unless the verdict is [`Verdict::Alert`], as are the flows.
    pub explanation: String,
    pub flows: Vec<AlertFlow>,
}

impl Finding {
    /// Returns a finding that becomes an alert.
    pub fn alert(
        detector: Detector,
        score: f64,
        scope: Scope,
        explanation: String,
        flows: Vec<AlertFlow>,
    ) -> Finding {
        Finding {
            detector,
            score,
            verdict: Verdict::Alert,
            endpoint: scope.endpoint,
            explanation,
            flows,
        }
    }

    /// Returns a finding that the gate stopped, without evidence.
    pub fn stopped(detector: Detector, score: f64, verdict: Verdict) -> Finding {
        Finding {
            detector,
            score,
            verdict,
            endpoint: None,
            explanation: String::new(),
            flows: Vec::new(),
        }
    }
}

/// The last [`MAX_ALERT_FLOWS`] flows of a tracker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowRing {
    pub flows: VecDeque<AlertFlow>,
}

impl FlowRing {
    pub fn push(&mut self, flow: AlertFlow) {
        if self.flows.len() >= MAX_ALERT_FLOWS {
            self.flows.pop_front();
        } else if self.flows.capacity() == 0 {
            // One allocation of the final size, where growing one flow at a time
            // would allocate three times and end with room for 16.
            self.flows.reserve_exact(MAX_ALERT_FLOWS);
        }
        self.flows.push_back(flow);
    }

    /// Removes every flow, keeping the capacity.
    pub fn clear(&mut self) {
        self.flows.clear();
    }

    pub fn to_vec(&self) -> Vec<AlertFlow> {
        self.flows.iter().cloned().collect()
    }
}

/// Short-term trackers of one device, each map bounded at [`MAX_TRACKERS`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trackers {
    /// Ports tried between the device and one peer, per (peer, device's role).
    #[serde(with = "super::serde_map")]
    pub vertical: HashMap<(IpAddr, Role), vertical_scan::PortSweep>,
    /// Hosts the device tried on one (protocol, port).
    #[serde(with = "super::serde_map")]
    pub horizontal: HashMap<(u8, u16), horizontal_scan::HostSweep>,
    /// Sessions between the device and one peer on one authentication port.
    #[serde(with = "super::serde_map")]
    pub brute_force: HashMap<(IpAddr, u16, Role), brute_force::AuthAttempts>,
    /// Connection times to one external endpoint (address, port, protocol).
    #[serde(with = "super::serde_map")]
    pub beacons: HashMap<(IpAddr, u16, u8), beaconing::BeaconSeries>,
    /// DNS queries of the device under one registered domain.
    #[serde(default, with = "super::serde_map")]
    pub dns_names: HashMap<String, dns_tunnelling::NameBurst>,
    /// Random-looking NXDOMAIN answers of the device.
    #[serde(default)]
    pub nx_burst: Option<dga::NxBurst>,
}

impl Trackers {
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.vertical.is_empty()
            && self.horizontal.is_empty()
            && self.brute_force.is_empty()
            && self.beacons.is_empty()
            && self.dns_names.is_empty()
            && self.nx_burst.is_none()
    }
}

/// 1 − e^(−x/scale): 0 at 0, 0.63 at `scale`, approaching 1.
pub fn saturate(x: f64, scale: f64) -> f64 {
    if scale <= 0.0 {
        return 1.0;
    }
    1.0 - (-x.max(0.0) / scale).exp()
}

/// Events per hour of `count` events in `hours` hours.
pub fn hourly_rate(count: u32, hours: f64) -> f64 {
    f64::from(count) / hours.max(1.0)
}

/// Hours between two packet times.
pub fn hours_between(from_ns: u64, to_ns: u64) -> f64 {
    to_ns.saturating_sub(from_ns) as f64 / NS_PER_HOUR
}

/// Human-readable byte count: "12.3 MB".
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Human-readable duration from seconds: "42 s", "7.5 min", "3.2 h".
pub fn format_secs(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// "1 device", "2 devices": a count with its noun, for explanations.
pub fn count_of(count: u32, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Protocol name for explanations.
pub fn protocol_name(protocol: u8) -> String {
    match protocol {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        other => format!("ip-proto-{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_bytes_units() {
        assert_eq!(format_bytes(999.0), "999 B");
        assert_eq!(format_bytes(12_345_678.0), "12.3 MB");
    }

    #[test]
    fn count_of_plural() {
        assert_eq!(count_of(1, "device"), "1 device");
        assert_eq!(count_of(0, "device"), "0 devices");
    }

    #[test]
    fn saturate_shape() {
        assert_eq!(saturate(0.0, 5.0), 0.0);
        assert!((saturate(5.0, 5.0) - 0.632).abs() < 0.001);
    }
}
