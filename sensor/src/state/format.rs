//! The snapshot file layout: a fixed 24-byte header, then the payload.
//!
//! | offset | size | field                                   |
//! |-------:|-----:|-----------------------------------------|
//! |      0 |    8 | magic `SNSRSTAT`                        |
//! |      8 |    4 | format version, u32 little-endian       |
//! |     12 |    8 | payload length in bytes, u64 LE         |
//! |     20 |    4 | CRC-32 (IEEE) of the payload, u32 LE    |
//! |     24 |    n | payload: the state encoded as CBOR      |

use super::error::SnapshotProblem;

/// The first eight bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"SNSRSTAT";

/// The format version this build writes and reads. Bump it when the header or the
/// payload encoding changes, or when the saved state changes in a way that older files
/// cannot be decoded into (a field added with `#[serde(default)]` needs no bump).
pub const FORMAT_VERSION: u32 = 1;

/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 24;

/// The decoded fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub payload_len: u64,
    pub payload_crc: u32,
}

impl Header {
    /// Builds the header for `payload` at `version`.
    pub fn for_payload(version: u32, payload: &[u8]) -> Header {
        Header {
            version,
            payload_len: payload.len() as u64,
            payload_crc: crc32fast::hash(payload),
        }
    }

    /// Encodes the header in its on-disk layout.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[12..20].copy_from_slice(&self.payload_len.to_le_bytes());
        out[20..24].copy_from_slice(&self.payload_crc.to_le_bytes());
        out
    }

    /// Decodes the header at the start of `file`, checking only the magic and the length
    /// of the header itself.
    pub fn decode(file: &[u8]) -> Result<Header, SnapshotProblem> {
        let Some(bytes) = file.get(..HEADER_LEN) else {
            return Err(SnapshotProblem::Truncated {
                file_len: file.len() as u64,
                expected_len: HEADER_LEN as u64,
            });
        };
        let (magic, rest) = bytes.split_at(8);
        if magic != MAGIC {
            let mut found = [0u8; 8];
            found.copy_from_slice(magic);
            return Err(SnapshotProblem::BadMagic { found });
        }
        let (version, rest) = rest.split_at(4);
        let (payload_len, payload_crc) = rest.split_at(8);
        Ok(Header {
            version: u32::from_le_bytes(version.try_into().unwrap_or_default()),
            payload_len: u64::from_le_bytes(payload_len.try_into().unwrap_or_default()),
            payload_crc: u32::from_le_bytes(payload_crc.try_into().unwrap_or_default()),
        })
    }
}

/// Checks the version, the length and the checksum of a whole snapshot file against its
/// header, and returns the payload.
pub fn verify(file: &[u8], supported_version: u32) -> Result<&[u8], SnapshotProblem> {
    let header = Header::decode(file)?;
    if header.version > supported_version {
        return Err(SnapshotProblem::NewerVersion {
            found: header.version,
            supported: supported_version,
        });
    }
    // TODO: no migration from older format versions exists yet; add one here (decode the
    // old payload and convert it) when FORMAT_VERSION is first bumped.
    if header.version < supported_version {
        return Err(SnapshotProblem::OlderVersion {
            found: header.version,
            supported: supported_version,
        });
    }

    let payload = file.get(HEADER_LEN..).unwrap_or_default();
    let payload_len = payload.len() as u64;
    if payload_len < header.payload_len {
        return Err(SnapshotProblem::Truncated {
            file_len: file.len() as u64,
            expected_len: (HEADER_LEN as u64).saturating_add(header.payload_len),
        });
    }
    if payload_len > header.payload_len {
        return Err(SnapshotProblem::TrailingBytes {
            extra: payload_len - header.payload_len,
        });
    }

    let computed = crc32fast::hash(payload);
    if computed != header.payload_crc {
        return Err(SnapshotProblem::ChecksumMismatch {
            stored: header.payload_crc,
            computed,
        });
    }
    Ok(payload)
}
