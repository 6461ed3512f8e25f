//! Hand-built frames for tests and the traffic generator.
//!
//! [`Frame`] builds a mirrored frame layer by layer. The outer layers are Ethernet (with
//! 802.1Q and 802.1ad tags), IPv4 or IPv6, and UDP. The tunnel is VXLAN, GENEVE, or
//! GENEVE carrying IPv4/UDP/VXLAN as an AWS Gateway Load Balancer sends it. The inner
//! layers are Ethernet, IPv4 or IPv6, then TCP, UDP, ICMP or ICMPv6 and a payload. Length fields and checksums are
//! correct unless a setter overrides them, so tests can break one field at a time.
//!
//! ```
//! use sensor::decap::tcp_flags::SYN;
//! use sensor::fixture::Frame;
//!
//! let frame = Frame::vxlan(42)
//!     .inner_ipv4([10, 0, 0, 1], [10, 0, 0, 2])
//!     .tcp(40000, 443, SYN)
//!     .payload(100);
//! let bytes = frame.build();
//! assert_eq!(bytes.len() as u32, frame.wire_len());
//! ```
//!
//! [`wrap_aws_vxlan`] wraps a captured Ethernet frame the way AWS VPC Traffic Mirroring
//! does, for replaying plain captures as mirror traffic.
//!
//! NOTE: the builder allocates and may panic on impossible requests (a header longer
//! than its length field can state). It is for tests and load generation, never for
//! parsing received traffic.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Returns the path of `name` in the shared folder of real captures, or `None`, after
/// printing why, when it is missing. A missing capture panics when `CI` is set, so that
/// CI never skips a capture test.
pub fn shared_capture(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/captures")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "capture {} is missing and CI is set",
        path.display()
    );
    eprintln!("skipped: capture {} is missing", path.display());
    None
}

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of ARP, a common non-IP payload.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Tag protocol identifier of an 802.1Q (customer) VLAN tag.
pub const TPID_8021Q: u16 = 0x8100;
/// Tag protocol identifier of an 802.1ad (service) VLAN tag.
pub const TPID_8021AD: u16 = 0x88a8;
/// GENEVE protocol type of an Ethernet payload (Transparent Ethernet Bridging).
pub const GENEVE_PROTO_ETHERNET: u16 = 0x6558;
/// GENEVE option class that AWS Gateway Load Balancer uses.
pub const GENEVE_CLASS_AWS: u16 = 0x0108;
/// IANA-assigned VXLAN UDP port (RFC 7348).
pub const VXLAN_PORT: u16 = 4789;
/// IANA-assigned GENEVE UDP port (RFC 8926).
pub const GENEVE_PORT: u16 = 6081;

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const PROTO_IPV6_FRAGMENT: u8 = 44;
/// IP protocol number reserved for experiments (RFC 3692), used when no L4 is set.
const PROTO_EXPERIMENTAL: u8 = 253;

/// One VLAN tag: tag protocol identifier, VLAN id (12 bits) and priority (3 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vlan {
    pub tpid: u16,
    pub vid: u16,
    pub pcp: u8,
}

impl Vlan {
    /// Returns an 802.1Q customer tag.
    pub fn dot1q(vid: u16) -> Self {
        Vlan {
            tpid: TPID_8021Q,
            vid,
            pcp: 0,
        }
    }

    /// Returns an 802.1ad service tag, the outer tag of a QinQ pair.
    pub fn dot1ad(vid: u16) -> Self {
        Vlan {
            tpid: TPID_8021AD,
            vid,
            pcp: 0,
        }
    }
}

/// One GENEVE option TLV. `data` is padded with zeros to a multiple of 4 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneveOption {
    pub class: u16,
    pub kind: u8,
    pub data: Vec<u8>,
}

/// Outer addresses and VNI for [`wrap_aws_vxlan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AwsOuter {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    /// Primary address of the mirror source ENI.
    pub src_ip: Ipv4Addr,
    /// Address of the mirror target (the sensor).
    pub dst_ip: Ipv4Addr,
    /// VXLAN network identifier of the mirror session (24 bits; higher bits are dropped).
    pub vni: u32,
}

#[derive(Clone, Debug)]
struct EthSpec {
    dst: [u8; 6],
    src: [u8; 6],
    vlans: Vec<Vlan>,
    ethertype: Option<u16>,
}

