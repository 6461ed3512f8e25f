//! The long header of a client Initial packet (RFC 9000 section 17.2.2), header
//! protection removal and payload decryption into a caller's scratch buffer.

use std::fmt;
use std::ops::Range;

use super::error::QuicError;
use super::keys::{InitialKeys, QuicVersion, SAMPLE_BYTES, TAG_BYTES};
use crate::app::tls::reader::Reader;

/// Maximum connection ID length in QUIC versions 1 and 2.
pub const MAX_CONNECTION_ID_BYTES: usize = 20;

/// Maximum packet number encoding length.
const MAX_PACKET_NUMBER_BYTES: usize = 4;

/// A connection ID of up to 20 bytes, stored inline.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ConnectionId {
    len: u8,
    bytes: [u8; MAX_CONNECTION_ID_BYTES],
}

impl ConnectionId {
    /// Copies `bytes`; `None` when longer than [`MAX_CONNECTION_ID_BYTES`].
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut id = ConnectionId {
            len: u8::try_from(bytes.len()).ok()?,
            bytes: [0; MAX_CONNECTION_ID_BYTES],
        };
        id.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(id)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.as_bytes() {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// The header fields of one decrypted client Initial packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitialPacket {
    pub version: QuicVersion,
    /// Destination Connection ID; the Initial keys derive from it.
    pub dcid: ConnectionId,
    /// Source Connection ID.
    pub scid: ConnectionId,
    /// Length of the Retry token (0 on a first connection attempt).
    pub token_bytes: usize,
    /// The packet number as encoded (1 to 4 bytes).
    ///
    /// NOTE: this is not expanded against the largest acknowledged packet number
    /// (RFC 9000 appendix A.3). A client's first Initial packets have small numbers, so
    /// the encoded value is the full number and decryption works; later packets may not.
    pub packet_number: u64,
}

/// Location of a long header packet's fields in a datagram, before protection is
/// removed.
struct LongHeader {
    version: QuicVersion,
    dcid: ConnectionId,
    scid: ConnectionId,
    token_bytes: usize,
    /// Offset of the packet number from the start of the packet.
    pn_offset: usize,
    /// Offset of the end of the packet (packet number, payload and tag).
    end: usize,
}

/// Parses the long header at the start of `packet` and checks that the packet is a
/// version 1 or 2 Initial.
fn parse_long_header(packet: &[u8]) -> Result<LongHeader, QuicError> {
    let mut reader = Reader::new(packet);
    let first = reader.u8().ok_or(QuicError::HeaderTruncated)?;
    if first & 0x80 == 0 {
        return Err(QuicError::NotLongHeader);
    }
    let wire_version = reader.u32().ok_or(QuicError::HeaderTruncated)?;
    let version = QuicVersion::from_wire(wire_version).ok_or(QuicError::UnsupportedVersion)?;

    let dcid = read_connection_id(&mut reader)?;
    let scid = read_connection_id(&mut reader)?;
    if (first >> 4) & 0x03 != version.initial_type() {
        return Err(QuicError::NotInitial);
    }

    let token_bytes = reader.varint().ok_or(QuicError::HeaderTruncated)?;
    let token_bytes = usize::try_from(token_bytes).map_err(|_| QuicError::HeaderTruncated)?;
    reader.take(token_bytes).ok_or(QuicError::HeaderTruncated)?;
    let length = reader.varint().ok_or(QuicError::HeaderTruncated)?;
    let length = usize::try_from(length).map_err(|_| QuicError::InvalidLength)?;

    // The header protection sample starts 4 bytes after the packet number offset,
    // whatever the packet number length, so the packet must reach that far.
    let pn_offset = reader.pos();
    if length > reader.remaining() || length < MAX_PACKET_NUMBER_BYTES + SAMPLE_BYTES {
        return Err(QuicError::InvalidLength);
    }
    Ok(LongHeader {
        version,
        dcid,
        scid,
        token_bytes,
        pn_offset,
        end: pn_offset + length,
    })
}

fn read_connection_id(reader: &mut Reader<'_>) -> Result<ConnectionId, QuicError> {
    let len = reader.u8().ok_or(QuicError::HeaderTruncated)?;
    if usize::from(len) > MAX_CONNECTION_ID_BYTES {
        return Err(QuicError::InvalidConnectionId);
    }
    let bytes = reader
        .take(usize::from(len))
        .ok_or(QuicError::HeaderTruncated)?;
    ConnectionId::from_slice(bytes).ok_or(QuicError::InvalidConnectionId)
}

/// One Initial packet decrypted into a scratch buffer.
pub(crate) struct Decrypted {
    pub(crate) packet: InitialPacket,
    /// The frames: a range of the scratch buffer.
    pub(crate) plaintext: Range<usize>,
    /// Length of the packet in the datagram, so the caller can find the next one.
    pub(crate) packet_bytes: usize,
}

/// Decrypts the client Initial packet at the start of `packet` into `scratch`, which is
/// cleared first and reused between calls so no datagram allocates once it has grown.
pub(crate) fn decrypt_initial(
    packet: &[u8],
    scratch: &mut Vec<u8>,
) -> Result<Decrypted, QuicError> {
    let header = parse_long_header(packet)?;
    let keys = InitialKeys::client(header.version, header.dcid.as_bytes())
        .ok_or(QuicError::DecryptFailed)?;

    scratch.clear();
    scratch.extend_from_slice(packet.get(..header.end).ok_or(QuicError::InvalidLength)?);

    // Remove header protection: the mask hides the low 4 bits of the first byte and the
    // packet number bytes.
    let sample_at = header.pn_offset + MAX_PACKET_NUMBER_BYTES;
    let sample: [u8; SAMPLE_BYTES] = scratch
        .get(sample_at..sample_at + SAMPLE_BYTES)
        .and_then(|s| s.try_into().ok())
        .ok_or(QuicError::InvalidLength)?;
    let mask = keys.header_mask(sample);
    let first = scratch.first_mut().ok_or(QuicError::HeaderTruncated)?;
    *first ^= mask[0] & 0x0f;
    let pn_len = usize::from(*first & 0x03) + 1;

    let mut packet_number = 0u64;
    let pn_bytes = scratch
        .get_mut(header.pn_offset..header.pn_offset + pn_len)
        .ok_or(QuicError::InvalidLength)?;
    for (byte, mask_byte) in pn_bytes.iter_mut().zip(mask.iter().skip(1)) {
        *byte ^= mask_byte;
        packet_number = (packet_number << 8) | u64::from(*byte);
    }

    // Decrypt: the header through the packet number is the associated data.
    let payload_start = header.pn_offset + pn_len;
    let tag_start = header.end - TAG_BYTES;
    let (head, rest) = scratch.split_at_mut(payload_start.min(tag_start));
    let (payload, tag) = rest.split_at_mut(tag_start.saturating_sub(payload_start));
    let tag: [u8; TAG_BYTES] = (&*tag).try_into().map_err(|_| QuicError::InvalidLength)?;
    keys.decrypt(packet_number, head, payload, tag)
        .ok_or(QuicError::DecryptFailed)?;

    Ok(Decrypted {
        packet: InitialPacket {
            version: header.version,
            dcid: header.dcid,
            scid: header.scid,
            token_bytes: header.token_bytes,
            packet_number,
        },
        plaintext: payload_start..tag_start,
        packet_bytes: header.end,
    })
}
