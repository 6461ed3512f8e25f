//! DNS tests: tables of hand-built messages, TCP reassembly, transaction matching, a
//! seeded fuzz run, and the DNS exchanges of real captures.

use super::name::NameError;
use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::capture::pcap::PcapReader;
use crate::decap::{DecapConfig, Decoder};
use crate::flow::key::PROTO_UDP;

const QUERY: u16 = 0x0100;
const RESPONSE: u16 = 0x8180;

/// Builds a DNS message byte by byte; offsets are known, so tests can write pointers.
#[derive(Clone, Default)]
struct Builder {
    bytes: Vec<u8>,
}

impl Builder {
    fn header(id: u16, flags: u16, questions: u16, answers: u16) -> Builder {
        let mut bytes = Vec::new();
        for word in [id, flags, questions, answers, 0, 0] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        Builder { bytes }
    }

    fn query(id: u16, name: &str, qtype: u16) -> Builder {
        Builder::header(id, QUERY, 1, 0).question(name, qtype)
    }

    /// Builds a response to `name` announcing `answers` records; the question starts at 12.
    fn response(id: u16, name: &str, qtype: u16, answers: u16) -> Builder {
        Builder::header(id, RESPONSE, 1, answers).question(name, qtype)
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    fn raw(mut self, bytes: &[u8]) -> Builder {
        self.bytes.extend_from_slice(bytes);
        self
    }

    fn name(self, text: &str) -> Builder {
        self.raw(&wire(text))
    }

    fn question(self, name: &str, qtype: u16) -> Builder {
        self.name(name).u16(qtype).u16(1)
    }

    fn u16(self, value: u16) -> Builder {
        self.raw(&value.to_be_bytes())
    }

    /// Appends a record whose owner is the wire bytes `owner` (a name or a pointer).
    fn record(self, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Builder {
        self.raw(owner)
            .u16(rtype)
            .u16(1)
            .raw(&ttl.to_be_bytes())
            .u16(rdata.len() as u16)
            .raw(rdata)
    }

    fn build(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

/// Wire form of dotted `text`, with the root label.
fn wire(text: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for label in text.split('.').filter(|l| !l.is_empty()) {
        bytes.push(label.len() as u8);
        bytes.extend_from_slice(label.as_bytes());
    }
    bytes.push(0);
    bytes
}

/// Returns a compression pointer to `offset`.
fn ptr(offset: u16) -> [u8; 2] {
    (0xc000 | offset).to_be_bytes()
}

fn name(text: &str) -> DnsName {
    DnsName::from_dotted(text).expect("valid name")
}

fn parse(builder: &Builder) -> DnsMessage {
    parse_message(&builder.bytes).expect("parsed")
}

fn question_name(message: &DnsMessage) -> String {
    message
        .question
        .as_ref()
        .map(|q| q.name.to_string())
        .unwrap_or_default()
}

fn label_of(length: usize) -> String {
    "a".repeat(length)
}

// --- rejections --------------------------------------------------------------------

#[test]
fn rejections_by_reason() {
    let long_suffix = [label_of(63).as_str(); 3].join(".") + "." + &label_of(60);
    let cases: Vec<(&str, Vec<u8>, DnsError)> = vec![
        ("empty", vec![], DnsError::HeaderShort),
        (
            "header cut",
            Builder::query(1, "a.example", rtype::A).bytes[..11].to_vec(),
            DnsError::HeaderShort,
        ),
        (
            "pointer to itself",
            Builder::header(1, QUERY, 1, 0)
                .raw(&ptr(12))
                .u16(1)
                .u16(1)
                .build(),
            DnsError::NamePointerForward,
        ),
        (
            "pointer past end",
            Builder::header(1, QUERY, 1, 0)
                .raw(&ptr(0x3fff))
                .u16(1)
                .u16(1)
                .build(),
            DnsError::NamePointerForward,
        ),
        (
            "pointer into own labels",
            Builder::header(1, QUERY, 1, 0)
                .raw(b"\x01a")
                .raw(&ptr(12))
                .u16(1)
                .u16(1)
                .build(),
            DnsError::NamePointerLoop,
        ),
        (
            "pointer chain back into followed labels",
            // Question: "a" then a pointer to offset 13 (inside the labels just read).
            Builder::header(1, RESPONSE, 1, 1)
                .raw(b"\x01\x00")
                .raw(&ptr(13))
                .u16(1)
                .u16(1)
                .record(&ptr(12), rtype::A, 1, &[1, 2, 3, 4])
                .build(),
            DnsError::NamePointerLoop,
        ),
        (
            "answer pointer loop",
            // Question "a" at 12..15; the answer owner at 19 is "b" plus a pointer to 19.
            Builder::response(1, "a", rtype::A, 1)
                .raw(b"\x01b")
                .raw(&ptr(19))
                .u16(1)
                .u16(1)
                .raw(&[0, 0, 0, 1, 0, 4, 1, 2, 3, 4])
                .build(),
            DnsError::NamePointerLoop,
        ),
        (
            "label length 64",
            Builder::header(1, QUERY, 1, 0)
                .raw(&[64])
                .raw(label_of(64).as_bytes())
                .raw(&[0])
                .u16(1)
                .u16(1)
                .build(),
            DnsError::NameLabelTooLong,
        ),
        (
            "label type 0x80",
            Builder::header(1, QUERY, 1, 0)
                .raw(&[0x80, 0])
                .u16(1)
                .u16(1)
                .build(),
            DnsError::NameLabelTooLong,
        ),
        (
            "name of 256 bytes",
            Builder::query(
                1,
                &([label_of(63).as_str(); 3].join(".") + "." + &label_of(62)),
                1,
            )
            .build(),
            DnsError::NameTooLong,
        ),
        (
            "name over 255 through a pointer",
            // The question is 254 bytes long; the answer adds the label "b" before it.
            Builder::response(1, &long_suffix, rtype::A, 1)
                .raw(b"\x01b")
                .raw(&ptr(12))
                .u16(rtype::A)
                .u16(1)
                .raw(&[0, 0, 0, 1, 0, 4, 1, 2, 3, 4])
                .build(),
            DnsError::NameTooLong,
        ),
        (
            "a record of 5 bytes",
            Builder::response(1, "a.example", rtype::A, 1)
                .record(&ptr(12), rtype::A, 60, &[1, 2, 3, 4, 5])
                .build(),
            DnsError::RdataInvalid,
        ),
        (
            "aaaa record of 4 bytes",
            Builder::response(1, "a.example", rtype::AAAA, 1)
                .record(&ptr(12), rtype::AAAA, 60, &[1, 2, 3, 4])
                .build(),
            DnsError::RdataInvalid,
        ),
        (
            "cname past its data",
            Builder::response(1, "a.example", rtype::A, 1)
                .record(&ptr(12), rtype::CNAME, 60, &wire("b.example")[..4])
                .raw(&[0; 8])
                .build(),
            DnsError::RdataInvalid,
        ),
        (
            "cname shorter than its data",
            Builder::response(1, "a.example", rtype::A, 1)
                .record(
                    &ptr(12),
                    rtype::CNAME,
                    60,
                    &[wire("b.example"), vec![7]].concat(),
                )
                .build(),
            DnsError::RdataInvalid,
        ),
        (
            "cname pointer forward",
            Builder::response(1, "a.example", rtype::A, 1)
                .record(&ptr(12), rtype::CNAME, 60, &ptr(0x200))
                .build(),
            DnsError::NamePointerForward,
        ),
    ];

    for (case, bytes, expected) in cases {
        assert_eq!(parse_message(&bytes).err(), Some(expected), "{case}");
    }
}

#[test]
fn name_of_255_bytes_accepted() {
    let text = [label_of(63).as_str(); 3].join(".") + "." + &label_of(61);
    let message = parse(&Builder::query(1, &text, rtype::A));
    assert_eq!(question_name(&message), text);
}

// --- parsed fields -----------------------------------------------------------------

#[test]
fn query_header_and_question() {
    let message = parse(&Builder::query(0xbeef, "www.Example.COM", rtype::AAAA));
    assert_eq!(message.id, 0xbeef);
    assert!(!message.is_response());
    assert!(message.flags.rd());
    assert_eq!(message.flags.opcode(), 0);
    let question = message.question.expect("question");
    assert_eq!(question.name.to_string(), "www.example.com");
    assert_eq!(question.qtype, rtype::AAAA);
    assert_eq!(question.qclass, 1);
    assert!(!message.partial);
}

#[test]
fn response_flags() {
    // QR, opcode 0, AA, TC, RD, RA, AD, CD, rcode 3.
    let flags = 0x8000 | 0x0400 | 0x0200 | 0x0100 | 0x0080 | 0x0020 | 0x0010 | 3;
    let message = parse(&Builder::header(7, flags, 0, 0));
    assert!(message.is_response());
    assert!(message.flags.aa());
    assert!(message.flags.tc());
    assert!(message.flags.rd());
    assert!(message.flags.ra());
    assert!(message.flags.ad());
    assert!(message.flags.cd());
    assert_eq!(message.rcode(), rcode::NXDOMAIN);
    assert_eq!(message.question, None);
}

#[test]
fn answers_by_type() {
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let cases: Vec<(&str, u16, Vec<u8>, AnswerData)> = vec![
        (
            "a",
            rtype::A,
            vec![192, 0, 2, 1],
            AnswerData::A(Ipv4Addr::new(192, 0, 2, 1)),
        ),
        (
            "aaaa",
            rtype::AAAA,
            v6.octets().to_vec(),
            AnswerData::Aaaa(v6),
        ),
        (
            "cname",
            rtype::CNAME,
            wire("edge.example.net"),
            AnswerData::Cname(name("edge.example.net")),
        ),
        (
            "ptr",
            rtype::PTR,
            wire("host.example"),
            AnswerData::Ptr(name("host.example")),
        ),
        (
            "cname compressed",
            rtype::CNAME,
            [b"\x03cdn".as_slice(), &ptr(14)].concat(),
            AnswerData::Cname(name("cdn.example")),
        ),
        (
            "txt",
            rtype::TXT,
            b"\x05hello\x02hi".to_vec(),
            AnswerData::Txt { len: 9 },
        ),
        (
            "null",
            rtype::NULL,
            vec![0xaa; 200],
            AnswerData::Null { len: 200 },
        ),
        (
            "mx",
            rtype::MX,
            [vec![0, 10], wire("mail.example")].concat(),
            AnswerData::Other { len: 16 },
        ),
        ("empty txt", rtype::TXT, vec![], AnswerData::Txt { len: 0 }),
    ];

    for (case, record_type, rdata, expected) in cases {
        // The question "a.example" starts at 12, so "example" starts at 14.
        let builder = Builder::response(1, "a.example", rtype::A, 1).record(
            &ptr(12),
            record_type,
            300,
            &rdata,
        );
        let message = parse(&builder);
        let answer = message.answers.as_slice().first().expect(case);
        assert_eq!(answer.name, name("a.example"), "{case}");
        assert_eq!(answer.rtype, record_type, "{case}");
        assert_eq!(answer.ttl, 300, "{case}");
        assert_eq!(answer.data, expected, "{case}");
        assert!(!message.partial, "{case}");
    }
}

#[test]
fn ttl_top_bit_reads_zero() {
    let builder = Builder::response(1, "a.example", rtype::A, 2)
        .record(&ptr(12), rtype::A, 0x8000_0000, &[1, 1, 1, 1])
        .record(&ptr(12), rtype::A, 0x7fff_ffff, &[1, 1, 1, 2]);
    let message = parse(&builder);
    let ttls: Vec<u32> = message.answers.as_slice().iter().map(|a| a.ttl).collect();
    assert_eq!(ttls, [0, 0x7fff_ffff]);
}

#[test]
fn cname_chain_to_ipv6() {
    // www.example.com CNAME www.cdn.example.net CNAME edge.example.net AAAA 2001:db8::7
    let base = Builder::response(9, "www.example.com", rtype::AAAA, 3);
    // Each record's data starts 12 bytes after it: owner pointer, type, class, TTL, length.
    let first_data = base.len() as u16 + 12;
    let builder = base.record(&ptr(12), rtype::CNAME, 300, &wire("www.cdn.example.net"));
    let second_data = builder.len() as u16 + 12;
    // "example.net" starts 8 bytes into the first CNAME's data.
    let edge = [b"\x04edge".as_slice(), &ptr(first_data + 8)].concat();
    let builder = builder
        .record(&ptr(first_data), rtype::CNAME, 60, &edge)
        .record(
            &ptr(second_data),
            rtype::AAAA,
            20,
            &Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7).octets(),
        );

    let message = parse(&builder);
    let answers = message.answers.as_slice();
    assert_eq!(answers.len(), 3);
    assert_eq!(
        answers[0].data,
        AnswerData::Cname(name("www.cdn.example.net"))
    );
    assert_eq!(answers[1].name, name("www.cdn.example.net"));
    assert_eq!(answers[1].data, AnswerData::Cname(name("edge.example.net")));
    assert_eq!(answers[2].name, name("edge.example.net"));
    assert_eq!(
        answers[2].data,
        AnswerData::Aaaa(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))
    );
}

#[test]
fn answers_beyond_max_counted() {
    let mut builder = Builder::response(1, "pool.example", rtype::A, 12);
    for last in 0..12 {
        builder = builder.record(&ptr(12), rtype::A, 60, &[10, 0, 0, last]);
    }
    let message = parse(&builder);
    assert_eq!(message.answers.as_slice().len(), MAX_ANSWERS);
    assert_eq!(message.answer_count, 12);
    assert!(!message.partial);
}

#[test]
fn nxdomain_without_answers() {
    let builder = Builder::header(3, RESPONSE | u16::from(rcode::NXDOMAIN), 1, 0)
        .question("x7kq2.example", rtype::A);
    let message = parse(&builder);
    assert_eq!(message.rcode(), rcode::NXDOMAIN);
    assert_eq!(question_name(&message), "x7kq2.example");
    assert!(message.answers.as_slice().is_empty());
}

#[test]
fn second_question_skipped() {
    let builder = Builder::header(1, RESPONSE, 2, 1)
        .question("first.example", rtype::A)
        .question("second.example", rtype::A)
        .record(&ptr(12), rtype::A, 5, &[1, 2, 3, 4]);
    let message = parse(&builder);
    assert_eq!(question_name(&message), "first.example");
    assert_eq!(
        message.answers.as_slice()[0].data,
        AnswerData::A(Ipv4Addr::new(1, 2, 3, 4))
    );
}

#[test]
fn name_presentation_escapes() {
    let builder = Builder::header(1, QUERY, 1, 0)
        .raw(b"\x03a.b\x02\\\x00\x03\x01Az\x00")
        .u16(1)
        .u16(1);
    let message = parse(&builder);
    assert_eq!(question_name(&message), "a\\.b.\\\\\\000.\\001az");
}

/// Parses `raw` as the name of a one-question query.
fn raw_name(raw: &[u8]) -> DnsName {
    let message = parse(&Builder::header(1, QUERY, 1, 0).raw(raw).u16(1).u16(1));
    message.question.expect("question").name
}

#[test]
fn text_equals_display() {
    let mut raws: Vec<Vec<u8>> = vec![
        vec![0],
        wire("a"),
        wire("www.example.com"),
        wire(&format!("{}.{}", label_of(63), label_of(1))),
        b"\x03a.b\x02\\\x00\x03\x01Az\x00".to_vec(),
        b"\x02A \x01\x7f\x01\xff\x00".to_vec(),
        b"\x01!\x01~\x00".to_vec(),
    ];
    // Every byte value inside a label, alone in a label, and at a label's ends.
    for byte in 0..=u8::MAX {
        raws.push(vec![1, b'x', 1, byte, 1, b'y', 0]);
        raws.push(vec![3, b'a', byte, b'Z', 1, byte, 2, byte, byte, 0]);
    }
    let longest = (0..4).map(|_| label_of(61)).collect::<Vec<_>>().join(".");
    raws.push(wire(&longest));
    for raw in raws {
        let name = raw_name(&raw);
        assert_eq!(name.text(), name.to_string(), "{raw:?}");
        // Appended after what the buffer held.
        let mut text = b"x".to_vec();
        name.write_text(&mut text);
        assert_eq!(text, format!("x{name}").into_bytes(), "{raw:?}");
    }
}

#[test]
fn reused_message_equals_fresh_parse() {
    let messages = [
        Builder::response(7, "www.example.com", rtype::A, 3)
            .record(&ptr(12), rtype::CNAME, 60, &wire("edge.example.net"))
            .record(&wire("edge.example.net"), rtype::A, 30, &[192, 0, 2, 1])
            .record(
                &wire("edge.example.net"),
                rtype::PTR,
                30,
                &wire("x.example"),
            )
            .build(),
        Builder::header(2, QUERY, 0, 0).build(),
        Builder::response(8, "b.example", rtype::AAAA, 1)
            .record(
                &ptr(12),
                rtype::AAAA,
                5,
                &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            )
            .build(),
        cname_response().0,
        Builder::header(3, RESPONSE, 2, 1)
            .question("first.example", rtype::A)
            .question("second.example", rtype::A)
            .record(&ptr(12), rtype::CNAME, 5, &wire("c.example"))
            .build(),
    ];
    let mut reused = DnsMessage::default();
    // Every message after every other, whole and cut at every length.
    for before in &messages {
        for message in &messages {
            for len in 0..=message.len() {
                let _ = parse_message_into(before, &mut reused);
                let cut = &message[..len];
                let fresh = parse_message(cut);
                let again = parse_message_into(cut, &mut reused).map(|()| reused.clone());
                assert_eq!(again, fresh, "{cut:?} after {before:?}");
            }
        }
    }
}

#[test]
fn root_name() {
    let message = parse(
        &Builder::header(1, QUERY, 1, 0)
            .raw(&[0])
            .u16(rtype::NS)
            .u16(1),
    );
    let question = message.question.expect("question");
    assert!(question.name.is_root());
    assert_eq!(question.name.to_string(), ".");
}

#[test]
fn name_labels() {
    let dotted = name("a.bc.example");
    let labels: Vec<&[u8]> = dotted.labels().collect();
    assert_eq!(labels, [b"a".as_slice(), b"bc", b"example"]);
}

#[test]
fn dotted_presentation_matches_display() {
    let long_name = [label_of(63), label_of(63), label_of(63), label_of(61)].join(".");
    let cases = [
        String::new(),
        ".".into(),
        "www.example.com".into(),
        "WWW.Example.COM.".into(),
        "a..b".into(),
        ".a".into(),
        "a.".into(),
        "a..".into(),
        label_of(63),
        label_of(64),
        long_name.clone(),
        format!("{long_name}."),
        format!("{long_name}a"),
        format!("a{long_name}"),
        "under_score-and~tilde!".into(),
        "with space.example".into(),
        "tab\tor\\.example".into(),
        "del\u{7f}.example".into(),
        "bücher.example".into(),
    ];
    for text in cases {
        let expected = DnsName::from_dotted(&text).map(|name| name.to_string());
        match DnsName::dotted_presentation(&text) {
            Some(presented) => assert_eq!(Some(presented.into_owned()), expected, "{text:?}"),
            // Only names that Display escapes, or invalid ones, are left to from_dotted.
            None => assert!(
                expected.is_none_or(|shown| shown.contains('\\')),
                "{text:?}"
            ),
        }
    }
}

/// Returns the presentation form of dotted `text` by the rules that
/// `DnsName::dotted_presentation` documents, one rule at a time.
fn dotted_presentation_by_rule(text: &str) -> Option<String> {
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    if trimmed.is_empty() {
        return Some(".".into());
    }
    if trimmed.len() + 1 > MAX_NAME_BYTES - 1 {
        return None;
    }
    if trimmed
        .bytes()
        .any(|byte| !(0x21..=0x7e).contains(&byte) || byte == b'\\')
    {
        return None;
    }
    if trimmed
        .split('.')
        .any(|label| label.is_empty() || label.len() > MAX_LABEL_BYTES)
    {
        return None;
    }
    Some(trimmed.to_ascii_lowercase())
}

#[test]
fn dotted_presentation_matches_rules() {
    // Dots, letters of both cases and bytes that need escapes, at lengths around the
    // label and name bounds.
    let alphabet: Vec<char> = "....abcXYZ-_~\\ \t\u{7f}\u{fc}".chars().collect();
    let mut rng = Rng(0x646f_7474_0000_0001);
    let mut texts: Vec<String> = Vec::new();
    for len in [
        0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 200, 252, 253, 254, 255,
    ] {
        for _ in 0..200 {
            let text = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            texts.push(text);
        }
        // Printable names with labels of random length up to 70 bytes.
        for _ in 0..200 {
            let mut text = String::new();
            while text.len() < len {
                text.push_str(&label_of(1 + rng.below(70)));
                text.push('.');
            }
            texts.push(text.chars().take(len).collect());
        }
    }

    let mut presented = 0;
    for text in &texts {
        let got = DnsName::dotted_presentation(text);
        let expected = dotted_presentation_by_rule(text);
        assert_eq!(got.as_deref(), expected.as_deref(), "{text:?}");
        let borrowed = matches!(got, Some(std::borrow::Cow::Borrowed(_)));
        let lowercase = !text.bytes().any(|byte| byte.is_ascii_uppercase());
        if expected.is_some() && text != "." {
            assert_eq!(borrowed, lowercase, "{text:?}");
        }
        presented += usize::from(expected.is_some());
    }
    assert!(presented > 100, "some texts are valid");
}

#[test]
fn from_dotted_rejects_invalid() {
    assert_eq!(DnsName::from_dotted("a..b"), None);
    assert_eq!(DnsName::from_dotted(&label_of(64)), None);
    assert_eq!(
        DnsName::from_dotted("example.").map(|n| n.to_string()),
        Some("example".into())
    );
}

// --- truncation --------------------------------------------------------------------

/// Builds a response to "www.example.com" with a CNAME and an A record. Returns it with
/// the offsets where its question and its first answer end.
fn cname_response() -> (Vec<u8>, usize, usize) {
    let builder = Builder::response(5, "www.example.com", rtype::A, 2);
    let question_end = builder.len();
    let builder = builder.record(
        &ptr(12),
        rtype::CNAME,
        60,
        &[b"\x04edge".as_slice(), &ptr(16)].concat(),
    );
    let first_answer_end = builder.len();
    let builder = builder.record(
        &ptr(first_answer_end as u16 - 7),
        rtype::A,
        60,
        &[192, 0, 2, 9],
    );
    (builder.build(), question_end, first_answer_end)
}

#[test]
fn every_cut_partial() {
    let (bytes, question_end, first_answer_end) = cname_response();
    assert_eq!(
        parse_message(&bytes)
            .expect("whole")
            .answers
            .as_slice()
            .len(),
        2
    );

    for cut in 12..bytes.len() {
        let message = parse_message(&bytes[..cut]).expect("partial message");
        assert!(message.partial, "cut {cut}");
        assert_eq!(message.id, 5, "cut {cut}");
        let expected_question = if cut >= question_end {
            "www.example.com"
        } else {
            ""
        };
        assert_eq!(question_name(&message), expected_question, "cut {cut}");
        let expected_answers = usize::from(cut >= first_answer_end);
        assert_eq!(
            message.answers.as_slice().len(),
            expected_answers,
            "cut {cut}"
        );
    }
}

#[test]
fn cut_after_question_keeps_name() {
    let (bytes, question_end, _) = cname_response();
    let message = parse_message(&bytes[..question_end]).expect("partial message");
    assert!(message.partial);
    assert_eq!(question_name(&message), "www.example.com");
    assert_eq!(message.answer_count, 2);
}

// --- counters ----------------------------------------------------------------------

#[test]
fn counters_by_outcome() {
    let (bytes, question_end, _) = cname_response();
    let mut counters = DnsCounters::default();
    counters.record(&parse_message(&bytes));
    counters.record(&parse_message(&bytes[..question_end]));
    counters.record(&parse_message(&bytes[..5]));
    assert_eq!(counters.parsed, 2);
    assert_eq!(counters.partial, 1);
    assert_eq!(counters.rejected[DnsError::HeaderShort as usize], 1);

    let mut total = DnsCounters::default();
    total.merge(&counters);
    total.merge(&counters);
    assert_eq!(total.parsed, 4);
}

// --- DNS over TCP ------------------------------------------------------------------

fn framed(message: &[u8]) -> Vec<u8> {
    [&(message.len() as u16).to_be_bytes(), message].concat()
}

fn push_all(buffer: &mut TcpDnsBuffer, segments: &[&[u8]]) -> Vec<Result<DnsMessage, DnsError>> {
    let mut out = Vec::new();
    for segment in segments {
        buffer.push(segment, |result| out.push(result));
    }
    out
}

#[test]
fn tcp_one_segment() {
    let (bytes, _, _) = cname_response();
    let out = push_all(&mut TcpDnsBuffer::new(), &[&framed(&bytes)]);
    assert_eq!(out, [parse_message(&bytes)]);
}

#[test]
fn tcp_split_at_every_offset() {
    let (bytes, _, _) = cname_response();
    let stream = framed(&bytes);
    for at in 0..=stream.len() {
        let mut buffer = TcpDnsBuffer::new();
        let out = push_all(&mut buffer, &[&stream[..at], &stream[at..]]);
        assert_eq!(out, [parse_message(&bytes)], "split at {at}");
        assert_eq!(buffer.buffered(), 0, "split at {at}");
    }
}

#[test]
fn tcp_messages_byte_by_byte() {
    let query = Builder::query(1, "a.example", rtype::A).build();
    let (response, _, _) = cname_response();
    let stream = [framed(&query), framed(&response), framed(&query)].concat();
    let segments: Vec<&[u8]> = stream.chunks(1).collect();
    let out = push_all(&mut TcpDnsBuffer::new(), &segments);
    let expected = [
        parse_message(&query),
        parse_message(&response),
        parse_message(&query),
    ];
    assert_eq!(out, expected);
}

#[test]
fn tcp_two_messages_one_segment() {
    let (response, _, _) = cname_response();
    let stream = [framed(&response), framed(&response)].concat();
    let out = push_all(&mut TcpDnsBuffer::new(), &[&stream]);
    assert_eq!(out.len(), 2);
}

#[test]
fn tcp_over_bound_partial() {
    let (response, question_end, _) = cname_response();
    let query = Builder::query(2, "next.example", rtype::A).build();
    let stream = [framed(&response), framed(&query)].concat();
    // The bound fits the prefix and the question, not the answers.
    let mut buffer = TcpDnsBuffer::with_max_bytes(2 + question_end);
    let segments: Vec<&[u8]> = stream.chunks(7).collect();
    let out = push_all(&mut buffer, &segments);

    assert_eq!(out.len(), 2);
    let first = out[0].as_ref().expect("partial response");
    assert!(first.partial);
    assert_eq!(question_name(first), "www.example.com");
    assert_eq!(out[1], parse_message(&query));
}

#[test]
fn tcp_zero_length_rejected() {
    let out = push_all(&mut TcpDnsBuffer::new(), &[&[0, 0]]);
    assert_eq!(out, [Err(DnsError::HeaderShort)]);
}

#[test]
fn tcp_reset_drops_partial() {
    let (bytes, _, _) = cname_response();
    let stream = framed(&bytes);
    let mut buffer = TcpDnsBuffer::new();
    let first = push_all(&mut buffer, &[&stream[..10]]);
    assert!(first.is_empty());
    buffer.reset();
    assert_eq!(buffer.buffered(), 0);
    let out = push_all(&mut buffer, &[&stream]);
    assert_eq!(out, [parse_message(&bytes)]);
}

// --- transactions ------------------------------------------------------------------

const MS: u64 = 1_000_000;

fn transactions(capacity: usize) -> DnsTransactions<u32> {
    DnsTransactions::new(capacity, 1_000 * MS)
}

fn a_response(id: u16, qname: &str) -> DnsMessage {
    parse(&Builder::response(id, qname, rtype::A, 1).record(
        &ptr(12),
        rtype::A,
        60,
        &[192, 0, 2, 1],
    ))
}

fn a_query(id: u16, qname: &str) -> DnsMessage {
    parse(&Builder::query(id, qname, rtype::A))
}

#[test]
fn exchange_with_latency() {
    let mut table = transactions(16);
    assert_eq!(table.observe(1, &a_query(7, "a.example"), 100 * MS), None);
    let exchange = table
        .observe(1, &a_response(7, "a.example"), 130 * MS)
        .expect("exchange");
    assert_eq!(exchange.query_name, name("a.example"));
    assert_eq!(exchange.qtype, rtype::A);
    assert_eq!(exchange.rcode, rcode::NOERROR);
    assert_eq!(exchange.latency_ns, Some(30 * MS));
    assert_eq!(exchange.answers.as_slice().len(), 1);
    assert!(table.is_empty());
    assert_eq!(table.counters().matched, 1);
}

#[test]
fn response_without_query() {
    let mut table = transactions(16);
    let exchange = table
        .observe(1, &a_response(7, "a.example"), 0)
        .expect("exchange");
    assert_eq!(exchange.query_name, name("a.example"));
    assert_eq!(exchange.latency_ns, None);
    assert_eq!(table.counters().unmatched, 1);
}

#[test]
fn response_other_name_unmatched() {
    let mut table = transactions(16);
    table.observe(1, &a_query(7, "a.example"), 0);
    let spoofed = table
        .observe(1, &a_response(7, "b.example"), MS)
        .expect("exchange");
    assert_eq!(spoofed.latency_ns, None);
    assert_eq!(table.len(), 1);
    let real = table
        .observe(1, &a_response(7, "a.example"), 2 * MS)
        .expect("exchange");
    assert_eq!(real.latency_ns, Some(2 * MS));
}

#[test]
fn response_other_scope_unmatched() {
    let mut table = transactions(16);
    table.observe(1, &a_query(7, "a.example"), 0);
    let exchange = table
        .observe(2, &a_response(7, "a.example"), MS)
        .expect("exchange");
    assert_eq!(exchange.latency_ns, None);
    assert_eq!(table.len(), 1);
}

#[test]
fn cut_response_matched_by_id() {
    let mut table = transactions(16);
    table.observe(1, &a_query(5, "www.example.com"), 0);
    let (bytes, _, _) = cname_response();
    let cut = parse_message(&bytes[..20]).expect("partial message");
    let exchange = table.observe(1, &cut, MS).expect("exchange");
    assert_eq!(exchange.query_name, name("www.example.com"));
    assert!(exchange.partial);
    assert_eq!(exchange.latency_ns, Some(MS));
}

#[test]
fn cut_response_without_query_dropped() {
    let mut table = transactions(16);
    let (bytes, _, _) = cname_response();
    let cut = parse_message(&bytes[..20]).expect("partial message");
    assert_eq!(table.observe(1, &cut, 0), None);
}

#[test]
fn query_expires() {
    let mut table = transactions(16);
    table.observe(1, &a_query(7, "a.example"), 0);
    let late = table
        .observe(1, &a_response(7, "a.example"), 1_000 * MS)
        .expect("exchange");
    assert_eq!(late.latency_ns, None);
    assert_eq!(table.counters().expired, 1);
}

#[test]
fn expire_returns_dropped() {
    let mut table = transactions(16);
    table.observe(1, &a_query(1, "a.example"), 0);
    table.observe(1, &a_query(2, "b.example"), 500 * MS);
    assert_eq!(table.expire(1_200 * MS), 1);
    assert_eq!(table.len(), 1);
}

#[test]
fn full_table_evicts_oldest() {
    let mut table = transactions(2);
    table.observe(1, &a_query(1, "a.example"), 0);
    table.observe(1, &a_query(2, "b.example"), MS);
    table.observe(1, &a_query(3, "c.example"), 2 * MS);
    assert_eq!(table.len(), 2);
    assert_eq!(table.counters().evicted, 1);
    let first = table
        .observe(1, &a_response(1, "a.example"), 3 * MS)
        .expect("exchange");
    assert_eq!(first.latency_ns, None);
    let second = table
        .observe(1, &a_response(2, "b.example"), 3 * MS)
        .expect("exchange");
    assert_eq!(second.latency_ns, Some(2 * MS));
}

#[test]
fn retransmission_keeps_first_time() {
    let mut table = transactions(16);
    table.observe(1, &a_query(7, "a.example"), 0);
    table.observe(1, &a_query(7, "a.example"), 400 * MS);
    let exchange = table
        .observe(1, &a_response(7, "a.example"), 450 * MS)
        .expect("exchange");
    assert_eq!(exchange.latency_ns, Some(450 * MS));
    assert_eq!(table.counters().retransmitted, 1);
}

#[test]
fn reused_id_replaces_query() {
    let mut table = transactions(16);
    table.observe(1, &a_query(7, "a.example"), 0);
    table.observe(1, &a_query(7, "b.example"), MS);
    assert_eq!(table.counters().replaced, 1);
    let exchange = table
        .observe(1, &a_response(7, "b.example"), 3 * MS)
        .expect("exchange");
    assert_eq!(exchange.latency_ns, Some(2 * MS));
}

#[test]
fn order_stays_bounded() {
    // Answer every query at once, so each leaves a stale entry in the insertion order.
    let mut table = transactions(4);
    for id in 0..1_000u16 {
        table.observe(1, &a_query(id, "a.example"), 0);
        table.observe(1, &a_response(id, "a.example"), 0);
    }
    assert!(table.order_len() <= 2 * 4 + 1);
    assert!(table.is_empty());
}

// --- fuzz --------------------------------------------------------------------------

/// xorshift64*: a small seeded generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Runs every entry point on `bytes`; nothing may panic.
fn exercise(
    bytes: &[u8],
    tcp: &mut TcpDnsBuffer,
    table: &mut DnsTransactions<u8>,
    counters: &mut DnsCounters,
) {
    let result = parse_message(bytes);
    counters.record(&result);
    if let Ok(message) = &result {
        table.observe(0, message, 0);
        for answer in message.answers.as_slice() {
            let _ = answer.name.to_string();
        }
    }
    tcp.push(bytes, |result| counters.record(&result));
}

#[test]
fn fuzz_never_panics() {
    let (cname, _, _) = cname_response();
    let mut pool = Builder::response(1, "pool.example", rtype::A, 10);
    for last in 0..10 {
        pool = pool.record(&ptr(12), rtype::A, 60, &[10, 0, 0, last]);
    }
    let valid = [
        cname,
        pool.build(),
        Builder::query(1, "a.b.c.example", rtype::TXT).build(),
        Builder::response(1, "t.example", rtype::TXT, 2)
            .record(&ptr(12), rtype::TXT, 1, b"\x03abc")
            .record(&ptr(12), rtype::AAAA, 1, &[1; 16])
            .build(),
    ];
    let mut rng = Rng(0x5eed_d0d5_0000_0001);
    let mut tcp = TcpDnsBuffer::with_max_bytes(64);
    let mut table = DnsTransactions::new(8, 1_000);
    let mut counters = DnsCounters::default();

    for message in &valid {
        for len in 0..=message.len() {
            exercise(&message[..len], &mut tcp, &mut table, &mut counters);
        }
        for _ in 0..3_000 {
            let mut mutated = message.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(mutated.len());
                mutated[at] = rng.next() as u8;
            }
            let len = rng.below(mutated.len() + 1);
            exercise(&mutated[..len], &mut tcp, &mut table, &mut counters);
        }
    }
    for _ in 0..5_000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        exercise(&bytes, &mut tcp, &mut table, &mut counters);
    }
    assert!(counters.parsed > 0);
    assert!(counters.rejected.iter().sum::<u64>() > 0);
}

