//! DNS messages for the scenarios' UDP lookups in RFC 1035 wire format: a recursive
//! query with one question, and its response with answer records (A, AAAA, CNAME, TXT)
//! or, for NXDOMAIN, the zone's SOA in the authority section. Owner names and CNAME
//! targets are compressed with pointers to names written earlier, as servers do.

use std::net::{Ipv4Addr, Ipv6Addr};

pub use sensor::app::dns::{rcode, rtype};

const CLASS_IN: u16 = 1;
/// Header flags of a query: RD (recursion desired).
const FLAGS_QUERY: u16 = 0x0100;
/// Header flags of a response before the RCODE: QR, RD and RA.
const FLAGS_RESPONSE: u16 = 0x8180;
/// Largest label (RFC 1035 section 2.3.4); longer labels are cut to it.
const MAX_LABEL_BYTES: usize = 63;
/// Largest character string in a TXT record; longer strings are split.
const MAX_TXT_STRING: usize = 255;
/// Highest offset that a compression pointer can reach (14 bits).
const MAX_POINTER_OFFSET: usize = 0x3fff;
/// SOA serial (the common YYYYMMDDnn form), refresh, retry and expire, in seconds.
const SOA_TIMERS: [u32; 4] = [2_025_030_101, 7200, 900, 1_209_600];

/// Data of one resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The canonical name that the owner is an alias of.
    Cname(String),
    /// The record's text; written as character strings of up to 255 bytes.
    Txt(String),
    /// Start of authority of `zone`, sent with a negative answer. Its `minimum` field
    /// is the negative-caching TTL, in seconds (RFC 2308).
    Soa {
        zone: String,
        minimum: u32,
    },
}

impl Rdata {
    fn rtype(&self) -> u16 {
        match self {
            Rdata::A(_) => rtype::A,
            Rdata::Aaaa(_) => rtype::AAAA,
            Rdata::Cname(_) => rtype::CNAME,
            Rdata::Txt(_) => rtype::TXT,
            Rdata::Soa { .. } => rtype::SOA,
        }
    }
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub owner: String,
    /// Time to live, in seconds.
    pub ttl: u32,
    pub data: Rdata,
}

/// What a resolver answers to one question.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// Response code ([`rcode`]).
    pub rcode: u8,
    pub answers: Vec<Record>,
    /// Authority section: the SOA of a negative answer.
    pub authority: Vec<Record>,
}

/// Builds a recursive query for the `qtype` records of `name`.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut writer = Writer::new(id, FLAGS_QUERY, [1, 0, 0]);
    writer.question(name, qtype);
    writer.bytes
}

/// Builds the response to [`query`] that carries `reply`.
pub fn response(id: u16, name: &str, qtype: u16, reply: &Reply) -> Vec<u8> {
    let counts = [1, reply.answers.len() as u16, reply.authority.len() as u16];
    let flags = FLAGS_RESPONSE | u16::from(reply.rcode & 0x0f);
    let mut writer = Writer::new(id, flags, counts);
    writer.question(name, qtype);
    for record in reply.answers.iter().chain(&reply.authority) {
        writer.record(record);
    }
    writer.bytes
}

/// A message under construction, with the offsets of the names written so far for
/// compression.
struct Writer {
    bytes: Vec<u8>,
    /// (name suffix in lowercase, offset of its first label).
    written: Vec<(String, usize)>,
}