#[derive(Clone, Copy, Debug)]
enum Addrs {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

#[derive(Clone, Debug)]
struct IpSpec {
    addrs: Addrs,
    /// IPv4 TTL or IPv6 hop limit.
    ttl: u8,
    /// IPv4 identification, or the IPv6 fragment header identification.
    id: u16,
    df: bool,
    /// Fragment offset in 8-byte units.
    frag_offset: u16,
    more_fragments: bool,
    /// IPv4 options, zero-padded to a multiple of 4 bytes.
    options: Vec<u8>,
    /// IPv6 extension header types to insert, each 8 bytes long.
    extensions: Vec<u8>,
    ihl: Option<u8>,
    total_len: Option<u16>,
    protocol: Option<u8>,
}

#[derive(Clone, Copy, Debug)]
struct UdpSpec {
    sport: u16,
    dport: u16,
}

#[derive(Clone, Copy, Debug)]
struct VxlanSpec {
    flags: u8,
    reserved1: [u8; 3],
    reserved2: u8,
    vni: u32,
}

#[derive(Clone, Debug)]
struct GeneveSpec {
    version: u8,
    oam: bool,
    critical: bool,
    /// Whether the payload starts with an Ethernet header (protocol type 0x6558).
    ethernet: bool,
    protocol: Option<u16>,
    opt_len_words: Option<u8>,
    vni: u32,
    options: Vec<GeneveOption>,
}

#[derive(Clone, Debug)]
enum Tunnel {
    /// No tunnel: the frame is the inner Ethernet frame itself.
    None,
    Vxlan(VxlanSpec),
    Geneve(GeneveSpec),
    /// GENEVE (protocol type 0x0800) / IPv4 / UDP / VXLAN, as AWS GWLB sends it.
    GeneveVxlan {
        geneve: GeneveSpec,
        mid_ip: IpSpec,
        mid_udp: UdpSpec,
        vxlan: VxlanSpec,
    },
}

#[derive(Clone, Copy, Debug)]
enum L4Spec {
    None,
    Tcp {
        sport: u16,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        data_offset: Option<u8>,
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    Icmp {
        kind: u8,
        code: u8,
        id: u16,
        seq: u16,
    },
    Icmpv6 {
        kind: u8,
        code: u8,
        id: u16,
        seq: u16,
    },
}

/// A frame under construction. Setters take and return `self`; [`Frame::build`] renders
/// the bytes and can be called repeatedly.
#[derive(Clone, Debug)]
pub struct Frame {
    outer_eth: EthSpec,
    outer_ip: IpSpec,
    outer_udp: UdpSpec,
    tunnel: Tunnel,
    inner_eth: EthSpec,
    inner_ip: IpSpec,
    l4: L4Spec,
    payload: Vec<u8>,
    trailer: usize,
    truncate_to: Option<usize>,
}

impl Frame {
    fn with_tunnel(tunnel: Tunnel, dport: u16) -> Self {
        Frame {
            outer_eth: EthSpec {
                dst: [0x02, 0, 0, 0, 0, 0x02],
                src: [0x02, 0, 0, 0, 0, 0x01],
                vlans: Vec::new(),
                ethertype: None,
            },
            // AWS Traffic Mirroring defaults: TTL 255, ID 0, no DF.
            outer_ip: IpSpec::v4([172, 31, 0, 238].into(), [172, 31, 17, 188].into(), 255),
            outer_udp: UdpSpec {
                sport: 49152,
                dport,
            },
            tunnel,
            inner_eth: EthSpec {
                dst: [0x02, 0, 0, 0, 0x01, 0x02],
                src: [0x02, 0, 0, 0, 0x01, 0x01],
                vlans: Vec::new(),
                ethertype: None,
            },
            inner_ip: IpSpec::v4([10, 0, 0, 1].into(), [10, 0, 0, 2].into(), 64),
            l4: L4Spec::None,
            payload: Vec::new(),
            trailer: 0,
            truncate_to: None,
        }
    }

    /// Starts a VXLAN frame (flags 0x08, UDP port 4789) with the given VNI.
    pub fn vxlan(vni: u32) -> Self {
        Self::with_tunnel(Tunnel::Vxlan(VxlanSpec::new(vni)), VXLAN_PORT)
    }

    /// Starts a GENEVE frame (UDP port 6081) carrying an Ethernet frame (protocol 0x6558).
    pub fn geneve(vni: u32) -> Self {
        Self::with_tunnel(Tunnel::Geneve(GeneveSpec::new(vni, true)), GENEVE_PORT)
    }

    /// Starts a GENEVE frame carrying an IP packet without Ethernet header; the protocol
    /// type is 0x0800 or 0x86DD, following the inner IP version.
    pub fn geneve_ip(vni: u32) -> Self {
        Self::with_tunnel(Tunnel::Geneve(GeneveSpec::new(vni, false)), GENEVE_PORT)
    }

    /// Starts an AWS Gateway Load Balancer frame: GENEVE (VNI 0, protocol 0x0800, the
    /// three AWS options of class 0x0108) / IPv4 / UDP 4789 / VXLAN `vni` / Ethernet.
    pub fn gwlb(vni: u32) -> Self {
        let mut geneve = GeneveSpec::new(0, false);
        geneve.options = vec![
            GeneveOption {
                class: GENEVE_CLASS_AWS,
                kind: 1,
                data: vec![0x11; 8],
            },
            GeneveOption {
                class: GENEVE_CLASS_AWS,
                kind: 2,
                data: vec![0x22; 8],
            },
            GeneveOption {
                class: GENEVE_CLASS_AWS,
                kind: 3,
                data: vec![0x33; 4],
            },
        ];
        let tunnel = Tunnel::GeneveVxlan {
            geneve,
            mid_ip: IpSpec::v4([172, 31, 1, 10].into(), [172, 31, 2, 20].into(), 255),
            mid_udp: UdpSpec {
                sport: 50000,
                dport: VXLAN_PORT,
            },
            vxlan: VxlanSpec::new(vni),
        };
        Self::with_tunnel(tunnel, GENEVE_PORT)
    }

    /// Starts a plain (already decapsulated) Ethernet frame: the inner layers only.
    /// The `outer_*` and tunnel setters have no effect on it.
    pub fn plain() -> Self {
        Self::with_tunnel(Tunnel::None, 0)
    }

    // Outer Ethernet, IP and UDP.

    /// Appends a VLAN tag to the outer Ethernet header (call twice for QinQ, outer first).
    pub fn outer_vlan(mut self, tag: Vlan) -> Self {
        self.outer_eth.vlans.push(tag);
        self
    }

    /// Sets the outer EtherType instead of the one that matches the outer IP version.
    pub fn outer_ethertype(mut self, ethertype: u16) -> Self {
        self.outer_eth.ethertype = Some(ethertype);
        self
    }

    /// Sets the outer IPv4 addresses.
    pub fn outer_ipv4(mut self, src: impl Into<Ipv4Addr>, dst: impl Into<Ipv4Addr>) -> Self {
        self.outer_ip.addrs = Addrs::V4(src.into(), dst.into());
        self
    }

    /// Switches the outer header to IPv6 with these addresses.
    pub fn outer_ipv6(mut self, src: impl Into<Ipv6Addr>, dst: impl Into<Ipv6Addr>) -> Self {
        self.outer_ip.addrs = Addrs::V6(src.into(), dst.into());
        self
    }

