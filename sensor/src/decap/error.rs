//! Rejection reasons of the decoder. Each reason has a counter and a Prometheus label.

/// The reason the decoder rejected a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DecapError {
    #[error("link type is not ethernet, raw ip, ipv4 or ipv6")]
    UnsupportedLinkType,
    #[error("outer ethernet header truncated")]
    OuterEthernetShort,
    #[error("more than 2 vlan tags")]
    VlanTooDeep,
    #[error("outer ethertype is not ipv4 or ipv6")]
    OuterNotIp,
    #[error("outer ip header truncated")]
    OuterIpShort,
    #[error("outer ip header invalid (version, header length or total length)")]
    OuterIpInvalid,
    #[error("outer ip packet is a non-first fragment")]
    OuterFragment,
    #[error("too many ipv6 extension headers")]
    Ipv6TooManyExtensions,
    #[error("outer ip protocol is not udp")]
    OuterNotUdp,
    #[error("outer udp header truncated")]
    OuterUdpShort,
    #[error("udp destination port is not a configured vxlan or geneve port")]
    NotMirrorPort,
    #[error("vxlan header truncated")]
    VxlanShort,
    #[error("vxlan i flag clear (no valid vni)")]
    VxlanNoVni,
    #[error("geneve header or options truncated")]
    GeneveShort,
    #[error("geneve version is not 0")]
    GeneveVersion,
    #[error("geneve control (oam) packet")]
    GeneveControl,
    #[error("geneve protocol type is not ethernet, ipv4 or ipv6")]
    GeneveProtocol,
    #[error("inner ethernet header truncated")]
    InnerEthernetShort,
    #[error("inner ethertype is not ipv4 or ipv6")]
    InnerNotIp,
    #[error("inner ip header truncated")]
    InnerIpShort,
    #[error("inner ip header invalid (version, header length or total length)")]
    InnerIpInvalid,
    #[error("inner l4 header truncated before the ports or icmp identifier")]
    InnerL4Short,
    #[error("inner tcp data offset below 5 words")]
    InnerTcpInvalid,
}

impl DecapError {
    /// Number of reasons.
    pub const COUNT: usize = 23;

    /// Every reason, in the order of its counter index (`reason as usize`).
    pub const ALL: [DecapError; DecapError::COUNT] = [
        DecapError::UnsupportedLinkType,
        DecapError::OuterEthernetShort,
        DecapError::VlanTooDeep,
        DecapError::OuterNotIp,
        DecapError::OuterIpShort,
        DecapError::OuterIpInvalid,
        DecapError::OuterFragment,
        DecapError::Ipv6TooManyExtensions,
        DecapError::OuterNotUdp,
        DecapError::OuterUdpShort,
        DecapError::NotMirrorPort,
        DecapError::VxlanShort,
        DecapError::VxlanNoVni,
        DecapError::GeneveShort,
        DecapError::GeneveVersion,
        DecapError::GeneveControl,
        DecapError::GeneveProtocol,
        DecapError::InnerEthernetShort,
        DecapError::InnerNotIp,
        DecapError::InnerIpShort,
        DecapError::InnerIpInvalid,
        DecapError::InnerL4Short,
        DecapError::InnerTcpInvalid,
    ];

    /// Returns the snake_case name used as the Prometheus label `reason`.
    pub fn label(self) -> &'static str {
        match self {
            DecapError::UnsupportedLinkType => "unsupported_link_type",
            DecapError::OuterEthernetShort => "outer_ethernet_short",
            DecapError::VlanTooDeep => "vlan_too_deep",
            DecapError::OuterNotIp => "outer_not_ip",
            DecapError::OuterIpShort => "outer_ip_short",
            DecapError::OuterIpInvalid => "outer_ip_invalid",
            DecapError::OuterFragment => "outer_fragment",
            DecapError::Ipv6TooManyExtensions => "ipv6_too_many_extensions",
            DecapError::OuterNotUdp => "outer_not_udp",
            DecapError::OuterUdpShort => "outer_udp_short",
            DecapError::NotMirrorPort => "not_mirror_port",
            DecapError::VxlanShort => "vxlan_short",
            DecapError::VxlanNoVni => "vxlan_no_vni",
            DecapError::GeneveShort => "geneve_short",
            DecapError::GeneveVersion => "geneve_version",
            DecapError::GeneveControl => "geneve_control",
            DecapError::GeneveProtocol => "geneve_protocol",
            DecapError::InnerEthernetShort => "inner_ethernet_short",
            DecapError::InnerNotIp => "inner_not_ip",
            DecapError::InnerIpShort => "inner_ip_short",
            DecapError::InnerIpInvalid => "inner_ip_invalid",
            DecapError::InnerL4Short => "inner_l4_short",
            DecapError::InnerTcpInvalid => "inner_tcp_invalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_in_index_order() {
        for (index, reason) in DecapError::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{reason:?}");
        }
    }

    #[test]
    fn labels_unique_snake_case() {
        let mut labels: Vec<&str> = DecapError::ALL.iter().map(|r| r.label()).collect();
        for label in &labels {
            assert!(
                label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{label}"
            );
        }
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), DecapError::COUNT);
    }
}