impl Writer {
    fn new(id: u16, flags: u16, [questions, answers, authority]: [u16; 3]) -> Writer {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&id.to_be_bytes());
        bytes.extend_from_slice(&flags.to_be_bytes());
        bytes.extend_from_slice(&questions.to_be_bytes());
        bytes.extend_from_slice(&answers.to_be_bytes());
        bytes.extend_from_slice(&authority.to_be_bytes());
        bytes.extend_from_slice(&0u16.to_be_bytes());
        Writer {
            bytes,
            written: Vec::new(),
        }
    }

    fn question(&mut self, name: &str, qtype: u16) {
        self.name(name);
        self.u16(qtype);
        self.u16(CLASS_IN);
    }

    fn record(&mut self, record: &Record) {
        self.name(&record.owner);
        self.u16(record.data.rtype());
        self.u16(CLASS_IN);
        self.bytes.extend_from_slice(&record.ttl.to_be_bytes());

        // RDLENGTH is known once the data is written.
        let length_at = self.bytes.len();
        self.u16(0);
        match &record.data {
            Rdata::A(addr) => self.bytes.extend_from_slice(&addr.octets()),
            Rdata::Aaaa(addr) => self.bytes.extend_from_slice(&addr.octets()),
            Rdata::Cname(target) => self.name(target),
            Rdata::Txt(text) => {
                for chunk in text.as_bytes().chunks(MAX_TXT_STRING) {
                    self.bytes.push(chunk.len() as u8);
                    self.bytes.extend_from_slice(chunk);
                }
            }
            Rdata::Soa { zone, minimum } => {
                self.name(&format!("ns1.{zone}"));
                self.name(&format!("hostmaster.{zone}"));
                for field in SOA_TIMERS.iter().chain([minimum]) {
                    self.bytes.extend_from_slice(&field.to_be_bytes());
                }
            }
        }
        let length = (self.bytes.len() - length_at - 2) as u16;
        self.bytes[length_at..length_at + 2].copy_from_slice(&length.to_be_bytes());
    }

    /// Writes `name`, ending in a pointer to the longest suffix already written.
    fn name(&mut self, name: &str) {
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = lower.split('.').filter(|l| !l.is_empty()).collect();
        for index in 0..labels.len() {
            let suffix = labels[index..].join(".");
            if let Some(&(_, offset)) = self.written.iter().find(|(s, _)| *s == suffix) {
                self.u16(0xc000 | offset as u16);
                return;
            }
            if self.bytes.len() <= MAX_POINTER_OFFSET {
                self.written.push((suffix, self.bytes.len()));
            }
            let label = labels[index].as_bytes();
            let label = &label[..label.len().min(MAX_LABEL_BYTES)];
            self.bytes.push(label.len() as u8);
            self.bytes.extend_from_slice(label);
        }
        self.bytes.push(0);
    }

    fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor::app::dns::{AnswerData, parse_message};

    fn a_reply(owner: &str) -> Reply {
        Reply {
            rcode: rcode::NOERROR,
            answers: vec![
                Record {
                    owner: owner.into(),
                    ttl: 60,
                    data: Rdata::Cname("edge.cdn.example.net".into()),
                },
                Record {
                    owner: "edge.cdn.example.net".into(),
                    ttl: 20,
                    data: Rdata::A(Ipv4Addr::new(192, 0, 2, 1)),
                },
            ],
            authority: Vec::new(),
        }
    }

    #[test]
    fn query_layout() {
        let message = query(0x1234, "a.example.com", rtype::A);
        // Header 12, name 1+1+1+7+1+3+1 = 15, type and class 4.
        assert_eq!(message.len(), 31);
        assert_eq!(&message[..6], &[0x12, 0x34, 0x01, 0x00, 0, 1]);
    }

    #[test]
    fn response_compresses_owner() {
        let message = response(7, "a.example.com", rtype::A, &a_reply("a.example.com"));
        // The first answer's owner is a pointer to the question name at offset 12.
        assert_eq!(&message[31..33], &[0xc0, 12]);
    }

    #[test]
    fn response_parses_cname_chain() {
        let message = response(7, "a.example.com", rtype::A, &a_reply("a.example.com"));
        let parsed = parse_message(&message).unwrap();
        let answers = parsed.answers.as_slice();
        assert_eq!(parsed.answer_count, 2);
        assert_eq!(answers.len(), 2);
        assert!(matches!(answers[0].data, AnswerData::Cname(_)));
        assert_eq!(answers[1].data, AnswerData::A(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(answers[1].ttl, 20);
        assert!(!parsed.partial);
    }

    #[test]
    fn nxdomain_parses() {
        let reply = Reply {
            rcode: rcode::NXDOMAIN,
            answers: Vec::new(),
            authority: vec![Record {
                owner: "com".into(),
                ttl: 900,
                data: Rdata::Soa {
                    zone: "com".into(),
                    minimum: 900,
                },
            }],
        };
        let message = response(9, "qwxkzv.com", rtype::A, &reply);
        let parsed = parse_message(&message).unwrap();
        assert_eq!(parsed.rcode(), rcode::NXDOMAIN);
        assert_eq!(parsed.answer_count, 0);
        assert!(!parsed.partial);
    }

    #[test]
    fn txt_splits_long_text() {
        let text = "x".repeat(300);
        let reply = Reply {
            rcode: rcode::NOERROR,
            answers: vec![Record {
                owner: "t.example.com".into(),
                ttl: 0,
                data: Rdata::Txt(text),
            }],
            authority: Vec::new(),
        };
        let message = response(1, "t.example.com", rtype::TXT, &reply);
        let parsed = parse_message(&message).unwrap();
        // Two character strings: 1 + 255 and 1 + 45 bytes.
        assert_eq!(
            parsed.answers.as_slice()[0].data,
            AnswerData::Txt { len: 302 }
        );
    }

    #[test]
    fn long_label_cut() {
        let name = format!("{}.example.com", "a".repeat(70));
        let parsed = parse_message(&query(1, &name, rtype::TXT)).unwrap();
        let question = parsed.question.unwrap();
        assert_eq!(question.qtype, rtype::TXT);
        assert_eq!(question.name.labels().next().map(<[u8]>::len), Some(63));
    }
}
