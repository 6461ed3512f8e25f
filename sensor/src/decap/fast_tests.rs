//! The fast path against the general parser: on the real captures, on hand-built
//! frames of every layout, on every cut of them, and on frames with random header
//! bytes. Wherever the fast path returns headers, they must equal the general
//! parser's.

use super::*;
use crate::capture::pcap::PcapReader;
use crate::fixture::{Frame, Vlan};
use std::net::Ipv6Addr;

/// Checks one frame. Returns whether the fast path took it.
fn check(config: &DecapConfig, frame: &[u8]) -> bool {
    let Some(fast) = fast::parse_vxlan_frame(frame, &config.vxlan_ports) else {
        return false;
    };
    let decoder = Decoder::new(config.clone());
    let general = decoder.parse_headers(Start::Ethernet, frame);
    let general = general.unwrap_or_else(|error| {
        panic!(
            "the fast path took a frame that the general parser rejects ({error:?}): {frame:02x?}"
        )
    });
    assert_eq!(
        format!("{fast:?}"),
        format!("{general:?}"),
        "headers differ for {frame:02x?}"
    );
    true
}

fn v6(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)
}

/// Frames of the common layout and of its near variants.
fn templates() -> Vec<Frame> {
    vec![
        Frame::vxlan(7).tcp(40000, 443, 0x18).payload(100),
        Frame::vxlan(7).tcp(40000, 443, 0x02).tcp_data_offset(10),
        Frame::vxlan(7).udp(5353, 53).payload(40),
        Frame::vxlan(7).udp(5353, 53).trailer(6),
        Frame::vxlan(9)
            .inner_ipv6(v6(1), v6(2))
            .tcp(1, 2, 0x10)
            .payload(30),
        Frame::vxlan(9)
            .inner_ipv6(v6(1), v6(2))
            .udp(1, 2)
            .payload(30),
        Frame::vxlan(9)
            .inner_ipv6(v6(1), v6(2))
            .inner_ipv6_ext(0)
            .udp(1, 2),
        Frame::vxlan(7).icmp_echo(1, 2),
        Frame::vxlan(7)
            .inner_fragment(3, true)
            .udp(1, 2)
            .payload(20),
        Frame::vxlan(7)
            .inner_fragment(0, true)
            .udp(1, 2)
            .payload(20),
        Frame::vxlan(7)
            .outer_fragment(0, true)
            .udp(1, 2)
            .payload(20),
        Frame::vxlan(7)
            .inner_ip_options(&[1, 1, 1, 1])
            .tcp(1, 2, 0x10),
        Frame::vxlan(7)
            .outer_ip_options(&[1, 1, 1, 1])
            .tcp(1, 2, 0x10),
        Frame::vxlan(7).outer_vlan(Vlan::dot1q(5)).tcp(1, 2, 0x10),
        Frame::vxlan(7).inner_vlan(Vlan::dot1q(5)).tcp(1, 2, 0x10),
        Frame::vxlan(7).inner_total_len(0).tcp(1, 2, 0x10),
        Frame::vxlan(7)
            .inner_total_len(300)
            .tcp(1, 2, 0x10)
            .payload(10),
        Frame::vxlan(7)
            .inner_total_len(30)
            .tcp(1, 2, 0x10)
            .payload(10),
        Frame::vxlan(7).tcp(1, 2, 0x10).tcp_data_offset(3),
        Frame::vxlan(7).vxlan_flags(0).tcp(1, 2, 0x10),
        Frame::vxlan(7).outer_udp_ports(1, 4790).tcp(1, 2, 0x10),
        Frame::vxlan(7).outer_ipv6(v6(3), v6(4)).tcp(1, 2, 0x10),
        Frame::geneve(7).tcp(1, 2, 0x10),
        Frame::gwlb(7).tcp(1, 2, 0x10),
    ]
}

#[test]
fn fast_path_matches_general_on_templates() {
    let config = DecapConfig::default();
    let taken = templates()
        .iter()
        .filter(|frame| check(&config, &frame.build()))
        .count();
    // The first six templates are the common layout.
    assert!(taken >= 6, "the fast path took only {taken} templates");
}

#[test]
fn fast_path_matches_general_on_every_cut() {
    let config = DecapConfig::default();
    for template in templates() {
        let bytes = template.build();
        for len in 0..=bytes.len() {
            check(&config, &bytes[..len]);
        }
    }
}

#[test]
fn fast_path_matches_general_on_random_header_bytes() {
    let config = DecapConfig {
        vxlan_ports: vec![4789, 8472],
        ..DecapConfig::default()
    };
    // xorshift64: deterministic, so a failure reproduces.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut taken = 0;
    for template in templates() {
        let clean = template.build();
        for _ in 0..2_000 {
            let mut bytes = clean.clone();
            // Change one to three bytes among the first 120, where every header is.
            for _ in 0..=next() % 3 {
                let at = (next() % 120) as usize;
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = next() as u8;
                }
            }
            let len = bytes.len() - (next() % 8) as usize;
            taken += usize::from(check(&config, &bytes[..len]));
        }
    }
    assert!(
        taken > 1_000,
        "the fast path took only {taken} mutated frames"
    );
}

#[test]
fn fast_path_matches_general_on_captures() {
    let config = DecapConfig::default();
    for name in [
        "aws-tm-vxlan-ssh-dns-ntp.pcap",
        "vxlan-http-get.pcap",
        "vxlan-reserved-bits-set-http.pcap",
        "vxlan-gso-7092B-tcp-partial-csum.pcap",
        "geneve-ipv4-vxlan-dns-snaplen-truncated.pcap",
    ] {
        let Some(path) = crate::fixture::shared_capture(name) else {
            continue;
        };
        let mut reader = PcapReader::open(&path).expect("capture opens");
        let (mut frames, mut taken) = (0, 0);
        while let Some(frame) = reader.next_frame().expect("capture reads") {
            frames += 1;
            taken += usize::from(check(&config, frame.data));
        }
        assert!(frames > 0, "{name} has no frames");
        if name.starts_with("vxlan") || name.starts_with("aws") {
            assert!(taken > 0, "the fast path took no frame of {name}");
        }
    }
}
