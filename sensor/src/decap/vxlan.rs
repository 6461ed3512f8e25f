//! VXLAN header (RFC 7348): flags, 24-bit VNI, reserved fields.

use super::cursor::Cursor;

/// The I flag: the VNI field is valid. RFC 7348 requires it to be set and the other 7
/// flag bits and the reserved fields to be ignored on receipt.
const FLAG_VNI_VALID: u8 = 0x08;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VxlanError {
    Short,
    NoVni,
}

/// Reads the 8-byte VXLAN header and returns the VNI, leaving the cursor at the inner
/// Ethernet header.
pub(crate) fn parse_vxlan(cursor: &mut Cursor<'_>) -> Result<u32, VxlanError> {
    let [flags, _, _, _, v0, v1, v2, _] = cursor.array::<8>().ok_or(VxlanError::Short)?;
    if flags & FLAG_VNI_VALID == 0 {
        return Err(VxlanError::NoVni);
    }
    Ok(u32::from_be_bytes([0, v0, v1, v2]))
}
