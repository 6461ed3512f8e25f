//! The start of a pcapng file: the type, length and byte-order magic of its
//! section header block, read before pcap-parser parses the file. pcap-parser
//! reports a file cut inside that block as an unknown format, so the reader
//! checks that the block is whole first.

/// Block type of a section header block, the same in both byte orders.
const SECTION_HEADER_TYPE: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Byte-order magic at offset 8 of a section header block.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Bytes of the smallest section header block: type, length, magic, version,
/// section length and the trailing length.
const MIN_SECTION_HEADER_BYTES: usize = 28;

/// The pcapng section header block at the start of a file, as far as its first
/// bytes show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SectionHeader {
    /// The file does not start with a valid section header block.
    NotPcapng,
    /// The file starts with the block type, but has fewer bytes than the
    /// byte-order magic needs.
    Short,
    /// The block's total length in bytes, as its length field gives it.
    Bytes(usize),
}

/// Reads the section header block that `prefix`, the first bytes of a file,
/// starts with. The prefix must contain the first 12 bytes of the file (up to
/// the byte-order magic), or the whole file when it is shorter.
pub(super) fn section_header(prefix: &[u8]) -> SectionHeader {
    let Some((block_type, rest)) = prefix.split_first_chunk::<4>() else {
        return SectionHeader::NotPcapng;
    };
    if *block_type != SECTION_HEADER_TYPE {
        return SectionHeader::NotPcapng;
    }
    let Some((length, rest)) = rest.split_first_chunk::<4>() else {
        return SectionHeader::Short;
    };
    let Some(magic) = rest.first_chunk::<4>() else {
        return SectionHeader::Short;
    };
    let length = if u32::from_le_bytes(*magic) == BYTE_ORDER_MAGIC {
        u32::from_le_bytes(*length)
    } else if u32::from_be_bytes(*magic) == BYTE_ORDER_MAGIC {
        u32::from_be_bytes(*length)
    } else {
        return SectionHeader::NotPcapng;
    };
    let length = length as usize;
    if length < MIN_SECTION_HEADER_BYTES || !length.is_multiple_of(4) {
        return SectionHeader::NotPcapng;
    }
    SectionHeader::Bytes(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A section header block of 28 bytes in little-endian byte order.
    const LITTLE_ENDIAN: [u8; 28] = [
        0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
    ];

    #[test]
    fn section_header_cases() {
        let mut big_endian = LITTLE_ENDIAN;
        big_endian[4..8].copy_from_slice(&32u32.to_be_bytes());
        big_endian[8..12].copy_from_slice(&BYTE_ORDER_MAGIC.to_be_bytes());
        let mut bad_magic = LITTLE_ENDIAN;
        bad_magic[8] = 0;
        let mut too_short = LITTLE_ENDIAN;
        too_short[4] = 24;
        let mut unaligned = LITTLE_ENDIAN;
        unaligned[4] = 29;
        let cases: [(&str, &[u8], SectionHeader); 10] = [
            ("empty", &[], SectionHeader::NotPcapng),
            (
                "classic pcap",
                &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0],
                SectionHeader::NotPcapng,
            ),
            ("type cut", &LITTLE_ENDIAN[..3], SectionHeader::NotPcapng),
            ("type only", &LITTLE_ENDIAN[..4], SectionHeader::Short),
            ("magic cut", &LITTLE_ENDIAN[..11], SectionHeader::Short),
            (
                "little endian",
                &LITTLE_ENDIAN[..12],
                SectionHeader::Bytes(28),
            ),
            ("big endian", &big_endian, SectionHeader::Bytes(32)),
            ("bad magic", &bad_magic, SectionHeader::NotPcapng),
            ("shorter than a block", &too_short, SectionHeader::NotPcapng),
            ("unaligned length", &unaligned, SectionHeader::NotPcapng),
        ];
        for (name, prefix, expected) in cases {
            assert_eq!(section_header(prefix), expected, "{name}");
        }
    }
}
