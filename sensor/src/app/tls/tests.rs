//! Hand-built ClientHello cases for the record parser, the handshake parser, JA4 and the
//! reassembly buffer, plus a seeded fuzz test. The builder is shared with the QUIC tests.

use super::*;

/// X25519MLKEM768, the post-quantum hybrid group that browsers offer by default.
pub(crate) const GROUP_X25519_MLKEM768: u16 = 0x11ec;
/// Length of an X25519MLKEM768 client key share: 1184 bytes of ML-KEM plus 32 of X25519.
const MLKEM_SHARE_BYTES: usize = 1216;

/// A ClientHello to encode: the fields and the extensions as (type, data) pairs.
#[derive(Clone, Debug)]
pub(crate) struct HelloSpec {
    pub(crate) legacy_version: u16,
    pub(crate) session_id: Vec<u8>,
    pub(crate) cipher_suites: Vec<u16>,
    pub(crate) compression: Vec<u8>,
    /// `None` leaves the extension block out (TLS 1.0 style).
    pub(crate) extensions: Option<Vec<(u16, Vec<u8>)>>,
}

impl HelloSpec {
    /// Builds a hello shaped like a current browser's: GREASE values, SNI, ALPN h2 and
    /// http/1.1, TLS 1.3 and 1.2, and a post-quantum key share that makes the message
    /// longer than one 1460-byte segment.
    pub(crate) fn browser(server_name: &str) -> Self {
        HelloSpec {
            legacy_version: 0x0303,
            session_id: vec![0x11; 32],
            cipher_suites: vec![0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xcca9],
            compression: vec![0],
            extensions: Some(vec![
                (0x2a2a, Vec::new()),
                server_name_ext(server_name),
                (0x0017, Vec::new()),
                alpn_ext(&[b"h2", b"http/1.1"]),
                list16_ext(
                    extension::SUPPORTED_GROUPS,
                    &[0x8a8a, GROUP_X25519_MLKEM768, 0x001d, 0x0017],
                ),
                list16_ext(extension::SIGNATURE_ALGORITHMS, &[0x0403, 0x0804, 0x0401]),
                list8_ext(extension::SUPPORTED_VERSIONS, &[0x9a9a, 0x0304, 0x0303]),
                key_share_ext(),
                // encrypted_client_hello (GREASE ECH in browsers), filler bytes.
                (0xfe0d, vec![0x33; 250]),
                (0xfafa, vec![0]),
            ]),
        }
    }

    /// Encodes the handshake message: type 1, 24-bit length, body.
    pub(crate) fn handshake(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.legacy_version.to_be_bytes());
        body.extend_from_slice(&[0x5a; 32]);
        body.push(self.session_id.len() as u8);
        body.extend_from_slice(&self.session_id);
        body.extend_from_slice(&((self.cipher_suites.len() * 2) as u16).to_be_bytes());
        for suite in &self.cipher_suites {
            body.extend_from_slice(&suite.to_be_bytes());
        }
        body.push(self.compression.len() as u8);
        body.extend_from_slice(&self.compression);
        if let Some(extensions) = &self.extensions {
            let mut block = Vec::new();
            for (ext_type, data) in extensions {
                block.extend_from_slice(&ext_type.to_be_bytes());
                block.extend_from_slice(&(data.len() as u16).to_be_bytes());
                block.extend_from_slice(data);
            }
            body.extend_from_slice(&(block.len() as u16).to_be_bytes());
            body.extend_from_slice(&block);
        }
        let mut message = vec![1];
        message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend_from_slice(&body);
        message
    }

    /// Encodes the handshake message in TLS records of at most `fragment` payload bytes.
    pub(crate) fn records(&self, fragment: usize) -> Vec<u8> {
        records(&self.handshake(), fragment)
    }

    fn without(mut self, ext_type: u16) -> Self {
        if let Some(extensions) = &mut self.extensions {
            extensions.retain(|(t, _)| *t != ext_type);
        }
        self
    }

    fn with_extension(mut self, ext: (u16, Vec<u8>)) -> Self {
        self.extensions.get_or_insert_with(Vec::new).push(ext);
        self
    }
}

