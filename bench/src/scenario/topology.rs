//! The simulated network: monitored devices with their roles and addresses, the mirror
//! source (ENI) of each, and the fixed external endpoints that benign traffic uses.
//!
//! Devices live in 10.0.0.0/16. External endpoints come from ranges that never reach a
//! real network: the documentation ranges 192.0.2.0/24, 198.51.100.0/24 and
//! 203.0.113.0/24, and the benchmarking range 198.18.0.0/15 for web clients.

use std::net::Ipv4Addr;

/// Smallest fleet that has every role the attacks need (three workstations among them).
pub const MIN_DEVICES: usize = 12;
/// Largest fleet: workstation addresses run from 10.0.10.10 upwards within one /24.
pub const MAX_DEVICES: usize = 200;

/// Address of the mirror target (the sensor) in every outer header.
pub const COLLECTOR_ADDR: Ipv4Addr = Ipv4Addr::new(172, 31, 200, 10);
pub const COLLECTOR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
/// MAC of the VPC router: the inner MAC of every peer that is not the mirrored device.
pub const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// Upstream resolvers that the internal resolver forwards cache misses to.
pub const DNS_UPSTREAMS: [Ipv4Addr; 2] = [
    Ipv4Addr::new(198, 51, 100, 53),
    Ipv4Addr::new(198, 51, 100, 54),
];
pub const NTP_SERVERS: [Ipv4Addr; 2] =
    [Ipv4Addr::new(192, 0, 2, 123), Ipv4Addr::new(192, 0, 2, 124)];
/// Package mirrors that servers update from each night, over HTTPS.
pub const PACKAGE_MIRRORS: [Ipv4Addr; 4] = [
    Ipv4Addr::new(203, 0, 113, 10),
    Ipv4Addr::new(203, 0, 113, 11),
    Ipv4Addr::new(203, 0, 113, 12),
    Ipv4Addr::new(203, 0, 113, 13),
];
/// External API that the application servers call (a payment provider, say).
pub const PARTNER_API: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 80);
/// Popular SaaS endpoints that workstations browse, most popular first.
pub const SAAS_COUNT: u8 = 20;
/// Web clients on the internet come from this many addresses of 198.18.0.0/15.
pub const WEB_CLIENT_POOL: u32 = 4000;

/// TCP ports of the services.
pub const PORT_HTTPS: u16 = 443;
pub const PORT_APP: u16 = 8080;
pub const PORT_POSTGRES: u16 = 5432;
pub const PORT_MYSQL: u16 = 3306;
pub const PORT_SSH: u16 = 22;
pub const PORT_RSYNC: u16 = 873;
pub const PORT_DNS: u16 = 53;
pub const PORT_NTP: u16 = 123;

/// Role of a device on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The internal DNS resolver, forwarding cache misses upstream.
    Resolver,
    /// Receives every server's nightly backup over rsync.
    Backup,
    /// The bastion that administrators SSH from; always on.
    Admin,
    /// Serves HTTPS to the internet and calls the application servers.
    Web,
    /// Application server: called by web servers, queries the databases.
    App,
    /// Database: PostgreSQL or MySQL, queried only by application servers.
    Database,
    /// A desktop that browses SaaS endpoints in working hours and sleeps at night.
    Workstation,
}

impl Role {
    /// Name of the role in the truth file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Resolver => "dns",
            Role::Backup => "backup",
            Role::Admin => "admin",
            Role::Web => "web",
            Role::App => "app",
            Role::Database => "db",
            Role::Workstation => "workstation",
        }
    }

    /// Returns whether the device runs day and night (everything except workstations).
    pub fn always_on(self) -> bool {
        self != Role::Workstation
    }

    /// Returns whether the device is a server that administrators reach over SSH and that
    /// backs up and updates each night.
    pub fn is_server(self) -> bool {
        !matches!(self, Role::Workstation | Role::Admin)
    }
}

/// Roles of the first devices; larger fleets cycle through [`EXTRA_ROLES`].
const BASE_ROLES: [Role; MIN_DEVICES] = [
    Role::Resolver,
    Role::Backup,
    Role::Admin,
    Role::Web,
    Role::Web,
    Role::App,
    Role::App,
    Role::Database,
    Role::Database,
    Role::Workstation,
    Role::Workstation,
    Role::Workstation,
];
const EXTRA_ROLES: [Role; 4] = [Role::Workstation, Role::Web, Role::Workstation, Role::App];

/// One monitored device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub addr: Ipv4Addr,
    pub role: Role,
    /// Rank of the device within its role, from 0.
    pub rank: usize,
    /// Address of the device's ENI, the outer source of its mirrored frames.
    pub mirror_src: Ipv4Addr,
    /// MAC of the device, and outer source MAC of its mirrored frames.
    pub mac: [u8; 6],
}

