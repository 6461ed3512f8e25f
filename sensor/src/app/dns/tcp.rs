//! DNS over TCP (RFC 1035 section 4.2.2, RFC 7766): each message follows a 2-byte length
//! prefix, and segments split or join messages freely. [`TcpDnsBuffer`] accumulates one
//! direction's in-order payload in a bounded buffer and yields whole messages.

use super::{DnsError, DnsMessage, parse_message};

/// Default bound of a [`TcpDnsBuffer`], length prefix included. A longer message is
/// parsed from its first bytes, marked partial, and the rest is skipped.
pub const DEFAULT_TCP_BUFFER_BYTES: usize = 4096;

const PREFIX_BYTES: usize = 2;

/// Smallest bound: the length prefix and a DNS header.
const MIN_BUFFER_BYTES: usize = PREFIX_BYTES + 12;

/// Largest bound: the length prefix and the largest message it can announce.
const MAX_BUFFER_BYTES: usize = PREFIX_BYTES + u16::MAX as usize;

/// One direction of a DNS-over-TCP stream. The buffer is allocated once, at its bound.
#[derive(Debug)]
pub struct TcpDnsBuffer {
    /// The current message: its length prefix and the bytes received so far.
    buffer: Vec<u8>,
    max_bytes: usize,
    /// Bytes of an over-long message still to discard.
    skip: usize,
}

impl TcpDnsBuffer {
    /// Creates a buffer bounded at [`DEFAULT_TCP_BUFFER_BYTES`].
    pub fn new() -> Self {
        TcpDnsBuffer::with_max_bytes(DEFAULT_TCP_BUFFER_BYTES)
    }

    /// Creates a buffer bounded at `max_bytes` (length prefix included), clamped to 14
    /// (a prefix and a header) through 65537 (a prefix and the largest message).
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        let max_bytes = max_bytes.clamp(MIN_BUFFER_BYTES, MAX_BUFFER_BYTES);
        TcpDnsBuffer {
            buffer: Vec::with_capacity(max_bytes),
            max_bytes,
            skip: 0,
        }
    }

    /// Number of bytes of the current message held.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Drops the current message. Call it when the stream has a gap, because the next
    /// bytes are no longer aligned to a length prefix.
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.skip = 0;
    }

    /// Appends the next in-order `payload` bytes of the stream and calls `on_message`
    /// with each message completed by them, in stream order. A message longer than the
    /// bound is parsed from its first bytes and marked partial.
    pub fn push(
        &mut self,
        payload: &[u8],
        mut on_message: impl FnMut(Result<DnsMessage, DnsError>),
    ) {
        let mut input = payload;
        while !input.is_empty() {
            if self.skip > 0 {
                let skipped = self.skip.min(input.len());
                input = input.get(skipped..).unwrap_or(&[]);
                self.skip -= skipped;
                continue;
            }

            let want = match self.frame_len() {
                Some(frame_len) => frame_len.min(self.max_bytes),
                None => PREFIX_BYTES,
            };
            let take = want.saturating_sub(self.buffer.len()).min(input.len());
            let (head, tail) = input.split_at(take);
            self.buffer.extend_from_slice(head);
            input = tail;

            let Some(frame_len) = self.frame_len() else {
                continue;
            };
            let stored_len = frame_len.min(self.max_bytes);
            if self.buffer.len() < stored_len {
                continue;
            }
            let body = self.buffer.get(PREFIX_BYTES..).unwrap_or(&[]);
            let cut = frame_len > stored_len;
            let result = parse_message(body).map(|mut message| {
                message.partial |= cut;
                message
            });
            on_message(result);
            self.skip = frame_len - stored_len;
            self.buffer.clear();
        }
    }

    /// Returns the prefix plus the announced message length, once the prefix is held.
    fn frame_len(&self) -> Option<usize> {
        let prefix = self.buffer.get(..PREFIX_BYTES)?;
        Some(PREFIX_BYTES + usize::from(u16::from_be_bytes([prefix[0], prefix[1]])))
    }
}

impl Default for TcpDnsBuffer {
    fn default() -> Self {
        TcpDnsBuffer::new()
    }
}