/// Reads a name label by label, as `read_name_into` did before it copied runs of
/// labels at once. Returns the result and the labels read, in wire form and
/// lowercased, which on error are the labels before the failing one.
fn read_name_by_label(message: &[u8], start: usize) -> (Result<usize, NameError>, Vec<u8>) {
    let mut wire = Vec::new();
    let mut pos = start;
    let mut segment_start = start;
    let mut inline_end = None;
    let result = loop {
        let Some(&length_byte) = message.get(pos) else {
            break Err(NameError::Truncated);
        };
        match length_byte >> 6 {
            0b00 => {
                if length_byte == 0 {
                    break Ok(*inline_end.get_or_insert(pos + 1));
                }
                let len = usize::from(length_byte);
                let Some(label) = message.get(pos + 1..pos + 1 + len) else {
                    break Err(NameError::Truncated);
                };
                if wire.len() + 1 + len > MAX_NAME_BYTES - 1 {
                    break Err(DnsError::NameTooLong.into());
                }
                wire.push(length_byte);
                wire.extend(label.iter().map(u8::to_ascii_lowercase));
                pos += 1 + len;
            }
            0b11 => {
                let Some(&low) = message.get(pos + 1) else {
                    break Err(NameError::Truncated);
                };
                let target = usize::from(length_byte & 0x3f) << 8 | usize::from(low);
                if target >= pos {
                    break Err(DnsError::NamePointerForward.into());
                }
                if target >= segment_start {
                    break Err(DnsError::NamePointerLoop.into());
                }
                inline_end.get_or_insert(pos + 2);
                pos = target;
                segment_start = target;
            }
            _ => break Err(DnsError::NameLabelTooLong.into()),
        }
    };
    (result, wire)
}

