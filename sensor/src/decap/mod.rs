//! Decapsulation of mirrored frames into [`Packet`]s: outer Ethernet, IP and UDP, then
//! VXLAN or GENEVE (including GENEVE / IPv4 / UDP / VXLAN from AWS Gateway Load
//! Balancer), then the inner Ethernet, IP and transport headers. One layer per file;
//! every rejection is counted by reason in [`DecapCounters`].

mod cursor;
mod error;
mod ethernet;
mod fast;
mod fingerprint;
mod geneve;
mod ip;
mod l4;
mod vxlan;

#[cfg(test)]
mod fast_tests;
#[cfg(test)]
mod tests;

pub use error::DecapError;
pub use ethernet::MAX_VLAN_TAGS;
pub use ip::MAX_IPV6_EXTENSIONS;

use crate::flow::FlowKey;
use cursor::Cursor;
use ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, EthernetError, parse_ethernet};
use geneve::{GeneveError, GenevePayload, parse_geneve};
use ip::{IpError, IpHeader, parse_ip, peek_version};
use l4::{L4, L4Error, parse_l4};
use vxlan::{VxlanError, parse_vxlan};

/// TCP header flag bits (RFC 9293, plus ECE and CWR from RFC 3168).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// pcap link types that [`Decoder::decode_link`] accepts.
pub mod link_type {
    pub const ETHERNET: u32 = 1;
    /// Raw IP. The version nibble distinguishes IPv4 from IPv6.
    pub const RAW: u32 = 101;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
}

const PROTO_UDP: u8 = 17;

/// Decoder settings: the tunnel ports, or plain traffic without a tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecapConfig {
    /// UDP destination ports carrying VXLAN (default 4789). A port listed here and in
    /// `geneve_ports` is treated as VXLAN.
    pub vxlan_ports: Vec<u16>,
    /// UDP destination ports carrying GENEVE (default 6081).
    pub geneve_ports: Vec<u16>,
    /// The frames are plain traffic without a tunnel: decode from the Ethernet header,
    /// with VNI 0.
    pub decapsulated: bool,
}

impl Default for DecapConfig {
    fn default() -> Self {
        DecapConfig {
            vxlan_ports: vec![4789],
            geneve_ports: vec![6081],
            decapsulated: false,
        }
    }
}

/// One decoded inner packet. Plain data, no heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Packet time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The flow key as seen on this packet (source to destination).
    pub key: FlowKey,
    /// Inner IP packet length from its header (IPv4 total length, IPv6 payload length
    /// plus 40), not the captured length.
    pub ip_bytes: u32,
    /// Transport payload length by header arithmetic (IP length minus IP and L4 headers).
    pub payload_bytes: u32,
    /// TCP flags (0 for other protocols).
    pub tcp_flags: u8,
    /// Bytes of this packet are missing: the frame was cut (snap length, AWS packet
    /// length) or a header claims more bytes than the frame holds.
    pub truncated: bool,
    /// Hash of the inner IP header (without TTL and checksum) and the first transport
    /// bytes. The two copies of a packet mirrored at both ends have equal fingerprints.
    pub fingerprint: u64,
    /// TCP sequence number (0 for other protocols), for stream reassembly.
    pub tcp_seq: u32,
    /// Where the transport payload starts in the frame, and how many of its bytes
    /// the frame holds (0 when none, or when the headers are cut). Application
    /// parsers read `frame[payload_offset..payload_offset + payload_len]`.
    pub payload_offset: u32,
    pub payload_len: u32,
}

impl Packet {
    /// The transport payload bytes `frame` holds for this packet.
    pub fn payload<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        let start = self.payload_offset as usize;
        let end = start.saturating_add(self.payload_len as usize);
        frame.get(start..end).unwrap_or(&[])
    }
}

/// Decoder counters, cumulative since the decoder was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecapCounters {
    /// Frames passed to the decoder.
    pub frames: u64,
    /// Frames that gave a [`Packet`].
    pub decoded: u64,
    /// Decoded packets with missing bytes (see [`Packet::truncated`]).
    pub truncated: u64,
    /// Decoded packets that are non-first inner IP fragments (no ports).
    pub fragments: u64,
    /// Rejected frames by reason, indexed by `DecapError as usize`.
    pub rejected: [u64; DecapError::COUNT],
}

