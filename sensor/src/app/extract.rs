//! Picks the packets worth parsing and runs the application parsers on them.
//!
//! One extractor runs on each thread that sees frames (a queue worker, or the
//! replay loop), before a packet is steered to the thread that owns its flow,
//! because only that thread still has the frame bytes. Most packets are
//! skipped after a port or first-byte check. A ClientHello split over TCP
//! segments is reassembled here: the client's direction of a flow always
//! arrives on one queue, since the outer UDP source port that picks the queue
//! is a hash of the inner 5-tuple.

use std::collections::HashMap;

use crate::{
    app::{
        dns::{self, AnswerData, DnsMessage, TcpDnsBuffer},
        http,
        meta::{AppEvent, AppFinding, DnsMeta, HttpMeta, TlsMeta},
        quic,
        tls::{self, ClientHello, HelloBuffer, HelloProgress, Transport},
    },
    decap::{Packet, tcp_flags},
    flow::FlowKey,
};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const DNS_PORT: u16 = 53;
const QUIC_PORT: u16 = 443;
/// ClientHellos being reassembled at once on one thread.
pub const MAX_PENDING_HELLOS: usize = 4096;
/// A reassembly that has not completed after this much packet time is dropped.
const HELLO_TIMEOUT_NS: u64 = 30_000_000_000;

/// Parser outcomes, cumulative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppCounters {
    pub dns: u64,
    pub http: u64,
    pub tls: u64,
    pub quic: u64,
    /// Payloads a parser rejected (malformed, not the protocol the port suggests).
    pub rejected: u64,
    /// ClientHello reassemblies given up (overflow, gaps) or dropped for room.
    pub hellos_abandoned: u64,
}

struct PendingHello {
    buffer: HelloBuffer,
    started_ns: u64,
}

/// The per-thread application parser state.
#[derive(Default)]
pub struct AppExtractor {
    hellos: HashMap<FlowKey, PendingHello>,
    /// DNS-over-TCP message framing, per flow direction.
    dns_streams: HashMap<FlowKey, TcpDnsBuffer>,
    counters: AppCounters,
}

