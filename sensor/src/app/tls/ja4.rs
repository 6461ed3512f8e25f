//! The JA4 TLS client fingerprint of a ClientHello, as specified by FoxIO in
//! `technical_details/JA4.md` of github.com/FoxIO-LLC/ja4.
//!
//! In `t13d1516h2_8daaf6152771_e5627efa2ab1` the first part is the transport, TLS
//! version, SNI present (`d`) or not (`i`), cipher and extension counts, and the first
//! and last ALPN characters. The second part is the first 12 hex digits of the SHA-256
//! of the sorted cipher list. The third part hashes the sorted extension list (without
//! SNI and ALPN) followed by the signature algorithms. GREASE values are left out
//! everywhere.

use std::fmt;

use sha2::{Digest, Sha256};

use super::client_hello::{ClientHello, MAX_CIPHER_SUITES, MAX_EXTENSIONS, extension, is_grease};

/// Length of a JA4 fingerprint in characters.
pub const JA4_LEN: usize = 36;

/// Length of each truncated hash part.
const HASH_HEX_LEN: usize = 12;

/// The transport that carried the ClientHello, the first character of JA4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TLS over TCP (`t`).
    Tcp,
    /// QUIC (`q`).
    Quic,
}

/// A JA4 fingerprint: 36 ASCII characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ja4([u8; JA4_LEN]);

impl Ja4 {
    pub fn as_str(&self) -> &str {
        // The constructor writes ASCII only, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for Ja4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Ja4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ja4({})", self.as_str())
    }
}

/// Computes the JA4 fingerprint of `hello`. Returns `None` for a
/// [`ClientHello::partial`] hello, whose lists may be incomplete.
///
/// NOTE: a hello with more than [`MAX_CIPHER_SUITES`] ciphers or [`MAX_EXTENSIONS`]
/// extensions is fingerprinted from the values kept, and is marked
/// [`ClientHello::truncated`]. No known client sends that many.
pub fn ja4(hello: &ClientHello, transport: Transport) -> Option<Ja4> {
    if hello.partial {
        return None;
    }
    let mut text = [b'0'; JA4_LEN];

    let prefix = prefix(hello, transport);
    text[..10].copy_from_slice(&prefix);
    text[10] = b'_';

    let (ciphers, cipher_count) =
        sorted_without_grease::<MAX_CIPHER_SUITES>(&hello.cipher_suites, &[]);
    write_hash(
        &mut text[11..23],
        ciphers.get(..cipher_count).unwrap_or(&[]),
        &[],
    );
    text[23] = b'_';

    let (extensions, extension_count) = sorted_without_grease::<MAX_EXTENSIONS>(
        &hello.extensions,
        &[extension::SERVER_NAME, extension::ALPN],
    );
    let signature_algorithms: Vec<u16> = hello
        .signature_algorithms
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    write_hash(
        &mut text[24..36],
        extensions.get(..extension_count).unwrap_or(&[]),
        &signature_algorithms,
    );

    Some(Ja4(text))
}

/// Returns the raw form `JA4_r`: the first part, then the sorted cipher list, the sorted
/// extension list and the signature algorithms in hex, unhashed. `None` for a partial
/// hello.
pub fn ja4_raw(hello: &ClientHello, transport: Transport) -> Option<String> {
    if hello.partial {
        return None;
    }
    let prefix = prefix(hello, transport);
    let (ciphers, cipher_count) =
        sorted_without_grease::<MAX_CIPHER_SUITES>(&hello.cipher_suites, &[]);
    let (extensions, extension_count) = sorted_without_grease::<MAX_EXTENSIONS>(
        &hello.extensions,
        &[extension::SERVER_NAME, extension::ALPN],
    );
    let signature_algorithms: Vec<u16> = hello
        .signature_algorithms
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();

    let mut raw = String::from_utf8_lossy(&prefix).into_owned();
    raw.push('_');
    raw.push_str(&hex_list(ciphers.get(..cipher_count).unwrap_or(&[])));
    raw.push('_');
    raw.push_str(&hex_list(extensions.get(..extension_count).unwrap_or(&[])));
    if !signature_algorithms.is_empty() {
        raw.push('_');
        raw.push_str(&hex_list(&signature_algorithms));
    }
    Some(raw)
}

