//! Client Initial packets: the published examples of RFC 9001 appendix A.2 (version 1)
//! and RFC 9369 appendix A.2 (version 2), packets protected here with a test encoder,
//! a table of malformed headers, and a seeded fuzz test.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, KeyInit};

use super::keys::InitialKeys;
use super::*;
use crate::app::tls::tests::{HelloSpec, Rng};
use crate::app::tls::{GiveUpReason, Transport, ja4, ja4_raw};

/// The Destination Connection ID of both published examples.
const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

/// The unprotected CRYPTO frame of RFC 9001 appendix A.2 (and RFC 9369 appendix A.2):
/// a ClientHello for example.com with ALPN "alpn".
const RFC_CRYPTO_FRAME: &str = "\
    060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868\
    04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578\
    616d706c652e636f6dff01000100000a00080006001d00170018001000070005\
    04616c706e000500050100000000003300260024001d00209370b2c9caa47fba\
    baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400\
    0d0010000e0403050306030203080408050806002d00020101001c0002400100\
    3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000\
    75300901100f088394c8f03e51570806048000ffff";

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn rfc9001_packet() -> Vec<u8> {
    hex(include_str!("testdata/rfc9001-client-initial.hex"))
}

fn rfc9369_packet() -> Vec<u8> {
    hex(include_str!("testdata/rfc9369-client-initial.hex"))
}

/// Encodes and protects a client Initial packet with a 2-byte Length field and a
/// `pn_len`-byte packet number, padding the frames with PADDING so the packet is at
/// least `min_bytes` long.
fn protect(
    version: QuicVersion,
    dcid: &[u8],
    scid: &[u8],
    packet_number: u32,
    pn_len: usize,
    frames: &[u8],
    min_bytes: usize,
) -> Vec<u8> {
    let mut header = vec![0xc0 | (version.initial_type() << 4) | (pn_len as u8 - 1)];
    header.extend_from_slice(&version.wire().to_be_bytes());
    header.push(dcid.len() as u8);
    header.extend_from_slice(dcid);
    header.push(scid.len() as u8);
    header.extend_from_slice(scid);
    header.push(0); // Token Length

    let fixed = header.len() + 2 + pn_len + 16;
    let mut payload = frames.to_vec();
    if fixed + payload.len() < min_bytes {
        payload.resize(min_bytes - fixed, 0);
    }
    let length = pn_len + payload.len() + 16;
    header.extend_from_slice(&(0x4000 | length as u16).to_be_bytes());
    let pn_offset = header.len();
    header.extend_from_slice(&packet_number.to_be_bytes()[4 - pn_len..]);

    let keys = InitialKeys::client(version, dcid).unwrap();
    let mut nonce = keys.iv;
    for (byte, pn_byte) in nonce
        .iter_mut()
        .rev()
        .zip(u64::from(packet_number).to_le_bytes())
    {
        *byte ^= pn_byte;
    }
    let cipher = Aes128Gcm::new_from_slice(&keys.key).unwrap();
    let tag = cipher
        .encrypt_in_place_detached(&nonce.into(), &header, &mut payload)
        .unwrap();

    let mut packet = header;
    packet.extend_from_slice(&payload);
    packet.extend_from_slice(&tag);
    let sample: [u8; 16] = packet[pn_offset + 4..pn_offset + 20].try_into().unwrap();
    let mask = keys.header_mask(sample);
    packet[0] ^= mask[0] & 0x0f;
    for (index, mask_byte) in mask[1..=pn_len].iter().enumerate() {
        packet[pn_offset + index] ^= mask_byte;
    }
    packet
}

/// Encodes a CRYPTO frame with 2-byte offset and length fields.
fn crypto_frame(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x06];
    frame.extend_from_slice(&(0x4000 | offset as u16).to_be_bytes());
    frame.extend_from_slice(&(0x4000 | data.len() as u16).to_be_bytes());
    frame.extend_from_slice(data);
    frame
}

// ---- The published examples ----

#[test]
fn encoder_reproduces_rfc9001() {
    let frames = hex(RFC_CRYPTO_FRAME);
    let packet = protect(QuicVersion::V1, &DCID, &[], 2, 4, &frames, 1200);
    assert_eq!(packet, rfc9001_packet());
}

#[test]
fn encoder_reproduces_rfc9369() {
    let frames = hex(RFC_CRYPTO_FRAME);
    let packet = protect(QuicVersion::V2, &DCID, &[], 2, 4, &frames, 1200);
    assert_eq!(packet, rfc9369_packet());
}

#[test]
fn rfc9001_initial() {
    let hello = parse_initial(&rfc9001_packet()).unwrap();
    assert_eq!(hello.packet.version, QuicVersion::V1);
    assert_eq!(hello.packet.dcid.as_bytes(), DCID);
    assert_eq!(hello.packet.scid.as_bytes(), b"");
    assert_eq!(hello.packet.packet_number, 2);
    assert_eq!(hello.progress, HelloProgress::Complete);
    let client_hello = hello.client_hello.unwrap();
    assert_eq!(client_hello.server_name(), Some("example.com"));
    assert_eq!(client_hello.alpn, vec![b"alpn".to_vec()]);
    assert_eq!(client_hello.version(), 0x0304);
}

