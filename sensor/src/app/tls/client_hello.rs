//! The TLS ClientHello handshake message (RFC 8446 section 4.1.2, and the TLS 1.0 to 1.2
//! forms of RFC 5246): versions, cipher suites, extensions in wire order, and the
//! contents of the extensions that name the server and fingerprint the client.

use super::error::TlsError;
use super::reader::Reader;

/// Handshake message type of a ClientHello.
pub const HANDSHAKE_CLIENT_HELLO: u8 = 1;

/// Largest ClientHello handshake message (4-byte header included) that the record
/// parser and the reassembly buffers accept. Hellos with post-quantum key shares are
/// about 2 KiB; 16 KiB leaves room for large PSK identities and padding.
pub const MAX_HELLO_BYTES: usize = 16_384;
/// Maximum server name length kept, in bytes (a DNS name is at most 253 bytes in text form).
pub const MAX_SERVER_NAME_BYTES: usize = 255;
/// Cipher suites kept per ClientHello; real clients offer fewer than 100.
pub const MAX_CIPHER_SUITES: usize = 128;
/// Extension types kept per ClientHello; real clients send fewer than 30.
pub const MAX_EXTENSIONS: usize = 64;
/// Values kept per list extension (supported_versions, signature_algorithms,
/// supported_groups).
pub const MAX_LIST_VALUES: usize = 64;
/// ALPN protocol names kept.
pub const MAX_ALPN_PROTOCOLS: usize = 8;

/// Extension type codes this parser reads (IANA TLS ExtensionType Values).
pub mod extension {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const ALPN: u16 = 0x0010;
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
}

/// Length of a handshake message header: type and 24-bit length.
const HANDSHAKE_HEADER_BYTES: usize = 4;
/// Maximum session id length allowed by RFC 8446 and RFC 5246.
const MAX_SESSION_ID_BYTES: usize = 32;
/// SNI name type of a DNS host name (RFC 6066 section 3).
const NAME_TYPE_HOST_NAME: u8 = 0;

/// The fields of one ClientHello. Lists keep the wire order and the GREASE values
/// (RFC 8701), which [`is_grease`] identifies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version` of the message body (0x0303 in TLS 1.3 hellos).
    pub legacy_version: u16,
    /// The supported_versions extension, if present.
    pub supported_versions: Vec<u16>,
    pub cipher_suites: Vec<u16>,
    /// Extension types in the order sent.
    pub extensions: Vec<u16>,
    /// First `host_name` of the server_name extension, cut at
    /// [`MAX_SERVER_NAME_BYTES`]. Bytes that are not UTF-8 become U+FFFD.
    pub server_name: Option<String>,
    /// ALPN protocol names in the order sent, as raw bytes.
    pub alpn: Vec<Vec<u8>>,
    /// The signature_algorithms extension, in the order sent.
    pub signature_algorithms: Vec<u16>,
    /// The supported_groups extension, in the order sent.
    pub supported_groups: Vec<u16>,
    /// The message ends before its declared length: fields after the cut are missing.
    pub partial: bool,
    /// A list or name was longer than its cap (the `MAX_*` constants) and was cut.
    pub truncated: bool,
}

impl ClientHello {
    /// Returns the highest non-GREASE supported_versions value, or `legacy_version` when
    /// the extension is absent or holds only GREASE values.
    pub fn version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version)
    }

    /// Returns the server name as a `&str`.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// Returns the first ALPN protocol name.
    pub fn first_alpn(&self) -> Option<&[u8]> {
        self.alpn.first().map(Vec::as_slice)
    }
}

/// Tells whether `value` is a GREASE value (RFC 8701): 0x0a0a, 0x1a1a, … 0xfafa.
pub fn is_grease(value: u16) -> bool {
    let [high, low] = value.to_be_bytes();
    high == low && low & 0x0f == 0x0a
}