#[test]
fn name_reader_matches_label_by_label() {
    // Long names that reach the 255-byte bound by pointers, uppercase letters, and
    // every kind of length byte.
    let long_label = format!("{}.", label_of(63));
    let mut long = Builder::header(1, QUERY, 1, 0).name(&long_label.repeat(3));
    let first = long.len() as u16;
    long = long
        .raw(&[63])
        .raw(label_of(63).to_ascii_uppercase().as_bytes());
    long = long.raw(&ptr(12)).raw(&ptr(first)).raw(b"\x01a\x00");
    let seeds = [
        cname_response().0,
        long.build(),
        Builder::query(1, "WWW.Example.COM", rtype::A).build(),
        Builder::header(1, QUERY, 1, 0)
            .raw(b"\x03a.b\x02\\\x00\x03\x01Az\x40x\x80\xbf\x00")
            .build(),
    ];
    let mut rng = Rng(0x6e61_6d65_0000_0001);
    let mut messages: Vec<Vec<u8>> = seeds.to_vec();
    for seed in &seeds {
        for _ in 0..500 {
            let mut mutated = seed.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(mutated.len());
                // Small values are length bytes, 0xc0 and up pointers.
                mutated[at] = match rng.below(3) {
                    0 => rng.below(64) as u8,
                    1 => 0xc0 | rng.below(4) as u8,
                    _ => rng.next() as u8,
                };
            }
            messages.push(mutated);
        }
    }

    // One name is reused throughout, so bytes left by longer names must not matter.
    let mut name = DnsName::ROOT;
    let mut errors = 0;
    for message in &messages {
        for start in 0..=message.len() {
            let (expected, labels) = read_name_by_label(message, start);
            let got = name::read_name_into(message, start, &mut name);
            assert_eq!(got, expected, "{message:?} at {start}");
            assert_eq!(name.as_wire(), labels.as_slice(), "{message:?} at {start}");
            errors += usize::from(got.is_err());
        }
    }
    assert!(errors > 0, "some reads fail");
}

