//! The decoder's fast path, for the layout of nearly every frame that VPC Traffic
//! Mirroring sends. The outer headers are Ethernet, IPv4 without options and not
//! fragmented, UDP to a VXLAN port and VXLAN. The inner frame is Ethernet without VLAN
//! tags, IPv4 without options or IPv6 without extension headers, and TCP or UDP. The
//! fast path reads each field at its fixed offset, where the general parser walks a
//! cursor through one function per layer.
//!
//! Any other frame, including every frame the general parser would reject, returns
//! `None` and goes through the general parser. That parser stays the reference, and
//! the tests check that both return the same headers.

use super::Headers;
use super::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::ip::IpHeader;
use super::l4::L4;
use crate::flow::Addr;
use crate::flow::key::{PROTO_TCP, PROTO_UDP};

/// Offset of the outer IPv4 header: after an Ethernet header without tags.
const OUTER_IP: usize = 14;
/// Offset of the outer UDP header: after an IPv4 header without options.
const OUTER_UDP: usize = OUTER_IP + 20;
const VXLAN: usize = OUTER_UDP + 8;
const INNER_ETHERNET: usize = VXLAN + 8;
const INNER_IP: usize = INNER_ETHERNET + 14;

/// IPv4 version 4 with a header length of 5 words: no options.
const IPV4_NO_OPTIONS: u8 = 0x45;
const IPV4_FRAGMENT_OFFSET: u16 = 0x1fff;
const IPV4_MORE_FRAGMENTS: u16 = 0x2000;
const VXLAN_FLAG_VNI_VALID: u8 = 0x08;

/// Parses a VXLAN frame of the common layout. Returns `None` for any other frame.
#[inline]
pub(super) fn parse_vxlan_frame<'a>(frame: &'a [u8], vxlan_ports: &[u16]) -> Option<Headers<'a>> {
    let outer: &[u8; INNER_IP] = frame.first_chunk()?;
    if be16(outer, 12) != ETHERTYPE_IPV4 || outer[OUTER_IP] != IPV4_NO_OPTIONS {
        return None;
    }
    let outer_flags = be16(outer, OUTER_IP + 6);
    if outer_flags & IPV4_FRAGMENT_OFFSET != 0 || outer[OUTER_IP + 9] != PROTO_UDP {
        return None;
    }
    let outer_len = usize::from(be16(outer, OUTER_IP + 2));
    if outer_len < 20 {
        // 0 (length from the frame) and impossible lengths: the general parser decides.
        return None;
    }
    let outer_available = frame.len() - OUTER_IP;
    // The outer IP length bounds everything inside the tunnel.
    let end = frame.len().min(OUTER_IP + outer_len);
    if end < INNER_IP
        || !is_listed(vxlan_ports, be16(outer, OUTER_UDP + 2))
        || outer[VXLAN] & VXLAN_FLAG_VNI_VALID == 0
    {
        return None;
    }
    let vni = u32::from_be_bytes([0, outer[VXLAN + 4], outer[VXLAN + 5], outer[VXLAN + 6]]);
    let outer_truncated = outer_len > outer_available || outer_flags & IPV4_MORE_FRAGMENTS != 0;

    let inner = frame.get(..end)?;
    let (ip, is_v6) = match be16(outer, INNER_ETHERNET + 12) {
        ETHERTYPE_IPV4 => (inner_ipv4(inner)?, false),
        ETHERTYPE_IPV6 => (inner_ipv6(inner)?, true),
        _ => return None,
    };
    let l4_start = INNER_IP + ip.header_len;
    let l4_end = end.min(INNER_IP.saturating_add(ip.total_len));
    let l4_bytes = frame.get(l4_start..l4_end)?;
    let l4 = match ip.protocol {
        PROTO_TCP => tcp(l4_bytes)?,
        PROTO_UDP => udp(l4_bytes)?,
        _ => return None,
    };
    Some(Headers {
        vni,
        is_v6,
        ip,
        l4,
        l4_start,
        l4_bytes,
        outer_truncated,
    })
}

