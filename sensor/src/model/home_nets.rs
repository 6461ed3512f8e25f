//! The home networks as masked integers, for the membership test that the model makes
//! several times per flow record. Each test is one mask and compare per network of
//! the address's family, where `IpNet::contains` compares against the network and
//! broadcast addresses through the generic address types.

use ipnet::IpNet;
use std::net::IpAddr;

/// The home networks of a model, split by address family.
#[derive(Clone, Debug, Default)]
pub struct HomeNets {
    /// (network address, netmask) of each IPv4 network.
    v4: Vec<(u32, u32)>,
    /// (network address, netmask) of each IPv6 network.
    v6: Vec<(u128, u128)>,
}

impl HomeNets {
    pub fn new(nets: &[IpNet]) -> HomeNets {
        let mut home = HomeNets::default();
        for net in nets {
            match net {
                IpNet::V4(net) => home
                    .v4
                    .push((u32::from(net.network()), u32::from(net.netmask()))),
                IpNet::V6(net) => home
                    .v6
                    .push((u128::from(net.network()), u128::from(net.netmask()))),
            }
        }
        home
    }

    /// Returns whether `addr` is inside one of the networks. An IPv4 address is never inside
    /// an IPv6 network (not even as `::ffff:a.b.c.d`), as with `IpNet::contains`.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(addr) => {
                let addr = u32::from(addr);
                self.v4.iter().any(|&(net, mask)| addr & mask == net)
            }
            IpAddr::V6(addr) => {
                let addr = u128::from(addr);
                self.v6.iter().any(|&(net, mask)| addr & mask == net)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_matches_ipnet() {
        let nets: Vec<IpNet> = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.1.128/25",
            "198.51.100.7/32",
            "fc00::/7",
            "2001:db8::1/128",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        let addrs = [
            "10.0.0.0",
            "10.255.255.255",
            "11.0.0.0",
            "9.255.255.255",
            "172.15.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "172.32.0.0",
            "192.168.1.127",
            "192.168.1.128",
            "192.168.1.255",
            "198.51.100.7",
            "198.51.100.8",
            "0.0.0.0",
            "255.255.255.255",
            "fbff:ffff::1",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe00::",
            "2001:db8::1",
            "2001:db8::2",
            "::ffff:10.0.0.1",
            "::",
        ];
        let home = HomeNets::new(&nets);
        for text in addrs {
            let addr: IpAddr = text.parse().unwrap();
            let expected = nets.iter().any(|net| net.contains(&addr));
            assert_eq!(home.contains(addr), expected, "{text}");
        }
    }

    #[test]
    fn zero_prefix_contains_family() {
        let nets: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap()];
        let home = HomeNets::new(&nets);
        assert!(home.contains("203.0.113.1".parse().unwrap()));
        assert!(!home.contains("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn empty_contains_nothing() {
        let home = HomeNets::new(&[]);
        assert!(!home.contains("10.0.0.1".parse().unwrap()));
        assert!(!home.contains("fd00::1".parse().unwrap()));
    }
}