    /// Sets the outer IPv4 TTL or IPv6 hop limit.
    pub fn outer_ttl(mut self, ttl: u8) -> Self {
        self.outer_ip.ttl = ttl;
        self
    }

    /// Sets the outer IPv4 identification.
    pub fn outer_id(mut self, id: u16) -> Self {
        self.outer_ip.id = id;
        self
    }

    /// Sets the outer IPv4 Don't Fragment flag.
    pub fn outer_df(mut self, df: bool) -> Self {
        self.outer_ip.df = df;
        self
    }

    /// Adds outer IPv4 options (zero-padded to a multiple of 4 bytes).
    pub fn outer_ip_options(mut self, options: &[u8]) -> Self {
        self.outer_ip.options = options.to_vec();
        self
    }

    /// Sets the outer fragment offset (in 8-byte units) and the More Fragments flag.
    /// On IPv6 this adds a fragment extension header.
    pub fn outer_fragment(mut self, offset_units: u16, more_fragments: bool) -> Self {
        self.outer_ip.frag_offset = offset_units;
        self.outer_ip.more_fragments = more_fragments;
        self
    }

    /// Inserts an 8-byte IPv6 extension header of type `kind` (0 hop-by-hop, 43 routing,
    /// 60 destination options) after the outer IPv6 header.
    pub fn outer_ipv6_ext(mut self, kind: u8) -> Self {
        self.outer_ip.extensions.push(kind);
        self
    }

    /// Sets the outer IPv4 header length field (in 32-bit words) to a possibly wrong value.
    pub fn outer_ihl(mut self, words: u8) -> Self {
        self.outer_ip.ihl = Some(words);
        self
    }

    /// Sets the outer IP protocol (IPv6 next header) instead of UDP.
    pub fn outer_protocol(mut self, protocol: u8) -> Self {
        self.outer_ip.protocol = Some(protocol);
        self
    }

    /// Sets the outer UDP ports.
    pub fn outer_udp_ports(mut self, sport: u16, dport: u16) -> Self {
        self.outer_udp = UdpSpec { sport, dport };
        self
    }

    // Tunnel headers.

    /// Sets the VXLAN flags byte (RFC 7348: 0x08, the I flag).
    pub fn vxlan_flags(mut self, flags: u8) -> Self {
        if let Some(vxlan) = self.vxlan_mut() {
            vxlan.flags = flags;
        }
        self
    }

    /// Sets the VXLAN reserved fields: the 3 bytes after the flags and the last byte.
    pub fn vxlan_reserved(mut self, reserved1: [u8; 3], reserved2: u8) -> Self {
        if let Some(vxlan) = self.vxlan_mut() {
            vxlan.reserved1 = reserved1;
            vxlan.reserved2 = reserved2;
        }
        self
    }

    /// Sets the GENEVE version (2 bits; 0 is the only defined version).
    pub fn geneve_version(mut self, version: u8) -> Self {
        if let Some(geneve) = self.geneve_mut() {
            geneve.version = version;
        }
        self
    }

    /// Sets the GENEVE O (control packet) and C (critical options present) flags.
    pub fn geneve_flags(mut self, oam: bool, critical: bool) -> Self {
        if let Some(geneve) = self.geneve_mut() {
            geneve.oam = oam;
            geneve.critical = critical;
        }
        self
    }

    /// Sets the GENEVE protocol type instead of the one that matches the payload.
    pub fn geneve_protocol(mut self, protocol: u16) -> Self {
        if let Some(geneve) = self.geneve_mut() {
            geneve.protocol = Some(protocol);
        }
        self
    }

    /// Appends a GENEVE option TLV.
    pub fn geneve_option(mut self, class: u16, kind: u8, data: &[u8]) -> Self {
        if let Some(geneve) = self.geneve_mut() {
            geneve.options.push(GeneveOption {
                class,
                kind,
                data: data.to_vec(),
            });
        }
        self
    }

    /// Sets the GENEVE options length field (in 4-byte words) to a possibly wrong value.
    pub fn geneve_opt_len(mut self, words: u8) -> Self {
        if let Some(geneve) = self.geneve_mut() {
            geneve.opt_len_words = Some(words);
        }
        self
    }

    fn vxlan_mut(&mut self) -> Option<&mut VxlanSpec> {
        match &mut self.tunnel {
            Tunnel::Vxlan(vxlan) | Tunnel::GeneveVxlan { vxlan, .. } => Some(vxlan),
            _ => None,
        }
    }

    fn geneve_mut(&mut self) -> Option<&mut GeneveSpec> {
        match &mut self.tunnel {
            Tunnel::Geneve(geneve) | Tunnel::GeneveVxlan { geneve, .. } => Some(geneve),
            _ => None,
        }
    }

    // Inner Ethernet and IP.

    /// Sets the inner MAC addresses.
    pub fn inner_macs(mut self, src: [u8; 6], dst: [u8; 6]) -> Self {
        self.inner_eth.src = src;
        self.inner_eth.dst = dst;
        self
    }

    /// Appends a VLAN tag to the inner Ethernet header (call twice for QinQ, outer first).
    pub fn inner_vlan(mut self, tag: Vlan) -> Self {
        self.inner_eth.vlans.push(tag);
        self
    }

    /// Sets the inner EtherType instead of the one that matches the inner IP version.
    pub fn inner_ethertype(mut self, ethertype: u16) -> Self {
        self.inner_eth.ethertype = Some(ethertype);
        self
    }

    /// Sets the inner IPv4 addresses.
    pub fn inner_ipv4(mut self, src: impl Into<Ipv4Addr>, dst: impl Into<Ipv4Addr>) -> Self {
        self.inner_ip.addrs = Addrs::V4(src.into(), dst.into());
        self
    }