/// Builds the 10-character first part, e.g. `t13d1516h2`.
fn prefix(hello: &ClientHello, transport: Transport) -> [u8; 10] {
    let mut out = [b'0'; 10];
    out[0] = match transport {
        Transport::Tcp => b't',
        Transport::Quic => b'q',
    };
    out[1..3].copy_from_slice(version_code(hello.version()));
    out[3] = if hello.extensions.contains(&extension::SERVER_NAME) {
        b'd'
    } else {
        b'i'
    };
    out[4..6].copy_from_slice(&two_digits(count_without_grease(&hello.cipher_suites)));
    out[6..8].copy_from_slice(&two_digits(count_without_grease(&hello.extensions)));
    out[8..10].copy_from_slice(&alpn_code(hello.first_alpn()));
    out
}

/// Maps a protocol version to its two JA4 characters; unknown versions give `00`.
fn version_code(version: u16) -> &'static [u8; 2] {
    match version {
        0x0304 => b"13",
        0x0303 => b"12",
        0x0302 => b"11",
        0x0301 => b"10",
        0x0300 => b"s3",
        0x0002 => b"s2",
        0xfeff => b"d1",
        0xfefd => b"d2",
        0xfefc => b"d3",
        _ => b"00",
    }
}

fn count_without_grease(values: &[u16]) -> usize {
    values.iter().filter(|v| !is_grease(**v)).count()
}

/// Formats a count as two decimal digits, capped at 99.
fn two_digits(count: usize) -> [u8; 2] {
    let count = count.min(99) as u8;
    [b'0' + count / 10, b'0' + count % 10]
}

/// Returns the first and last characters of the first ALPN value. They are the bytes
/// themselves when both are ASCII alphanumeric, else the first and last hex digits of
/// the value, and `00` when there is no value.
fn alpn_code(first: Option<&[u8]>) -> [u8; 2] {
    let Some(value) = first else {
        return *b"00";
    };
    let (Some(&head), Some(&tail)) = (value.first(), value.last()) else {
        return *b"00";
    };
    if head.is_ascii_alphanumeric() && tail.is_ascii_alphanumeric() {
        [head, tail]
    } else {
        [hex_digit(head >> 4), hex_digit(tail & 0x0f)]
    }
}

/// Copies `values` without GREASE and without `excluded`, sorted, into a fixed array.
/// Returns the array and the number of values in it.
fn sorted_without_grease<const N: usize>(values: &[u16], excluded: &[u16]) -> ([u16; N], usize) {
    let mut out = [0u16; N];
    let mut count = 0;
    for value in values.iter().copied() {
        if is_grease(value) || excluded.contains(&value) {
            continue;
        }
        if let Some(slot) = out.get_mut(count) {
            *slot = value;
            count += 1;
        }
    }
    if let Some(used) = out.get_mut(..count) {
        used.sort_unstable();
    }
    (out, count)
}

/// Writes the first 12 lowercase hex digits of SHA-256 over `list` in hex, comma
/// separated, then `_` and `tail` when `tail` is not empty. An empty `list` gives
/// `000000000000`.
fn write_hash(out: &mut [u8], list: &[u16], tail: &[u16]) {
    if list.is_empty() {
        out.fill(b'0');
        return;
    }
    let mut hasher = Sha256::new();
    update_hex_list(&mut hasher, list);
    if !tail.is_empty() {
        hasher.update(b"_");
        update_hex_list(&mut hasher, tail);
    }
    let digest = hasher.finalize();
    for (index, slot) in out.iter_mut().take(HASH_HEX_LEN).enumerate() {
        let byte = digest.get(index / 2).copied().unwrap_or(0);
        let nibble = if index % 2 == 0 {
            byte >> 4
        } else {
            byte & 0x0f
        };
        *slot = hex_digit(nibble);
    }
}

fn update_hex_list(hasher: &mut Sha256, values: &[u16]) {
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            hasher.update(b",");
        }
        hasher.update(hex4(*value));
    }
}

fn hex_list(values: &[u16]) -> String {
    let mut out = String::with_capacity(values.len() * 5);
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&String::from_utf8_lossy(&hex4(*value)));
    }
    out
}

