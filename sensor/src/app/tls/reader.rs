//! A bounds-checked read position in a byte slice, shared by the TLS and QUIC parsers.
//! Every read returns `None` past the end instead of panicking.

#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Reads `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    /// Reads all bytes left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let slice = self.bytes.get(self.pos..).unwrap_or(&[]);
        self.pos = self.bytes.len();
        slice
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    /// Reads a big-endian u16.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let bytes = self.take(2)?;
        Some(u16::from_be_bytes(bytes.try_into().ok()?))
    }

    /// Reads a big-endian 24-bit length (TLS handshake message length).
    pub(crate) fn u24(&mut self) -> Option<u32> {
        let bytes = self.take(3)?;
        let [a, b, c] = bytes.try_into().ok()?;
        Some(u32::from_be_bytes([0, a, b, c]))
    }

    /// Reads a big-endian u32.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let bytes = self.take(4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }

    /// Reads a QUIC variable-length integer (RFC 9000 section 16): the two high bits of
    /// the first byte give the encoded length of 1, 2, 4 or 8 bytes.
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let first = *self.bytes.get(self.pos)?;
        let len = 1usize << (first >> 6);
        let bytes = self.take(len)?;
        let mut value = u64::from(first & 0x3f);
        for byte in bytes.get(1..)? {
            value = (value << 8) | u64::from(*byte);
        }
        Some(value)
    }

    /// Reads a vector whose length prefix is a u8 (TLS `<0..2^8-1>`).
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    /// Reads a vector whose length prefix is a u16 (TLS `<0..2^16-1>`).
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_rfc9000_examples() {
        // The examples of RFC 9000 appendix A.1.
        let cases: [(&[u8], u64); 4] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Reader::new(bytes).varint(), Some(expected), "{bytes:02x?}");
        }
    }

    #[test]
    fn varint_truncated() {
        assert_eq!(Reader::new(&[0x7b]).varint(), None);
        assert_eq!(Reader::new(&[]).varint(), None);
    }

    #[test]
    fn take_past_end() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.take(4), None);
        assert_eq!(reader.pos(), 0);
        assert_eq!(reader.take(usize::MAX), None);
    }
}
