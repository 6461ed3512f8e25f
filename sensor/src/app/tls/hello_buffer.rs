//! Per-flow reassembly of a ClientHello from the client's TCP segments. Post-quantum key
//! shares (ML-KEM adds about 1.2 KiB) make ClientHellos larger than one segment, so the
//! buffer collects segments by sequence number until the whole handshake message is
//! present, within fixed memory and reorder limits.

use super::client_hello::ClientHello;
use super::client_hello::MAX_HELLO_BYTES;
use super::error::{GiveUpReason, TlsError};
use super::record::{hello_length, parse_client_hello, starts_like_handshake};
use super::stream_buffer::StreamBuffer;

/// Maximum stream bytes in a [`HelloBuffer`]: the largest accepted ClientHello plus
/// the record headers around its fragments.
pub const HELLO_BUFFER_BYTES: usize = MAX_HELLO_BYTES + 1024;
/// Furthest a segment may start beyond the contiguous bytes received so far. Mirrored
/// traffic reorders by a few segments at most; a larger gap means lost segments.
pub const OUT_OF_ORDER_WINDOW: usize = 8 * 1024;

/// State of a reassembly buffer after a segment or datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloProgress {
    /// The handshake message is not complete yet.
    NeedMore,
    /// The handshake message is complete. Returned once, by the push that completed it.
    Complete,
    /// The buffer stopped collecting. Returned once, by the push that gave up, so the
    /// caller counts each reason once per flow.
    GaveUp(GiveUpReason),
    /// The buffer had already completed or given up; the push was ignored.
    Finished,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Collecting,
    Complete,
    GaveUp(GiveUpReason),
}

/// Collects the client's first TCP payload bytes until they hold a whole ClientHello.
/// One per TCP flow that might carry TLS; memory grows with the bytes received, at most
/// [`HELLO_BUFFER_BYTES`].
#[derive(Clone, Debug)]
pub struct HelloBuffer {
    stream: StreamBuffer,
    /// Sequence number of the first client payload byte, once known.
    start_seq: Option<u32>,
    state: State,
}

impl Default for HelloBuffer {
    fn default() -> Self {
        HelloBuffer::new()
    }
}

impl HelloBuffer {
    /// Creates a buffer whose stream starts at the first segment with payload.
    pub fn new() -> Self {
        HelloBuffer {
            stream: StreamBuffer::new(HELLO_BUFFER_BYTES, OUT_OF_ORDER_WINDOW),
            start_seq: None,
            state: State::Collecting,
        }
    }

    /// Creates a buffer whose stream starts at sequence number `start_seq`: the client
    /// SYN's sequence number plus one. Knowing the start lets the first data segment
    /// arrive after the second.
    pub fn with_start(start_seq: u32) -> Self {
        HelloBuffer {
            start_seq: Some(start_seq),
            ..HelloBuffer::new()
        }
    }

    /// Adds one client TCP segment: `seq` is its sequence number, `payload` its TCP
    /// payload. Segments without payload are ignored. Data before the stream start
    /// (retransmissions) is trimmed.
    pub fn push(&mut self, seq: u32, payload: &[u8]) -> HelloProgress {
        if self.state != State::Collecting {
            return HelloProgress::Finished;
        }
        if payload.is_empty() {
            return HelloProgress::NeedMore;
        }
        let start_seq = *self.start_seq.get_or_insert(seq);

        // Sequence numbers wrap at 2^32; an offset in the upper half is before the start.
        let offset = seq.wrapping_sub(start_seq);
        let (offset, bytes) = if offset < 1 << 31 {
            (offset, payload)
        } else {
            let behind = start_seq.wrapping_sub(seq) as usize;
            match payload.get(behind..) {
                Some(rest) if !rest.is_empty() => (0, rest),
                _ => return HelloProgress::NeedMore,
            }
        };

        if let Err(reason) = self.stream.insert(u64::from(offset), bytes) {
            return self.give_up(reason);
        }
        self.check()
    }

    /// Returns the progress so far without adding bytes.
    pub fn progress(&self) -> HelloProgress {
        match self.state {
            State::Collecting => HelloProgress::NeedMore,
            State::Complete => HelloProgress::Complete,
            State::GaveUp(reason) => HelloProgress::GaveUp(reason),
        }
    }

    /// Parses the bytes collected so far: the whole ClientHello once complete, else a
    /// [`ClientHello::partial`] one (for a flow that ends or times out first).
    pub fn client_hello(&self) -> Result<ClientHello, TlsError> {
        parse_client_hello(self.stream.contiguous())
    }

    /// Bytes of memory the buffer holds.
    pub fn buffered_bytes(&self) -> usize {
        self.stream.len()
    }

    fn check(&mut self) -> HelloProgress {
        let prefix = self.stream.contiguous();
        if !starts_like_handshake(prefix) {
            return self.give_up(GiveUpReason::NotTls);
        }
        match hello_length(prefix) {
            Ok(Some(_)) => {
                self.state = State::Complete;
                HelloProgress::Complete
            }
            Ok(None) => HelloProgress::NeedMore,
            Err(TlsError::HelloTooLong) => self.give_up(GiveUpReason::Overflow),
            Err(TlsError::NotClientHello) => self.give_up(GiveUpReason::NotTls),
            Err(_) => self.give_up(GiveUpReason::InvalidRecords),
        }
    }

    fn give_up(&mut self, reason: GiveUpReason) -> HelloProgress {
        self.state = State::GaveUp(reason);
        // Bytes that are not TLS give no partial hello, so free them now.
        if matches!(reason, GiveUpReason::NotTls | GiveUpReason::InvalidRecords) {
            self.stream = StreamBuffer::new(0, 0);
        }
        HelloProgress::GaveUp(reason)
    }
}
