//! Operator settings of the XDP program (attach mode, mirror ports,
//! mirror-source allowlist, time stamping) and their checks against the
//! sizes of the program's maps.

use std::fmt;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use sensor_ebpf::{MAX_ALLOWLIST_PREFIXES, MAX_MIRROR_PORTS, PortKind};

use super::XdpError;

/// Default UDP destination port of VXLAN (RFC 7348), used by AWS Traffic Mirroring.
pub const DEFAULT_VXLAN_PORT: u16 = 4789;
/// Default UDP destination port of GENEVE (RFC 8926), used by Gateway Load Balancer.
pub const DEFAULT_GENEVE_PORT: u16 = 6081;

/// Attach mode: the place in the kernel where the XDP program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpMode {
    /// In the NIC driver, before any socket buffer exists (fastest; needs driver support).
    Native,
    /// In the kernel network stack after socket buffer allocation (works on every interface).
    Generic,
}

impl fmt::Display for XdpMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            XdpMode::Native => "native",
            XdpMode::Generic => "generic",
        })
    }
}

/// Configuration written into the program's maps at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdpSettings {
    /// UDP destination ports that carry VXLAN.
    pub vxlan_ports: Vec<u16>,
    /// UDP destination ports that carry GENEVE.
    pub geneve_ports: Vec<u16>,
    /// Allowed outer source prefixes; empty means every source is allowed.
    pub allowlist: Vec<IpNet>,
    /// Write the kernel receive time in front of each redirected frame.
    pub stamp_time: bool,
}

impl Default for XdpSettings {
    fn default() -> Self {
        Self {
            vxlan_ports: vec![DEFAULT_VXLAN_PORT],
            geneve_ports: vec![DEFAULT_GENEVE_PORT],
            allowlist: Vec::new(),
            stamp_time: true,
        }
    }
}

impl XdpSettings {
    /// Returns every mirror port with its kind, without duplicates.
    ///
    /// # Errors
    ///
    /// Port 0, a port given both kinds, or more ports than the map holds.
    pub(crate) fn mirror_ports(&self) -> Result<Vec<(u16, PortKind)>, XdpError> {
        let tagged_vxlan = self.vxlan_ports.iter().map(|&port| (port, PortKind::Vxlan));
        let tagged_geneve = self
            .geneve_ports
            .iter()
            .map(|&port| (port, PortKind::Geneve));

        let mut ports: Vec<(u16, PortKind)> = Vec::new();
        for (port, kind) in tagged_vxlan.chain(tagged_geneve) {
            if port == 0 {
                return Err(XdpError::ZeroPort);
            }
            match ports.iter().find(|(known, _)| *known == port) {
                Some((_, known_kind)) if *known_kind != kind => {
                    return Err(XdpError::PortConflict { port });
                }
                Some(_) => {}
                None => ports.push((port, kind)),
            }
        }

        if ports.len() > MAX_MIRROR_PORTS as usize {
            return Err(XdpError::TooManyPorts {
                count: ports.len(),
                max: MAX_MIRROR_PORTS,
            });
        }
        Ok(ports)
    }

    /// Splits the allowlist by family, with host bits cleared.
    ///
    /// # Errors
    ///
    /// More prefixes of one family than its trie holds.
    pub(crate) fn allowlist_by_family(&self) -> Result<(Vec<Ipv4Net>, Vec<Ipv6Net>), XdpError> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in &self.allowlist {
            match net.trunc() {
                IpNet::V4(net) => v4.push(net),
                IpNet::V6(net) => v6.push(net),
            }
        }

        for (family, count) in [("IPv4", v4.len()), ("IPv6", v6.len())] {
            if count > MAX_ALLOWLIST_PREFIXES as usize {
                return Err(XdpError::TooManyPrefixes {
                    family,
                    count,
                    max: MAX_ALLOWLIST_PREFIXES,
                });
            }
        }
        Ok((v4, v6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vxlan: &[u16], geneve: &[u16]) -> XdpSettings {
        XdpSettings {
            vxlan_ports: vxlan.to_vec(),
            geneve_ports: geneve.to_vec(),
            ..XdpSettings::default()
        }
    }

    #[test]
    fn mirror_ports_default() {
        let ports = XdpSettings::default().mirror_ports().unwrap();
        assert_eq!(
            ports,
            vec![(4789, PortKind::Vxlan), (6081, PortKind::Geneve)]
        );
    }

    #[test]
    fn mirror_ports_duplicate_kept_once() {
        let ports = settings(&[4789, 4789], &[]).mirror_ports().unwrap();
        assert_eq!(ports, vec![(4789, PortKind::Vxlan)]);
    }

    #[test]
    fn mirror_ports_conflict() {
        let error = settings(&[4789], &[4789]).mirror_ports().unwrap_err();
        assert!(matches!(error, XdpError::PortConflict { port: 4789 }));
    }

    #[test]
    fn mirror_ports_zero() {
        let error = settings(&[0], &[]).mirror_ports().unwrap_err();
        assert!(matches!(error, XdpError::ZeroPort));
    }

    #[test]
    fn mirror_ports_too_many() {
        let vxlan: Vec<u16> = (1..=MAX_MIRROR_PORTS as u16 + 1).collect();
        let error = settings(&vxlan, &[]).mirror_ports().unwrap_err();
        assert!(matches!(error, XdpError::TooManyPorts { .. }));
    }

    #[test]
    fn allowlist_split_and_truncated() {
        let settings = XdpSettings {
            allowlist: vec!["10.1.2.3/8".parse().unwrap(), "fd00::1/64".parse().unwrap()],
            ..XdpSettings::default()
        };
        let (v4, v6) = settings.allowlist_by_family().unwrap();
        assert_eq!(v4, vec!["10.0.0.0/8".parse::<Ipv4Net>().unwrap()]);
        assert_eq!(v6, vec!["fd00::/64".parse::<Ipv6Net>().unwrap()]);
    }
}
