//! One DNS message (RFC 1035 section 4.1): the header, the first question and the first
//! [`MAX_ANSWERS`] answer records. The authority and additional sections are not read.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::DnsError;
use super::name::{DnsName, NameError, read_name_into};

/// Answer records kept per message. Later answers are counted in
/// [`DnsMessage::answer_count`] but neither read nor validated.
///
/// NOTE: 8 holds a CNAME chain of two plus six addresses. Responses with more addresses
/// (large CDN pools) lose the rest.
pub const MAX_ANSWERS: usize = 8;

const HEADER_BYTES: usize = 12;

/// Resource record types (IANA DNS parameters) that the parser or its callers name.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const NULL: u16 = 10;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const OPT: u16 = 41;
    pub const SVCB: u16 = 64;
    pub const HTTPS: u16 = 65;
    pub const ANY: u16 = 255;
}

/// Response codes of the header's 4-bit RCODE field (RFC 1035 section 4.1.1).
pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
}

/// The header's second 16-bit word: QR, opcode, AA, TC, RD, RA, Z, AD, CD and RCODE
/// (RFC 1035 section 4.1.1, RFC 4035 section 3.2 for AD and CD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DnsFlags(pub u16);

impl DnsFlags {
    /// QR: the message is a response.
    pub fn qr(self) -> bool {
        self.0 & 0x8000 != 0
    }

    /// The 4-bit opcode (0 standard query).
    pub fn opcode(self) -> u8 {
        ((self.0 >> 11) & 0x0f) as u8
    }

    /// AA: authoritative answer.
    pub fn aa(self) -> bool {
        self.0 & 0x0400 != 0
    }

    /// TC: the sender truncated the message to fit UDP; the client retries over TCP.
    pub fn tc(self) -> bool {
        self.0 & 0x0200 != 0
    }

    /// RD: recursion desired.
    pub fn rd(self) -> bool {
        self.0 & 0x0100 != 0
    }

    /// RA: recursion available.
    pub fn ra(self) -> bool {
        self.0 & 0x0080 != 0
    }

    /// AD: authentic data (DNSSEC).
    pub fn ad(self) -> bool {
        self.0 & 0x0020 != 0
    }

    /// CD: checking disabled (DNSSEC).
    pub fn cd(self) -> bool {
        self.0 & 0x0010 != 0
    }

    /// The 4-bit response code (see [`rcode`]).
    ///
    /// NOTE: the upper 8 bits of an extended RCODE live in the OPT record of the
    /// additional section, which is not read, so BADVERS and higher codes appear as
    /// their low 4 bits.
    pub fn rcode(self) -> u8 {
        (self.0 & 0x000f) as u8
    }
}

/// The first entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: DnsName,
    pub qtype: u16,
    pub qclass: u16,
}

impl Question {
    const EMPTY: Question = Question {
        name: DnsName::ROOT,
        qtype: 0,
        qclass: 0,
    };
}

/// Data of an answer record, decoded for the types the sensor uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The canonical name the owner is an alias of.
    Cname(DnsName),
    /// The name of a reverse (`in-addr.arpa`, `ip6.arpa`) lookup.
    Ptr(DnsName),
    /// TXT data length in bytes (all character strings with their length bytes).
    Txt {
        len: u16,
    },
    /// NULL data length in bytes.
    Null {
        len: u16,
    },
    /// Data length in bytes of any other type (the type is [`Answer::rtype`]).
    Other {
        len: u16,
    },
}

/// One answer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Owner name.
    pub name: DnsName,
    pub rtype: u16,
    pub class: u16,
    /// Time to live in seconds. Values with the top bit set read as 0 (RFC 2181
    /// section 8).
    pub ttl: u32,
    pub data: AnswerData,
}

impl Answer {
    const EMPTY: Answer = Answer {
        name: DnsName::ROOT,
        rtype: 0,
        class: 0,
        ttl: 0,
        data: AnswerData::Other { len: 0 },
    };
}