    /// Switches the inner header to IPv6 with these addresses.
    pub fn inner_ipv6(mut self, src: impl Into<Ipv6Addr>, dst: impl Into<Ipv6Addr>) -> Self {
        self.inner_ip.addrs = Addrs::V6(src.into(), dst.into());
        self
    }

    /// Sets the inner IPv4 TTL or IPv6 hop limit.
    pub fn inner_ttl(mut self, ttl: u8) -> Self {
        self.inner_ip.ttl = ttl;
        self
    }

    /// Sets the inner IPv4 identification (IPv6: the fragment header identification).
    pub fn inner_id(mut self, id: u16) -> Self {
        self.inner_ip.id = id;
        self
    }

    /// Sets the inner IPv4 Don't Fragment flag.
    pub fn inner_df(mut self, df: bool) -> Self {
        self.inner_ip.df = df;
        self
    }

    /// Adds inner IPv4 options (zero-padded to a multiple of 4 bytes).
    pub fn inner_ip_options(mut self, options: &[u8]) -> Self {
        self.inner_ip.options = options.to_vec();
        self
    }

    /// Sets the inner fragment offset (in 8-byte units) and the More Fragments flag.
    /// On IPv6 this adds a fragment extension header. The L4 header is still written, as
    /// the first bytes of the fragment's data.
    pub fn inner_fragment(mut self, offset_units: u16, more_fragments: bool) -> Self {
        self.inner_ip.frag_offset = offset_units;
        self.inner_ip.more_fragments = more_fragments;
        self
    }

    /// Inserts an 8-byte IPv6 extension header of type `kind` after the inner IPv6 header.
    pub fn inner_ipv6_ext(mut self, kind: u8) -> Self {
        self.inner_ip.extensions.push(kind);
        self
    }

    /// Sets the inner IPv4 header length field (in 32-bit words) to a possibly wrong value.
    pub fn inner_ihl(mut self, words: u8) -> Self {
        self.inner_ip.ihl = Some(words);
        self
    }

    /// Sets the inner IPv4 total length (IPv6: payload length) to a possibly wrong value.
    pub fn inner_total_len(mut self, len: u16) -> Self {
        self.inner_ip.total_len = Some(len);
        self
    }

    /// Sets the inner IP protocol (IPv6 next header) instead of the one of the L4 header.
    pub fn inner_protocol(mut self, protocol: u8) -> Self {
        self.inner_ip.protocol = Some(protocol);
        self
    }

    // L4 and payload.

    /// Adds a TCP header (sequence number 1, no options).
    pub fn tcp(mut self, sport: u16, dport: u16, flags: u8) -> Self {
        self.l4 = L4Spec::Tcp {
            sport,
            dport,
            flags,
            seq: 1,
            ack: 0,
            data_offset: None,
        };
        self
    }

    /// Sets the TCP sequence and acknowledgement numbers (after [`Frame::tcp`]).
    pub fn tcp_seq(mut self, seq_number: u32, ack_number: u32) -> Self {
        if let L4Spec::Tcp { seq, ack, .. } = &mut self.l4 {
            *seq = seq_number;
            *ack = ack_number;
        }
        self
    }

    /// Sets the TCP data offset field (in 32-bit words) to a possibly wrong value.
    pub fn tcp_data_offset(mut self, words: u8) -> Self {
        if let L4Spec::Tcp { data_offset, .. } = &mut self.l4 {
            *data_offset = Some(words);
        }
        self
    }

    /// Adds a UDP header.
    pub fn udp(mut self, sport: u16, dport: u16) -> Self {
        self.l4 = L4Spec::Udp { sport, dport };
        self
    }

    /// Adds an ICMP echo request (type 8).
    pub fn icmp_echo(self, id: u16, seq: u16) -> Self {
        self.icmp(8, 0, id, seq)
    }

    /// Adds an ICMP echo reply (type 0).
    pub fn icmp_echo_reply(self, id: u16, seq: u16) -> Self {
        self.icmp(0, 0, id, seq)
    }

    /// Adds an ICMP header of any type; `id` and `seq` fill the 4 rest-of-header bytes.
    pub fn icmp(mut self, kind: u8, code: u8, id: u16, seq: u16) -> Self {
        self.l4 = L4Spec::Icmp {
            kind,
            code,
            id,
            seq,
        };
        self
    }

    /// Adds an ICMPv6 echo request (type 128).
    pub fn icmpv6_echo(self, id: u16, seq: u16) -> Self {
        self.icmpv6(128, 0, id, seq)
    }

    /// Adds an ICMPv6 echo reply (type 129).
    pub fn icmpv6_echo_reply(self, id: u16, seq: u16) -> Self {
        self.icmpv6(129, 0, id, seq)
    }

    /// Adds an ICMPv6 header of any type; `id` and `seq` fill the 4 message bytes.
    pub fn icmpv6(mut self, kind: u8, code: u8, id: u16, seq: u16) -> Self {
        self.l4 = L4Spec::Icmpv6 {
            kind,
            code,
            id,
            seq,
        };
        self
    }

    /// Sets an `n`-byte payload with a fixed pattern (byte i is `i % 251`).
    pub fn payload(mut self, n: usize) -> Self {
        self.payload = (0..n).map(|i| (i % 251) as u8).collect();
        self
    }

    /// Sets the payload bytes.
    pub fn payload_bytes(mut self, bytes: &[u8]) -> Self {
        self.payload = bytes.to_vec();
        self
    }

    /// Appends `n` zero bytes after the outermost packet, as Ethernet padding does. No
    /// length field counts them.
    pub fn trailer(mut self, n: usize) -> Self {
        self.trailer = n;
        self
    }

    /// Cuts the built frame to at most `n` bytes, as a snap length or AWS truncation does.
    /// Length fields still describe the full frame; [`Frame::wire_len`] returns its length.
    pub fn truncate(mut self, n: usize) -> Self {
        self.truncate_to = Some(n);
        self
    }