#[test]
fn rfc9369_initial() {
    let hello = parse_initial(&rfc9369_packet()).unwrap();
    assert_eq!(hello.packet.version, QuicVersion::V2);
    assert_eq!(hello.packet.packet_number, 2);
    assert_eq!(hello.progress, HelloProgress::Complete);
    let client_hello = hello.client_hello.unwrap();
    assert_eq!(client_hello.server_name(), Some("example.com"));
}

#[test]
fn rfc9001_ja4() {
    let client_hello = parse_initial(&rfc9001_packet())
        .unwrap()
        .client_hello
        .unwrap();
    // 2 ciphers, 11 extensions, ALPN "alpn".
    let fingerprint = ja4(&client_hello, Transport::Quic).unwrap();
    assert_eq!(&fingerprint.as_str()[..10], "q13d0211an");
    assert_eq!(
        ja4_raw(&client_hello, Transport::Quic).unwrap(),
        "q13d0211an_1301,1302_0005,000a,000d,001c,002b,002d,0033,0039,ff01_\
         0403,0503,0603,0203,0804,0805,0806"
    );
}

// ---- Hellos protected here ----

#[test]
fn hello_split_over_datagrams() {
    // A browser hello with a post-quantum key share does not fit one Initial; the
    // second half arrives first, in two CRYPTO frames out of order.
    let message = HelloSpec::browser("video.example.net").handshake();
    let (head, tail) = message.split_at(900);
    let (tail_a, tail_b) = tail.split_at(300);
    let first = protect(
        QuicVersion::V1,
        &DCID,
        &[1, 2],
        0,
        1,
        &crypto_frame(0, head),
        1200,
    );
    let mut second_frames = crypto_frame(1200, tail_b);
    second_frames.push(0x01); // PING
    second_frames.extend_from_slice(&crypto_frame(900, tail_a));
    let second = protect(QuicVersion::V1, &DCID, &[1, 2], 1, 1, &second_frames, 1200);

    let mut buffer = QuicHelloBuffer::new();
    assert_eq!(buffer.push_datagram(&second), Ok(HelloProgress::NeedMore));
    assert_eq!(buffer.push_datagram(&first), Ok(HelloProgress::Complete));
    assert_eq!(buffer.push_datagram(&first), Ok(HelloProgress::Finished));
    assert_eq!(buffer.first_packet().map(|p| p.packet_number), Some(1));

    let client_hello = buffer.client_hello().unwrap();
    assert_eq!(client_hello.server_name(), Some("video.example.net"));
    let fingerprint = ja4(&client_hello, Transport::Quic).unwrap();
    assert_eq!(&fingerprint.as_str()[..10], "q13d0608h2");
}

#[test]
fn partial_hello_after_first_datagram() {
    let message = HelloSpec::browser("video.example.net").handshake();
    let first = protect(
        QuicVersion::V2,
        &DCID,
        &[],
        0,
        2,
        &crypto_frame(0, &message[..900]),
        1200,
    );
    let hello = parse_initial(&first).unwrap();
    assert_eq!(hello.progress, HelloProgress::NeedMore);
    let client_hello = hello.client_hello.unwrap();
    assert!(client_hello.partial);
    assert_eq!(client_hello.server_name(), Some("video.example.net"));
}

#[test]
fn coalesced_initials() {
    let message = HelloSpec::browser("a.example").handshake();
    let (head, tail) = message.split_at(1000);
    let mut datagram = protect(QuicVersion::V1, &DCID, &[], 0, 1, &crypto_frame(0, head), 0);
    datagram.extend(protect(
        QuicVersion::V1,
        &DCID,
        &[],
        1,
        1,
        &crypto_frame(1000, tail),
        0,
    ));
    assert_eq!(
        parse_initial(&datagram).unwrap().progress,
        HelloProgress::Complete
    );
}

#[test]
fn coalesced_trailing_junk_ignored() {
    let mut datagram = rfc9001_packet();
    datagram.extend_from_slice(&[0x40, 1, 2, 3]);
    assert_eq!(
        parse_initial(&datagram).unwrap().progress,
        HelloProgress::Complete
    );
}

#[test]
fn stream_frame_rejected() {
    let packet = protect(QuicVersion::V1, &DCID, &[], 0, 1, &[0x08, 0, 1, 0xaa], 1200);
    assert_eq!(parse_initial(&packet), Err(QuicError::InvalidFrame));
}

#[test]
fn crypto_beyond_buffer_gives_up() {
    let frame = [0x06, 0x80, 0x01, 0x00, 0x00, 0x01, 0xaa];
    let packet = protect(QuicVersion::V1, &DCID, &[], 0, 1, &frame, 1200);
    let hello = parse_initial(&packet).unwrap();
    assert_eq!(
        hello.progress,
        HelloProgress::GaveUp(GiveUpReason::Overflow)
    );
}

