//! Decoder tests: tables of hand-built frames (see `crate::fixture`), one per outcome.

use super::*;
use crate::fixture::{ETHERTYPE_ARP, Frame, GENEVE_CLASS_AWS, Vlan};
use crate::flow::Addr;
use std::net::Ipv6Addr;
use tcp_flags::{ACK, PSH, SYN};

/// Outer Ethernet + IPv4 + UDP + VXLAN.
const VXLAN_OUTER: usize = 50;
/// Inner Ethernet + IPv4.
const INNER_IPV4: usize = 34;

fn decode_with(config: DecapConfig, frame: &Frame) -> (Option<Packet>, DecapCounters) {
    let mut decoder = Decoder::new(config);
    let packet = decoder.decode(&frame.build(), frame.wire_len(), 1_000);
    (packet, decoder.counters().clone())
}

fn decode(frame: &Frame) -> Result<Packet, DecapError> {
    let (packet, counters) = decode_with(DecapConfig::default(), frame);
    packet.ok_or_else(|| {
        let index = counters
            .rejected
            .iter()
            .position(|&n| n == 1)
            .expect("one rejection counted");
        DecapError::ALL[index]
    })
}

fn v6(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)
}

#[test]
fn rejections_by_reason() {
    let cases: Vec<(&str, Frame, DecapError)> = vec![
        (
            "outer ethernet cut",
            Frame::vxlan(1).udp(1, 2).truncate(10),
            DecapError::OuterEthernetShort,
        ),
        (
            "outer vlan tag cut",
            Frame::vxlan(1)
                .outer_vlan(Vlan::dot1q(5))
                .udp(1, 2)
                .truncate(15),
            DecapError::OuterEthernetShort,
        ),
        (
            "three outer vlan tags",
            Frame::vxlan(1)
                .outer_vlan(Vlan::dot1ad(1))
                .outer_vlan(Vlan::dot1q(2))
                .outer_vlan(Vlan::dot1q(3))
                .udp(1, 2),
            DecapError::VlanTooDeep,
        ),
        (
            "outer arp",
            Frame::vxlan(1).outer_ethertype(ETHERTYPE_ARP),
            DecapError::OuterNotIp,
        ),
        (
            "outer ipv4 cut",
            Frame::vxlan(1).udp(1, 2).truncate(14 + 19),
            DecapError::OuterIpShort,
        ),
        (
            "outer ipv6 cut",
            Frame::vxlan(1)
                .outer_ipv6(v6(1), v6(2))
                .udp(1, 2)
                .truncate(14 + 39),
            DecapError::OuterIpShort,
        ),
        (
            "outer ipv4 options cut",
            Frame::vxlan(1)
                .outer_ip_options(&[1; 8])
                .udp(1, 2)
                .truncate(14 + 24),
            DecapError::OuterIpShort,
        ),
        (
            "outer ihl 4",
            Frame::vxlan(1).outer_ihl(4).udp(1, 2),
            DecapError::OuterIpInvalid,
        ),
        (
            "outer version mismatch",
            Frame::vxlan(1).outer_ethertype(0x86dd).udp(1, 2),
            DecapError::OuterIpInvalid,
        ),
        (
            "outer later fragment",
            Frame::vxlan(1).outer_fragment(10, false),
            DecapError::OuterFragment,
        ),
        (
            "outer tcp",
            Frame::vxlan(1).outer_protocol(6),
            DecapError::OuterNotUdp,
        ),
        (
            "outer ipv6 nine extensions",
            (0..9).fold(Frame::vxlan(1).outer_ipv6(v6(1), v6(2)), |f, _| {
                f.outer_ipv6_ext(60)
            }),
            DecapError::Ipv6TooManyExtensions,
        ),
        (
            "outer udp cut",
            Frame::vxlan(1).udp(1, 2).truncate(14 + 20 + 7),
            DecapError::OuterUdpShort,
        ),
        (
            "dns port",
            Frame::vxlan(1).outer_udp_ports(1000, 53),
            DecapError::NotMirrorPort,
        ),
        (
            "vxlan cut",
            Frame::vxlan(1).udp(1, 2).truncate(VXLAN_OUTER - 1),
            DecapError::VxlanShort,
        ),
        (
            "vxlan i flag clear",
            Frame::vxlan(1).vxlan_flags(0xf7),
            DecapError::VxlanNoVni,
        ),
        (
            "geneve cut",
            Frame::geneve(1).udp(1, 2).truncate(14 + 20 + 8 + 7),
            DecapError::GeneveShort,
        ),
        (
            "geneve options cut",
            Frame::geneve(1)
                .geneve_option(0x0132, 1, &[0; 8])
                .udp(1, 2)
                .truncate(VXLAN_OUTER + 4),
            DecapError::GeneveShort,
        ),
        (
            "geneve options length too long",
            Frame::geneve_ip(1).geneve_opt_len(63).udp(1, 2),
            DecapError::GeneveShort,
        ),
        (
            "geneve version 1",
            Frame::geneve(1).geneve_version(1).udp(1, 2),
            DecapError::GeneveVersion,
        ),
        (
            "geneve oam",
            Frame::geneve(1).geneve_flags(true, false).udp(1, 2),
            DecapError::GeneveControl,
        ),
        (
            "geneve mpls",
            Frame::geneve(1).geneve_protocol(0x8847).udp(1, 2),
            DecapError::GeneveProtocol,
        ),
        (
            "inner ethernet cut",
            Frame::vxlan(1).udp(1, 2).truncate(VXLAN_OUTER + 13),
            DecapError::InnerEthernetShort,
        ),
        (
            "three inner vlan tags",
            Frame::vxlan(1)
                .inner_vlan(Vlan::dot1ad(1))
                .inner_vlan(Vlan::dot1q(2))
                .inner_vlan(Vlan::dot1q(3))
                .udp(1, 2),
            DecapError::VlanTooDeep,
        ),
        (
            "inner arp",
            Frame::vxlan(1).inner_ethertype(ETHERTYPE_ARP),
            DecapError::InnerNotIp,
        ),
        (
            "inner ipv4 cut",
            Frame::vxlan(1)
                .udp(1, 2)
                .truncate(VXLAN_OUTER + INNER_IPV4 - 1),
            DecapError::InnerIpShort,
        ),
        (
            "inner ipv6 extension cut",
            Frame::vxlan(1)
                .inner_ipv6(v6(1), v6(2))
                .inner_ipv6_ext(0)
                .udp(1, 2)
                .truncate(VXLAN_OUTER + 14 + 44),
            DecapError::InnerIpShort,
        ),
        (
            "inner ihl 3",
            Frame::vxlan(1).inner_ihl(3).udp(1, 2),
            DecapError::InnerIpInvalid,
        ),
        (
            "inner total length below header",
            Frame::vxlan(1).inner_total_len(19).udp(1, 2),
            DecapError::InnerIpInvalid,
        ),
        (
            "inner version mismatch",
            Frame::vxlan(1)
                .inner_ethertype(0x0800)
                .inner_ipv6(v6(1), v6(2))
                .udp(1, 2),
            DecapError::InnerIpInvalid,
        ),
        (
            "inner ipv6 nine extensions",
            (0..9)
                .fold(Frame::vxlan(1).inner_ipv6(v6(1), v6(2)), |f, _| {
                    f.inner_ipv6_ext(0)
                })
                .udp(1, 2),
            DecapError::Ipv6TooManyExtensions,
        ),
        (
            "tcp ports cut",
            Frame::vxlan(1)
                .tcp(1, 2, SYN)
                .truncate(VXLAN_OUTER + INNER_IPV4 + 3),
            DecapError::InnerL4Short,
        ),
        (
            "udp ports beyond ip length",
            Frame::vxlan(1).inner_total_len(22).udp(1, 2),
            DecapError::InnerL4Short,
        ),
        (
            "icmp echo id cut",
            Frame::vxlan(1)
                .icmp_echo(7, 1)
                .truncate(VXLAN_OUTER + INNER_IPV4 + 5),
            DecapError::InnerL4Short,
        ),
        (
            "tcp data offset 4",
            Frame::vxlan(1).tcp(1, 2, SYN).tcp_data_offset(4),
            DecapError::InnerTcpInvalid,
        ),
    ];
    for (name, frame, expected) in cases {
        assert_eq!(decode(&frame), Err(expected), "case: {name}");
    }
}

