//! The flow key: VNI, protocol, the two inner addresses and the two ports (ICMP type and
//! identifier), with the canonical ordering that gives both directions one key.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 or IPv6 address in 16 bytes. IPv4 is stored IPv4-mapped (`::ffff:a.b.c.d`).
///
/// NOTE: an IPv6 packet that carries IPv4-mapped addresses on the wire gets the same
/// key as the IPv4 packet with those addresses. RFC 4291 forbids such packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Addr(pub [u8; 16]);

impl Addr {
    /// Converts IPv4 octets.
    pub fn v4(octets: [u8; 4]) -> Self {
        let [a, b, c, d] = octets;
        Addr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d])
    }

    /// Converts IPv6 octets.
    pub fn v6(octets: [u8; 16]) -> Self {
        Addr(octets)
    }

    /// Returns whether this is an (IPv4-mapped) IPv4 address.
    pub fn is_ipv4(&self) -> bool {
        self.0[..12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
    }

    /// Converts to the standard library's address type.
    pub fn to_ip(self) -> IpAddr {
        let v6 = Ipv6Addr::from(self.0);
        match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        }
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Addr::v4(v4.octets()),
            IpAddr::V6(v6) => Addr::v6(v6.octets()),
        }
    }
}

impl From<Ipv4Addr> for Addr {
    fn from(ip: Ipv4Addr) -> Self {
        Addr::v4(ip.octets())
    }
}

impl From<Ipv6Addr> for Addr {
    fn from(ip: Ipv6Addr) -> Self {
        Addr::v6(ip.octets())
    }
}

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// Direction of a packet relative to its canonical key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the canonical key's `src` to its `dst`.
    Forward,
    /// From the canonical key's `dst` to its `src`.
    Reverse,
}

impl Direction {
    /// Returns the other direction.
    pub fn reverse(self) -> Self {
        match self {
            Direction::Forward => Direction::Reverse,
            Direction::Reverse => Direction::Forward,
        }
    }
}

/// The identity of a flow as seen on one packet (source to destination).
///
/// For TCP, UDP, SCTP and UDP-Lite, `sport` and `dport` are the ports. For ICMP and
/// ICMPv6, `sport` is the message type (a reply carries the type of its request, so
/// echo request and reply share a key) and `dport` is the identifier of query messages
/// (0 for error messages). For other protocols and for non-first IP fragments both are 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlowKey {
    /// VXLAN or GENEVE network identifier (24 bits; 0 for decapsulated input).
    pub vni: u32,
    /// IP protocol number (IPv6: the upper-layer next header).
    pub protocol: u8,
    pub src: Addr,
    pub dst: Addr,
    pub sport: u16,
    pub dport: u16,
}

/// Hashes the key as six machine words. The derived `Hash` fed the hasher field by
/// field and byte slice by byte slice, which cost more than the flow table lookup it
/// served. Equal keys give equal words, as `Eq` requires.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let halves = |addr: &Addr| {
            let [
                a0,
                a1,
                a2,
                a3,
                a4,
                a5,
                a6,
                a7,
                b0,
                b1,
                b2,
                b3,
                b4,
                b5,
                b6,
                b7,
            ] = addr.0;
            (
                u64::from_ne_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
                u64::from_ne_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
            )
        };
        let (src_high, src_low) = halves(&self.src);
        let (dst_high, dst_low) = halves(&self.dst);
        state.write_u64(src_high);
        state.write_u64(src_low);
        state.write_u64(dst_high);
        state.write_u64(dst_low);
        state.write_u64(u64::from(self.vni) << 8 | u64::from(self.protocol));
        state.write_u32(u32::from(self.sport) << 16 | u32::from(self.dport));
    }
}

impl FlowKey {
    /// Returns whether the ports are an ICMP type and identifier, which belong to the
    /// exchange rather than to either endpoint.
    pub fn is_icmp(&self) -> bool {
        matches!(self.protocol, PROTO_ICMP | PROTO_ICMPV6)
    }

    /// Returns the key with its two endpoints swapped.
    pub fn reversed(&self) -> FlowKey {
        if self.is_icmp() {
            FlowKey {
                src: self.dst,
                dst: self.src,
                ..*self
            }
        } else {
            FlowKey {
                src: self.dst,
                dst: self.src,
                sport: self.dport,
                dport: self.sport,
                ..*self
            }
        }
    }