/// Parses an inner IPv4 header without options that is not a later fragment. `bytes`
/// ends where the outer IP packet ends.
#[inline]
fn inner_ipv4(bytes: &[u8]) -> Option<IpHeader> {
    let header: &[u8; 20] = bytes.get(INNER_IP..)?.first_chunk()?;
    let total_len = usize::from(be16(header, 2));
    let flags = be16(header, 6);
    if header[0] != IPV4_NO_OPTIONS || total_len < 20 || flags & IPV4_FRAGMENT_OFFSET != 0 {
        return None;
    }
    let [s0, s1, s2, s3, d0, d1, d2, d3] = *header.last_chunk::<8>()?;
    Some(IpHeader {
        src: Addr::v4([s0, s1, s2, s3]),
        dst: Addr::v4([d0, d1, d2, d3]),
        protocol: header[9],
        header_len: 20,
        total_len,
        len_from_bytes: false,
        non_first_fragment: false,
        more_fragments: flags & IPV4_MORE_FRAGMENTS != 0,
        truncated: total_len > bytes.len() - INNER_IP,
        start: INNER_IP,
    })
}

/// Parses an inner IPv6 header with a payload length and a TCP or UDP next header (no
/// extension headers).
#[inline]
fn inner_ipv6(bytes: &[u8]) -> Option<IpHeader> {
    let header: &[u8; 40] = bytes.get(INNER_IP..)?.first_chunk()?;
    let payload_len = usize::from(be16(header, 4));
    let protocol = header[6];
    if header[0] >> 4 != 6 || payload_len == 0 || !matches!(protocol, PROTO_TCP | PROTO_UDP) {
        return None;
    }
    let (src, dst) = header.last_chunk::<32>()?.split_at(16);
    let total_len = payload_len + 40;
    Some(IpHeader {
        src: Addr::v6(src.try_into().ok()?),
        dst: Addr::v6(dst.try_into().ok()?),
        protocol,
        header_len: 40,
        total_len,
        len_from_bytes: false,
        non_first_fragment: false,
        more_fragments: false,
        truncated: total_len > bytes.len() - INNER_IP,
        start: INNER_IP,
    })
}

/// Parses a TCP header whose data offset and flags are captured, with a valid data
/// offset.
#[inline]
fn tcp(bytes: &[u8]) -> Option<L4> {
    let header: &[u8; 14] = bytes.first_chunk()?;
    let header_len = usize::from(header[12] >> 4) * 4;
    if header_len < 20 {
        return None;
    }
    Some(L4 {
        sport: be16(header, 0),
        dport: be16(header, 2),
        tcp_flags: header[13],
        tcp_seq: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
        header_len,
        truncated: bytes.len() < header_len,
    })
}

/// Parses a whole UDP header.
#[inline]
fn udp(bytes: &[u8]) -> Option<L4> {
    let header: &[u8; 8] = bytes.first_chunk()?;
    Some(L4 {
        sport: be16(header, 0),
        dport: be16(header, 2),
        tcp_flags: 0,
        tcp_seq: 0,
        header_len: 8,
        truncated: false,
    })
}

/// Returns whether `port` is one of `ports`. `slice::contains` stayed a call per
/// frame; this loop is inlined, and the list is one port in most deployments.
#[inline(always)]
#[allow(clippy::manual_contains)]
fn is_listed(ports: &[u16], port: u16) -> bool {
    ports.iter().any(|&listed| listed == port)
}

/// Reads the big-endian `u16` at `offset`, which the caller keeps within `N - 2`.
#[inline(always)]
fn be16<const N: usize>(bytes: &[u8; N], offset: usize) -> u16 {
    u16::from_be_bytes([bytes[offset], bytes[offset + 1]])
}