/// Parses a ClientHello handshake message: type (1), 24-bit length, body. This is the
/// entry point for QUIC, whose CRYPTO frames carry handshake messages without TLS
/// records.
///
/// A message cut before its declared length still returns the fields before the cut,
/// marked [`ClientHello::partial`], if it reaches past the cipher suites. A cut before
/// that returns [`TlsError::Truncated`]. A declared length above [`MAX_HELLO_BYTES`]
/// returns [`TlsError::HelloTooLong`].
pub fn parse_handshake(message: &[u8]) -> Result<ClientHello, TlsError> {
    let mut reader = Reader::new(message);
    let msg_type = reader.u8().ok_or(TlsError::Truncated)?;
    if msg_type != HANDSHAKE_CLIENT_HELLO {
        return Err(TlsError::NotClientHello);
    }
    let declared = reader.u24().ok_or(TlsError::Truncated)? as usize;
    if declared + HANDSHAKE_HEADER_BYTES > MAX_HELLO_BYTES {
        return Err(TlsError::HelloTooLong);
    }

    let available = reader.remaining();
    let partial = available < declared;
    let body = reader
        .take(declared.min(available))
        .ok_or(TlsError::Truncated)?;
    parse_body(body, partial)
}

fn parse_body(body: &[u8], partial: bool) -> Result<ClientHello, TlsError> {
    let mut reader = Reader::new(body);
    let mut hello = ClientHello {
        partial,
        ..ClientHello::default()
    };

    hello.legacy_version = reader.u16().ok_or(TlsError::Truncated)?;
    reader.take(32).ok_or(TlsError::Truncated)?;
    let session_id = reader.vec8().ok_or(TlsError::Truncated)?;
    if session_id.len() > MAX_SESSION_ID_BYTES {
        return Err(TlsError::InvalidSessionId);
    }

    let suites = reader.vec16().ok_or(TlsError::Truncated)?;
    if suites.is_empty() || !suites.len().is_multiple_of(2) {
        return Err(TlsError::InvalidCipherSuites);
    }
    hello.truncated |= push_u16s(suites, MAX_CIPHER_SUITES, &mut hello.cipher_suites);

    // From here on a cut message returns what it has.
    let Some(compression) = reader.vec8() else {
        return if partial {
            Ok(hello)
        } else {
            Err(TlsError::InvalidCompression)
        };
    };
    if compression.is_empty() {
        return Err(TlsError::InvalidCompression);
    }

    // TLS 1.0 to 1.2 clients may omit the extension block.
    if reader.is_empty() {
        return Ok(hello);
    }
    let before_block = reader;
    let (block, block_cut) = match reader.vec16() {
        Some(block) => (block, false),
        None if partial => {
            // The message ends inside the block: walk the bytes after its length field.
            let mut rest = before_block;
            rest.take(2);
            (rest.rest(), true)
        }
        None => return Err(TlsError::InvalidExtensions),
    };
    parse_extensions(block, block_cut, &mut hello)?;
    Ok(hello)
}

/// Walks the extension block. When `block_cut` is set, the block ends early because the
/// message was cut, so the extension that straddles the cut is skipped, not rejected.
fn parse_extensions(
    block: &[u8],
    block_cut: bool,
    hello: &mut ClientHello,
) -> Result<(), TlsError> {
    let mut reader = Reader::new(block);
    let mut seen = SeenExtensions::default();

    while !reader.is_empty() {
        let Some((ext_type, data)) = read_extension(&mut reader) else {
            return if block_cut {
                Ok(())
            } else {
                Err(TlsError::InvalidExtensions)
            };
        };

        if hello.extensions.len() < MAX_EXTENSIONS {
            hello.extensions.push(ext_type);
        } else {
            hello.truncated = true;
        }
        if seen.first(ext_type) {
            parse_extension(ext_type, data, hello)?;
        }
    }
    Ok(())
}

fn read_extension<'a>(reader: &mut Reader<'a>) -> Option<(u16, &'a [u8])> {
    let ext_type = reader.u16()?;
    let data = reader.vec16()?;
    Some((ext_type, data))
}

/// Flags for the parsed extension types seen so far. RFC 8446 forbids repeats, so only
/// the first of each is read.
#[derive(Default)]
struct SeenExtensions {
    server_name: bool,
    alpn: bool,
    supported_versions: bool,
    signature_algorithms: bool,
    supported_groups: bool,
}