impl DecapCounters {
    /// Adds `other` to these counters (to sum the workers).
    pub fn merge(&mut self, other: &DecapCounters) {
        self.frames += other.frames;
        self.decoded += other.decoded;
        self.truncated += other.truncated;
        self.fragments += other.fragments;
        for (mine, theirs) in self.rejected.iter_mut().zip(other.rejected.iter()) {
            *mine += theirs;
        }
    }

    /// Rejected frames for one reason.
    pub fn rejected(&self, reason: DecapError) -> u64 {
        self.rejected.get(reason as usize).copied().unwrap_or(0)
    }
}

/// Decodes frames into packets and counts the outcome of each. One per thread.
#[derive(Clone, Debug)]
pub struct Decoder {
    config: DecapConfig,
    counters: DecapCounters,
}

/// Kind of the first header of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Ethernet,
    /// An IP header; `None` reads the version nibble.
    Ip(Option<u16>),
}

impl Decoder {
    pub fn new(config: DecapConfig) -> Self {
        Decoder {
            config,
            counters: DecapCounters::default(),
        }
    }

    pub fn counters(&self) -> &DecapCounters {
        &self.counters
    }

    /// Decodes an Ethernet frame. `wire_len` is its length before any capture cut
    /// (pcap orig_len; live, the frame length). Returns `None` when the frame is
    /// rejected, and counts the reason.
    pub fn decode(&mut self, frame: &[u8], wire_len: u32, ts_ns: u64) -> Option<Packet> {
        self.decode_from(Start::Ethernet, frame, wire_len, ts_ns)
    }

    /// Decodes a frame of pcap link type `link` (see [`link_type`]): Ethernet, or raw
    /// IPv4 or IPv6 without link header. Other link types are rejected.
    pub fn decode_link(
        &mut self,
        link: u32,
        frame: &[u8],
        wire_len: u32,
        ts_ns: u64,
    ) -> Option<Packet> {
        let start = match link {
            link_type::ETHERNET => Start::Ethernet,
            link_type::RAW => Start::Ip(None),
            link_type::IPV4 => Start::Ip(Some(ETHERTYPE_IPV4)),
            link_type::IPV6 => Start::Ip(Some(ETHERTYPE_IPV6)),
            _ => {
                self.counters.frames += 1;
                self.reject(DecapError::UnsupportedLinkType);
                return None;
            }
        };
        self.decode_from(start, frame, wire_len, ts_ns)
    }

    fn decode_from(
        &mut self,
        start: Start,
        frame: &[u8],
        wire_len: u32,
        ts_ns: u64,
    ) -> Option<Packet> {
        self.counters.frames += 1;
        match self.parse(start, frame, wire_len) {
            Ok((mut packet, fragment)) => {
                packet.ts_ns = ts_ns;
                self.counters.decoded += 1;
                self.counters.truncated += u64::from(packet.truncated);
                self.counters.fragments += u64::from(fragment);
                Some(packet)
            }
            Err(reason) => {
                self.reject(reason);
                None
            }
        }
    }

    fn reject(&mut self, reason: DecapError) {
        if let Some(count) = self.counters.rejected.get_mut(reason as usize) {
            *count += 1;
        }
    }

    /// Returns the packet (without time) and whether it is a non-first fragment.
    #[inline]
    fn parse(
        &self,
        start: Start,
        frame: &[u8],
        wire_len: u32,
    ) -> Result<(Packet, bool), DecapError> {
        let cut = usize::try_from(wire_len)
            .unwrap_or(usize::MAX)
            .saturating_sub(frame.len());
        let fast = if start == Start::Ethernet && !self.config.decapsulated {
            fast::parse_vxlan_frame(frame, &self.config.vxlan_ports)
        } else {
            None
        };
        let headers = match fast {
            Some(headers) => headers,
            None => self.parse_headers(start, frame)?,
        };
        Ok(assemble(frame, cut, headers))
    }

