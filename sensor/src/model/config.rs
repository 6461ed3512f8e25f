//! Model configuration: home networks, learning period, cooldown, memory limits, the
//! port lists of the scan, brute-force and lateral-movement detectors, and the minimum
//! evidence each detector needs before it scores.

use ipnet::IpNet;

use crate::app::passive_dns::PassiveDnsConfig;
use std::net::IpAddr;
use std::time::Duration;

/// Ports of remote administration services, for lateral movement: SSH, Telnet, MS RPC,
/// NetBIOS session, SMB, RDP, WinRM (HTTP and HTTPS) and VNC.
pub const DEFAULT_ADMIN_PORTS: [u16; 9] = [22, 23, 135, 139, 445, 3389, 5985, 5986, 5900];

/// Ports of services that authenticate clients, for brute force: SSH, FTP, Telnet, RDP,
/// VNC, LDAP and LDAPS, MS SQL, MySQL, PostgreSQL, POP3, IMAP, IMAPS, POP3S, SMTP and
/// SMTP submission.
pub const DEFAULT_AUTH_PORTS: [u16; 16] = [
    22, 21, 23, 3389, 5900, 389, 636, 1433, 3306, 5432, 110, 143, 993, 995, 25, 587,
];

/// Home networks by default: RFC 1918, the RFC 6598 shared address space and RFC 4193
/// unique local addresses.
pub const DEFAULT_HOME_NETS: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// Configuration of the model. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// Addresses inside these networks are devices; every other address is external.
    pub home_nets: Vec<IpNet>,
    /// Packet time from a device's first flow during which baseline-relative detectors
    /// learn without alerting.
    pub learning_period: Duration,
    /// Minimum time between two alerts with the same device, detector and endpoint.
    pub alert_cooldown: Duration,
    /// Maximum devices tracked; the least recently seen are evicted beyond it.
    pub max_devices: usize,
    /// Maximum peers per device; the least recently seen are evicted beyond it.
    pub max_peers_per_device: usize,
    /// Maximum fleet-wide endpoint and service entries (rarity counts).
    pub max_fleet_entries: usize,
    /// Length of the per-device volume windows (epoch-aligned).
    pub volume_window: Duration,
    /// Ports whose new internal edges count as lateral movement.
    pub admin_ports: Vec<u16>,
    /// Ports of authenticating services, watched for brute force.
    pub auth_ports: Vec<u16>,
    /// Findings scoring below this are not emitted.
    pub min_alert_score: f64,
    /// Minimum evidence and scales of the detectors.
    pub detectors: DetectorConfig,
    /// Bounds of each device's passive DNS map, which names alert endpoints.
    pub passive_dns: PassiveDnsConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            home_nets: default_home_nets(),
            learning_period: Duration::from_secs(24 * 3600),
            alert_cooldown: Duration::from_secs(3600),
            max_devices: 65_536,
            max_peers_per_device: 4096,
            max_fleet_entries: 262_144,
            volume_window: Duration::from_secs(600),
            admin_ports: DEFAULT_ADMIN_PORTS.to_vec(),
            auth_ports: DEFAULT_AUTH_PORTS.to_vec(),
            min_alert_score: 0.6,
            detectors: DetectorConfig::default(),
            passive_dns: PassiveDnsConfig {
                max_addresses: 256,
                max_names_per_address: 2,
                ..PassiveDnsConfig::default()
            },
        }
    }
}

impl ModelConfig {
    /// Whether `addr` is inside a home network.
    pub fn is_home(&self, addr: IpAddr) -> bool {
        self.home_nets.iter().any(|net| net.contains(&addr))
    }

    pub(crate) fn learning_ns(&self) -> u64 {
        duration_ns(self.learning_period)
    }

    pub(crate) fn cooldown_ns(&self) -> u64 {
        duration_ns(self.alert_cooldown)
    }

    /// Volume window in ns, at least one second so window indices stay finite.
    pub(crate) fn window_ns(&self) -> u64 {
        duration_ns(self.volume_window).max(1_000_000_000)
    }
}

/// Minimum evidence and scales of the detectors. Scans and brute force alert during the
/// learning period too, so their minimum counts are fixed numbers. The other detectors
/// scale their scores by what the device's baseline has seen.
#[derive(Clone, Debug)]
pub struct DetectorConfig {
    /// Window over which scan and brute-force attempts accumulate.
    pub attempt_window: Duration,
    /// Distinct ports on one host before a vertical scan scores.
    pub vertical_scan_min_ports: u32,
    /// Distinct hosts on one port before a horizontal scan scores.
    pub horizontal_scan_min_hosts: u32,
    /// Minimum fraction of failed attempts (no answer, or refused) for a scan.
    pub scan_min_failure_ratio: f64,
    /// Short or failed sessions from one source to one service before brute force scores.
    pub brute_force_min_attempts: u32,
    /// Sessions shorter than this count as short for brute force.
    pub brute_force_short_session: Duration,
    /// Connections to one endpoint before beaconing scores (6 or more gives 5 or more
    /// intervals).
    pub beacon_min_connections: u32,
    /// Coefficient of variation of inter-arrival times above which a series is not
    /// regular.
    pub beacon_max_interval_cv: f64,
    /// Shortest and longest mean interval considered a beacon.
    pub beacon_min_interval: Duration,
    pub beacon_max_interval: Duration,
    /// External bytes out in one window below which outbound volume never scores.
    pub outbound_min_bytes: u64,
    /// Connections in one hour below which unusual hours never scores.
    pub unusual_hours_min_connections: u32,
    /// Window over which the DNS tunnelling and DGA detectors count names.
    pub dns_window: Duration,
    /// Distinct names under one registered domain in the DNS window before DNS
    /// tunnelling scores, above twice the device's past peak for that domain.
    pub dns_tunnel_min_names: u32,
    /// Distinct random-looking NXDOMAIN domains in the DNS window before DGA scores,
    /// above the device's past peak.
    pub dga_min_domains: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            attempt_window: Duration::from_secs(600),
            vertical_scan_min_ports: 12,
            horizontal_scan_min_hosts: 12,
            scan_min_failure_ratio: 0.6,
            brute_force_min_attempts: 15,
            brute_force_short_session: Duration::from_secs(30),
            beacon_min_connections: 7,
            beacon_max_interval_cv: 0.5,
            beacon_min_interval: Duration::from_secs(2),
            beacon_max_interval: Duration::from_secs(6 * 3600),
            outbound_min_bytes: 1_000_000,
            unusual_hours_min_connections: 6,
            dns_window: Duration::from_secs(600),
            dns_tunnel_min_names: 40,
            dga_min_domains: 8,
        }
    }
}

/// Parses the default home networks.
pub fn default_home_nets() -> Vec<IpNet> {
    DEFAULT_HOME_NETS
        .iter()
        .filter_map(|text| text.parse().ok())
        .collect()
}

/// Converts a duration to ns, saturating at `u64::MAX`.
pub(crate) fn duration_ns(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_home_nets_parse() {
        assert_eq!(default_home_nets().len(), DEFAULT_HOME_NETS.len());
    }

    #[test]
    fn is_home_cases() {
        let config = ModelConfig::default();
        let cases = [
            ("10.1.2.3", true),
            ("172.31.0.1", true),
            ("172.32.0.1", false),
            ("192.168.1.1", true),
            ("100.64.0.1", true),
            ("8.8.8.8", false),
            ("fd00::1", true),
            ("2001:db8::1", false),
        ];
        for (addr, home) in cases {
            assert_eq!(config.is_home(addr.parse().unwrap()), home, "{addr}");
        }
    }
}