/// Up to [`MAX_ANSWERS`] answer records in a fixed array, so parsing allocates nothing.
#[derive(Clone)]
pub struct Answers {
    items: [Answer; MAX_ANSWERS],
    len: usize,
}

impl Answers {
    /// Creates an empty list.
    pub const fn new() -> Answers {
        Answers {
            items: [Answer::EMPTY; MAX_ANSWERS],
            len: 0,
        }
    }

    /// Returns the stored answers in message order.
    pub fn as_slice(&self) -> &[Answer] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Appends `answer`, or returns `false` when the list is full.
    pub fn push(&mut self, answer: Answer) -> bool {
        let Some(slot) = self.items.get_mut(self.len) else {
            return false;
        };
        *slot = answer;
        self.len += 1;
        true
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// Compares the stored records only. The free slots of a reused list contain older
/// records, which do not count.
impl PartialEq for Answers {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Answers {}

impl Default for Answers {
    fn default() -> Self {
        Answers::new()
    }
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// A parsed DNS message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsMessage {
    /// Transaction id.
    pub id: u16,
    pub flags: DnsFlags,
    /// QDCOUNT from the header.
    pub question_count: u16,
    /// ANCOUNT from the header. It exceeds the length of `answers` when the message has
    /// more than [`MAX_ANSWERS`] answers or was cut.
    pub answer_count: u16,
    /// The first question; `None` when QDCOUNT is 0 or the message ends inside it.
    pub question: Option<Question>,
    pub answers: Answers,
    /// The message ends before the question and answer sections that its header
    /// announces: the capture or the sender cut it.
    pub partial: bool,
}

impl DnsMessage {
    /// Returns whether this is a response (the QR bit).
    pub fn is_response(&self) -> bool {
        self.flags.qr()
    }

    /// Returns the response code (see [`rcode`]).
    pub fn rcode(&self) -> u8 {
        self.flags.rcode()
    }
}

/// Parses one DNS message: a UDP payload, or a TCP message without its length prefix.
///
/// A message cut after the header gives what was read, with `partial` set: a response
/// cut after its question still gives the query name. Invalid names and record data
/// reject the whole message.
pub fn parse_message(message: &[u8]) -> Result<DnsMessage, DnsError> {
    let mut parsed = DnsMessage::default();
    parse_message_into(message, &mut parsed)?;
    Ok(parsed)
}

/// Parses like [`parse_message`], into `parsed`, overwriting all of it. A message is
/// about 4.5 KB, so a packet thread keeps one and parses every message in place instead
/// of moving a new one around. On error `parsed` contains an unspecified part of the
/// message.
pub fn parse_message_into(message: &[u8], parsed: &mut DnsMessage) -> Result<(), DnsError> {
    let header = message.get(..HEADER_BYTES).ok_or(DnsError::HeaderShort)?;
    let word = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    parsed.id = word(0);
    parsed.flags = DnsFlags(word(2));
    parsed.question_count = word(4);
    parsed.answer_count = word(6);
    parsed.answers.clear();
    parsed.partial = false;
    let mut pos = HEADER_BYTES;

    // Every question is read to find where the answers start. Each takes at least five
    // bytes, so the loop ends at the end of the message. Questions after the first are
    // read into `skipped` and dropped.
    let mut skipped = None;
    for index in 0..parsed.question_count {
        let question = if index == 0 {
            parsed.question.get_or_insert(Question::EMPTY)
        } else {
            skipped.get_or_insert(Question::EMPTY)
        };
        match read_question(message, pos, question) {
            Ok(next) => pos = next,
            Err(error) => {
                if index == 0 {
                    parsed.question = None;
                }
                return match error {
                    NameError::Truncated => {
                        parsed.partial = true;
                        Ok(())
                    }
                    NameError::Invalid(error) => Err(error),
                };
            }
        }
    }
    if parsed.question_count == 0 {
        parsed.question = None;
    }

    for _ in 0..parsed.answer_count {
        let Some(slot) = parsed.answers.items.get_mut(parsed.answers.len) else {
            break;
        };
        match read_answer(message, pos, slot) {
            Ok(next) => {
                parsed.answers.len += 1;
                pos = next;
            }
            Err(NameError::Truncated) => {
                parsed.partial = true;
                return Ok(());
            }
            Err(NameError::Invalid(error)) => return Err(error),
        }
    }
    Ok(())
}

/// Reads a big-endian u16 at `at`.
fn read_u16(message: &[u8], at: usize) -> Result<u16, NameError> {
    let bytes = message.get(at..at + 2).ok_or(NameError::Truncated)?;
    Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Reads a question into `question` and returns the offset after it.
fn read_question(
    message: &[u8],
    start: usize,
    question: &mut Question,
) -> Result<usize, NameError> {
    let pos = read_name_into(message, start, &mut question.name)?;
    question.qtype = read_u16(message, pos)?;
    question.qclass = read_u16(message, pos + 2)?;
    Ok(pos + 4)
}

/// Reads a resource record of the answer section into `answer` and returns the offset
/// after it.
fn read_answer(message: &[u8], start: usize, answer: &mut Answer) -> Result<usize, NameError> {
    let pos = read_name_into(message, start, &mut answer.name)?;
    let rtype = read_u16(message, pos)?;
    let class = read_u16(message, pos + 2)?;
    let ttl_high = read_u16(message, pos + 4)?;
    let ttl_low = read_u16(message, pos + 6)?;
    let rdlength = read_u16(message, pos + 8)?;
    let rdata_start = pos + 10;
    let rdata_end = rdata_start + usize::from(rdlength);
    let rdata = message
        .get(rdata_start..rdata_end)
        .ok_or(NameError::Truncated)?;

    let ttl = u32::from(ttl_high) << 16 | u32::from(ttl_low);
    answer.rtype = rtype;
    answer.class = class;
    answer.ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
    answer.data = match rtype {
        rtype::A => {
            let octets: [u8; 4] = rdata.try_into().map_err(|_| DnsError::RdataInvalid)?;
            AnswerData::A(Ipv4Addr::from(octets))
        }
        rtype::AAAA => {
            let octets: [u8; 16] = rdata.try_into().map_err(|_| DnsError::RdataInvalid)?;
            AnswerData::Aaaa(Ipv6Addr::from(octets))
        }
        rtype::CNAME | rtype::PTR => {
            let name = name_data(&mut answer.data, rtype).ok_or(DnsError::RdataInvalid)?;
            read_rdata_name(message, rdata_start, rdata_end, name)?;
            return Ok(rdata_end);
        }
        rtype::TXT => AnswerData::Txt { len: rdlength },
        rtype::NULL => AnswerData::Null { len: rdlength },
        _ => AnswerData::Other { len: rdlength },
    };
    Ok(rdata_end)
}

/// Makes `data` the CNAME or PTR variant for `rtype`, keeping its name buffer when it
/// already is that variant, and returns the name to read into. `None` for other types.
fn name_data(data: &mut AnswerData, rtype: u16) -> Option<&mut DnsName> {
    let same = matches!(
        (&*data, rtype),
        (AnswerData::Cname(_), rtype::CNAME) | (AnswerData::Ptr(_), rtype::PTR)
    );
    if !same {
        *data = match rtype {
            rtype::CNAME => AnswerData::Cname(DnsName::ROOT),
            rtype::PTR => AnswerData::Ptr(DnsName::ROOT),
            _ => return None,
        };
    }
    match data {
        AnswerData::Cname(name) | AnswerData::Ptr(name) => Some(name),
        _ => None,
    }
}

/// Reads a name that must fill the record data from `start` to `end` exactly. The data
/// is known to lie inside the message, so running past its end is invalid data, not a
/// cut message.
fn read_rdata_name(
    message: &[u8],
    start: usize,
    end: usize,
    name: &mut DnsName,
) -> Result<(), NameError> {
    let inside = message.get(..end).unwrap_or(message);
    match read_name_into(inside, start, name) {
        Ok(inline_end) if inline_end == end => Ok(()),
        Ok(_) | Err(NameError::Truncated) => Err(DnsError::RdataInvalid.into()),
        Err(error) => Err(error),
    }
}