    /// Parses every header of a frame of any supported layout: the general path,
    /// which [`fast::parse_vxlan_frame`] must agree with.
    fn parse_headers<'a>(&self, start: Start, frame: &'a [u8]) -> Result<Headers<'a>, DecapError> {
        let mut cursor = Cursor::new(frame);
        let mut truncated = false;

        let (vni, payload) = if self.config.decapsulated {
            (0, start)
        } else {
            self.parse_outer(start, &mut cursor, &mut truncated)?
        };

        let ethertype = match payload {
            Start::Ethernet => match parse_ethernet(&mut cursor) {
                Ok(t @ (ETHERTYPE_IPV4 | ETHERTYPE_IPV6)) => t,
                Ok(_) => return Err(DecapError::InnerNotIp),
                Err(EthernetError::Short) => return Err(DecapError::InnerEthernetShort),
                Err(EthernetError::TooManyTags) => return Err(DecapError::VlanTooDeep),
            },
            Start::Ip(Some(t)) => t,
            Start::Ip(None) => ip_ethertype(&cursor).ok_or(DecapError::InnerNotIp)?,
        };
        let ip = parse_ip(&mut cursor, ethertype).map_err(inner_ip_error)?;
        let l4 = parse_l4(&cursor, ip.protocol, ip.non_first_fragment).map_err(|e| match e {
            L4Error::Short => DecapError::InnerL4Short,
            L4Error::TcpInvalid => DecapError::InnerTcpInvalid,
        })?;
        Ok(Headers {
            vni,
            is_v6: ethertype == ETHERTYPE_IPV6,
            ip,
            l4,
            l4_start: cursor.pos(),
            l4_bytes: cursor.rest(),
            outer_truncated: truncated,
        })
    }

    /// Parses the outer headers and the tunnel. Returns the VNI and where the inner
    /// packet starts, leaving the cursor there.
    fn parse_outer(
        &self,
        start: Start,
        cursor: &mut Cursor<'_>,
        truncated: &mut bool,
    ) -> Result<(u32, Start), DecapError> {
        let ethertype = match start {
            Start::Ethernet => parse_ethernet(cursor).map_err(|e| match e {
                EthernetError::Short => DecapError::OuterEthernetShort,
                EthernetError::TooManyTags => DecapError::VlanTooDeep,
            })?,
            Start::Ip(Some(t)) => t,
            Start::Ip(None) => ip_ethertype(cursor).ok_or(DecapError::OuterNotIp)?,
        };
        if !matches!(ethertype, ETHERTYPE_IPV4 | ETHERTYPE_IPV6) {
            return Err(DecapError::OuterNotIp);
        }

        let outer = parse_ip(cursor, ethertype).map_err(|e| match e {
            IpError::Short => DecapError::OuterIpShort,
            IpError::Invalid => DecapError::OuterIpInvalid,
            IpError::TooManyExtensions => DecapError::Ipv6TooManyExtensions,
        })?;
        if outer.non_first_fragment {
            return Err(DecapError::OuterFragment);
        }
        // A first fragment holds only the start of the tunnel payload.
        *truncated |= outer.truncated || outer.more_fragments;
        if outer.protocol != PROTO_UDP {
            return Err(DecapError::OuterNotUdp);
        }
        let dport = udp_dport(cursor).ok_or(DecapError::OuterUdpShort)?;

        if self.config.vxlan_ports.contains(&dport) {
            let vni = parse_vxlan(cursor).map_err(vxlan_error)?;
            return Ok((vni, Start::Ethernet));
        }
        if !self.config.geneve_ports.contains(&dport) {
            return Err(DecapError::NotMirrorPort);
        }

        let (vni, payload) = parse_geneve(cursor).map_err(|e| match e {
            GeneveError::Short => DecapError::GeneveShort,
            GeneveError::Version => DecapError::GeneveVersion,
            GeneveError::Control => DecapError::GeneveControl,
            GeneveError::Protocol => DecapError::GeneveProtocol,
        })?;
        match payload {
            GenevePayload::Ethernet => Ok((vni, Start::Ethernet)),
            GenevePayload::Ip(ethertype) => {
                self.parse_nested_vxlan(cursor, ethertype, truncated, vni)
            }
        }
    }

    /// Decapsulates IP / UDP / VXLAN inside GENEVE (the AWS Gateway Load Balancer
    /// stack) and returns the VXLAN VNI. Any other IP payload is the inner packet, and
    /// keeps the GENEVE VNI.
    fn parse_nested_vxlan(
        &self,
        cursor: &mut Cursor<'_>,
        ethertype: u16,
        truncated: &mut bool,
        geneve_vni: u32,
    ) -> Result<(u32, Start), DecapError> {
        let mut probe = *cursor;
        let Ok(mid) = parse_ip(&mut probe, ethertype) else {
            return Ok((geneve_vni, Start::Ip(Some(ethertype))));
        };
        let is_vxlan = mid.protocol == PROTO_UDP
            && !mid.non_first_fragment
            && udp_dport(&mut probe).is_some_and(|port| self.config.vxlan_ports.contains(&port));
        if !is_vxlan {
            return Ok((geneve_vni, Start::Ip(Some(ethertype))));
        }
        *truncated |= mid.truncated || mid.more_fragments;
        let vni = parse_vxlan(&mut probe).map_err(vxlan_error)?;
        *cursor = probe;
        Ok((vni, Start::Ethernet))
    }
}

