//! Per-flow reassembly of the ClientHello from the CRYPTO frames of a client's Initial
//! packets. A ClientHello with a post-quantum key share fills more than one 1200-byte
//! Initial, and clients spread and reorder its CRYPTO frames across packets.

use super::error::QuicError;
use super::frames::{FrameError, walk_frames};
use super::packet::{InitialPacket, decrypt_initial};
use crate::app::tls::stream_buffer::StreamBuffer;
use crate::app::tls::{
    ClientHello, GiveUpReason, HelloProgress, MAX_HELLO_BYTES, OUT_OF_ORDER_WINDOW, TlsError,
    parse_handshake,
};

/// Long header packets read per datagram: an Initial may be coalesced with others.
pub const MAX_COALESCED_PACKETS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Collecting,
    Complete,
    GaveUp(GiveUpReason),
}

/// Collects the CRYPTO stream of a client's Initial packets until it contains a whole
/// ClientHello. One per QUIC flow; memory grows with the CRYPTO bytes received, at most
/// [`MAX_HELLO_BYTES`], plus one scratch copy of the largest datagram decrypted.
#[derive(Clone, Debug)]
pub struct QuicHelloBuffer {
    crypto: StreamBuffer,
    scratch: Vec<u8>,
    first_packet: Option<InitialPacket>,
    state: State,
}

impl Default for QuicHelloBuffer {
    fn default() -> Self {
        QuicHelloBuffer::new()
    }
}

impl QuicHelloBuffer {
    pub fn new() -> Self {
        QuicHelloBuffer {
            crypto: StreamBuffer::new(MAX_HELLO_BYTES, OUT_OF_ORDER_WINDOW),
            scratch: Vec::new(),
            first_packet: None,
            state: State::Collecting,
        }
    }

    /// Decrypts the client Initial packets at the start of one client UDP datagram and
    /// adds their CRYPTO data. Packets after the first that are not Initial packets
    /// (0-RTT coalesced behind it) end the walk without an error.
    pub fn push_datagram(&mut self, datagram: &[u8]) -> Result<HelloProgress, QuicError> {
        if self.state != State::Collecting {
            return Ok(HelloProgress::Finished);
        }
        let mut rest = datagram;

        for index in 0..MAX_COALESCED_PACKETS {
            let decrypted = match decrypt_initial(rest, &mut self.scratch) {
                Ok(decrypted) => decrypted,
                Err(error) if index == 0 => return Err(error),
                Err(_) => break,
            };
            self.first_packet.get_or_insert(decrypted.packet);

            let plaintext = self.scratch.get(decrypted.plaintext.clone()).unwrap_or(&[]);
            let crypto = &mut self.crypto;
            match walk_frames(plaintext, |offset, data| crypto.insert(offset, data)) {
                Ok(_) => {}
                Err(FrameError::Invalid) => return Err(QuicError::InvalidFrame),
                Err(FrameError::Crypto(reason)) => return Ok(self.give_up(reason)),
            }

            let progress = self.check();
            if progress != HelloProgress::NeedMore {
                return Ok(progress);
            }
            rest = rest.get(decrypted.packet_bytes..).unwrap_or(&[]);
            if rest.is_empty() {
                break;
            }
        }
        Ok(HelloProgress::NeedMore)
    }

    /// Returns the progress so far without adding bytes.
    pub fn progress(&self) -> HelloProgress {
        match self.state {
            State::Collecting => HelloProgress::NeedMore,
            State::Complete => HelloProgress::Complete,
            State::GaveUp(reason) => HelloProgress::GaveUp(reason),
        }
    }

    /// Returns the header fields of the first Initial packet decrypted.
    pub fn first_packet(&self) -> Option<&InitialPacket> {
        self.first_packet.as_ref()
    }

    /// Parses the CRYPTO bytes collected so far: the whole ClientHello once complete,
    /// else a [`ClientHello::partial`] one.
    pub fn client_hello(&self) -> Result<ClientHello, TlsError> {
        parse_handshake(self.crypto.contiguous())
    }

    /// Returns the bytes of memory in use (CRYPTO data and scratch).
    pub fn buffered_bytes(&self) -> usize {
        self.crypto.len() + self.scratch.capacity()
    }

    fn check(&mut self) -> HelloProgress {
        let prefix = self.crypto.contiguous();
        if prefix.first().is_some_and(|t| *t != 1) {
            return self.give_up(GiveUpReason::NotTls);
        }
        let Some(&[_, high, mid, low]) = prefix.get(..4) else {
            return HelloProgress::NeedMore;
        };
        let total = u32::from_be_bytes([0, high, mid, low]) as usize + 4;
        if total > MAX_HELLO_BYTES {
            return self.give_up(GiveUpReason::Overflow);
        }
        if prefix.len() < total {
            return HelloProgress::NeedMore;
        }
        self.state = State::Complete;
        self.scratch = Vec::new();
        HelloProgress::Complete
    }

    fn give_up(&mut self, reason: GiveUpReason) -> HelloProgress {
        self.state = State::GaveUp(reason);
        self.scratch = Vec::new();
        if reason == GiveUpReason::NotTls {
            self.crypto = StreamBuffer::new(0, 0);
        }
        HelloProgress::GaveUp(reason)
    }
}