    /// Orders the endpoints so that both directions of a flow give the same key: the
    /// lower (address, port) pair becomes `src` (ICMP: the lower address). Returns the
    /// canonical key and the direction of `self` relative to it.
    pub fn canonical(&self) -> (FlowKey, Direction) {
        let forward = if self.is_icmp() {
            self.src <= self.dst
        } else {
            (self.src, self.sport) <= (self.dst, self.dport)
        };
        if forward {
            (*self, Direction::Forward)
        } else {
            (self.reversed(), Direction::Reverse)
        }
    }

    /// Hashes the key so that both directions give the same value. Used to steer packets
    /// to the thread that owns the flow. Not keyed, so not resistant to chosen collisions.
    pub fn symmetric_hash(&self) -> u64 {
        let (key, _) = self.canonical();
        let mut h = mix(u64::from(key.vni) << 8 | u64::from(key.protocol));
        for half in [&key.src.0, &key.dst.0] {
            let (hi, lo) = half.split_at(8);
            h = mix(h ^ u64::from_le_bytes(hi.try_into().unwrap_or_default()));
            h = mix(h ^ u64::from_le_bytes(lo.try_into().unwrap_or_default()));
        }
        mix(h ^ (u64::from(key.sport) << 16 | u64::from(key.dport)))
    }
}

/// Mixes `x` with one multiply-xorshift round (the finaliser of SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(src: [u8; 4], dst: [u8; 4], protocol: u8, sport: u16, dport: u16) -> FlowKey {
        FlowKey {
            vni: 7,
            protocol,
            src: Addr::v4(src),
            dst: Addr::v4(dst),
            sport,
            dport,
        }
    }

    #[test]
    fn canonical_same_both_ways() {
        let a = key([10, 0, 0, 2], [10, 0, 0, 1], PROTO_TCP, 40000, 22);
        let (ca, da) = a.canonical();
        let (cb, db) = a.reversed().canonical();
        assert_eq!(ca, cb);
        assert_eq!(da, Direction::Reverse);
        assert_eq!(db, Direction::Forward);
    }

    #[test]
    fn canonical_same_address_orders_ports() {
        let a = key([10, 0, 0, 1], [10, 0, 0, 1], PROTO_UDP, 5000, 53);
        assert_eq!(a.canonical().0, a.reversed().canonical().0);
        assert_eq!(a.canonical().0.sport, 53);
    }

    #[test]
    fn icmp_keeps_type_and_id() {
        let a = key([10, 0, 0, 2], [10, 0, 0, 1], PROTO_ICMP, 8, 77);
        let (canonical, direction) = a.canonical();
        assert_eq!(direction, Direction::Reverse);
        assert_eq!((canonical.sport, canonical.dport), (8, 77));
        assert_eq!(canonical.src, Addr::v4([10, 0, 0, 1]));
    }

    #[test]
    fn symmetric_hash_both_ways() {
        let a = key([192, 168, 1, 9], [8, 8, 8, 8], PROTO_UDP, 33333, 53);
        assert_eq!(a.symmetric_hash(), a.reversed().symmetric_hash());
    }

    #[test]
    fn symmetric_hash_differs_by_port() {
        let a = key([192, 168, 1, 9], [8, 8, 8, 8], PROTO_UDP, 33333, 53);
        let b = key([192, 168, 1, 9], [8, 8, 8, 8], PROTO_UDP, 33334, 53);
        assert_ne!(a.symmetric_hash(), b.symmetric_hash());
    }

    #[test]
    fn symmetric_hash_spreads_low_bits() {
        // Sequential source ports must spread evenly over 8 buckets (steering uses the
        // low bits). Each bucket gets 128 of 1024 keys on average; allow ±50 %.
        let mut buckets = [0u32; 8];
        for port in 0..1024u16 {
            let k = key([10, 0, 0, 1], [10, 0, 0, 2], PROTO_TCP, 40000 + port, 443);
            buckets[(k.symmetric_hash() % 8) as usize] += 1;
        }
        for count in buckets {
            assert!((64..=192).contains(&count), "bucket counts {buckets:?}");
        }
    }

    #[test]
    fn addr_round_trip() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(Addr::from(v4).to_ip(), v4);
        assert_eq!(Addr::from(v6).to_ip(), v6);
        assert!(Addr::from(v4).is_ipv4());
        assert!(!Addr::from(v6).is_ipv4());
    }
}