    /// Returns the frame length before truncation, the value pcap calls `orig_len`.
    pub fn wire_len(&self) -> u32 {
        self.render().len() as u32
    }

    /// Renders the frame bytes, truncated if [`Frame::truncate`] was called.
    pub fn build(&self) -> Vec<u8> {
        let mut bytes = self.render();
        if let Some(n) = self.truncate_to {
            bytes.truncate(n);
        }
        bytes
    }

    fn render(&self) -> Vec<u8> {
        let inner_ip = self.render_inner_ip();
        let mut frame = match &self.tunnel {
            Tunnel::None => eth_wrap(&self.inner_eth, &self.inner_ip, inner_ip),
            Tunnel::Vxlan(vxlan) => {
                let inner = eth_wrap(&self.inner_eth, &self.inner_ip, inner_ip);
                self.outer_wrap(vxlan_wrap(vxlan, inner))
            }
            Tunnel::Geneve(geneve) => {
                let inner = if geneve.ethernet {
                    eth_wrap(&self.inner_eth, &self.inner_ip, inner_ip)
                } else {
                    inner_ip
                };
                self.outer_wrap(geneve_wrap(geneve, self.inner_ip.addrs, inner))
            }
            Tunnel::GeneveVxlan {
                geneve,
                mid_ip,
                mid_udp,
                vxlan,
            } => {
                let inner = eth_wrap(&self.inner_eth, &self.inner_ip, inner_ip);
                let vxlan_packet = vxlan_wrap(vxlan, inner);
                let mid_udp_bytes = udp_wrap(mid_udp, mid_ip.addrs, vxlan_packet, false);
                let mid = ip_wrap(mid_ip, PROTO_UDP, mid_udp_bytes);
                self.outer_wrap(geneve_wrap(geneve, mid_ip.addrs, mid))
            }
        };
        frame.resize(frame.len() + self.trailer, 0);
        frame
    }

    fn render_inner_ip(&self) -> Vec<u8> {
        let addrs = self.inner_ip.addrs;
        let (protocol, segment) = match self.l4 {
            L4Spec::None => (PROTO_EXPERIMENTAL, self.payload.clone()),
            L4Spec::Tcp {
                sport,
                dport,
                flags,
                seq,
                ack,
                data_offset,
            } => {
                let mut h = Vec::with_capacity(20 + self.payload.len());
                h.extend_from_slice(&sport.to_be_bytes());
                h.extend_from_slice(&dport.to_be_bytes());
                h.extend_from_slice(&seq.to_be_bytes());
                h.extend_from_slice(&ack.to_be_bytes());
                h.push(data_offset.unwrap_or(5) << 4);
                h.push(flags);
                h.extend_from_slice(&65535u16.to_be_bytes());
                h.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
                h.extend_from_slice(&self.payload);
                let sum = l4_checksum(addrs, PROTO_TCP, &h);
                h[16..18].copy_from_slice(&sum.to_be_bytes());
                (PROTO_TCP, h)
            }
            L4Spec::Udp { sport, dport } => {
                let udp = udp_wrap(&UdpSpec { sport, dport }, addrs, self.payload.clone(), true);
                (PROTO_UDP, udp)
            }
            L4Spec::Icmp {
                kind,
                code,
                id,
                seq,
            } => {
                let mut h = icmp_header(kind, code, id, seq, &self.payload);
                let sum = checksum_fold(checksum_add(0, &h));
                h[2..4].copy_from_slice(&sum.to_be_bytes());
                (PROTO_ICMP, h)
            }
            L4Spec::Icmpv6 {
                kind,
                code,
                id,
                seq,
            } => {
                let mut h = icmp_header(kind, code, id, seq, &self.payload);
                let sum = l4_checksum(addrs, PROTO_ICMPV6, &h);
                h[2..4].copy_from_slice(&sum.to_be_bytes());
                (PROTO_ICMPV6, h)
            }
        };
        ip_wrap(&self.inner_ip, protocol, segment)
    }

