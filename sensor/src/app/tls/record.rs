//! The TLS record layer on the client's TCP byte stream (RFC 8446 section 5.1). It finds
//! the ClientHello handshake message in one or more handshake records, and checks
//! whether the bytes so far contain all of it.

use super::client_hello::{ClientHello, HANDSHAKE_CLIENT_HELLO, MAX_HELLO_BYTES, parse_handshake};
use super::error::TlsError;
use super::reader::Reader;

/// Record content type of handshake messages.
pub const CONTENT_HANDSHAKE: u8 = 22;
/// Largest plaintext record payload (2^14 bytes).
pub const MAX_RECORD_PAYLOAD: usize = 16_384;

/// Length of a record header: content type, legacy version, length.
const RECORD_HEADER_BYTES: usize = 5;
/// Length of a handshake message header: type and 24-bit length.
const HANDSHAKE_HEADER_BYTES: usize = 4;

/// Tells whether `stream` starts like a TLS handshake record: content type 22 and
/// version major 3. Needs 2 bytes; fewer give `true` while the one byte matches.
pub fn starts_like_handshake(stream: &[u8]) -> bool {
    match stream {
        [] => true,
        [content] => *content == CONTENT_HANDSHAKE,
        [content, major, ..] => *content == CONTENT_HANDSHAKE && *major == 3,
    }
}

/// Returns the ClientHello length, header included, once `stream` (the client's bytes
/// from the start of the connection) contains all of it, or `Ok(None)` while more bytes
/// are needed.
pub fn hello_length(stream: &[u8]) -> Result<Option<usize>, TlsError> {
    let mut header = [0u8; HANDSHAKE_HEADER_BYTES];
    let mut handshake_bytes = 0usize;

    for fragment in Records::new(stream) {
        let fragment = fragment?;
        // The 4-byte message header may itself be split across records.
        for (slot, byte) in header.iter_mut().skip(handshake_bytes).zip(fragment) {
            *slot = *byte;
        }
        handshake_bytes += fragment.len();

        if handshake_bytes >= HANDSHAKE_HEADER_BYTES {
            let total = message_length(header)?;
            if handshake_bytes >= total {
                return Ok(Some(total));
            }
        }
    }
    Ok(None)
}

/// Parses the ClientHello at the start of `stream`, the client's bytes from the start of
/// the connection, across as many handshake records as it spans. A stream that ends
/// early gives a [`ClientHello::partial`] result as [`parse_handshake`] does.
pub fn parse_client_hello(stream: &[u8]) -> Result<ClientHello, TlsError> {
    let mut records = Records::new(stream);
    let Some(first) = records.next() else {
        return Err(TlsError::Truncated);
    };
    let first = first?;

    // The common case: the whole message sits in the first record, so no copy.
    if let Some(total) = declared_length(first)?
        && first.len() >= total
    {
        return parse_handshake(first.get(..total).unwrap_or(first));
    }

    let mut message = Vec::with_capacity(first.len().min(MAX_HELLO_BYTES));
    message.extend_from_slice(first);
    for fragment in records {
        let fragment = fragment?;
        let room = MAX_HELLO_BYTES.saturating_sub(message.len());
        message.extend_from_slice(fragment.get(..room).unwrap_or(fragment));
        if let Some(total) = declared_length(&message)?
            && message.len() >= total
        {
            message.truncate(total);
            break;
        }
    }
    parse_handshake(&message)
}

/// Returns the handshake message length, header included, once `bytes` contains the
/// 4-byte header.
fn declared_length(bytes: &[u8]) -> Result<Option<usize>, TlsError> {
    match bytes.get(..HANDSHAKE_HEADER_BYTES) {
        Some(&[a, b, c, d]) => message_length([a, b, c, d]).map(Some),
        _ => Ok(None),
    }
}

fn message_length(header: [u8; HANDSHAKE_HEADER_BYTES]) -> Result<usize, TlsError> {
    let [msg_type, high, mid, low] = header;
    if msg_type != HANDSHAKE_CLIENT_HELLO {
        return Err(TlsError::NotClientHello);
    }
    let body = u32::from_be_bytes([0, high, mid, low]) as usize;
    let total = body + HANDSHAKE_HEADER_BYTES;
    if total > MAX_HELLO_BYTES {
        return Err(TlsError::HelloTooLong);
    }
    Ok(total)
}

/// Iterates the payloads of the handshake records at the start of a stream. The last
/// payload may be cut short where the stream ends; a record header cut short ends the
/// iteration. Any other record is an error, because a ClientHello is the first message
/// a client sends.
struct Records<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl<'a> Records<'a> {
    fn new(stream: &'a [u8]) -> Self {
        Records {
            reader: Reader::new(stream),
            failed: false,
        }
    }

    fn read(&mut self) -> Option<Result<&'a [u8], TlsError>> {
        let header = self.reader.take(RECORD_HEADER_BYTES)?;
        let &[content, major, _minor, len_high, len_low] = header else {
            return None;
        };
        if content != CONTENT_HANDSHAKE || major != 3 {
            return Some(Err(TlsError::NotHandshakeRecord));
        }
        let len = usize::from(u16::from_be_bytes([len_high, len_low]));
        if len > MAX_RECORD_PAYLOAD {
            return Some(Err(TlsError::RecordTooLong));
        }
        let available = len.min(self.reader.remaining());
        Some(Ok(self.reader.take(available).unwrap_or(&[])))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<&'a [u8], TlsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.read()?;
        self.failed = item.is_err();
        Some(item)
    }
}