/// The parsed headers of one frame, before the arithmetic that both parsers share.
#[derive(Clone, Copy, Debug)]
struct Headers<'a> {
    vni: u32,
    is_v6: bool,
    /// The inner IP header.
    ip: IpHeader,
    l4: L4,
    /// Offset of the transport header in the frame.
    l4_start: usize,
    /// The frame's bytes from the transport header to the end of the inner IP
    /// packet (or of the frame, if that ends first).
    l4_bytes: &'a [u8],
    /// The outer IP header claims more bytes than the frame holds, or the tunnel
    /// packet is a first fragment.
    outer_truncated: bool,
}

/// Builds the packet from its headers. `cut` is the number of bytes the capture
/// removed from the end of the frame. Returns the packet (without time) and whether
/// it is a non-first fragment.
#[inline]
fn assemble(frame: &[u8], cut: usize, headers: Headers<'_>) -> (Packet, bool) {
    let Headers {
        vni,
        is_v6,
        ip,
        l4,
        l4_start,
        l4_bytes,
        outer_truncated,
    } = headers;
    let truncated = cut > 0 || outer_truncated || ip.truncated || l4.truncated;

    let mut ip_bytes = ip.total_len;
    if ip.len_from_bytes {
        // NOTE: without a length field, the bytes cut from the frame are assumed to
        // belong to the inner packet.
        ip_bytes = ip_bytes.saturating_add(cut);
    }
    let payload_bytes = ip_bytes
        .saturating_sub(ip.header_len)
        .saturating_sub(l4.header_len);
    let fingerprint = fingerprint::fingerprint(frame, &ip, is_v6, l4_bytes);

    // Captured payload: after the transport header, and not past the IP length
    // (Ethernet padding follows short packets).
    let payload_start = l4_start.saturating_add(l4.header_len);
    let captured = if l4.truncated || ip.non_first_fragment {
        0
    } else {
        frame.len().saturating_sub(payload_start).min(payload_bytes)
    };

    let packet = Packet {
        ts_ns: 0,
        key: FlowKey {
            vni,
            protocol: ip.protocol,
            src: ip.src,
            dst: ip.dst,
            sport: l4.sport,
            dport: l4.dport,
        },
        ip_bytes: u32::try_from(ip_bytes).unwrap_or(u32::MAX),
        payload_bytes: u32::try_from(payload_bytes).unwrap_or(u32::MAX),
        tcp_flags: l4.tcp_flags,
        truncated,
        fingerprint,
        tcp_seq: l4.tcp_seq,
        payload_offset: u32::try_from(payload_start).unwrap_or(0),
        payload_len: u32::try_from(captured).unwrap_or(0),
    };
    (packet, ip.non_first_fragment)
}

fn ip_ethertype(cursor: &Cursor<'_>) -> Option<u16> {
    match peek_version(cursor)? {
        4 => Some(ETHERTYPE_IPV4),
        6 => Some(ETHERTYPE_IPV6),
        _ => None,
    }
}

/// Reads the 8-byte UDP header and returns the destination port.
fn udp_dport(cursor: &mut Cursor<'_>) -> Option<u16> {
    let [_, _, d0, d1, _, _, _, _] = cursor.array::<8>()?;
    Some(u16::from_be_bytes([d0, d1]))
}

fn vxlan_error(error: VxlanError) -> DecapError {
    match error {
        VxlanError::Short => DecapError::VxlanShort,
        VxlanError::NoVni => DecapError::VxlanNoVni,
    }
}

fn inner_ip_error(error: IpError) -> DecapError {
    match error {
        IpError::Short => DecapError::InnerIpShort,
        IpError::Invalid => DecapError::InnerIpInvalid,
        IpError::TooManyExtensions => DecapError::Ipv6TooManyExtensions,
    }
}