// --- captures ----------------------------------------------------------------------

/// Reads the UDP port 53 payloads of a capture as (packet time, response, payload).
/// `inner_ip_offset` is where the inner IPv4 header starts in every frame (a fixed
/// tunnel stack per capture). Returns `None`, after printing why, when the capture is
/// missing outside CI.
fn dns_payloads(file: &str, inner_ip_offset: usize) -> Option<Vec<(u64, bool, Vec<u8>)>> {
    let path = crate::fixture::shared_capture(file)?;
    let mut reader = PcapReader::open(&path).expect("capture opens");
    let mut decoder = Decoder::new(DecapConfig::default());
    let mut payloads = Vec::new();
    while let Some(frame) = reader.next_frame().expect("frame reads") {
        let Some(packet) = decoder.decode(frame.data, frame.wire_len, frame.ts_ns) else {
            continue;
        };
        if packet.key.protocol != PROTO_UDP || (packet.key.sport != 53 && packet.key.dport != 53) {
            continue;
        }
        let ip_header = usize::from(frame.data[inner_ip_offset] & 0x0f) * 4;
        let start = inner_ip_offset + ip_header + 8;
        let end = (inner_ip_offset + packet.ip_bytes as usize).min(frame.data.len());
        payloads.push((
            packet.ts_ns,
            packet.key.sport == 53,
            frame.data[start..end].to_vec(),
        ));
    }
    Some(payloads)
}