impl Device {
    /// Service port of a database: PostgreSQL on even ranks, MySQL on odd ones.
    pub fn database_port(&self) -> u16 {
        if self.rank.is_multiple_of(2) {
            PORT_POSTGRES
        } else {
            PORT_MYSQL
        }
    }
}

/// The fleet of monitored devices.
#[derive(Debug, Clone)]
pub struct Topology {
    pub devices: Vec<Device>,
}

impl Topology {
    /// Builds a fleet of `count` devices, clamped to [`MIN_DEVICES`]..=[`MAX_DEVICES`].
    pub fn new(count: usize) -> Topology {
        let count = count.clamp(MIN_DEVICES, MAX_DEVICES);
        let mut devices: Vec<Device> = Vec::with_capacity(count);
        for index in 0..count {
            let role = BASE_ROLES
                .get(index)
                .copied()
                .unwrap_or_else(|| EXTRA_ROLES[(index - MIN_DEVICES) % EXTRA_ROLES.len()]);
            let rank = devices.iter().filter(|d| d.role == role).count();
            let addr = device_addr(role, rank);
            let [_, _, c, d] = addr.octets();
            devices.push(Device {
                addr,
                role,
                rank,
                mirror_src: Ipv4Addr::new(
                    172,
                    31,
                    1 + (index / 200) as u8,
                    10 + (index % 200) as u8,
                ),
                mac: [0x02, 0, 0x0a, 0, c, d],
            });
        }
        Topology { devices }
    }

    /// Indices of the devices with `role`, in rank order.
    pub fn with_role(&self, role: Role) -> Vec<usize> {
        (0..self.devices.len())
            .filter(|&i| self.devices[i].role == role)
            .collect()
    }

    /// Indices of the servers (see [`Role::is_server`]).
    pub fn servers(&self) -> Vec<usize> {
        (0..self.devices.len())
            .filter(|&i| self.devices[i].role.is_server())
            .collect()
    }

    /// Index of the device with this address.
    pub fn index_of(&self, addr: Ipv4Addr) -> Option<usize> {
        self.devices.iter().position(|d| d.addr == addr)
    }

    /// Address of the internal resolver.
    pub fn resolver(&self) -> Ipv4Addr {
        self.devices[0].addr
    }
}

/// Returns the address of the `rank`-th device of `role`: one /24 per role.
fn device_addr(role: Role, rank: usize) -> Ipv4Addr {
    let host = |base: usize| (base + rank).min(254) as u8;
    match role {
        Role::Resolver => Ipv4Addr::new(10, 0, 0, 2),
        Role::Backup => Ipv4Addr::new(10, 0, 0, host(20)),
        Role::Admin => Ipv4Addr::new(10, 0, 0, host(30)),
        Role::Web => Ipv4Addr::new(10, 0, 1, host(10)),
        Role::App => Ipv4Addr::new(10, 0, 2, host(10)),
        Role::Database => Ipv4Addr::new(10, 0, 3, host(10)),
        Role::Workstation => Ipv4Addr::new(10, 0, 10, host(10)),
    }
}

/// Address of the `index`-th popular SaaS endpoint (203.0.113.100 upwards).
pub fn saas_endpoint(index: u8) -> Ipv4Addr {
    Ipv4Addr::new(203, 0, 113, 100 + index)
}

/// Address of the `index`-th web client on the internet, in 198.18.0.0/15.
pub fn web_client(index: u32) -> Ipv4Addr {
    let host = 0xc612_0000 + 256 + index % (WEB_CLIENT_POOL);
    Ipv4Addr::from(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_default_roles() {
        let topology = Topology::new(14);
        assert_eq!(topology.devices.len(), 14);
        assert_eq!(topology.with_role(Role::Workstation).len(), 4);
        assert_eq!(topology.with_role(Role::Web).len(), 3);
    }

    #[test]
    fn topology_addresses_unique() {
        let topology = Topology::new(MAX_DEVICES);
        let mut addrs: Vec<Ipv4Addr> = topology.devices.iter().map(|d| d.addr).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), MAX_DEVICES);
    }

    #[test]
    fn topology_clamps_count() {
        assert_eq!(Topology::new(3).devices.len(), MIN_DEVICES);
    }

    #[test]
    fn web_client_in_benchmark_range() {
        let addr = web_client(WEB_CLIENT_POOL - 1);
        assert_eq!(addr.octets()[0], 198);
        assert!(addr.octets()[1] == 18 || addr.octets()[1] == 19);
    }
}
