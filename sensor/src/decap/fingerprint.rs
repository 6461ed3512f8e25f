//! Packet fingerprint for duplicate detection: the same packet mirrored from both of its
//! ends hashes the same, whatever its TTL or truncation.

use super::ip::IpHeader;

/// L4 bytes included in the fingerprint: TCP ports, sequence and acknowledgement
/// numbers, offset, flags and window; UDP and ICMP headers and the first data bytes.
const L4_BYTES: usize = 16;

/// Hashes the IP header without TTL (hop limit) and IPv4 checksum, plus the first
/// [`L4_BYTES`] bytes after it. `frame` is the whole frame; `l4` starts at the
/// transport header. Not keyed: a sender can craft two packets with one fingerprint,
/// which only hides its own packets from the counts of its own flow.
pub(crate) fn fingerprint(frame: &[u8], ip: &IpHeader, is_v6: bool, l4: &[u8]) -> u64 {
    let mut hash = Hash::new();
    let fixed_len = if is_v6 { 40 } else { ip.header_len };
    let header = frame
        .get(ip.start..ip.start.saturating_add(fixed_len))
        .unwrap_or(&[]);
    if is_v6 {
        hash.bytes(header.get(..7).unwrap_or(&[])); // version to next header
        hash.bytes(header.get(8..).unwrap_or(&[])); // addresses
    } else {
        hash.bytes(header.get(..8).unwrap_or(&[])); // version to fragment offset
        hash.bytes(header.get(9..10).unwrap_or(&[])); // protocol
        hash.bytes(header.get(12..).unwrap_or(&[])); // addresses and options
    }
    hash.bytes(l4.get(..L4_BYTES).unwrap_or(l4));
    hash.finish()
}

struct Hash(u64);

impl Hash {
    fn new() -> Self {
        Hash(0x243f_6a88_85a3_08d3)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            // Whole words convert directly; only a short tail is copied (and a
            // copy of a length unknown at compile time is a call to memcpy).
            let word = match <[u8; 8]>::try_from(chunk) {
                Ok(word) => word,
                Err(_) => {
                    let mut word = [0u8; 8];
                    if let Some(prefix) = word.get_mut(..chunk.len()) {
                        prefix.copy_from_slice(chunk);
                    }
                    word
                }
            };
            self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(0x9fb2_1c65_1e98_df25);
            self.0 = self.0.rotate_left(27) ^ chunk.len() as u64;
        }
    }

    /// MurmurHash3's 64-bit finaliser.
    fn finish(self) -> u64 {
        let mut x = self.0;
        x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        x = (x ^ (x >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}