/// Wraps handshake bytes in handshake records of at most `fragment` payload bytes.
pub(crate) fn records(message: &[u8], fragment: usize) -> Vec<u8> {
    let mut stream = Vec::new();
    for chunk in message.chunks(fragment.max(1)) {
        stream.extend_from_slice(&[22, 3, 1]);
        stream.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        stream.extend_from_slice(chunk);
    }
    stream
}

pub(crate) fn server_name_ext(name: &str) -> (u16, Vec<u8>) {
    let mut entry = vec![0];
    entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
    entry.extend_from_slice(name.as_bytes());
    let mut data = (entry.len() as u16).to_be_bytes().to_vec();
    data.extend_from_slice(&entry);
    (extension::SERVER_NAME, data)
}

pub(crate) fn alpn_ext(names: &[&[u8]]) -> (u16, Vec<u8>) {
    let mut list = Vec::new();
    for name in names {
        list.push(name.len() as u8);
        list.extend_from_slice(name);
    }
    let mut data = (list.len() as u16).to_be_bytes().to_vec();
    data.extend_from_slice(&list);
    (extension::ALPN, data)
}

pub(crate) fn list16_ext(ext_type: u16, values: &[u16]) -> (u16, Vec<u8>) {
    let mut data = ((values.len() * 2) as u16).to_be_bytes().to_vec();
    for value in values {
        data.extend_from_slice(&value.to_be_bytes());
    }
    (ext_type, data)
}

pub(crate) fn list8_ext(ext_type: u16, values: &[u16]) -> (u16, Vec<u8>) {
    let mut data = vec![(values.len() * 2) as u8];
    for value in values {
        data.extend_from_slice(&value.to_be_bytes());
    }
    (ext_type, data)
}

/// Builds a key_share extension (0x0033) with an X25519MLKEM768 and an X25519 share of
/// filler bytes.
fn key_share_ext() -> (u16, Vec<u8>) {
    let mut entry = GROUP_X25519_MLKEM768.to_be_bytes().to_vec();
    entry.extend_from_slice(&(MLKEM_SHARE_BYTES as u16).to_be_bytes());
    entry.extend(std::iter::repeat_n(0x42, MLKEM_SHARE_BYTES));
    entry.extend_from_slice(&[0x00, 0x1d, 0x00, 0x20]);
    entry.extend(std::iter::repeat_n(0x43, 32));
    let mut data = (entry.len() as u16).to_be_bytes().to_vec();
    data.extend_from_slice(&entry);
    (0x0033, data)
}

// ---- The handshake parser ----

