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
#[inline]
pub(crate) fn fingerprint(frame: &[u8], ip: &IpHeader, is_v6: bool, l4: &[u8]) -> u64 {
    let mut hash = Hash::new();
    let fixed_len = if is_v6 { 40 } else { ip.header_len };
    let header = frame
        .get(ip.start..ip.start.saturating_add(fixed_len))
        .unwrap_or(&[]);
    if let Some(value) = fixed_layout(header, is_v6, l4) {
        return value;
    }
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

/// Hashes the common layouts from fixed-size words: a whole IPv6 header, or an IPv4
/// header without options, followed by at least [`L4_BYTES`]. Returns what the general
/// path of [`fingerprint`] returns for the same bytes, or `None` for other layouts.
#[inline]
fn fixed_layout(header: &[u8], is_v6: bool, l4: &[u8]) -> Option<u64> {
    let l4: &[u8; L4_BYTES] = l4.first_chunk()?;
    let mut hash = Hash::new();
    if is_v6 {
        let header: &[u8; 40] = header.try_into().ok()?;
        let (first, rest) = header.split_first_chunk::<8>()?;
        // Version to next header: 7 bytes, as the general path pads them.
        let mut version_to_next = *first;
        version_to_next[7] = 0;
        hash.word(u64::from_le_bytes(version_to_next), 7);
        for word in rest.chunks_exact(8) {
            hash.word(u64::from_le_bytes(word.try_into().ok()?), 8);
        }
    } else {
        let header: &[u8; 20] = header.try_into().ok()?;
        hash.word(u64::from_le_bytes(*header.first_chunk::<8>()?), 8);
        hash.word(u64::from(header[9]), 1); // protocol
        hash.word(u64::from_le_bytes(*header.last_chunk::<8>()?), 8); // addresses
    }
    let (low, high) = l4.split_at(8);
    hash.word(u64::from_le_bytes(low.try_into().ok()?), 8);
    hash.word(u64::from_le_bytes(high.try_into().ok()?), 8);
    Some(hash.finish())
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
            self.word(u64::from_le_bytes(word), chunk.len());
        }
    }

    /// Mixes in one word of `len` bytes (the rest zero), little-endian.
    #[inline]
    fn word(&mut self, word: u64, len: usize) {
        // A folded 128-bit multiply: both halves of the product feed the next word. A
        // plain 64-bit multiply let the changes of two neighbouring words (sequence and
        // acknowledgement numbers) cancel, and packets of one flow collided about once
        // in 100,000.
        let product = u128::from(self.0 ^ word) * u128::from(0x9fb2_1c65_1e98_df25u64 ^ len as u64);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    /// MurmurHash3's 64-bit finaliser.
    fn finish(self) -> u64 {
        let mut x = self.0;
        x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        x = (x ^ (x >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two packets of one IPv6 bulk transfer (from the pipeline benchmark's elephant
    /// mix) whose sequence and acknowledgement numbers differ: the earlier hash gave
    /// both one fingerprint, so the second counted as a duplicate.
    #[test]
    fn packets_differing_in_sequence_and_ack_differ() {
        let header: [u8; 40] = [
            0x60, 0, 0, 0, 0, 0x18, 0x06, 0x40, 0xfd, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x01, 0x6a, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f,
        ];
        let ip = IpHeader {
            src: crate::flow::Addr::default(),
            dst: crate::flow::Addr::default(),
            protocol: 6,
            header_len: 40,
            total_len: 64,
            len_from_bytes: false,
            non_first_fragment: false,
            more_fragments: false,
            truncated: false,
            start: 0,
        };
        let first: [u8; 16] = [
            0x04, 0x03, 0x01, 0xbb, 0xf1, 0x10, 0x5c, 0x73, 0x93, 0xf8, 0x3a, 0x9e, 0x50, 0x10,
            0xff, 0xff,
        ];
        let second: [u8; 16] = [
            0x04, 0x03, 0x01, 0xbb, 0xf1, 0x10, 0x56, 0xe3, 0x93, 0xe8, 0x95, 0x9e, 0x50, 0x10,
            0xff, 0xff,
        ];
        assert_ne!(
            fingerprint(&header, &ip, true, &first),
            fingerprint(&header, &ip, true, &second)
        );
    }

    /// Hashes with the general path alone, for comparison with the fixed layouts.
    fn general(header: &[u8], is_v6: bool, l4: &[u8]) -> u64 {
        let mut hash = Hash::new();
        if is_v6 {
            hash.bytes(&header[..7]);
            hash.bytes(&header[8..]);
        } else {
            hash.bytes(&header[..8]);
            hash.bytes(&header[9..10]);
            hash.bytes(&header[12..]);
        }
        hash.bytes(l4.get(..L4_BYTES).unwrap_or(l4));
        hash.finish()
    }

    #[test]
    fn fixed_layouts_equal_general_path() {
        // A simple xorshift, so that every byte position takes many values.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        };
        for _ in 0..2000 {
            for (is_v6, len) in [(false, 20), (true, 40)] {
                let header: Vec<u8> = (0..len).map(|_| next()).collect();
                let l4: Vec<u8> = (0..24).map(|_| next()).collect();
                let fixed = fixed_layout(&header, is_v6, &l4);
                assert_eq!(fixed, Some(general(&header, is_v6, &l4)));
            }
        }
    }

    #[test]
    fn other_layouts_take_general_path() {
        let header = [0x45u8; 24];
        assert_eq!(fixed_layout(&header, false, &[0; 16]), None); // IPv4 options
        assert_eq!(fixed_layout(&header[..20], false, &[0; 15]), None); // short L4
        assert_eq!(fixed_layout(&header[..20], true, &[0; 16]), None); // cut IPv6
    }
}