    fn outer_wrap(&self, tunnel_packet: Vec<u8>) -> Vec<u8> {
        // Outer UDP checksum: 0 over IPv4 as AWS sends it; computed over IPv6,
        // where RFC 8200 forbids a zero checksum for plain UDP.
        let checksum = matches!(self.outer_ip.addrs, Addrs::V6(..));
        let udp = udp_wrap(
            &self.outer_udp,
            self.outer_ip.addrs,
            tunnel_packet,
            checksum,
        );
        let ip = ip_wrap(&self.outer_ip, PROTO_UDP, udp);
        eth_wrap(&self.outer_eth, &self.outer_ip, ip)
    }
}

impl IpSpec {
    fn v4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> Self {
        IpSpec {
            addrs: Addrs::V4(src, dst),
            ttl,
            id: 0,
            df: false,
            frag_offset: 0,
            more_fragments: false,
            options: Vec::new(),
            extensions: Vec::new(),
            ihl: None,
            total_len: None,
            protocol: None,
        }
    }
}

impl VxlanSpec {
    fn new(vni: u32) -> Self {
        VxlanSpec {
            flags: 0x08,
            reserved1: [0; 3],
            reserved2: 0,
            vni,
        }
    }
}

impl GeneveSpec {
    fn new(vni: u32, ethernet: bool) -> Self {
        GeneveSpec {
            version: 0,
            oam: false,
            critical: false,
            ethernet,
            protocol: None,
            opt_len_words: None,
            vni,
            options: Vec::new(),
        }
    }
}

fn eth_wrap(eth: &EthSpec, ip: &IpSpec, payload: Vec<u8>) -> Vec<u8> {
    let ethertype = eth.ethertype.unwrap_or(match ip.addrs {
        Addrs::V4(..) => ETHERTYPE_IPV4,
        Addrs::V6(..) => ETHERTYPE_IPV6,
    });
    let mut out = Vec::with_capacity(14 + 4 * eth.vlans.len() + payload.len());
    out.extend_from_slice(&eth.dst);
    out.extend_from_slice(&eth.src);
    for tag in &eth.vlans {
        out.extend_from_slice(&tag.tpid.to_be_bytes());
        let tci = (u16::from(tag.pcp & 0x7) << 13) | (tag.vid & 0x0fff);
        out.extend_from_slice(&tci.to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

fn ip_wrap(ip: &IpSpec, l4_protocol: u8, payload: Vec<u8>) -> Vec<u8> {
    let protocol = ip.protocol.unwrap_or(l4_protocol);
    match ip.addrs {
        Addrs::V4(src, dst) => {
            let mut options = ip.options.clone();
            options.resize(options.len().next_multiple_of(4), 0);
            let header_len = 20 + options.len();
            let total = ip.total_len.unwrap_or((header_len + payload.len()) as u16);
            let ihl = ip.ihl.unwrap_or((header_len / 4) as u8);
            let flags_fragment = (u16::from(ip.df) << 14)
                | (u16::from(ip.more_fragments) << 13)
                | (ip.frag_offset & 0x1fff);
            let mut h = Vec::with_capacity(header_len + payload.len());
            h.push(0x40 | (ihl & 0x0f));
            h.push(0);
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&ip.id.to_be_bytes());
            h.extend_from_slice(&flags_fragment.to_be_bytes());
            h.push(ip.ttl);
            h.push(protocol);
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(&src.octets());
            h.extend_from_slice(&dst.octets());
            h.extend_from_slice(&options);
            let sum = checksum_fold(checksum_add(0, &h));
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            h.extend_from_slice(&payload);
            h
        }
        Addrs::V6(src, dst) => {
            // Each extension header is 8 bytes: next header, length 0, 6 bytes of data.
            // A fragment header, when needed, comes last.
            let mut kinds = ip.extensions.clone();
            if ip.frag_offset != 0 || ip.more_fragments {
                kinds.push(PROTO_IPV6_FRAGMENT);
            }
            let mut ext = Vec::with_capacity(8 * kinds.len());
            for (i, &kind) in kinds.iter().enumerate() {
                let next = kinds.get(i + 1).copied().unwrap_or(protocol);
                ext.push(next);
                if kind == PROTO_IPV6_FRAGMENT {
                    ext.push(0);
                    let offset_flags = (ip.frag_offset << 3) | u16::from(ip.more_fragments);
                    ext.extend_from_slice(&offset_flags.to_be_bytes());
                    ext.extend_from_slice(&u32::from(ip.id).to_be_bytes());
                } else {
                    ext.extend_from_slice(&[0, 1, 4, 0, 0, 0, 0]); // PadN option
                }
            }
            let first = kinds.first().copied().unwrap_or(protocol);
            let payload_len = ip.total_len.unwrap_or((ext.len() + payload.len()) as u16);
            let mut h = Vec::with_capacity(40 + ext.len() + payload.len());
            h.extend_from_slice(&[0x60, 0, 0, 0]);
            h.extend_from_slice(&payload_len.to_be_bytes());
            h.push(first);
            h.push(ip.ttl);
            h.extend_from_slice(&src.octets());
            h.extend_from_slice(&dst.octets());
            h.extend_from_slice(&ext);
            h.extend_from_slice(&payload);
            h
        }
    }
}

fn udp_wrap(udp: &UdpSpec, addrs: Addrs, payload: Vec<u8>, checksum: bool) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend_from_slice(&udp.sport.to_be_bytes());
    h.extend_from_slice(&udp.dport.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&payload);
    if checksum {
        let sum = match l4_checksum(addrs, PROTO_UDP, &h) {
            0 => 0xffff, // RFC 768: a computed zero is sent as all ones.
            sum => sum,
        };
        h[6..8].copy_from_slice(&sum.to_be_bytes());
    }
    h
}

fn vxlan_wrap(vxlan: &VxlanSpec, payload: Vec<u8>) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.push(vxlan.flags);
    h.extend_from_slice(&vxlan.reserved1);
    h.extend_from_slice(&vni_bytes(vxlan.vni));
    h.push(vxlan.reserved2);
    h.extend_from_slice(&payload);
    h
}

fn geneve_wrap(geneve: &GeneveSpec, payload_addrs: Addrs, payload: Vec<u8>) -> Vec<u8> {
    let mut options = Vec::new();
    for opt in &geneve.options {
        let mut data = opt.data.clone();
        data.resize(data.len().next_multiple_of(4), 0);
        options.extend_from_slice(&opt.class.to_be_bytes());
        options.push(opt.kind);
        options.push((data.len() / 4) as u8 & 0x1f);
        options.extend_from_slice(&data);
    }
    let protocol = geneve.protocol.unwrap_or(if geneve.ethernet {
        GENEVE_PROTO_ETHERNET
    } else {
        match payload_addrs {
            Addrs::V4(..) => ETHERTYPE_IPV4,
            Addrs::V6(..) => ETHERTYPE_IPV6,
        }
    });
    let opt_len = geneve.opt_len_words.unwrap_or((options.len() / 4) as u8);
    let mut h = Vec::with_capacity(8 + options.len() + payload.len());
    h.push((geneve.version << 6) | (opt_len & 0x3f));
    h.push((u8::from(geneve.oam) << 7) | (u8::from(geneve.critical) << 6));
    h.extend_from_slice(&protocol.to_be_bytes());
    h.extend_from_slice(&vni_bytes(geneve.vni));
    h.push(0);
    h.extend_from_slice(&options);
    h.extend_from_slice(&payload);
    h
}

fn icmp_header(kind: u8, code: u8, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend_from_slice(&[kind, code, 0, 0]);
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn vni_bytes(vni: u32) -> [u8; 3] {
    let [_, a, b, c] = vni.to_be_bytes();
    [a, b, c]
}

/// Computes a TCP, UDP or ICMPv6 checksum with the IPv4 or IPv6 pseudo-header.
fn l4_checksum(addrs: Addrs, protocol: u8, segment: &[u8]) -> u16 {
    let mut sum = match addrs {
        Addrs::V4(src, dst) => checksum_add(checksum_add(0, &src.octets()), &dst.octets()),
        Addrs::V6(src, dst) => checksum_add(checksum_add(0, &src.octets()), &dst.octets()),
    };
    sum += u32::from(protocol);
    sum += segment.len() as u32 & 0xffff;
    sum += (segment.len() as u32) >> 16;
    checksum_fold(checksum_add(sum, segment))
}

fn checksum_add(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for pair in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([pair[0], pair[1]])));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

fn checksum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Outer headers that [`wrap_aws_vxlan_into`] adds: Ethernet 14, IPv4 20, UDP 8, VXLAN 8.
pub const AWS_OVERHEAD: usize = 50;

/// Largest inner frame that fits in one outer IPv4 packet (65,535 minus 36 header bytes).
pub const AWS_MAX_INNER: usize = 65_535 - (AWS_OVERHEAD - 14);

/// Wraps a captured Ethernet frame as AWS VPC Traffic Mirroring sends it.
/// See [`wrap_aws_vxlan_into`] for the header values.
pub fn wrap_aws_vxlan(inner_ethernet: &[u8], outer: &AwsOuter) -> Vec<u8> {
    let mut out = Vec::with_capacity(AWS_OVERHEAD + inner_ethernet.len());
    wrap_aws_vxlan_into(inner_ethernet, outer, &mut out);
    out
}

/// Writes the wrapped frame into `out` (cleared first), allocating only when `out` has
/// less capacity than the frame needs.
///
/// Outer IPv4: TTL 255, ID 0, DF clear, header checksum set. UDP: destination 4789,
/// checksum 0, source port 49152 + (hash of the inner 5-tuple mod 16384), so the two
/// directions of one flow usually get different ports. VXLAN: flags 0x08 and the VNI.
/// An inner frame longer than [`AWS_MAX_INNER`] is cut to that length, as AWS truncates
/// mirrored packets instead of fragmenting them.
pub fn wrap_aws_vxlan_into(inner_ethernet: &[u8], outer: &AwsOuter, out: &mut Vec<u8>) {
    let inner = inner_ethernet
        .get(..AWS_MAX_INNER)
        .unwrap_or(inner_ethernet);
    let udp_len = (16 + inner.len()) as u16;
    let ip_total = udp_len + 20;
    let sport = 49152 + (inner_flow_hash(inner) % 16384) as u16;

    out.clear();
    out.reserve(AWS_OVERHEAD + inner.len());
    out.extend_from_slice(&outer.dst_mac);
    out.extend_from_slice(&outer.src_mac);
    out.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());

