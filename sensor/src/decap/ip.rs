//! IPv4 (with options) and IPv6 (with a bounded walk over extension headers).

use super::cursor::Cursor;
use super::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::flow::Addr;

/// Most IPv6 extension headers walked before the upper-layer header.
pub const MAX_IPV6_EXTENSIONS: usize = 8;

const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AUTH: u8 = 51;
const IPV6_DEST_OPTS: u8 = 60;
const IPV6_MOBILITY: u8 = 135;
const IPV6_HIP: u8 = 139;
const IPV6_SHIM6: u8 = 140;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpError {
    /// The header (or an extension header) is cut.
    Short,
    /// Version, header length or total length is impossible.
    Invalid,
    /// More than [`MAX_IPV6_EXTENSIONS`] extension headers.
    TooManyExtensions,
}

/// The fields of an IPv4 or IPv6 header that the decoder uses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IpHeader {
    pub src: Addr,
    pub dst: Addr,
    /// Upper-layer protocol (IPv6: after the extension headers).
    pub protocol: u8,
    /// Header length including IPv4 options or IPv6 extension headers.
    pub header_len: usize,
    /// Packet length that the header claims (IPv4 total length, IPv6 payload length + 40).
    pub total_len: usize,
    /// Whether the total length came from the captured bytes, because the header
    /// field was 0 (IPv4 from Linux BIG TCP, IPv6 jumbograms).
    pub len_from_bytes: bool,
    /// A fragment other than the first: the upper-layer header is not in this packet.
    pub non_first_fragment: bool,
    /// A first fragment with more to follow.
    pub more_fragments: bool,
    /// The total length claims more bytes than the frame holds.
    pub truncated: bool,
    /// Offset of the header in the frame.
    pub start: usize,
}

/// Parses the IP header of EtherType `ethertype` (already known to be IPv4 or IPv6),
/// leaving the cursor at the upper-layer header, limited to the packet's length.
#[inline]
pub(crate) fn parse_ip(cursor: &mut Cursor<'_>, ethertype: u16) -> Result<IpHeader, IpError> {
    match ethertype {
        ETHERTYPE_IPV4 => parse_ipv4(cursor),
        ETHERTYPE_IPV6 => parse_ipv6(cursor),
        _ => Err(IpError::Invalid),
    }
}

/// The IP version nibble of the next byte, if any.
pub(crate) fn peek_version(cursor: &Cursor<'_>) -> Option<u8> {
    cursor.rest().first().map(|b| b >> 4)
}

fn parse_ipv4(cursor: &mut Cursor<'_>) -> Result<IpHeader, IpError> {
    let start = cursor.pos();
    let available = cursor.remaining();
    let fixed: [u8; 20] = cursor.array().ok_or(IpError::Short)?;

    let version = fixed[0] >> 4;
    let header_len = usize::from(fixed[0] & 0x0f) * 4;
    if version != 4 || header_len < 20 {
        return Err(IpError::Invalid);
    }
    cursor.skip(header_len - 20).ok_or(IpError::Short)?; // options

    let claimed = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    let (total_len, len_from_bytes) = if claimed == 0 {
        (available, true)
    } else {
        (claimed, false)
    };
    if total_len < header_len {
        return Err(IpError::Invalid);
    }
    cursor.limit(total_len - header_len);

    let flags_offset = u16::from_be_bytes([fixed[6], fixed[7]]);
    let [
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        protocol,
        _,
        _,
        s0,
        s1,
        s2,
        s3,
        d0,
        d1,
        d2,
        d3,
    ] = fixed;
    Ok(IpHeader {
        src: Addr::v4([s0, s1, s2, s3]),
        dst: Addr::v4([d0, d1, d2, d3]),
        protocol,
        header_len,
        total_len,
        len_from_bytes,
        non_first_fragment: flags_offset & 0x1fff != 0,
        more_fragments: flags_offset & 0x2000 != 0,
        truncated: total_len > available,
        start,
    })
}

fn parse_ipv6(cursor: &mut Cursor<'_>) -> Result<IpHeader, IpError> {
    let start = cursor.pos();
    let available = cursor.remaining();
    let fixed: [u8; 40] = cursor.array().ok_or(IpError::Short)?;
    if fixed[0] >> 4 != 6 {
        return Err(IpError::Invalid);
    }

    let payload_len = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
    // NOTE: a payload length of 0 means a jumbogram (RFC 2675); the length then comes
    // from the captured bytes instead of the Jumbo Payload option.
    let (total_len, len_from_bytes) = if payload_len == 0 {
        (available, true)
    } else {
        (payload_len + 40, false)
    };
    cursor.limit(total_len.saturating_sub(40));

    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(fixed.get(8..24).ok_or(IpError::Short)?);
    dst.copy_from_slice(fixed.get(24..40).ok_or(IpError::Short)?);

    let mut header = IpHeader {
        src: Addr::v6(src),
        dst: Addr::v6(dst),
        protocol: fixed[6],
        header_len: 40,
        total_len,
        len_from_bytes,
        non_first_fragment: false,
        more_fragments: false,
        truncated: total_len > available,
        start,
    };
    skip_extensions(cursor, &mut header)?;
    header.header_len = cursor.pos() - start;
    Ok(header)
}

/// Walks at most [`MAX_IPV6_EXTENSIONS`] extension headers and sets the upper-layer
/// protocol and the fragment state. ESP (50) and unknown headers end the walk, and
/// become the protocol.
fn skip_extensions(cursor: &mut Cursor<'_>, header: &mut IpHeader) -> Result<(), IpError> {
    for walked in 0..=MAX_IPV6_EXTENSIONS {
        if walked == MAX_IPV6_EXTENSIONS && is_extension(header.protocol) {
            return Err(IpError::TooManyExtensions);
        }
        let length = match header.protocol {
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTS | IPV6_MOBILITY | IPV6_HIP
            | IPV6_SHIM6 => {
                let [_, len] = peek2(cursor)?;
                (usize::from(len) + 1) * 8
            }
            IPV6_AUTH => {
                let [_, len] = peek2(cursor)?;
                (usize::from(len) + 2) * 4
            }
            IPV6_FRAGMENT => {
                let fragment: [u8; 8] = cursor.array().ok_or(IpError::Short)?;
                let offset_flags = u16::from_be_bytes([fragment[2], fragment[3]]);
                header.non_first_fragment = offset_flags & 0xfff8 != 0;
                header.more_fragments = offset_flags & 1 != 0;
                header.protocol = fragment[0];
                if header.non_first_fragment {
                    // The next header belongs to the first fragment; stop here.
                    return Ok(());
                }
                continue;
            }
            _ => return Ok(()),
        };
        let next = cursor.u8().ok_or(IpError::Short)?;
        cursor.skip(length - 1).ok_or(IpError::Short)?;
        header.protocol = next;
    }
    Ok(())
}

fn is_extension(protocol: u8) -> bool {
    matches!(
        protocol,
        IPV6_HOP_BY_HOP
            | IPV6_ROUTING
            | IPV6_FRAGMENT
            | IPV6_AUTH
            | IPV6_DEST_OPTS
            | IPV6_MOBILITY
            | IPV6_HIP
            | IPV6_SHIM6
    )
}

fn peek2(cursor: &Cursor<'_>) -> Result<[u8; 2], IpError> {
    let mut copy = *cursor;
    copy.array().ok_or(IpError::Short)
}
