//! TLS ClientHello metadata: the record layer and handshake parser, the JA4 client
//! fingerprint, and per-flow reassembly of a ClientHello split across TCP segments.
//! The QUIC parser reuses the handshake parser and the stream buffer.

mod client_hello;
mod error;
mod hello_buffer;
mod ja4;
pub(crate) mod reader;
mod record;
pub(crate) mod stream_buffer;

#[cfg(test)]
pub(crate) mod tests;

pub use client_hello::{
    ClientHello, MAX_ALPN_PROTOCOLS, MAX_CIPHER_SUITES, MAX_EXTENSIONS, MAX_HELLO_BYTES,
    MAX_LIST_VALUES, MAX_SERVER_NAME_BYTES, extension, is_grease, parse_handshake,
};
pub use error::{GiveUpReason, TlsError};
pub use hello_buffer::{HELLO_BUFFER_BYTES, HelloBuffer, HelloProgress, OUT_OF_ORDER_WINDOW};
pub use ja4::{JA4_LEN, Ja4, Transport, ja4, ja4_raw};
pub use record::{MAX_RECORD_PAYLOAD, hello_length, parse_client_hello, starts_like_handshake};