#[test]
fn browser_hello_fields() {
    let hello = parse_client_hello(&HelloSpec::browser("www.example.com").records(16_384)).unwrap();
    assert_eq!(hello.server_name(), Some("www.example.com"));
    assert_eq!(hello.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    assert_eq!(hello.version(), 0x0304);
    assert_eq!(hello.legacy_version, 0x0303);
    assert_eq!(hello.cipher_suites.len(), 7);
    assert_eq!(hello.extensions.first(), Some(&0x2a2a));
    assert_eq!(hello.extensions.len(), 10);
    assert_eq!(
        hello.supported_groups,
        vec![0x8a8a, GROUP_X25519_MLKEM768, 0x001d, 0x0017]
    );
    assert_eq!(hello.signature_algorithms, vec![0x0403, 0x0804, 0x0401]);
    assert!(!hello.partial);
    assert!(!hello.truncated);
}

#[test]
fn browser_hello_spans_segments() {
    assert!(HelloSpec::browser("a.example").handshake().len() > 1460);
}

#[test]
fn browser_hello_ja4() {
    let hello = parse_client_hello(&HelloSpec::browser("www.example.com").records(16_384)).unwrap();
    let fingerprint = ja4(&hello, Transport::Tcp).unwrap();
    // 6 ciphers and 8 extensions without GREASE; ALPN h2.
    assert_eq!(&fingerprint.as_str()[..10], "t13d0608h2");
}

/// One case of the parser table: a record stream and the expected outcome.
struct Case {
    name: &'static str,
    stream: Vec<u8>,
    expected: Result<Expect, TlsError>,
}

/// The fields a successful case checks.
#[derive(Debug, PartialEq)]
struct Expect {
    server_name: Option<&'static str>,
    alpn_count: usize,
    partial: bool,
    truncated: bool,
}

const FULL: Expect = Expect {
    server_name: Some("www.example.com"),
    alpn_count: 2,
    partial: false,
    truncated: false,
};

fn browser() -> HelloSpec {
    HelloSpec::browser("www.example.com")
}

/// Replaces the bytes at `at` of an encoded stream.
fn patched(mut stream: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    stream[at..at + bytes.len()].copy_from_slice(bytes);
    stream
}

/// Offset of the cipher suite length in a single-record stream with a 32-byte session
/// id: record header 5, handshake header 4, version 2, random 32, session id 1 + 32.
const CIPHER_LEN_AT: usize = 5 + 4 + 2 + 32 + 1 + 32;

fn cases() -> Vec<Case> {
    let one_record = |spec: HelloSpec| spec.records(16_384);
    let full = one_record(browser());
    let sni_at = full
        .windows(15)
        .position(|w| w == b"www.example.com")
        .unwrap();
    // The last extension has no data, so its length field is the last 2 bytes.
    let last_empty = one_record(browser().with_extension((0x0017, Vec::new())));
    vec![
        Case {
            name: "browser",
            stream: full.clone(),
            expected: Ok(FULL),
        },
        Case {
            name: "sni absent",
            stream: one_record(browser().without(extension::SERVER_NAME)),
            expected: Ok(Expect {
                server_name: None,
                ..FULL
            }),
        },
        Case {
            name: "alpn absent",
            stream: one_record(browser().without(extension::ALPN)),
            expected: Ok(Expect {
                alpn_count: 0,
                ..FULL
            }),
        },
        Case {
            name: "no extension block",
            stream: one_record(HelloSpec {
                extensions: None,
                ..browser()
            }),
            expected: Ok(Expect {
                server_name: None,
                alpn_count: 0,
                ..FULL
            }),
        },
        Case {
            name: "empty extension block",
            stream: one_record(HelloSpec {
                extensions: Some(Vec::new()),
                ..browser()
            }),
            expected: Ok(Expect {
                server_name: None,
                alpn_count: 0,
                ..FULL
            }),
        },
        Case {
            name: "split records",
            stream: browser().records(100),
            expected: Ok(FULL),
        },
        Case {
            name: "one byte records",
            stream: browser().records(1),
            expected: Ok(FULL),
        },
        Case {
            name: "duplicate sni keeps first",
            stream: one_record(browser().with_extension(server_name_ext("second.example"))),
            expected: Ok(FULL),
        },
        Case {
            name: "sni of other name type",
            stream: one_record(
                browser()
                    .without(extension::SERVER_NAME)
                    .with_extension((extension::SERVER_NAME, vec![0, 4, 7, 0, 1, b'x'])),
            ),
            expected: Ok(Expect {
                server_name: None,
                ..FULL
            }),
        },
        Case {
            name: "cut after sni",
            // Inside the ALPN extension, which follows SNI and extended_master_secret.
            stream: full[..sni_at + 25].to_vec(),
            expected: Ok(Expect {
                alpn_count: 0,
                partial: true,
                ..FULL
            }),
        },
        Case {
            name: "cut inside sni",
            stream: full[..sni_at + 3].to_vec(),
            expected: Ok(Expect {
                server_name: None,
                alpn_count: 0,
                partial: true,
                ..FULL
            }),
        },
        Case {
            name: "cut inside ciphers",
            stream: full[..CIPHER_LEN_AT + 4].to_vec(),
            expected: Err(TlsError::Truncated),
        },
        Case {
            name: "empty stream",
            stream: Vec::new(),
            expected: Err(TlsError::Truncated),
        },
        Case {
            name: "application data record",
            stream: patched(full.clone(), 0, &[23]),
            expected: Err(TlsError::NotHandshakeRecord),
        },
        Case {
            name: "record version major 2",
            stream: patched(full.clone(), 1, &[2]),
            expected: Err(TlsError::NotHandshakeRecord),
        },
        Case {
            name: "record length oversized",
            stream: patched(full.clone(), 3, &[0x4e, 0x20]),
            expected: Err(TlsError::RecordTooLong),
        },
        Case {
            name: "server hello",
            stream: patched(full.clone(), 5, &[2]),
            expected: Err(TlsError::NotClientHello),
        },
        Case {
            name: "handshake length oversized",
            stream: patched(full.clone(), 6, &[0x10, 0x00, 0x00]),
            expected: Err(TlsError::HelloTooLong),
        },
        Case {
            name: "session id 33 bytes",
            stream: one_record(HelloSpec {
                session_id: vec![1; 33],
                ..browser()
            }),
            expected: Err(TlsError::InvalidSessionId),
        },
        Case {
            name: "cipher list odd",
            stream: patched(full.clone(), CIPHER_LEN_AT, &[0, 13]),
            expected: Err(TlsError::InvalidCipherSuites),
        },
        Case {
            name: "cipher list empty",
            stream: one_record(HelloSpec {
                cipher_suites: Vec::new(),
                ..browser()
            }),
            expected: Err(TlsError::InvalidCipherSuites),
        },
        Case {
            name: "compression empty",
            stream: one_record(HelloSpec {
                compression: Vec::new(),
                ..browser()
            }),
            expected: Err(TlsError::InvalidCompression),
        },
        Case {
            name: "extension length overruns",
            stream: patched(last_empty.clone(), last_empty.len() - 2, &[0xff, 0xff]),
            expected: Err(TlsError::InvalidExtensions),
        },
        Case {
            name: "sni list overruns",
            stream: one_record(
                browser()
                    .without(extension::SERVER_NAME)
                    .with_extension((extension::SERVER_NAME, vec![0, 40, 0, 0, 1, b'x'])),
            ),
            expected: Err(TlsError::InvalidServerName),
        },
        Case {
            name: "sni name empty",
            stream: one_record(
                browser()
                    .without(extension::SERVER_NAME)
                    .with_extension((extension::SERVER_NAME, vec![0, 3, 0, 0, 0])),
            ),
            expected: Err(TlsError::InvalidServerName),
        },
        Case {
            name: "alpn name overruns",
            stream: one_record(
                browser()
                    .without(extension::ALPN)
                    .with_extension((extension::ALPN, vec![0, 3, 9, b'h', b'2'])),
            ),
            expected: Err(TlsError::InvalidAlpn),
        },
        Case {
            name: "supported versions odd",
            stream: one_record(
                browser()
                    .without(extension::SUPPORTED_VERSIONS)
                    .with_extension((extension::SUPPORTED_VERSIONS, vec![3, 3, 4, 3])),
            ),
            expected: Err(TlsError::InvalidExtensionList),
        },
        Case {
            name: "signature algorithms overrun",
            stream: one_record(
                browser()
                    .without(extension::SIGNATURE_ALGORITHMS)
                    .with_extension((extension::SIGNATURE_ALGORITHMS, vec![0, 8, 4, 3])),
            ),
            expected: Err(TlsError::InvalidExtensionList),
        },
    ]
}

#[test]
fn parser_table() {
    for case in cases() {
        let outcome = parse_client_hello(&case.stream).map(|hello| Expect {
            server_name: match hello.server_name() {
                Some("www.example.com") => Some("www.example.com"),
                Some(_) => Some("other"),
                None => None,
            },
            alpn_count: hello.alpn.len(),
            partial: hello.partial,
            truncated: hello.truncated,
        });
        assert_eq!(outcome, case.expected, "case {}", case.name);
    }
}

#[test]
fn long_server_name_cut() {
    let name = "a".repeat(300);
    let spec = browser()
        .without(extension::SERVER_NAME)
        .with_extension(server_name_ext(&name));
    let hello = parse_client_hello(&spec.records(16_384)).unwrap();
    assert_eq!(
        hello.server_name().map(str::len),
        Some(MAX_SERVER_NAME_BYTES)
    );
    assert!(hello.truncated);
}

#[test]
fn too_many_ciphers_truncated() {
    let suites: Vec<u16> = (1..=200).collect();
    let spec = HelloSpec {
        cipher_suites: suites,
        ..browser()
    };
    let hello = parse_client_hello(&spec.records(16_384)).unwrap();
    assert_eq!(hello.cipher_suites.len(), MAX_CIPHER_SUITES);
    assert!(hello.truncated);
}

#[test]
fn partial_has_no_ja4() {
    let full = browser().records(16_384);
    let hello = parse_client_hello(&full[..full.len() - 10]).unwrap();
    assert!(hello.partial);
    assert_eq!(ja4(&hello, Transport::Tcp), None);
}

#[test]
fn grease_detection() {
    let grease: Vec<u16> = (0..16u16)
        .map(|i| (i << 12) | 0x0a00 | (i << 4) | 0x0a)
        .collect();
    for value in &grease {
        assert!(is_grease(*value), "{value:04x}");
    }
    for value in [0x0a0bu16, 0x1a2a, 0x0000, 0x1301, 0xabab, 0x0a1a] {
        assert!(!is_grease(value), "{value:04x}");
    }
}

#[test]
fn handshake_entry_matches_records() {
    let spec = browser();
    let direct = parse_handshake(&spec.handshake()).unwrap();
    let via_records = parse_client_hello(&spec.records(300)).unwrap();
    assert_eq!(direct, via_records);
}

#[test]
fn hello_length_waits_for_end() {
    let stream = browser().records(500);
    let message_len = browser().handshake().len();
    assert_eq!(hello_length(&stream), Ok(Some(message_len)));
    assert_eq!(hello_length(&stream[..stream.len() - 1]), Ok(None));
    assert_eq!(hello_length(&stream[..7]), Ok(None));
}

/// A Chrome 143 ClientHello as reported by the browserleaks.com TLS page (its JA4_ro
/// order), with the JA4 that page computed: t13d1516h2_8daaf6152771_d8a2da3f94cd.
#[test]
fn chrome_sample_ja4() {
    let hello = ClientHello {
        legacy_version: 0x0303,
        supported_versions: vec![0x0304, 0x0303],
        cipher_suites: vec![
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ],
        extensions: vec![
            0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd, 0x0000, 0x000b, 0x000a, 0x002b, 0xff01,
            0x0023, 0x0012, 0x0005, 0x000d, 0x001b,
        ],
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        signature_algorithms: vec![
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ],
        ..ClientHello::default()
    };
    let fingerprint = ja4(&hello, Transport::Tcp).unwrap();
    assert_eq!(fingerprint.as_str(), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
}

// ---- The reassembly buffer ----

/// Splits `stream` into segments of at most `size` bytes with their sequence numbers.
fn segments(stream: &[u8], start_seq: u32, size: usize) -> Vec<(u32, Vec<u8>)> {
    stream
        .chunks(size)
        .enumerate()
        .map(|(index, chunk)| {
            (
                start_seq.wrapping_add((index * size) as u32),
                chunk.to_vec(),
            )
        })
        .collect()
}

#[test]
fn buffer_in_order_segments() {
    let stream = browser().records(16_384);
    let mut buffer = HelloBuffer::new();
    let parts = segments(&stream, 1000, 1460);
    let last = parts.len() - 1;
    for (index, (seq, payload)) in parts.iter().enumerate() {
        let expected = if index == last {
            HelloProgress::Complete
        } else {
            HelloProgress::NeedMore
        };
        assert_eq!(buffer.push(*seq, payload), expected, "segment {index}");
    }
    assert_eq!(buffer.push(1, b"x"), HelloProgress::Finished);
    assert_eq!(buffer.client_hello(), parse_client_hello(&stream));
}

#[test]
fn buffer_reordered_segments() {
    let stream = browser().records(16_384);
    let mut buffer = HelloBuffer::with_start(1000);
    let mut parts = segments(&stream, 1000, 400);
    parts.swap(0, 1);
    parts.swap(2, 3);
    let mut progress = HelloProgress::NeedMore;
    for (seq, payload) in &parts {
        progress = buffer.push(*seq, payload);
    }
    assert_eq!(progress, HelloProgress::Complete);
    assert_eq!(
        buffer.client_hello().unwrap().server_name(),
        Some("www.example.com")
    );
}

#[test]
fn buffer_sequence_wraps() {
    let stream = browser().records(16_384);
    let start = u32::MAX - 500;
    let mut buffer = HelloBuffer::with_start(start);
    let mut progress = HelloProgress::NeedMore;
    for (seq, payload) in segments(&stream, start, 1000) {
        progress = buffer.push(seq, &payload);
    }
    assert_eq!(progress, HelloProgress::Complete);
}

#[test]
fn buffer_trims_before_start() {
    let stream = browser().records(16_384);
    let mut buffer = HelloBuffer::with_start(1000);
    // A segment that starts 3 bytes before the stream start is trimmed to the stream,
    // and one that ends before it is ignored.
    let mut early = vec![9, 9, 9];
    early.extend_from_slice(&stream[..1000]);
    assert_eq!(buffer.push(997, &early), HelloProgress::NeedMore);
    assert_eq!(buffer.push(900, &[1, 2, 3]), HelloProgress::NeedMore);
    assert_eq!(buffer.push(2000, &stream[1000..]), HelloProgress::Complete);
}

#[test]
fn buffer_retransmission() {
    let stream = browser().records(16_384);
    let mut buffer = HelloBuffer::new();
    buffer.push(0, &stream[..1000]);
    assert_eq!(buffer.push(0, &stream[..1000]), HelloProgress::NeedMore);
    assert_eq!(buffer.push(500, &stream[500..]), HelloProgress::Complete);
}

#[test]
fn buffer_empty_payload_ignored() {
    let mut buffer = HelloBuffer::new();
    assert_eq!(buffer.push(5, &[]), HelloProgress::NeedMore);
    assert_eq!(buffer.buffered_bytes(), 0);
}

#[test]
fn buffer_not_tls() {
    let mut buffer = HelloBuffer::new();
    let progress = buffer.push(1, b"GET / HTTP/1.1\r\n");
    assert_eq!(progress, HelloProgress::GaveUp(GiveUpReason::NotTls));
    assert_eq!(buffer.buffered_bytes(), 0);
    assert_eq!(buffer.push(17, b"Host: x\r\n"), HelloProgress::Finished);
}

#[test]
fn buffer_server_hello_not_tls() {
    let stream = patched(browser().records(16_384), 5, &[2]);
    let mut buffer = HelloBuffer::new();
    assert_eq!(
        buffer.push(1, &stream),
        HelloProgress::GaveUp(GiveUpReason::NotTls)
    );
}

#[test]
fn buffer_out_of_window() {
    let mut buffer = HelloBuffer::with_start(0);
    let progress = buffer.push((OUT_OF_ORDER_WINDOW + 1) as u32, b"x");
    assert_eq!(progress, HelloProgress::GaveUp(GiveUpReason::OutOfWindow));
}

#[test]
fn buffer_too_many_gaps() {
    let stream = browser().records(16_384);
    let mut buffer = HelloBuffer::with_start(0);
    let mut progress = HelloProgress::NeedMore;
    for offset in [100usize, 200, 300, 400, 500] {
        progress = buffer.push(offset as u32, &stream[offset..offset + 10]);
    }
    assert_eq!(progress, HelloProgress::GaveUp(GiveUpReason::TooManyGaps));
}

#[test]
fn buffer_declared_overflow() {
    // A handshake header that declares 20000 bytes gives up at once.
    let mut buffer = HelloBuffer::new();
    let progress = buffer.push(0, &[22, 3, 1, 0x40, 0x00, 1, 0x00, 0x4e, 0x20]);
    assert_eq!(progress, HelloProgress::GaveUp(GiveUpReason::Overflow));
}

#[test]
fn buffer_record_overhead_overflow() {
    // A hello near the size limit in 1-byte records needs more buffer than it has.
    let mut spec = browser();
    let filler = MAX_HELLO_BYTES - spec.handshake().len() - 8;
    spec = spec.with_extension((0x0015, vec![0; filler]));
    let stream = spec.records(1);
    let mut buffer = HelloBuffer::new();
    let mut progress = HelloProgress::NeedMore;
    for (seq, payload) in segments(&stream, 0, 1460) {
        progress = buffer.push(seq, &payload);
        if progress != HelloProgress::NeedMore {
            break;
        }
    }
    assert_eq!(progress, HelloProgress::GaveUp(GiveUpReason::Overflow));
}

#[test]
fn buffer_invalid_records() {
    let stream = browser().records(100);
    let broken = patched(stream, 105, &[21]);
    let mut buffer = HelloBuffer::new();
    assert_eq!(
        buffer.push(0, &broken),
        HelloProgress::GaveUp(GiveUpReason::InvalidRecords)
    );
}

#[test]
fn buffer_partial_hello() {
    let stream = browser().records(16_384);
    let mut buffer = HelloBuffer::new();
    buffer.push(0, &stream[..200]);
    let hello = buffer.client_hello().unwrap();
    assert!(hello.partial);
    assert_eq!(hello.server_name(), Some("www.example.com"));
}

// ---- Fuzz ----

/// xorshift64*: a small seeded generator, so failures reproduce.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check_invariants(hello: &ClientHello) {
    assert!(hello.cipher_suites.len() <= MAX_CIPHER_SUITES);
    assert!(hello.extensions.len() <= MAX_EXTENSIONS);
    assert!(hello.alpn.len() <= MAX_ALPN_PROTOCOLS);
    assert!(hello.supported_groups.len() <= MAX_LIST_VALUES);
    assert!(
        hello
            .server_name
            .as_ref()
            .is_none_or(|n| n.len() <= MAX_SERVER_NAME_BYTES * 3)
    );
    if let Some(fingerprint) = ja4(hello, Transport::Tcp) {
        assert_eq!(fingerprint.as_str().len(), JA4_LEN);
    }
}

#[test]
fn fuzz_truncations_never_panic() {
    let valid = [
        browser().records(16_384),
        browser().records(50),
        HelloSpec {
            extensions: None,
            ..browser()
        }
        .records(16_384),
    ];
    for stream in &valid {
        for len in 0..=stream.len() {
            if let Ok(hello) = parse_client_hello(&stream[..len]) {
                check_invariants(&hello);
            }
            let _ = hello_length(&stream[..len]);
        }
        let message = browser().handshake();
        for len in 0..=message.len() {
            if let Ok(hello) = parse_handshake(&message[..len]) {
                check_invariants(&hello);
            }
        }
    }
}

#[test]
fn fuzz_every_split_point() {
    let stream = browser().records(700);
    for split in 1..stream.len() {
        let mut buffer = HelloBuffer::new();
        buffer.push(0, &stream[..split]);
        let progress = buffer.push(split as u32, &stream[split..]);
        assert_eq!(progress, HelloProgress::Complete, "split at {split}");
    }
}

#[test]
fn fuzz_mutations_never_panic() {
    let valid = [browser().records(16_384), browser().records(300)];
    let mut rng = Rng(0x5eed_7150_0000_0004);
    for stream in &valid {
        for _ in 0..3_000 {
            let mut mutated = stream.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(mutated.len());
                mutated[at] = rng.next() as u8;
            }
            let len = rng.below(mutated.len() + 1);
            if let Ok(hello) = parse_client_hello(&mutated[..len]) {
                check_invariants(&hello);
            }
            let mut buffer = HelloBuffer::new();
            for (seq, payload) in segments(&mutated[..len], 7, 1 + rng.below(1500)) {
                buffer.push(seq, &payload);
            }
            let _ = buffer.client_hello();
        }
    }
}

#[test]
fn fuzz_random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_7150_0000_0005);
    for _ in 0..5_000 {
        let len = rng.below(400);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half the inputs start like a handshake record so the parser gets past it.
        if rng.below(2) == 0 && bytes.len() > 6 {
            bytes[..6].copy_from_slice(&[22, 3, 1, 0x01, 0x80, 1]);
        }
        if let Ok(hello) = parse_client_hello(&bytes) {
            check_invariants(&hello);
        }
        if let Ok(hello) = parse_handshake(&bytes) {
            check_invariants(&hello);
        }
        let mut buffer = HelloBuffer::with_start(rng.next() as u32);
        for _ in 0..4 {
            buffer.push(rng.next() as u32, &bytes);
        }
    }
}
