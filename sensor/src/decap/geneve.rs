//! GENEVE header (RFC 8926): version, options, protocol type, 24-bit VNI.

use super::cursor::Cursor;
use super::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};

/// Protocol type of an Ethernet payload (Transparent Ethernet Bridging).
pub const PROTO_ETHERNET: u16 = 0x6558;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GeneveError {
    Short,
    Version,
    Control,
    Protocol,
}

/// Payload kind after the GENEVE header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GenevePayload {
    Ethernet,
    /// An IP packet without Ethernet header, with this EtherType.
    Ip(u16),
}

/// Reads the GENEVE header and skips its options by their total length, whatever their
/// classes. Returns the VNI and the payload kind, leaving the cursor at the payload.
///
/// Control (O bit) packets are rejected because they carry no user traffic. The C bit
/// (critical options present) is ignored: a passive sensor forwards nothing, so the
/// RFC's rule to drop packets with unknown critical options does not apply.
pub(crate) fn parse_geneve(cursor: &mut Cursor<'_>) -> Result<(u32, GenevePayload), GeneveError> {
    let [ver_opt_len, flags, p0, p1, v0, v1, v2, _] =
        cursor.array::<8>().ok_or(GeneveError::Short)?;
    if ver_opt_len >> 6 != 0 {
        return Err(GeneveError::Version);
    }
    if flags & 0x80 != 0 {
        return Err(GeneveError::Control);
    }
    let options_len = usize::from(ver_opt_len & 0x3f) * 4;
    cursor.skip(options_len).ok_or(GeneveError::Short)?;

    let payload = match u16::from_be_bytes([p0, p1]) {
        PROTO_ETHERNET => GenevePayload::Ethernet,
        ETHERTYPE_IPV4 => GenevePayload::Ip(ETHERTYPE_IPV4),
        ETHERTYPE_IPV6 => GenevePayload::Ip(ETHERTYPE_IPV6),
        _ => return Err(GeneveError::Protocol),
    };
    Ok((u32::from_be_bytes([0, v0, v1, v2]), payload))
}