/// Expected fields of a decoded packet.
#[derive(Debug, PartialEq)]
struct Seen {
    vni: u32,
    protocol: u8,
    sport: u16,
    dport: u16,
    ip_bytes: u32,
    payload_bytes: u32,
    tcp_flags: u8,
    truncated: bool,
}

fn seen(packet: &Packet) -> Seen {
    Seen {
        vni: packet.key.vni,
        protocol: packet.key.protocol,
        sport: packet.key.sport,
        dport: packet.key.dport,
        ip_bytes: packet.ip_bytes,
        payload_bytes: packet.payload_bytes,
        tcp_flags: packet.tcp_flags,
        truncated: packet.truncated,
    }
}

#[allow(clippy::too_many_arguments)]
fn expect(
    vni: u32,
    protocol: u8,
    sport: u16,
    dport: u16,
    ip: u32,
    payload: u32,
    flags: u8,
    truncated: bool,
) -> Seen {
    Seen {
        vni,
        protocol,
        sport,
        dport,
        ip_bytes: ip,
        payload_bytes: payload,
        tcp_flags: flags,
        truncated,
    }
}

#[test]
fn decoded_fields() {
    let ack_psh = ACK | PSH;
    let cases: Vec<(&str, Frame, Seen)> = vec![
        (
            "vxlan tcp",
            Frame::vxlan(42).tcp(40000, 443, SYN).payload(10),
            expect(42, 6, 40000, 443, 50, 10, SYN, false),
        ),
        (
            "vxlan reserved bits set",
            Frame::vxlan(11)
                .vxlan_flags(0xff)
                .vxlan_reserved([1, 2, 3], 4)
                .udp(5, 6),
            expect(11, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "vni 24 bits",
            Frame::vxlan(0x00ff_ffff).udp(5, 6),
            expect(0x00ff_ffff, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "outer qinq",
            Frame::vxlan(1)
                .outer_vlan(Vlan::dot1ad(10))
                .outer_vlan(Vlan::dot1q(20))
                .udp(5, 6),
            expect(1, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "outer ipv4 options",
            Frame::vxlan(1)
                .outer_ip_options(&[0x94, 4, 0, 0, 1])
                .udp(5, 6),
            expect(1, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "outer ipv6 extensions",
            Frame::vxlan(1)
                .outer_ipv6(v6(1), v6(2))
                .outer_ipv6_ext(0)
                .outer_ipv6_ext(60)
                .udp(5, 6),
            expect(1, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "outer first fragment",
            Frame::vxlan(1).outer_fragment(0, true).udp(5, 6),
            expect(1, 17, 5, 6, 28, 0, 0, true),
        ),
        (
            "aws outer ttl df id",
            Frame::vxlan(1)
                .outer_ttl(2)
                .outer_df(true)
                .outer_id(999)
                .udp(5, 6),
            expect(1, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "inner qinq",
            Frame::vxlan(1)
                .inner_vlan(Vlan::dot1ad(10))
                .inner_vlan(Vlan::dot1q(20))
                .tcp(1, 2, ack_psh)
                .payload(3),
            expect(1, 6, 1, 2, 43, 3, ack_psh, false),
        ),
        (
            "inner ipv4 options",
            Frame::vxlan(1)
                .inner_ip_options(&[1, 1, 1, 1, 1, 1, 1, 1])
                .udp(5, 6)
                .payload(4),
            expect(1, 17, 5, 6, 40, 4, 0, false),
        ),
        (
            "inner ipv6 udp",
            Frame::vxlan(1)
                .inner_ipv6(v6(1), v6(2))
                .udp(5, 6)
                .payload(4),
            expect(1, 17, 5, 6, 52, 4, 0, false),
        ),
        (
            "inner ipv6 extensions",
            Frame::vxlan(1)
                .inner_ipv6(v6(1), v6(2))
                .inner_ipv6_ext(0)
                .inner_ipv6_ext(43)
                .tcp(1, 2, SYN)
                .payload(4),
            expect(1, 6, 1, 2, 80, 4, SYN, false),
        ),
        (
            "inner ipv4 later fragment",
            Frame::vxlan(1)
                .inner_fragment(100, true)
                .udp(5, 6)
                .payload(12),
            expect(1, 17, 0, 0, 40, 20, 0, false),
        ),
        (
            "inner ipv4 first fragment",
            Frame::vxlan(1)
                .inner_fragment(0, true)
                .udp(5, 6)
                .payload(12),
            expect(1, 17, 5, 6, 40, 12, 0, false),
        ),
        (
            "inner ipv6 later fragment",
            Frame::vxlan(1)
                .inner_ipv6(v6(1), v6(2))
                .inner_fragment(5, false)
                .udp(5, 6)
                .payload(12),
            expect(1, 17, 0, 0, 68, 20, 0, false),
        ),
        (
            "inner ipv6 first fragment",
            Frame::vxlan(1)
                .inner_ipv6(v6(1), v6(2))
                .inner_fragment(0, true)
                .udp(5, 6)
                .payload(12),
            expect(1, 17, 5, 6, 68, 12, 0, false),
        ),
        (
            "icmp echo",
            Frame::vxlan(1).icmp_echo(77, 1).payload(56),
            expect(1, 1, 8, 77, 84, 56, 0, false),
        ),
        (
            "icmp echo reply",
            Frame::vxlan(1).icmp_echo_reply(77, 1),
            expect(1, 1, 8, 77, 28, 0, 0, false),
        ),
        (
            "icmp unreachable",
            Frame::vxlan(1).icmp(3, 3, 0, 0).payload(28),
            expect(1, 1, 3, 0, 56, 28, 0, false),
        ),
        (
            "icmpv6 echo reply",
            Frame::vxlan(1)
                .inner_ipv6(v6(1), v6(2))
                .icmpv6_echo_reply(9, 1),
            expect(1, 58, 128, 9, 48, 0, 0, false),
        ),
        (
            "gre has no ports",
            Frame::vxlan(1).inner_protocol(47).payload(24),
            expect(1, 47, 0, 0, 44, 24, 0, false),
        ),
        (
            "ethernet padding ignored",
            Frame::vxlan(1).udp(5, 6).trailer(18),
            expect(1, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "snap cut in payload",
            Frame::vxlan(1).tcp(1, 2, ACK).payload(1000).truncate(200),
            expect(1, 6, 1, 2, 1040, 1000, ACK, true),
        ),
        (
            "snap cut in tcp header",
            Frame::vxlan(1)
                .tcp(1, 2, ACK)
                .payload(10)
                .truncate(VXLAN_OUTER + INNER_IPV4 + 6),
            expect(1, 6, 1, 2, 50, 10, 0, true),
        ),
        (
            "ip length beyond frame",
            Frame::vxlan(1).inner_total_len(1500).udp(5, 6),
            expect(1, 17, 5, 6, 1500, 1472, 0, true),
        ),
        (
            "geneve ethernet",
            Frame::geneve(7).udp(5, 6),
            expect(7, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "geneve ip unknown option class",
            Frame::geneve_ip(7)
                .geneve_option(0x0132, 1, &[9; 4])
                .geneve_option(0xffff, 0x80, &[9; 20])
                .udp(5, 6),
            expect(7, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "geneve critical bit ignored",
            Frame::geneve_ip(7)
                .geneve_flags(false, true)
                .geneve_option(0x0132, 0x80, &[0; 4])
                .udp(5, 6),
            expect(7, 17, 5, 6, 28, 0, 0, false),
        ),
        (
            "geneve ipv6",
            Frame::geneve_ip(7).inner_ipv6(v6(1), v6(2)).tcp(1, 2, SYN),
            expect(7, 6, 1, 2, 60, 0, SYN, false),
        ),
        (
            "geneve ip dns stays inner",
            Frame::geneve_ip(7).udp(5353, 53).payload(30),
            expect(7, 17, 5353, 53, 58, 30, 0, false),
        ),
        (
            "gwlb vxlan vni",
            Frame::gwlb(4242).udp(5, 53).payload(30),
            expect(4242, 17, 5, 53, 58, 30, 0, false),
        ),
        (
            "gwlb extra aws option",
            Frame::gwlb(4242)
                .geneve_option(GENEVE_CLASS_AWS, 4, &[1; 4])
                .tcp(1, 2, SYN),
            expect(4242, 6, 1, 2, 40, 0, SYN, false),
        ),
        (
            "gwlb cut",
            Frame::gwlb(4242).udp(5, 53).payload(30).truncate(170),
            expect(4242, 17, 5, 53, 58, 30, 0, true),
        ),
        (
            "gwlb inner vlan",
            Frame::gwlb(9).inner_vlan(Vlan::dot1q(3)).udp(5, 6),
            expect(9, 17, 5, 6, 28, 0, 0, false),
        ),
    ];
    for (name, frame, expected) in cases {
        let packet = decode(&frame).unwrap_or_else(|e| panic!("case {name}: rejected: {e}"));
        assert_eq!(seen(&packet), expected, "case: {name}");
    }
}

#[test]
fn decode_addresses_and_time() {
    let frame = Frame::vxlan(1)
        .inner_ipv4([192, 168, 1, 9], [8, 8, 4, 4])
        .udp(5, 53);
    let mut decoder = Decoder::new(DecapConfig::default());
    let packet = decoder
        .decode(&frame.build(), frame.wire_len(), 123)
        .expect("decoded");
    assert_eq!(packet.key.src, Addr::v4([192, 168, 1, 9]));
    assert_eq!(packet.key.dst, Addr::v4([8, 8, 4, 4]));
    assert_eq!(packet.ts_ns, 123);
}

#[test]
fn decode_ipv6_addresses() {
    let packet = decode(&Frame::vxlan(1).inner_ipv6(v6(1), v6(2)).udp(5, 6)).expect("decoded");
    assert_eq!(packet.key.src, Addr::from(v6(1)));
    assert_eq!(packet.key.dst, Addr::from(v6(2)));
}

#[test]
fn wire_len_marks_truncated() {
    let frame = Frame::vxlan(1).udp(5, 6);
    let mut decoder = Decoder::new(DecapConfig::default());
    let packet = decoder
        .decode(&frame.build(), frame.wire_len() + 10, 0)
        .expect("decoded");
    assert!(packet.truncated);
    assert_eq!(decoder.counters().truncated, 1);
}

#[test]
fn counters_count_outcomes() {
    let mut decoder = Decoder::new(DecapConfig::default());
    let good = Frame::vxlan(1).udp(5, 6);
    let fragment = Frame::vxlan(1).inner_fragment(3, false).udp(5, 6);
    let cut = Frame::vxlan(1).udp(5, 6).payload(100).truncate(100);
    for frame in [&good, &fragment, &cut] {
        decoder.decode(&frame.build(), frame.wire_len(), 0);
    }
    decoder.decode(&[0u8; 5], 5, 0);
    let counters = decoder.counters();
    assert_eq!(counters.frames, 4);
    assert_eq!(counters.decoded, 3);
    assert_eq!(counters.fragments, 1);
    assert_eq!(counters.truncated, 1);
    assert_eq!(counters.rejected(DecapError::OuterEthernetShort), 1);
}

#[test]
fn counters_merge_adds() {
    let mut a = DecapCounters {
        frames: 2,
        decoded: 1,
        ..Default::default()
    };
    a.rejected[3] = 1;
    let mut b = a.clone();
    b.truncated = 5;
    a.merge(&b);
    assert_eq!(a.frames, 4);
    assert_eq!(a.decoded, 2);
    assert_eq!(a.truncated, 5);
    assert_eq!(a.rejected[3], 2);
}

#[test]
fn configured_ports_only() {
    let config = DecapConfig {
        vxlan_ports: vec![8472],
        geneve_ports: vec![],
        ..Default::default()
    };
    let linux = Frame::vxlan(5).outer_udp_ports(1, 8472).udp(5, 6);
    let iana = Frame::vxlan(5).udp(5, 6);
    let geneve = Frame::geneve(5).udp(5, 6);
    assert_eq!(
        decode_with(config.clone(), &linux).0.map(|p| p.key.vni),
        Some(5)
    );
    assert_eq!(
        decode_with(config.clone(), &iana)
            .1
            .rejected(DecapError::NotMirrorPort),
        1
    );
    assert_eq!(
        decode_with(config, &geneve)
            .1
            .rejected(DecapError::NotMirrorPort),
        1
    );
}

#[test]
fn decapsulated_reads_plain_ethernet() {
    let config = DecapConfig {
        decapsulated: true,
        ..Default::default()
    };
    let frame = Frame::plain().inner_vlan(Vlan::dot1q(4)).tcp(1, 2, SYN);
    let packet = decode_with(config, &frame).0.expect("decoded");
    assert_eq!(packet.key.vni, 0);
    assert_eq!((packet.key.sport, packet.key.dport), (1, 2));
}

#[test]
fn raw_ip_link_types() {
    let config = DecapConfig {
        decapsulated: true,
        ..Default::default()
    };
    let v4 = Frame::plain().udp(1, 2).build();
    let v6 = Frame::plain().inner_ipv6(v6(1), v6(2)).udp(1, 2).build();
    let mut decoder = Decoder::new(config);
    for (link, bytes) in [
        (link_type::RAW, &v4),
        (link_type::RAW, &v6),
        (link_type::IPV4, &v4),
        (link_type::IPV6, &v6),
    ] {
        let ip = &bytes[14..];
        let packet = decoder.decode_link(link, ip, ip.len() as u32, 0);
        assert_eq!(packet.map(|p| p.key.dport), Some(2), "link type {link}");
    }
}

#[test]
fn raw_ip_link_vxlan() {
    let frame = Frame::vxlan(3).udp(1, 2).build();
    let mut decoder = Decoder::new(DecapConfig::default());
    let packet = decoder.decode_link(link_type::RAW, &frame[14..], frame.len() as u32 - 14, 0);
    assert_eq!(packet.map(|p| p.key.vni), Some(3));
}

#[test]
fn unsupported_link_type_counted() {
    let mut decoder = Decoder::new(DecapConfig::default());
    assert!(decoder.decode_link(113, &[0; 64], 64, 0).is_none());
    assert_eq!(
        decoder.counters().rejected(DecapError::UnsupportedLinkType),
        1
    );
    assert_eq!(decoder.counters().frames, 1);
}

#[test]
fn fingerprint_ignores_ttl_and_tunnel() {
    let a = Frame::vxlan(1)
        .inner_ttl(64)
        .tcp(1, 2, ACK)
        .tcp_seq(100, 5)
        .payload(10);
    let b = Frame::vxlan(1)
        .outer_ipv4([10, 9, 9, 9], [10, 8, 8, 8])
        .inner_ttl(63)
        .tcp(1, 2, ACK)
        .tcp_seq(100, 5)
        .payload(10);
    let cut = a.clone().truncate(VXLAN_OUTER + INNER_IPV4 + 16);
    let fa = decode(&a).expect("decoded").fingerprint;
    assert_eq!(fa, decode(&b).expect("decoded").fingerprint);
    assert_eq!(fa, decode(&cut).expect("decoded").fingerprint);
}

#[test]
fn fingerprint_differs_by_sequence() {
    let a = Frame::vxlan(1).tcp(1, 2, ACK).tcp_seq(100, 5).payload(10);
    let b = Frame::vxlan(1).tcp(1, 2, ACK).tcp_seq(110, 5).payload(10);
    assert_ne!(
        decode(&a).expect("decoded").fingerprint,
        decode(&b).expect("decoded").fingerprint
    );
}

#[test]
fn fingerprint_differs_by_ip_id() {
    let a = Frame::vxlan(1).inner_id(1).udp(1, 2);
    let b = Frame::vxlan(1).inner_id(2).udp(1, 2);
    assert_ne!(
        decode(&a).expect("decoded").fingerprint,
        decode(&b).expect("decoded").fingerprint
    );
}

/// xorshift64*: a small seeded generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn fuzz_never_panics() {
    let valid = [
        Frame::vxlan(1).tcp(1, 2, SYN).payload(40).build(),
        Frame::vxlan(1)
            .outer_ipv6(v6(1), v6(2))
            .outer_ipv6_ext(0)
            .inner_ipv6(v6(3), v6(4))
            .inner_ipv6_ext(60)
            .udp(1, 2)
            .payload(20)
            .build(),
        Frame::gwlb(5)
            .inner_vlan(Vlan::dot1q(1))
            .icmp_echo(1, 1)
            .payload(16)
            .build(),
        Frame::geneve_ip(5)
            .geneve_option(0x0132, 1, &[1; 12])
            .inner_fragment(0, true)
            .udp(1, 2)
            .build(),
        Frame::geneve(5)
            .outer_vlan(Vlan::dot1ad(2))
            .inner_ipv6(v6(1), v6(2))
            .icmpv6_echo(1, 2)
            .build(),
    ];
    let configs = [
        DecapConfig::default(),
        DecapConfig {
            decapsulated: true,
            ..Default::default()
        },
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);

    for config in configs {
        let mut decoder = Decoder::new(config);
        for frame in &valid {
            // Every truncation length.
            for len in 0..=frame.len() {
                decoder.decode(&frame[..len], frame.len() as u32, 0);
            }
            // Random byte flips.
            for _ in 0..2_000 {
                let mut mutated = frame.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(mutated.len());
                    mutated[at] = rng.next() as u8;
                }
                let len = rng.below(mutated.len() + 1);
                decoder.decode(&mutated[..len], rng.next() as u32, 0);
                decoder.decode_link(link_type::RAW, &mutated[len / 2..len], len as u32, 0);
            }
        }
        // Random bytes.
        for _ in 0..5_000 {
            let len = rng.below(300);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            decoder.decode(&bytes, len as u32, 0);
        }
        let counters = decoder.counters();
        let rejected: u64 = counters.rejected.iter().sum();
        assert_eq!(counters.decoded + rejected, counters.frames);
    }
}