/// Formats a u16 as four lowercase hex digits.
fn hex4(value: u16) -> [u8; 4] {
    let [high, low] = value.to_be_bytes();
    [
        hex_digit(high >> 4),
        hex_digit(high & 0x0f),
        hex_digit(low >> 4),
        hex_digit(low & 0x0f),
    ]
}

fn hex_digit(nibble: u8) -> u8 {
    match nibble & 0x0f {
        digit @ 0..=9 => b'0' + digit,
        letter => b'a' + letter - 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a hello with the cipher and extension lists of the worked example in
    /// FoxIO's JA4.md.
    fn spec_example() -> ClientHello {
        ClientHello {
            legacy_version: 0x0303,
            supported_versions: vec![0x0304, 0x0303],
            cipher_suites: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            ..ClientHello::default()
        }
    }

    #[test]
    fn spec_example_fingerprint() {
        let hello = spec_example();
        let fingerprint = ja4(&hello, Transport::Tcp).unwrap();
        assert_eq!(fingerprint.as_str(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn spec_example_raw() {
        let raw = ja4_raw(&spec_example(), Transport::Tcp).unwrap();
        assert_eq!(
            raw,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,\
             cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,\
             ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
    }

    #[test]
    fn without_signature_algorithms() {
        // JA4.md: the sorted extension list alone hashes to 6d807ffa2a79.
        let hello = ClientHello {
            signature_algorithms: Vec::new(),
            ..spec_example()
        };
        let fingerprint = ja4(&hello, Transport::Tcp).unwrap();
        assert_eq!(&fingerprint.as_str()[24..], "6d807ffa2a79");
    }

    #[test]
    fn grease_ignored() {
        let mut hello = spec_example();
        hello.cipher_suites.insert(0, 0x0a0a);
        hello.extensions.insert(0, 0x3a3a);
        hello.extensions.push(0xfafa);
        hello.supported_versions.insert(0, 0x7a7a);
        hello.signature_algorithms.insert(0, 0x1a1a);
        let fingerprint = ja4(&hello, Transport::Tcp).unwrap();
        assert_eq!(fingerprint.as_str(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn quic_no_sni_no_alpn() {
        let mut hello = spec_example();
        hello
            .extensions
            .retain(|e| *e != extension::SERVER_NAME && *e != extension::ALPN);
        hello.alpn.clear();
        let fingerprint = ja4(&hello, Transport::Quic).unwrap();
        assert_eq!(&fingerprint.as_str()[..10], "q13i151400");
    }

    #[test]
    fn empty_lists_zero_hashes() {
        let hello = ClientHello {
            legacy_version: 0x0301,
            ..ClientHello::default()
        };
        let fingerprint = ja4(&hello, Transport::Tcp).unwrap();
        assert_eq!(fingerprint.as_str(), "t10i000000_000000000000_000000000000");
    }

    #[test]
    fn partial_has_none() {
        let hello = ClientHello {
            partial: true,
            ..spec_example()
        };
        assert_eq!(ja4(&hello, Transport::Tcp), None);
    }

    #[test]
    fn alpn_codes() {
        // The examples of the ALPN section of JA4.md, plus the plain cases.
        let cases: [(&[u8], &[u8; 2]); 8] = [
            (b"h2", b"h2"),
            (b"http/1.1", b"h1"),
            (b"h", b"hh"),
            (&[0xab], b"ab"),
            (&[0xab, 0xcd], b"ad"),
            (&[0x30, 0xab], b"3b"),
            (&[0x30, 0x31, 0xab, 0xcd], b"3d"),
            (&[0x30, 0xab, 0xcd, 0x31], b"01"),
        ];
        for (value, expected) in cases {
            assert_eq!(&alpn_code(Some(value)), expected, "{value:02x?}");
        }
        assert_eq!(&alpn_code(Some(b"")), b"00");
        assert_eq!(&alpn_code(None), b"00");
    }

    #[test]
    fn counts_cap_at_99() {
        assert_eq!(&two_digits(100), b"99");
        assert_eq!(&two_digits(7), b"07");
    }

    #[test]
    fn version_codes() {
        let cases: [(u16, &[u8; 2]); 4] = [
            (0x0304, b"13"),
            (0x0300, b"s3"),
            (0xfefd, b"d2"),
            (0x1234, b"00"),
        ];
        for (version, expected) in cases {
            assert_eq!(version_code(version), expected, "{version:04x}");
        }
    }
}
