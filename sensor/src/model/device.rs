//! The profile of one device (a home-network address in one VNI): its peers, services,
//! hour-of-week profile, volume statistics, DNS baseline, how often it does something
//! new, and the short-term trackers of the detectors.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::alert::{AlertFlow, MAX_ALERT_FLOWS};
use super::detect::Trackers;
use super::dns_profile::DnsProfile;
use super::hours::HourProfile;
use super::peers::PeerTable;
use super::services::ServiceTable;
use super::volume::VolumeStats;

/// A device: an address in one VNI scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceKey {
    pub vni: u32,
    pub addr: IpAddr,
}

/// Counts of first-time events since the device was first seen; divided by the hours
/// known they give the rates that calibrate the novelty detectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Novelty {
    /// First contacts with external endpoints that no other device used at the time.
    pub rare_contacts: u32,
    /// New internal edges on administration ports.
    pub admin_edges: u32,
    /// Services used or served for the first time.
    pub services: u32,
}

/// Learned profile of one device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
    pub peers: PeerTable,
    pub services: ServiceTable,
    pub hours: HourProfile,
    pub volume: VolumeStats,
    pub novelty: Novelty,
    pub trackers: Trackers,
    /// The current volume window's largest flows to external peers, with the bytes
    /// the device sent in each.
    pub window_flows: Vec<(u64, AlertFlow)>,
    /// DNS baseline of the DNS tunnelling and DGA detectors; empty in a state saved
    /// before it existed.
    #[serde(default)]
    pub dns: DnsProfile,
}

impl Device {
    /// Creates the profile of a device first seen at `now_ns`.
    pub fn new(now_ns: u64, window_ns: u64) -> Self {
        Device {
            first_seen_ns: now_ns,
            last_seen_ns: now_ns,
            peers: PeerTable::default(),
            services: ServiceTable::default(),
            hours: HourProfile::starting_at(now_ns),
            volume: VolumeStats::starting_at(now_ns, window_ns),
            novelty: Novelty::default(),
            trackers: Trackers::default(),
            window_flows: Vec::new(),
            dns: DnsProfile::default(),
        }
    }

    /// When the device's learning period ends.
    pub fn learned_at(&self, learning_ns: u64) -> u64 {
        self.first_seen_ns.saturating_add(learning_ns)
    }

    /// Hours since the device was first seen, at least 1.
    pub fn hours_known(&self, now_ns: u64) -> f64 {
        super::detect::hours_between(self.first_seen_ns, now_ns).max(1.0)
    }

    /// Closes the hours and volume windows that ended before `now_ns`. Volume
    /// statistics learned with another window length (a restored state after the
    /// setting changed) start over, because their means are per window.
    pub fn roll_to(&mut self, now_ns: u64, window_ns: u64) {
        self.hours.roll_to(now_ns);
        if self.volume.window_ns != window_ns.max(1) {
            self.volume = VolumeStats::starting_at(now_ns, window_ns);
            self.window_flows.clear();
        }
        let window = now_ns / window_ns.max(1);
        if window > self.volume.window {
            self.volume.roll_to(window);
            self.window_flows.clear();
        }
        self.last_seen_ns = self.last_seen_ns.max(now_ns);
    }

    /// Keeps `flow` if it is among the window's [`MAX_ALERT_FLOWS`] largest by the
    /// bytes the device sent in it (`bytes_out`).
    pub fn keep_window_flow(&mut self, bytes_out: u64, flow: AlertFlow) {
        if self.window_flows.len() < MAX_ALERT_FLOWS {
            self.window_flows.push((bytes_out, flow));
            return;
        }
        let smallest = self.window_flows.iter_mut().min_by_key(|(bytes, _)| *bytes);
        if let Some(smallest) = smallest
            && smallest.0 < bytes_out
        {
            *smallest = (bytes_out, flow);
        }
    }

    /// Checks the invariants that a restored state must hold; returns the broken one.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !self.hours.is_valid() {
            return Err("hour-of-week profile needs 168 finite, non-negative bins");
        }
        if !self.volume.is_valid() {
            return Err("volume statistics are not finite");
        }
        if self.peers.peers.values().any(|p| !p.weight.is_finite()) {
            return Err("a peer weight is not finite");
        }
        if !self.dns.is_valid() {
            return Err("DNS statistics are not finite");
        }
        if self.first_seen_ns > self.last_seen_ns {
            return Err("first seen is after last seen");
        }
        Ok(())
    }
}