#[test]
fn aws_capture_exchanges() {
    // Outer Ethernet, IPv4, UDP and VXLAN, then the inner Ethernet header: 64 bytes.
    let Some(payloads) = dns_payloads("aws-tm-vxlan-ssh-dns-ntp.pcap", 64) else {
        return;
    };
    let mut table = DnsTransactions::new(16, DEFAULT_QUERY_TIMEOUT_NS);
    let mut exchanges = Vec::new();
    for (ts_ns, _, payload) in &payloads {
        let message = parse_message(payload).expect("capture message parses");
        assert!(!message.partial);
        exchanges.extend(table.observe((), &message, *ts_ns));
    }

    let ec2 = name("ec2-18-196-145-224.eu-central-1.compute.amazonaws.com");
    assert_eq!(payloads.len(), 16);
    assert_eq!(exchanges.len(), 8);
    for exchange in &exchanges {
        assert!(exchange.latency_ns.is_some(), "{exchange:?}");
        assert_eq!(exchange.rcode, rcode::NOERROR);
        let answer = exchange.answers.as_slice().first().expect("one answer");
        match exchange.qtype {
            rtype::A => {
                assert_eq!(exchange.query_name, ec2);
                assert_eq!(answer.data, AnswerData::A(Ipv4Addr::new(172, 31, 17, 188)));
            }
            rtype::PTR => {
                assert_eq!(exchange.query_name, name("224.145.196.18.in-addr.arpa"));
                assert_eq!(answer.data, AnswerData::Ptr(ec2.clone()));
            }
            other => panic!("unexpected qtype {other}"),
        }
    }
}

#[test]
fn snaplen_capture_partial() {
    // Outer Ethernet, IPv4, UDP, GENEVE (no options), IPv4, UDP, VXLAN and the inner
    // Ethernet header: 100 bytes.
    let Some(payloads) = dns_payloads("geneve-ipv4-vxlan-dns-snaplen-truncated.pcap", 100) else {
        return;
    };
    let (_, _, response) = payloads
        .iter()
        .find(|(_, is_response, _)| *is_response)
        .expect("a response");
    let message = parse_message(response).expect("partial response parses");
    assert!(message.partial);
    assert_eq!(question_name(&message), "corelight.com");
    assert_eq!(message.answer_count, 2);
    let answers = message.answers.as_slice();
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers[0].data,
        AnswerData::A(Ipv4Addr::new(199, 60, 103, 6))
    );
    assert_eq!(answers[0].ttl, 60);
}