#[test]
fn crypto_not_client_hello_gives_up() {
    let packet = protect(
        QuicVersion::V1,
        &DCID,
        &[],
        0,
        1,
        &crypto_frame(0, &[2, 0, 0, 1, 0]),
        1200,
    );
    let hello = parse_initial(&packet).unwrap();
    assert_eq!(hello.progress, HelloProgress::GaveUp(GiveUpReason::NotTls));
}

#[test]
fn oversized_hello_length_gives_up() {
    let packet = protect(
        QuicVersion::V1,
        &DCID,
        &[],
        0,
        1,
        &crypto_frame(0, &[1, 0x01, 0, 0]),
        1200,
    );
    let hello = parse_initial(&packet).unwrap();
    assert_eq!(
        hello.progress,
        HelloProgress::GaveUp(GiveUpReason::Overflow)
    );
}

// ---- Malformed packets ----

#[test]
fn header_table() {
    let valid = rfc9001_packet();
    let with = |at: usize, bytes: &[u8]| {
        let mut packet = valid.clone();
        packet[at..at + bytes.len()].copy_from_slice(bytes);
        packet
    };
    let cases: Vec<(&str, Vec<u8>, QuicError)> = vec![
        ("empty", Vec::new(), QuicError::HeaderTruncated),
        ("short header", with(0, &[0x40]), QuicError::NotLongHeader),
        (
            "version negotiation",
            with(1, &[0, 0, 0, 0]),
            QuicError::UnsupportedVersion,
        ),
        (
            "draft 29",
            with(1, &[0xff, 0, 0, 0x1d]),
            QuicError::UnsupportedVersion,
        ),
        ("handshake type", with(0, &[0xe0]), QuicError::NotInitial),
        (
            "v1 type under v2",
            with(1, &[0x6b, 0x33, 0x43, 0xcf]),
            QuicError::NotInitial,
        ),
        (
            "dcid 21 bytes",
            with(5, &[21]),
            QuicError::InvalidConnectionId,
        ),
        (
            "dcid overruns",
            valid[..10].to_vec(),
            QuicError::HeaderTruncated,
        ),
        (
            "token overruns",
            with(15, &[0x44, 0xff]),
            QuicError::HeaderTruncated,
        ),
        (
            "length beyond datagram",
            with(16, &[0x7f, 0xff]),
            QuicError::InvalidLength,
        ),
        (
            "length below sample",
            with(16, &[0x40, 0x13]),
            QuicError::InvalidLength,
        ),
        (
            "cut before tag",
            valid[..valid.len() - 1].to_vec(),
            QuicError::InvalidLength,
        ),
        (
            "payload byte flipped",
            with(100, &[valid[100] ^ 1]),
            QuicError::DecryptFailed,
        ),
        (
            "tag byte flipped",
            with(1199, &[valid[1199] ^ 1]),
            QuicError::DecryptFailed,
        ),
        ("dcid changed", with(6, &[0x84]), QuicError::DecryptFailed),
    ];
    for (name, packet, expected) in cases {
        assert_eq!(parse_initial(&packet), Err(expected), "case {name}");
    }
}

// ---- Fuzz ----

#[test]
fn fuzz_truncations_never_panic() {
    let packet = rfc9001_packet();
    for len in 0..packet.len() {
        assert!(parse_initial(&packet[..len]).is_err(), "length {len}");
    }
}

#[test]
fn fuzz_mutations_never_panic() {
    let valid = [rfc9001_packet(), rfc9369_packet()];
    let mut rng = Rng(0x5eed_7150_0000_0006);
    for packet in &valid {
        for _ in 0..300 {
            let mut mutated = packet.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(64);
                mutated[at] = rng.next() as u8;
            }
            let len = rng.below(mutated.len() + 1);
            let _ = parse_initial(&mutated[..len]);
        }
    }
}

#[test]
fn fuzz_decrypted_frames_never_panic() {
    // Random frame bytes under valid protection reach the frame walk and the hello
    // parser, which random ciphertext never does.
    let mut rng = Rng(0x5eed_7150_0000_0007);
    let message = HelloSpec::browser("x.example").handshake();
    for _ in 0..200 {
        let mut frames = crypto_frame(0, &message[..rng.below(message.len())]);
        for _ in 0..rng.below(6) {
            let at = rng.below(frames.len());
            frames[at] = rng.next() as u8;
        }
        let packet = protect(QuicVersion::V1, &DCID, &[], 0, 1, &frames, 1200);
        if let Ok(hello) = parse_initial(&packet) {
            let _ = hello.client_hello.map(|h| ja4(&h, Transport::Quic));
        }
    }
}

#[test]
fn fuzz_random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_7150_0000_0008);
    for _ in 0..3_000 {
        let len = rng.below(1300);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Most inputs get a valid version so they reach the length and decryption.
        if bytes.len() > 5 && rng.below(4) != 0 {
            bytes[0] |= 0xc0;
            bytes[1..5].copy_from_slice(&[0, 0, 0, 1]);
        }
        let _ = parse_initial(&bytes);
    }
}