impl AppExtractor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters since the extractor was created.
    pub fn counters(&self) -> &AppCounters {
        &self.counters
    }

    /// Parses `packet`'s payload in `frame` when it may carry DNS, an HTTP
    /// request, a TLS ClientHello or a QUIC Initial.
    pub fn inspect(&mut self, packet: &Packet, frame: &[u8]) -> Option<AppEvent> {
        let payload = packet.payload(frame);
        let key = packet.key;
        let finding = match key.protocol {
            PROTO_UDP if payload.is_empty() => None,
            PROTO_UDP if key.sport == DNS_PORT || key.dport == DNS_PORT => self.dns(payload),
            PROTO_UDP if key.dport == QUIC_PORT => self.quic(payload),
            PROTO_TCP => self.tcp(packet, payload),
            _ => None,
        }?;
        Some(AppEvent {
            key: key.canonical().0,
            receiver: key.dst.to_ip(),
            ts_ns: packet.ts_ns,
            finding,
        })
    }

    fn dns(&mut self, payload: &[u8]) -> Option<AppFinding> {
        match dns::parse_message(payload) {
            Ok(message) => {
                self.counters.dns += 1;
                Some(dns_finding(&message))
            }
            Err(_) => {
                self.counters.rejected += 1;
                None
            }
        }
    }

    fn quic(&mut self, datagram: &[u8]) -> Option<AppFinding> {
        // Only long-header packets can be Initials.
        if datagram.first().is_none_or(|b| b & 0x80 == 0) {
            return None;
        }
        // NOTE: each datagram is parsed on its own, so a ClientHello spread over
        // several Initial datagrams yields the partial hello of the first one.
        match quic::parse_initial(datagram) {
            Ok(hello) => {
                let client_hello = hello.client_hello.ok()?;
                self.counters.quic += 1;
                Some(AppFinding::Tls(tls_meta(&client_hello, Transport::Quic)))
            }
            Err(_) => {
                self.counters.rejected += 1;
                None
            }
        }
    }

    fn tcp(&mut self, packet: &Packet, payload: &[u8]) -> Option<AppFinding> {
        let key = packet.key;
        if packet.tcp_flags & (tcp_flags::RST | tcp_flags::FIN) != 0 {
            self.hellos.remove(&key);
            self.dns_streams.remove(&key);
        }
        if payload.is_empty() {
            return None;
        }

        if let Some(pending) = self.hellos.get_mut(&key) {
            let progress = pending.buffer.push(packet.tcp_seq, payload);
            return self.hello_progress(key, progress);
        }
        if tls::starts_like_handshake(payload) && payload.len() >= 2 {
            return self.start_hello(packet, payload);
        }
        if key.sport == DNS_PORT || key.dport == DNS_PORT {
            return self.tcp_dns(key, payload);
        }
        if payload.first().is_some_and(u8::is_ascii_uppercase) {
            return match http::parse_request(payload) {
                Ok(request) => {
                    self.counters.http += 1;
                    Some(AppFinding::Http(HttpMeta {
                        method: request.method.as_str().to_owned(),
                        path: request.path.to_str_lossy().into_owned(),
                        host: request.host.map(|h| h.to_str_lossy().into_owned()),
                        user_agent: request.user_agent.map(|u| u.to_str_lossy().into_owned()),
                        partial: request.partial || request.path.is_truncated(),
                    }))
                }
                Err(_) => None,
            };
        }
        None
    }

    /// DNS over TCP: each direction is a stream of messages with a 2-byte
    /// length prefix. Returns the first message this segment completes.
    ///
    /// NOTE: segments are taken in arrival order; a reordered or lost segment
    /// desynchronises the framing until the stream's buffer is reset by FIN/RST.
    fn tcp_dns(&mut self, key: FlowKey, payload: &[u8]) -> Option<AppFinding> {
        if !self.dns_streams.contains_key(&key) && self.dns_streams.len() >= MAX_PENDING_HELLOS {
            // No room: streams of flows that ended without FIN or RST linger
            // here, so start over rather than grow.
            self.dns_streams.clear();
        }
        let buffer = self.dns_streams.entry(key).or_default();
        let mut first = None;
        let mut rejected = 0;
        buffer.push(payload, |message| match message {
            Ok(message) => {
                if first.is_none() {
                    first = Some(dns_finding(&message));
                }
            }
            Err(_) => rejected += 1,
        });
        self.counters.rejected += rejected;
        if first.is_some() {
            self.counters.dns += 1;
        }
        first
    }

    fn start_hello(&mut self, packet: &Packet, payload: &[u8]) -> Option<AppFinding> {
        if self.hellos.len() >= MAX_PENDING_HELLOS {
            self.drop_stale_hellos(packet.ts_ns);
        }
        if self.hellos.len() >= MAX_PENDING_HELLOS {
            self.counters.hellos_abandoned += 1;
            return None;
        }
        let mut buffer = HelloBuffer::new();
        let progress = buffer.push(packet.tcp_seq, payload);
        self.hellos.insert(
            packet.key,
            PendingHello {
                buffer,
                started_ns: packet.ts_ns,
            },
        );
        self.hello_progress(packet.key, progress)
    }

    fn hello_progress(&mut self, key: FlowKey, progress: HelloProgress) -> Option<AppFinding> {
        match progress {
            HelloProgress::NeedMore => None,
            HelloProgress::Complete => {
                let pending = self.hellos.remove(&key)?;
                match pending.buffer.client_hello() {
                    Ok(hello) => {
                        self.counters.tls += 1;
                        Some(AppFinding::Tls(tls_meta(&hello, Transport::Tcp)))
                    }
                    Err(_) => {
                        self.counters.rejected += 1;
                        None
                    }
                }
            }
            HelloProgress::GaveUp(_) | HelloProgress::Finished => {
                self.hellos.remove(&key);
                self.counters.hellos_abandoned += 1;
                None
            }
        }
    }

    fn drop_stale_hellos(&mut self, now_ns: u64) {
        let before = self.hellos.len();
        self.hellos
            .retain(|_, pending| now_ns.saturating_sub(pending.started_ns) < HELLO_TIMEOUT_NS);
        self.counters.hellos_abandoned += (before - self.hellos.len()) as u64;
    }
}

