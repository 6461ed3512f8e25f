//! The window of the output buffer that one record is written into.
//!
//! A `Vec<u8>` checks its capacity and stores its length on every append, and
//! the compiler reloads both from memory after each byte store, because the
//! store might have changed them. A flow record takes about 80 appends.
//! `JsonBuf` writes into a slice that already has room, with the write
//! position in a register, so an append is one bounds check and the copy.
//! That holds only where the writes are inlined into one function, which is
//! why the record writers are `#[inline(always)]`. When the room runs out,
//! the writes stop and [`JsonBuf::finish`] returns `None`, so the caller can
//! make room and write the record again.

use crate::decimal;

/// A slice filled front to back.
pub struct JsonBuf<'a> {
    /// The room not yet written.
    rest: &'a mut [u8],
    /// Length of the whole slice.
    len: usize,
    /// Set when a write did not fit.
    overflowed: bool,
}

impl<'a> JsonBuf<'a> {
    /// Starts writing at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        JsonBuf {
            len: buf.len(),
            rest: buf,
            overflowed: false,
        }
    }

    /// Returns the number of bytes written, or `None` when one write did not
    /// fit and the contents are incomplete.
    pub fn finish(self) -> Option<usize> {
        (!self.overflowed).then_some(self.len - self.rest.len())
    }

    /// Appends bytes of a length known at compile time.
    #[inline(always)]
    pub fn put<const N: usize>(&mut self, bytes: &[u8; N]) {
        self.put_prefix(bytes, N);
    }

    /// Appends the first `len` bytes of `bytes` (at most N). All N bytes are
    /// copied, because a copy of constant size costs less than a `memcpy`
    /// call of variable size, so the room needed is N.
    #[inline(always)]
    pub fn put_prefix<const N: usize>(&mut self, bytes: &[u8; N], len: usize) {
        let rest = std::mem::take(&mut self.rest);
        if let Some(chunk) = rest.first_chunk_mut::<N>() {
            *chunk = *bytes;
            self.rest = rest.get_mut(len.min(N)..).unwrap_or_default();
        } else {
            self.rest = rest;
            self.overflowed = true;
        }
    }

    /// Appends one byte.
    #[inline(always)]
    pub fn put_byte(&mut self, byte: u8) {
        self.put(&[byte]);
    }

    /// Appends bytes of any length.
    #[inline(always)]
    pub fn put_slice(&mut self, bytes: &[u8]) {
        let rest = std::mem::take(&mut self.rest);
        if bytes.len() <= rest.len() {
            let (head, tail) = rest.split_at_mut(bytes.len());
            head.copy_from_slice(bytes);
            self.rest = tail;
        } else {
            self.rest = rest;
            self.overflowed = true;
        }
    }

    /// Appends `value` in decimal.
    #[inline(always)]
    pub fn put_u64(&mut self, value: u64) {
        if value < 10 {
            self.put_byte(b'0' + value as u8);
        } else if value < 100 {
            self.put(&decimal::pair(value as u32));
        } else if value < 100_000_000 {
            let (digits, len) = decimal::digits_below_ten_to_8(value as u32);
            self.put_prefix(&digits, len);
        } else {
            self.put_long(value);
        }
    }

    /// Appends `value` (at least 10^8) in decimal.
    #[inline(always)]
    fn put_long(&mut self, value: u64) {
        let (digits, len) = decimal::digits_u64(value);
        self.put_prefix(&digits, len);
    }
}

/// Returns what `fill` writes, in a window of 64 KiB.
#[cfg(test)]
pub(crate) fn written_by(fill: impl FnOnce(&mut JsonBuf)) -> Vec<u8> {
    let mut bytes = vec![0; 64 * 1024];
    let mut buf = JsonBuf::new(&mut bytes);
    fill(&mut buf);
    let len = buf.finish().expect("64 KiB is enough for a test");
    bytes.truncate(len);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::U64_DIGITS;

    fn written(room: usize, fill: impl FnOnce(&mut JsonBuf)) -> Option<Vec<u8>> {
        let mut bytes = vec![b'#'; room];
        let mut buf = JsonBuf::new(&mut bytes);
        fill(&mut buf);
        let len = buf.finish()?;
        bytes.truncate(len);
        Some(bytes)
    }

    #[test]
    fn writes_append_in_order() {
        let bytes = written(64, |buf| {
            buf.put(b"{\"a\":");
            buf.put_u64(7);
            buf.put_byte(b',');
            buf.put_slice(b"\"b\":");
            buf.put_prefix(b"123456", 3);
            buf.put_byte(b'}');
        });
        assert_eq!(bytes.as_deref(), Some(b"{\"a\":7,\"b\":123}".as_slice()));
    }

    #[test]
    fn put_u64_matches_display() {
        let mut values = vec![0, 9, 10, 99, 100, u64::MAX];
        for power in 1..U64_DIGITS as u32 {
            let ten = 10u64.pow(power);
            values.extend([ten - 1, ten, ten + 1]);
        }
        for value in values {
            let bytes = written(U64_DIGITS, |buf| buf.put_u64(value));
            assert_eq!(bytes, Some(value.to_string().into_bytes()), "{value}");
        }
    }

    #[test]
    fn exact_room_fits() {
        let bytes = written(5, |buf| {
            buf.put(b"ab");
            buf.put_slice(b"cd");
            buf.put_byte(b'e');
        });
        assert_eq!(bytes.as_deref(), Some(b"abcde".as_slice()));
    }

    #[test]
    fn overflow_of_each_write_reported() {
        assert_eq!(written(2, |buf| buf.put(b"abc")), None);
        assert_eq!(written(2, |buf| buf.put_slice(b"abc")), None);
        assert_eq!(written(0, |buf| buf.put_byte(b'a')), None);
        assert_eq!(written(4, |buf| buf.put_u64(12_345)), None);
        // The whole constant-size copy needs room, even for a short prefix.
        assert_eq!(written(3, |buf| buf.put_prefix(b"abcd", 1)), None);
    }

    #[test]
    fn overflow_stays_reported_after_smaller_write() {
        let bytes = written(3, |buf| {
            buf.put(b"abcd");
            buf.put_byte(b'e');
        });
        assert_eq!(bytes, None);
    }
}
