//! QUIC client Initial packets of version 1 (RFC 9000 and RFC 9001) and version 2
//! (RFC 9369). This module parses the long header, derives the Initial keys from the
//! Destination Connection ID, removes header protection and decrypts with AES-128-GCM.
//! It then walks the frames and parses the ClientHello in the CRYPTO stream, which gives
//! SNI, ALPN and a JA4 (`q`) fingerprint.
//!
//! Anyone who observes the Destination Connection ID can derive the Initial keys, so this
//! module reads only what any on-path observer can read. Later packet types stay
//! encrypted.

mod error;
mod frames;
mod hello_buffer;
mod keys;
mod packet;

#[cfg(test)]
mod tests;

pub use error::QuicError;
pub use hello_buffer::{MAX_COALESCED_PACKETS, QuicHelloBuffer};
pub use keys::QuicVersion;
pub use packet::{ConnectionId, InitialPacket, MAX_CONNECTION_ID_BYTES};

use crate::app::tls::{ClientHello, HelloProgress, TlsError};

/// Result of one datagram: the first Initial packet's header fields and the ClientHello
/// from its CRYPTO data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuicHello {
    pub packet: InitialPacket,
    /// Whether the datagram held the whole ClientHello ([`HelloProgress::Complete`]),
    /// part of it, or CRYPTO data that gave up.
    pub progress: HelloProgress,
    /// The ClientHello: whole, [`ClientHello::partial`], or the reason it failed.
    pub client_hello: Result<ClientHello, TlsError>,
}

/// Parses one client datagram on its own. Use a [`QuicHelloBuffer`] per flow to join a
/// ClientHello spread over several datagrams.
pub fn parse_initial(datagram: &[u8]) -> Result<QuicHello, QuicError> {
    let mut buffer = QuicHelloBuffer::new();
    let progress = buffer.push_datagram(datagram)?;
    let packet = *buffer.first_packet().ok_or(QuicError::NotInitial)?;
    Ok(QuicHello {
        packet,
        progress,
        client_hello: buffer.client_hello(),
    })
}
