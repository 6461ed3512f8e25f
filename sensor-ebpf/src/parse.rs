//! Outer header layouts and the packet cursor the XDP program reads them with.
//!
//! Every header is a `#[repr(C)]` struct of byte arrays, so it has alignment 1
//! and can be read at any offset. Multi-byte fields are network byte order and
//! are decoded with `from_be_bytes` where they are used.

use core::mem::size_of;

/// EtherType of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// EtherType of an IEEE 802.1Q VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// EtherType of an IEEE 802.1ad (QinQ) service tag.
pub const ETH_P_8021AD: u16 = 0x88a8;

/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IPv6 next-header value of the fragment extension header.
pub const IPPROTO_FRAGMENT: u8 = 44;

/// Mask of the fragment offset in the IPv4 `frag_off` field (the low 13 bits).
pub const IPV4_OFFSET_MASK: u16 = 0x1fff;
/// Smallest IPv4 header length in bytes (IHL = 5).
pub const IPV4_MIN_HEADER_LEN: usize = 20;

/// Ethernet II header.
#[repr(C)]
pub struct EthHdr {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub ether_type: [u8; 2],
}

/// One 802.1Q or 802.1ad tag, as it follows the Ethernet addresses.
#[repr(C)]
pub struct VlanHdr {
    pub tci: [u8; 2],
    /// EtherType of what follows the tag.
    pub ether_type: [u8; 2],
}

/// IPv4 header without options.
#[repr(C)]
pub struct Ipv4Hdr {
    /// Version (high nibble) and header length in 32-bit words (low nibble).
    pub version_ihl: u8,
    pub tos: u8,
    pub total_len: [u8; 2],
    pub id: [u8; 2],
    /// Flags (high 3 bits) and fragment offset in 8-byte units (low 13 bits).
    pub frag_off: [u8; 2],
    pub ttl: u8,
    pub protocol: u8,
    pub checksum: [u8; 2],
    pub src: [u8; 4],
    pub dst: [u8; 4],
}

/// IPv6 fixed header.
#[repr(C)]
pub struct Ipv6Hdr {
    /// Version, traffic class and flow label.
    pub version_class_flow: [u8; 4],
    pub payload_len: [u8; 2],
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
}

/// UDP header.
#[repr(C)]
pub struct UdpHdr {
    pub src_port: [u8; 2],
    pub dst_port: [u8; 2],
    pub len: [u8; 2],
    pub checksum: [u8; 2],
}

/// A read position inside the frame, as addresses between `data` and
/// `data_end` of the XDP context.
///
/// Each step compares its end with `data_end` once, which is what the
/// verifier needs to accept the access that follows.
pub struct Cursor {
    pos: usize,
    end: usize,
}

impl Cursor {
    /// Creates a cursor over the bytes `[start, end)`.
    #[inline(always)]
    pub fn new(start: usize, end: usize) -> Self {
        Self { pos: start, end }
    }

    /// Advances past a `T` and returns a reference to it, or `None` when
    /// fewer than `size_of::<T>()` bytes remain.
    #[inline(always)]
    pub fn next<T>(&mut self) -> Option<&T> {
        let start = self.pos;
        let next = start + size_of::<T>();
        if next > self.end {
            return None;
        }
        self.pos = next;
        // SAFETY: `[start, next)` lies inside the frame, which the kernel
        // keeps mapped for the whole program run, and `T` is a struct of
        // byte arrays with alignment 1.
        Some(unsafe { &*(start as *const T) })
    }

    /// Skips `len` bytes, or returns `None` when fewer remain.
    #[inline(always)]
    pub fn skip(&mut self, len: usize) -> Option<()> {
        let next = self.pos + len;
        if next > self.end {
            return None;
        }
        self.pos = next;
        Some(())
    }
}

/// Decodes a big-endian `u16` field.
#[inline(always)]
pub fn be16(field: &[u8; 2]) -> u16 {
    u16::from_be_bytes(*field)
}
