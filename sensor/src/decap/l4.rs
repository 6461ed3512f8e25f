//! Transport headers of the inner packet: TCP, UDP, SCTP, UDP-Lite ports, ICMP and
//! ICMPv6 type and identifier.

use super::cursor::Cursor;
use crate::flow::key::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};

const PROTO_SCTP: u8 = 132;
const PROTO_UDPLITE: u8 = 136;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum L4Error {
    /// The ports, or the ICMP type and identifier, are cut.
    Short,
    /// TCP data offset below 5 words.
    TcpInvalid,
}

/// Key fields and header length of one transport header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct L4 {
    /// Source port, or the ICMP type (see [`crate::flow::FlowKey`]).
    pub sport: u16,
    /// Destination port, or the ICMP identifier.
    pub dport: u16,
    pub tcp_flags: u8,
    /// TCP sequence number (0 for other protocols).
    pub tcp_seq: u32,
    /// Header length in bytes, for the payload arithmetic. For TCP it comes from the
    /// data offset, or is 20 when the frame ends before that field.
    pub header_len: usize,
    /// The header is cut after the key fields.
    pub truncated: bool,
}

/// Parses the transport header of `protocol`. A non-first fragment has none: the
/// result is all zeros.
#[inline]
pub(crate) fn parse_l4(
    cursor: &Cursor<'_>,
    protocol: u8,
    non_first_fragment: bool,
) -> Result<L4, L4Error> {
    if non_first_fragment {
        return Ok(L4::default());
    }
    let bytes = cursor.rest();
    let mut l4 = L4::default();
    match protocol {
        PROTO_TCP => {
            (l4.sport, l4.dport) = ports(bytes)?;
            l4.header_len = 20;
            match (bytes.get(12), bytes.get(13)) {
                (Some(&offset), Some(&flags)) => {
                    let header_len = usize::from(offset >> 4) * 4;
                    if header_len < 20 {
                        return Err(L4Error::TcpInvalid);
                    }
                    l4.header_len = header_len;
                    l4.tcp_flags = flags;
                    if let Some(&[a, b, c, d]) = bytes.get(4..8) {
                        l4.tcp_seq = u32::from_be_bytes([a, b, c, d]);
                    }
                    l4.truncated = bytes.len() < header_len;
                }
                _ => l4.truncated = true,
            }
        }
        PROTO_UDP | PROTO_UDPLITE => {
            (l4.sport, l4.dport) = ports(bytes)?;
            l4.header_len = 8;
            l4.truncated = bytes.len() < 8;
        }
        PROTO_SCTP => {
            (l4.sport, l4.dport) = ports(bytes)?;
            l4.header_len = 12;
            l4.truncated = bytes.len() < 12;
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            let &kind = bytes.first().ok_or(L4Error::Short)?;
            let (request_type, is_query) = icmp_request_type(protocol, kind);
            l4.sport = u16::from(request_type);
            if is_query {
                let id = bytes.get(4..6).ok_or(L4Error::Short)?;
                l4.dport = u16::from_be_bytes([id[0], id[1]]);
            }
            l4.header_len = 8;
            l4.truncated = bytes.len() < 8;
        }
        _ => {}
    }
    Ok(l4)
}

fn ports(bytes: &[u8]) -> Result<(u16, u16), L4Error> {
    match bytes.get(..4) {
        Some(&[s0, s1, d0, d1]) => Ok((u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]))),
        _ => Err(L4Error::Short),
    }
}

/// Maps an ICMP type to the type of its request, so a request and its reply share a
/// flow key. The flag is true for query messages, which carry an identifier.
fn icmp_request_type(protocol: u8, kind: u8) -> (u8, bool) {
    if protocol == PROTO_ICMP {
        match kind {
            0 | 8 => (8, true),    // echo
            13 | 14 => (13, true), // timestamp
            15 | 16 => (15, true), // information
            17 | 18 => (17, true), // address mask
            _ => (kind, false),
        }
    } else {
        match kind {
            128 | 129 => (128, true), // echo
            _ => (kind, false),
        }
    }
}