fn dns_finding(message: &DnsMessage) -> AppFinding {
    let mut meta = DnsMeta {
        id: message.id,
        query: message.question.as_ref().map(|q| q.name.to_string()),
        qtype: message.question.as_ref().map(|q| q.qtype),
        partial: message.partial,
        ..DnsMeta::default()
    };
    if !message.is_response() {
        return AppFinding::DnsQuery(meta);
    }

    meta.rcode = Some(message.rcode());
    for answer in message.answers.as_slice() {
        let text = match &answer.data {
            AnswerData::A(addr) => addr.to_string(),
            AnswerData::Aaaa(addr) => addr.to_string(),
            AnswerData::Cname(name) | AnswerData::Ptr(name) => name.to_string(),
            _ => continue,
        };
        meta.answers.push(text);
        meta.min_ttl = Some(meta.min_ttl.map_or(answer.ttl, |ttl| ttl.min(answer.ttl)));
    }
    AppFinding::DnsResponse(meta)
}

fn tls_meta(hello: &ClientHello, transport: Transport) -> TlsMeta {
    TlsMeta {
        transport: match transport {
            Transport::Tcp => "tcp",
            Transport::Quic => "quic",
        },
        version: hello.version(),
        sni: hello.server_name().map(str::to_owned),
        alpn: hello
            .alpn
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
        ja4: tls::ja4(hello, transport).map(|fingerprint| fingerprint.to_string()),
        partial: hello.partial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        app::tls::tests::HelloSpec,
        decap::{DecapConfig, Decoder},
        fixture::Frame,
    };

    const CLIENT: [u8; 4] = [10, 0, 0, 9];
    const SERVER: [u8; 4] = [198, 51, 100, 20];

    /// Decodes a client→server TCP segment carrying `payload` at `seq`.
    fn segment(seq: u32, payload: &[u8]) -> (Packet, Vec<u8>) {
        let frame = Frame::vxlan(7)
            .inner_ipv4(CLIENT, SERVER)
            .tcp(40000, 443, tcp_flags::ACK | tcp_flags::PSH)
            .tcp_seq(seq, 1)
            .payload_bytes(payload);
        let bytes = frame.build();
        let packet = Decoder::new(DecapConfig::default())
            .decode(&bytes, frame.wire_len(), 1_000)
            .expect("fixture frame decodes");
        (packet, bytes)
    }

    #[test]
    fn split_client_hello_gives_sni() {
        let stream = HelloSpec::browser("update-check.example.net").records(16_384);
        assert!(stream.len() > 1460, "hello spans segments");
        let (first, rest) = stream.split_at(1000);

        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment(100, first);
        assert_eq!(extractor.inspect(&packet, &frame), None);

        let (packet, frame) = segment(1100, rest);
        let event = extractor.inspect(&packet, &frame).expect("hello complete");
        let AppFinding::Tls(tls) = event.finding else {
            panic!("expected TLS metadata, got {:?}", event.finding);
        };
        assert_eq!(tls.sni.as_deref(), Some("update-check.example.net"));
        assert_eq!(tls.transport, "tcp");
        assert!(tls.ja4.is_some(), "JA4 present");
        assert_eq!(extractor.counters().tls, 1);
    }

    /// A DNS query for `example.net` (type A) with transaction id 0x1234.
    fn dns_query() -> Vec<u8> {
        let mut message = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(b"\x07example\x03net\x00");
        message.extend_from_slice(&[0, 1, 0, 1]);
        message
    }

    #[test]
    fn tcp_dns_split_message_parsed() {
        let query = dns_query();
        let mut stream = (query.len() as u16).to_be_bytes().to_vec();
        stream.extend_from_slice(&query);
        let (first, rest) = stream.split_at(5);

        let mut extractor = AppExtractor::new();
        let frame_of = |seq: u32, payload: &[u8]| {
            let frame = Frame::vxlan(7)
                .inner_ipv4(CLIENT, SERVER)
                .tcp(40000, 53, tcp_flags::ACK | tcp_flags::PSH)
                .tcp_seq(seq, 1)
                .payload_bytes(payload);
            let bytes = frame.build();
            let packet = Decoder::new(DecapConfig::default())
                .decode(&bytes, frame.wire_len(), 1_000)
                .expect("fixture frame decodes");
            (packet, bytes)
        };

        let (packet, frame) = frame_of(1, first);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = frame_of(6, rest);
        let event = extractor.inspect(&packet, &frame).expect("query complete");
        let AppFinding::DnsQuery(dns) = event.finding else {
            panic!("expected a DNS query, got {:?}", event.finding);
        };
        assert_eq!(dns.query.as_deref(), Some("example.net"));
        assert_eq!(dns.id, 0x1234);
    }

    #[test]
    fn plain_payload_gives_nothing() {
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment(1, b"\x00\x01binary");
        assert_eq!(extractor.inspect(&packet, &frame), None);
    }
}