impl SeenExtensions {
    /// Marks `ext_type` seen; returns true the first time.
    fn first(&mut self, ext_type: u16) -> bool {
        let flag = match ext_type {
            extension::SERVER_NAME => &mut self.server_name,
            extension::ALPN => &mut self.alpn,
            extension::SUPPORTED_VERSIONS => &mut self.supported_versions,
            extension::SIGNATURE_ALGORITHMS => &mut self.signature_algorithms,
            extension::SUPPORTED_GROUPS => &mut self.supported_groups,
            _ => return false,
        };
        !std::mem::replace(flag, true)
    }
}

fn parse_extension(ext_type: u16, data: &[u8], hello: &mut ClientHello) -> Result<(), TlsError> {
    match ext_type {
        extension::SERVER_NAME => parse_server_name(data, hello),
        extension::ALPN => parse_alpn(data, hello),
        extension::SUPPORTED_VERSIONS => {
            let list = Reader::new(data)
                .vec8()
                .ok_or(TlsError::InvalidExtensionList)?;
            parse_u16_list(list, &mut hello.supported_versions, &mut hello.truncated)
        }
        extension::SIGNATURE_ALGORITHMS => {
            let list = Reader::new(data)
                .vec16()
                .ok_or(TlsError::InvalidExtensionList)?;
            parse_u16_list(list, &mut hello.signature_algorithms, &mut hello.truncated)
        }
        extension::SUPPORTED_GROUPS => {
            let list = Reader::new(data)
                .vec16()
                .ok_or(TlsError::InvalidExtensionList)?;
            parse_u16_list(list, &mut hello.supported_groups, &mut hello.truncated)
        }
        _ => Ok(()),
    }
}

/// Reads the server_name list (RFC 6066 section 3) and keeps its first host_name.
fn parse_server_name(data: &[u8], hello: &mut ClientHello) -> Result<(), TlsError> {
    let list = Reader::new(data)
        .vec16()
        .ok_or(TlsError::InvalidServerName)?;
    let mut reader = Reader::new(list);

    while !reader.is_empty() {
        let name_type = reader.u8().ok_or(TlsError::InvalidServerName)?;
        let name = reader.vec16().ok_or(TlsError::InvalidServerName)?;
        if name_type != NAME_TYPE_HOST_NAME || hello.server_name.is_some() {
            continue;
        }
        if name.is_empty() {
            return Err(TlsError::InvalidServerName);
        }
        let kept = name.get(..MAX_SERVER_NAME_BYTES).unwrap_or(name);
        hello.truncated |= kept.len() < name.len();
        hello.server_name = Some(String::from_utf8_lossy(kept).into_owned());
    }
    Ok(())
}

/// Reads the ALPN protocol name list (RFC 7301 section 3.1).
fn parse_alpn(data: &[u8], hello: &mut ClientHello) -> Result<(), TlsError> {
    let list = Reader::new(data).vec16().ok_or(TlsError::InvalidAlpn)?;
    let mut reader = Reader::new(list);

    while !reader.is_empty() {
        let name = reader.vec8().ok_or(TlsError::InvalidAlpn)?;
        if hello.alpn.len() < MAX_ALPN_PROTOCOLS {
            hello.alpn.push(name.to_vec());
        } else {
            hello.truncated = true;
        }
    }
    Ok(())
}

fn parse_u16_list(
    list: &[u8],
    values: &mut Vec<u16>,
    truncated: &mut bool,
) -> Result<(), TlsError> {
    if !list.len().is_multiple_of(2) {
        return Err(TlsError::InvalidExtensionList);
    }
    *truncated |= push_u16s(list, MAX_LIST_VALUES, values);
    Ok(())
}

/// Appends the big-endian u16 values of `bytes` (even length) to `values`, at most `cap`
/// in all. Returns true when values were dropped at the cap.
fn push_u16s(bytes: &[u8], cap: usize, values: &mut Vec<u16>) -> bool {
    let mut dropped = false;
    for pair in bytes.chunks_exact(2) {
        if values.len() >= cap {
            dropped = true;
            break;
        }
        if let [high, low] = *pair {
            values.push(u16::from_be_bytes([high, low]));
        }
    }
    dropped
}