    let ip_start = out.len();
    out.extend_from_slice(&[0x45, 0]);
    out.extend_from_slice(&ip_total.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 255, PROTO_UDP, 0, 0]); // ID, flags, TTL, proto, sum
    out.extend_from_slice(&outer.src_ip.octets());
    out.extend_from_slice(&outer.dst_ip.octets());
    let sum = checksum_fold(checksum_add(0, &out[ip_start..]));
    out[ip_start + 10..ip_start + 12].copy_from_slice(&sum.to_be_bytes());

    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&VXLAN_PORT.to_be_bytes());
    out.extend_from_slice(&udp_len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);

    out.extend_from_slice(&[0x08, 0, 0, 0]);
    out.extend_from_slice(&vni_bytes(outer.vni));
    out.push(0);
    out.extend_from_slice(inner);
}

/// Hashes the inner 5-tuple (addresses, protocol, TCP/UDP ports) with FNV-1a. Frames
/// that are not IPv4 or IPv6 hash their first 14 bytes instead.
fn inner_flow_hash(frame: &[u8]) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    };

    let mut offset = 12;
    let mut ethertype = read_u16(frame, offset);
    let mut tags = 0;
    while matches!(ethertype, Some(TPID_8021Q | TPID_8021AD)) && tags < 2 {
        offset += 4;
        tags += 1;
        ethertype = read_u16(frame, offset);
    }
    let l3 = offset + 2;
    let (addrs, protocol, l4) = match ethertype {
        Some(ETHERTYPE_IPV4) => {
            let ihl = frame.get(l3).map_or(0, |b| usize::from(b & 0x0f) * 4);
            let fragment = read_u16(frame, l3 + 6).unwrap_or(0) & 0x1fff;
            let l4 = if fragment == 0 { Some(l3 + ihl) } else { None };
            (frame.get(l3 + 12..l3 + 20), frame.get(l3 + 9).copied(), l4)
        }
        Some(ETHERTYPE_IPV6) => (
            frame.get(l3 + 8..l3 + 40),
            frame.get(l3 + 6).copied(),
            Some(l3 + 40),
        ),
        _ => (None, None, None),
    };
    match (addrs, protocol) {
        (Some(addrs), Some(protocol)) => {
            feed(addrs);
            feed(&[protocol]);
            let ports = l4.and_then(|at| frame.get(at..at + 4));
            if let (PROTO_TCP | PROTO_UDP, Some(ports)) = (protocol, ports) {
                feed(ports);
            }
        }
        _ => feed(frame.get(..14).unwrap_or(frame)),
    }
    hash
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([pair[0], pair[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decap::tcp_flags::SYN;

    #[test]
    fn vxlan_tcp_lengths() {
        let frame = Frame::vxlan(7).tcp(1000, 80, SYN).payload(10);
        let bytes = frame.build();
        // 14 + 20 + 8 + 8 outer, 14 inner Ethernet, 20 IPv4, 20 TCP, 10 payload.
        assert_eq!(bytes.len(), 114);
        assert_eq!(&bytes[12..14], &[0x08, 0x00]);
        assert_eq!(u16::from_be_bytes([bytes[16], bytes[17]]), 100); // outer total length
        assert_eq!(u16::from_be_bytes([bytes[36], bytes[37]]), VXLAN_PORT);
        assert_eq!(u16::from_be_bytes([bytes[38], bytes[39]]), 80); // UDP length
        assert_eq!(&bytes[42..50], &[0x08, 0, 0, 0, 0, 0, 7, 0]);
        assert_eq!(u16::from_be_bytes([bytes[66], bytes[67]]), 50); // inner total length
    }

    #[test]
    fn ipv4_header_checksum_valid() {
        let bytes = Frame::vxlan(1).udp(53, 53).build();
        let outer = &bytes[14..34];
        assert_eq!(checksum_fold(checksum_add(0, outer)), 0);
        let inner = &bytes[64..84];
        assert_eq!(checksum_fold(checksum_add(0, inner)), 0);
    }

    #[test]
    fn tcp_checksum_valid() {
        let bytes = Frame::plain().tcp(1, 2, SYN).payload(7).build();
        let segment = &bytes[34..];
        let addrs = Addrs::V4([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        assert_eq!(l4_checksum(addrs, PROTO_TCP, segment), 0);
    }

    #[test]
    fn truncate_keeps_wire_len() {
        let frame = Frame::vxlan(1).udp(1, 2).payload(100).truncate(60);
        assert_eq!(frame.build().len(), 60);
        assert_eq!(frame.wire_len(), 50 + 14 + 20 + 8 + 100);
    }

    #[test]
    fn qinq_tags_in_order() {
        let bytes = Frame::plain()
            .inner_vlan(Vlan::dot1ad(100))
            .inner_vlan(Vlan::dot1q(200))
            .build();
        assert_eq!(
            &bytes[12..22],
            &[0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 200, 0x08, 0x00]
        );
    }

    #[test]
    fn gwlb_layout() {
        let bytes = Frame::gwlb(99).udp(1, 2).build();
        // GENEVE at 42: 32 bytes of options (8 words), protocol 0x0800.
        assert_eq!(&bytes[42..46], &[0x08, 0x00, 0x08, 0x00]);
        // The middle IPv4 header follows the GENEVE header and options.
        let mid = 42 + 8 + 32;
        assert_eq!(bytes[mid], 0x45);
        assert_eq!(&bytes[mid + 22..mid + 24], &VXLAN_PORT.to_be_bytes());
        assert_eq!(&bytes[mid + 28 + 4..mid + 28 + 7], &[0, 0, 99]);
    }

    #[test]
    fn ipv6_fragment_header_last() {
        let bytes = Frame::plain()
            .inner_ipv6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST)
            .inner_ipv6_ext(0)
            .inner_fragment(3, true)
            .udp(1, 2)
            .build();
        assert_eq!(bytes[14 + 6], 0); // hop-by-hop first
        assert_eq!(bytes[54], PROTO_IPV6_FRAGMENT);
        assert_eq!(bytes[62], PROTO_UDP);
        assert_eq!(&bytes[64..66], &[0, 3 << 3 | 1]);
    }

    #[test]
    fn aws_wrap_headers() {
        let inner = Frame::plain().tcp(1000, 22, SYN).build();
        let outer = AwsOuter {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_ip: [172, 31, 0, 238].into(),
            dst_ip: [172, 31, 17, 188].into(),
            vni: 5_569_041,
        };
        let bytes = wrap_aws_vxlan(&inner, &outer);
        assert_eq!(bytes.len(), AWS_OVERHEAD + inner.len());
        assert_eq!(bytes[22], 255); // TTL
        assert_eq!(&bytes[18..22], &[0, 0, 0, 0]); // ID 0, no DF
        assert_eq!(checksum_fold(checksum_add(0, &bytes[14..34])), 0);
        let sport = u16::from_be_bytes([bytes[34], bytes[35]]);
        assert!(sport >= 49152);
        assert_eq!(&bytes[36..38], &VXLAN_PORT.to_be_bytes());
        assert_eq!(&bytes[40..42], &[0, 0]); // UDP checksum
        assert_eq!(&bytes[42..50], &[0x08, 0, 0, 0, 0x54, 0xfa, 0x11, 0]);
        assert_eq!(&bytes[50..], &inner[..]);
    }

    #[test]
    fn aws_wrap_reuses_buffer() {
        let inner = Frame::plain().udp(1, 2).payload(20).build();
        let outer = AwsOuter {
            src_mac: [0; 6],
            dst_mac: [0; 6],
            src_ip: Ipv4Addr::LOCALHOST,
            dst_ip: Ipv4Addr::LOCALHOST,
            vni: 1,
        };
        let mut buf = Vec::with_capacity(1024);
        let before = buf.as_ptr();
        wrap_aws_vxlan_into(&inner, &outer, &mut buf);
        assert_eq!(buf.as_ptr(), before);
        assert_eq!(buf, wrap_aws_vxlan(&inner, &outer));
    }

    #[test]
    fn aws_wrap_port_depends_on_direction() {
        let outer = AwsOuter {
            src_mac: [0; 6],
            dst_mac: [0; 6],
            src_ip: Ipv4Addr::LOCALHOST,
            dst_ip: Ipv4Addr::LOCALHOST,
            vni: 1,
        };
        let forward = wrap_aws_vxlan(&Frame::plain().tcp(40000, 443, SYN).build(), &outer);
        let backward = wrap_aws_vxlan(
            &Frame::plain()
                .inner_ipv4([10, 0, 0, 2], [10, 0, 0, 1])
                .tcp(443, 40000, SYN)
                .build(),
            &outer,
        );
        assert_ne!(&forward[34..36], &backward[34..36]);
    }
}
