//! A bounded buffer that collects the first bytes of one byte stream by stream offset,
//! in any order within a window. TCP reassembly (offset from the first sequence number)
//! and QUIC CRYPTO reassembly (offset from the frame) both use it.

use super::error::GiveUpReason;

/// Separate byte ranges tracked; one more range than this means too many holes.
pub const MAX_RANGES: usize = 4;

/// Bytes at stream offsets `[0, capacity)`. Memory grows with the highest offset
/// received, never past `capacity`.
#[derive(Clone, Debug)]
pub(crate) struct StreamBuffer {
    data: Vec<u8>,
    /// Received byte ranges `[start, end)`, sorted, disjoint and not adjacent.
    ranges: [(usize, usize); MAX_RANGES],
    range_count: usize,
    capacity: usize,
    /// Maximum distance from the end of the contiguous prefix to the start of a segment.
    window: usize,
}

impl StreamBuffer {
    pub(crate) fn new(capacity: usize, window: usize) -> Self {
        StreamBuffer {
            data: Vec::new(),
            ranges: [(0, 0); MAX_RANGES],
            range_count: 0,
            capacity,
            window,
        }
    }

    /// Returns the bytes received without a hole from offset 0.
    pub(crate) fn contiguous(&self) -> &[u8] {
        let end = match self.ranges.first() {
            Some(&(0, end)) if self.range_count > 0 => end,
            _ => 0,
        };
        self.data.get(..end).unwrap_or(&[])
    }

    /// Bytes of memory held.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// Stores `bytes` at stream offset `offset`. Bytes at or past the capacity are
    /// dropped; a segment that starts there is an overflow. Bytes already received
    /// keep their first copy, as the receiving host does, so a later overlapping
    /// segment (a decoy with a short TTL, say) cannot change what is parsed.
    pub(crate) fn insert(&mut self, offset: u64, bytes: &[u8]) -> Result<(), GiveUpReason> {
        if bytes.is_empty() {
            return Ok(());
        }
        let prefix_end = self.contiguous().len();
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        if start >= self.capacity {
            return Err(GiveUpReason::Overflow);
        }
        if start > prefix_end.saturating_add(self.window) {
            return Err(GiveUpReason::OutOfWindow);
        }

        let end = start.saturating_add(bytes.len()).min(self.capacity);
        let (received, received_count) = (self.ranges, self.range_count);
        self.add_range(start, end)?;

        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        // Copy only the parts of [start, end) that no earlier segment covered.
        let mut pos = start;
        for &(range_start, range_end) in received.iter().take(received_count) {
            if range_end <= pos {
                continue;
            }
            if range_start >= end {
                break;
            }
            if range_start > pos {
                self.copy_in(bytes, start, pos, range_start);
            }
            pos = pos.max(range_end);
            if pos >= end {
                break;
            }
        }
        if pos < end {
            self.copy_in(bytes, start, pos, end);
        }
        Ok(())
    }

    /// Copies stream bytes `[from, to)` out of `bytes`, which start at `start`.
    fn copy_in(&mut self, bytes: &[u8], start: usize, from: usize, to: usize) {
        let source = bytes.get(from - start..to - start);
        if let (Some(slot), Some(source)) = (self.data.get_mut(from..to), source) {
            slot.copy_from_slice(source);
        }
    }

    /// Merges `[start, end)` into the sorted range list.
    fn add_range(&mut self, start: usize, end: usize) -> Result<(), GiveUpReason> {
        let mut merged = [(0usize, 0usize); MAX_RANGES + 1];
        let mut count = 0usize;
        let mut new = (start, end);
        let mut placed = false;

        for &(range_start, range_end) in self.ranges.iter().take(self.range_count) {
            if range_end < new.0 {
                // Entirely before the new range, with a hole between.
                *merged.get_mut(count).ok_or(GiveUpReason::TooManyGaps)? = (range_start, range_end);
                count += 1;
            } else if new.1 < range_start {
                // Entirely after: place the new range first.
                if !placed {
                    *merged.get_mut(count).ok_or(GiveUpReason::TooManyGaps)? = new;
                    count += 1;
                    placed = true;
                }
                *merged.get_mut(count).ok_or(GiveUpReason::TooManyGaps)? = (range_start, range_end);
                count += 1;
            } else {
                // Overlapping or adjacent: absorb into the new range.
                new = (new.0.min(range_start), new.1.max(range_end));
            }
        }
        if !placed {
            *merged.get_mut(count).ok_or(GiveUpReason::TooManyGaps)? = new;
            count += 1;
        }

        if count > MAX_RANGES {
            return Err(GiveUpReason::TooManyGaps);
        }
        for (slot, range) in self.ranges.iter_mut().zip(merged.iter()) {
            *slot = *range;
        }
        self.range_count = count;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_grows_prefix() {
        let mut buffer = StreamBuffer::new(64, 16);
        buffer.insert(0, b"abc").unwrap();
        buffer.insert(3, b"def").unwrap();
        assert_eq!(buffer.contiguous(), b"abcdef");
    }

    #[test]
    fn out_of_order_fills_hole() {
        let mut buffer = StreamBuffer::new(64, 16);
        buffer.insert(3, b"def").unwrap();
        assert_eq!(buffer.contiguous(), b"");
        buffer.insert(0, b"abc").unwrap();
        assert_eq!(buffer.contiguous(), b"abcdef");
    }

    #[test]
    fn overlap_keeps_first_copy() {
        let mut buffer = StreamBuffer::new(64, 32);
        buffer.insert(0, b"aaaa").expect("first copy stored");
        buffer.insert(0, b"bbbbbb").expect("overlap stored");
        assert_eq!(buffer.contiguous(), b"aaaabb");
    }

    #[test]
    fn overlap_retransmission() {
        let mut buffer = StreamBuffer::new(64, 16);
        buffer.insert(0, b"abcd").unwrap();
        buffer.insert(2, b"cdef").unwrap();
        buffer.insert(0, b"ab").unwrap();
        assert_eq!(buffer.contiguous(), b"abcdef");
    }

    #[test]
    fn beyond_window_rejected() {
        let mut buffer = StreamBuffer::new(64, 4);
        assert_eq!(buffer.insert(5, b"x"), Err(GiveUpReason::OutOfWindow));
    }

    #[test]
    fn start_at_capacity_overflows() {
        let mut buffer = StreamBuffer::new(8, 64);
        assert_eq!(buffer.insert(8, b"x"), Err(GiveUpReason::Overflow));
    }

    #[test]
    fn end_past_capacity_clipped() {
        let mut buffer = StreamBuffer::new(4, 64);
        buffer.insert(0, b"abcdef").unwrap();
        assert_eq!(buffer.contiguous(), b"abcd");
        assert_eq!(buffer.len(), 4);
    }

    #[test]
    fn too_many_holes_rejected() {
        let mut buffer = StreamBuffer::new(64, 64);
        for offset in [2u64, 4, 6, 8] {
            buffer.insert(offset, b"x").unwrap();
        }
        assert_eq!(buffer.insert(10, b"x"), Err(GiveUpReason::TooManyGaps));
    }

    #[test]
    fn holes_merge_back() {
        let mut buffer = StreamBuffer::new(64, 64);
        for offset in [2u64, 4, 6, 8] {
            buffer.insert(offset, b"x").unwrap();
        }
        for offset in [1u64, 3, 5, 7, 0] {
            buffer.insert(offset, b"y").unwrap();
        }
        assert_eq!(buffer.contiguous(), b"yyxyxyxyx");
    }
}
