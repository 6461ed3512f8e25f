//! Ethernet header with up to two VLAN tags (802.1Q, 802.1ad, and the pre-standard
//! 0x9100 QinQ tag).

use super::cursor::Cursor;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Most VLAN tags read before the EtherType; deeper stacks are rejected.
pub const MAX_VLAN_TAGS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EthernetError {
    Short,
    TooManyTags,
}

fn is_vlan_tpid(ethertype: u16) -> bool {
    matches!(ethertype, 0x8100 | 0x88a8 | 0x9100)
}

/// Reads the MAC addresses and VLAN tags and returns the payload's EtherType, leaving
/// the cursor at the payload.
#[inline]
pub(crate) fn parse_ethernet(cursor: &mut Cursor<'_>) -> Result<u16, EthernetError> {
    cursor.skip(12).ok_or(EthernetError::Short)?;
    let mut ethertype = cursor.u16().ok_or(EthernetError::Short)?;

    let mut tags = 0;
    while is_vlan_tpid(ethertype) {
        if tags == MAX_VLAN_TAGS {
            return Err(EthernetError::TooManyTags);
        }
        cursor.skip(2).ok_or(EthernetError::Short)?; // tag control information
        ethertype = cursor.u16().ok_or(EthernetError::Short)?;
        tags += 1;
    }
    Ok(ethertype)
}
