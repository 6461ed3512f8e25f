//! Picks the packets worth parsing and runs the application parsers on them.
//!
//! One extractor runs on each thread that receives frames (a queue worker, or the
//! replay loop), before a packet is steered to the thread that owns its flow,
//! because only that thread still has the frame bytes. Most packets are
//! skipped after a port or first-byte check. A ClientHello split over TCP
//! segments is reassembled here: the client's direction of a flow always
//! arrives on one queue, since the outer UDP source port that picks the queue
//! is a hash of the inner 5-tuple.

use std::net::IpAddr;

use crate::hash::HashMap;

use crate::{
    app::{
        dns::{self, AnswerData, DnsError, DnsMessage, TcpDnsBuffer},
        http,
        meta::{AppEvent, AppFinding, DnsMeta, HttpMeta, TlsMeta},
        quic::{self, QuicError},
        tls::{self, ClientHello, GiveUpReason, HelloBuffer, HelloProgress, TlsError, Transport},
    },
    decap::{Packet, tcp_flags},
    flow::FlowKey,
    text,
};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const DNS_PORT: u16 = 53;
const QUIC_PORT: u16 = 443;
/// ClientHellos being reassembled at once on one thread.
pub const MAX_PENDING_HELLOS: usize = 4096;
/// A reassembly that has not completed after this much packet time is ended
/// and reported partial (less than the 60 s default idle timeout, so the
/// finding reaches the flow writer before the flow's record).
const HELLO_TIMEOUT_NS: u64 = 30_000_000_000;
/// Packet time between two sweeps for such reassemblies.
const SWEEP_INTERVAL_NS: u64 = 1_000_000_000;

/// Parser outcomes, cumulative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppCounters {
    pub dns: u64,
    pub http: u64,
    pub tls: u64,
    pub quic: u64,
    /// Payloads a parser rejected, by protocol and reason: slot order as in
    /// [`reject_labels`].
    pub rejected: [u64; REJECT_SLOTS],
    /// ClientHello reassemblies given up (overflow, gaps) or dropped for room.
    pub hellos_abandoned: u64,
}

#[derive(Clone, Copy)]
struct SynState {
    isn: u32,
    payload_seen: bool,
}

impl Default for AppCounters {
    fn default() -> Self {
        AppCounters {
            dns: 0,
            http: 0,
            tls: 0,
            quic: 0,
            rejected: [0; REJECT_SLOTS],
            hellos_abandoned: 0,
        }
    }
}

/// Reject counter slots: every DNS, QUIC and TLS parse error reason.
pub const REJECT_SLOTS: usize = DnsError::COUNT + QuicError::COUNT + TlsError::COUNT;

/// Returns the `(protocol, reason)` labels of the reject slots, in slot order.
pub fn reject_labels() -> impl Iterator<Item = (&'static str, &'static str)> {
    let dns = DnsError::ALL.iter().map(|e| ("dns", e.label()));
    let quic = QuicError::ALL.iter().map(|e| ("quic", e.label()));
    let tls = TlsError::ALL.iter().map(|e| ("tls", e.label()));
    dns.chain(quic).chain(tls)
}

fn slot_of<E: PartialEq>(all: &[E], error: &E, base: usize) -> usize {
    base + all.iter().position(|e| e == error).unwrap_or(0)
}

struct PendingHello {
    buffer: HelloBuffer,
    started_ns: u64,
}

/// The per-thread application parser state.
#[derive(Default)]
pub struct AppExtractor {
    hellos: HashMap<FlowKey, PendingHello>,
    /// Partial ClientHellos of reassemblies dropped for room, for `expire`.
    dropped: Vec<AppEvent>,
    last_sweep_ns: u64,
    /// DNS-over-TCP message framing, per flow direction.
    dns_streams: HashMap<FlowKey, TcpDnsBuffer>,
    /// Initial sequence numbers from client SYNs, so that reassembly can start
    /// at the right byte even when the first data segment is late or tiny, and
    /// whether the direction's first payload has been seen.
    syns: HashMap<FlowKey, SynState>,
    /// The message that UDP payloads are parsed into, reused (it is about 4.5 KB).
    dns_message: Box<DnsMessage>,
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
        match dns::parse_message_into(payload, &mut self.dns_message) {
            Ok(()) => {
                self.counters.dns += 1;
                Some(dns_finding(&self.dns_message))
            }
            Err(error) => {
                self.counters.rejected[slot_of(&DnsError::ALL, &error, 0)] += 1;
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
            // Handshake, 0-RTT and Retry packets are valid QUIC, just not Initials.
            Err(QuicError::NotInitial) => None,
            Err(error) => {
                self.counters.rejected[slot_of(&QuicError::ALL, &error, DnsError::COUNT)] += 1;
                None
            }
        }
    }

    fn tcp(&mut self, packet: &Packet, payload: &[u8]) -> Option<AppFinding> {
        let key = packet.key;
        let flags = packet.tcp_flags;
        if flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN {
            // A new connection: whatever an earlier one on this 5-tuple left
            // behind belongs to that one.
            remove(&mut self.hellos, &key);
            remove(&mut self.dns_streams, &key);
            // The length test comes first, so the key is hashed only when the map is full.
            if self.syns.len() >= MAX_PENDING_HELLOS && !self.syns.contains_key(&key) {
                self.syns.clear();
            }
            self.syns.insert(
                key,
                SynState {
                    isn: packet.tcp_seq,
                    payload_seen: false,
                },
            );
            return None;
        }

        let mut finding = None;
        if !payload.is_empty() {
            finding = self.tcp_payload(packet, payload);
        }
        if flags & (tcp_flags::RST | tcp_flags::FIN) != 0 {
            // The client stopped before its ClientHello was whole: report what
            // it sent, marked partial.
            if finding.is_none() {
                finding = self.finish_hello(key);
            } else {
                remove(&mut self.hellos, &key);
            }
            remove(&mut self.dns_streams, &key);
            remove(&mut self.syns, &key);
        }
        finding
    }

    fn tcp_payload(&mut self, packet: &Packet, payload: &[u8]) -> Option<AppFinding> {
        let key = packet.key;
        let pending = if self.hellos.is_empty() {
            None
        } else {
            self.hellos.get_mut(&key)
        };
        if let Some(pending) = pending {
            let progress = pending.buffer.push(packet.tcp_seq, payload);
            let finding = self.hello_progress(key, progress);
            if finding.is_none() && packet.truncated {
                // The mirror session cut this segment, so the hello can never
                // complete: report the part that arrived.
                return self.finish_hello(key);
            }
            return finding;
        }
        if key.sport == DNS_PORT || key.dport == DNS_PORT {
            return self.tcp_dns(key, payload);
        }
        // The state before this segment; the direction's payload is seen from now on.
        let syn = self.syns.get_mut(&key).map(|state| {
            let before = *state;
            state.payload_seen = true;
            before
        });
        if syn.is_some_and(|state| state.payload_seen) {
            // Past the stream's opening bytes: nothing here starts a ClientHello
            // or a request.
            return None;
        }
        let expected = syn.map(|state| state.isn.wrapping_add(1));
        let out_of_order_start = expected.is_some_and(|seq| seq != packet.tcp_seq);
        if tls::starts_like_handshake(payload) || out_of_order_start {
            let finding = self.start_hello(packet, payload, expected);
            if finding.is_none() && packet.truncated {
                return self.finish_hello(key);
            }
            return finding;
        }
        // An HTTP request opens its direction's byte stream: when the SYN was
        // seen, only the first payload segment may hold one (a later segment
        // starting with a method name is body data).
        let opens_stream = expected.is_none_or(|seq| seq == packet.tcp_seq);
        if opens_stream && payload.first().is_some_and(u8::is_ascii_uppercase) {
            return match http::parse_request(payload) {
                Ok(request) => {
                    self.counters.http += 1;
                    Some(AppFinding::Http(HttpMeta {
                        method: request.method.as_str().to_owned(),
                        path: request.path.to_str_lossy().into_owned(),
                        host: request.host.as_ref().map(|h| h.to_str_lossy().into_owned()),
                        user_agent: request
                            .user_agent
                            .as_ref()
                            .map(|u| u.to_str_lossy().into_owned()),
                        partial: request.partial
                            || request.path.is_truncated()
                            || request.host.as_ref().is_some_and(|h| h.is_truncated())
                            || request
                                .user_agent
                                .as_ref()
                                .is_some_and(|u| u.is_truncated()),
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
        if self.dns_streams.len() >= MAX_PENDING_HELLOS && !self.dns_streams.contains_key(&key) {
            // No room: streams of flows that ended without FIN or RST linger
            // here, so start over rather than grow.
            self.dns_streams.clear();
        }
        let buffer = self.dns_streams.entry(key).or_default();
        let mut first = None;
        let rejected = &mut self.counters.rejected;
        buffer.push(payload, |message| match message {
            Ok(message) => {
                if first.is_none() {
                    first = Some(dns_finding(&message));
                }
            }
            Err(error) => rejected[slot_of(&DnsError::ALL, &error, 0)] += 1,
        });
        if first.is_some() {
            self.counters.dns += 1;
        }
        first
    }

    /// Starts reassembling a ClientHello, at `start` (the byte after the SYN)
    /// when the SYN was seen, else at this segment.
    fn start_hello(
        &mut self,
        packet: &Packet,
        payload: &[u8],
        start: Option<u32>,
    ) -> Option<AppFinding> {
        if self.hellos.len() >= MAX_PENDING_HELLOS {
            self.drop_stale_hellos(packet.ts_ns);
        }
        if self.hellos.len() >= MAX_PENDING_HELLOS {
            self.drop_oldest_hello();
        }
        let mut buffer = start.map_or_else(HelloBuffer::new, HelloBuffer::with_start);
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
                    Err(error) => {
                        let base = DnsError::COUNT + QuicError::COUNT;
                        self.counters.rejected[slot_of(&TlsError::ALL, &error, base)] += 1;
                        None
                    }
                }
            }
            HelloProgress::GaveUp(GiveUpReason::NotTls) => {
                // Not a ClientHello at all (a server's records, other protocols).
                self.hellos.remove(&key);
                None
            }
            HelloProgress::GaveUp(_) => {
                self.counters.hellos_abandoned += 1;
                self.finish_hello(key)
            }
            HelloProgress::Finished => {
                self.hellos.remove(&key);
                None
            }
        }
    }

    /// Ends the reassembly of `key`'s hello and reports what arrived, if it
    /// contains a parsable part of a ClientHello.
    fn finish_hello(&mut self, key: FlowKey) -> Option<AppFinding> {
        if self.hellos.is_empty() {
            return None;
        }
        let pending = self.hellos.remove(&key)?;
        let hello = pending.buffer.client_hello().ok()?;
        self.counters.tls += 1;
        Some(AppFinding::Tls(tls_meta(&hello, Transport::Tcp)))
    }

    /// Makes room by dropping the longest-pending reassembly. Its partial
    /// ClientHello is reported by the next `expire`.
    fn drop_oldest_hello(&mut self) {
        let oldest = self
            .hellos
            .iter()
            .min_by_key(|(_, pending)| pending.started_ns)
            .map(|(key, pending)| (*key, pending.started_ns));
        if let Some((key, started_ns)) = oldest {
            self.counters.hellos_abandoned += 1;
            self.keep_partial(key, started_ns);
        }
    }

    fn drop_stale_hellos(&mut self, now_ns: u64) {
        let stale: Vec<(FlowKey, u64)> = self
            .hellos
            .iter()
            .filter(|(_, pending)| now_ns.saturating_sub(pending.started_ns) >= HELLO_TIMEOUT_NS)
            .map(|(key, pending)| (*key, pending.started_ns))
            .collect();
        for (key, started_ns) in stale {
            self.counters.hellos_abandoned += 1;
            self.keep_partial(key, started_ns);
        }
    }

    /// Ends `key`'s reassembly and keeps its partial ClientHello, if any, for
    /// the next `expire`.
    fn keep_partial(&mut self, key: FlowKey, ts_ns: u64) {
        if let Some(finding) = self.finish_hello(key) {
            self.dropped.push(AppEvent {
                key: key.canonical().0,
                receiver: key.dst.to_ip(),
                ts_ns,
                finding,
            });
        }
    }

    /// Ends every pending reassembly (end of input, shutdown) and hands over
    /// the partial ClientHellos.
    pub fn finish(&mut self, emit: impl FnMut(AppEvent)) {
        let pending: Vec<(FlowKey, u64)> = self
            .hellos
            .iter()
            .map(|(key, pending)| (*key, pending.started_ns))
            .collect();
        for (key, started_ns) in pending {
            self.keep_partial(key, started_ns);
        }
        self.last_sweep_ns = 0;
        self.expire(0, emit);
    }

    /// Ends reassemblies pending for more than 30 s of packet time (the
    /// client went quiet: its flow will end by idle timeout) and hands over
    /// their partial ClientHellos, with those of reassemblies dropped for room.
    /// Sweeps at most once a second of packet time.
    pub fn expire(&mut self, now_ns: u64, mut emit: impl FnMut(AppEvent)) {
        if now_ns.saturating_sub(self.last_sweep_ns) >= SWEEP_INTERVAL_NS {
            self.last_sweep_ns = now_ns;
            self.drop_stale_hellos(now_ns);
        }
        for event in self.dropped.drain(..) {
            emit(event);
        }
    }
}

/// Returns the counters of `extractor`, all zero when payloads are not parsed
/// (`--no-app-metadata`).
pub fn counters_of(extractor: Option<&AppExtractor>) -> AppCounters {
    extractor.map_or_else(AppCounters::default, |extractor| *extractor.counters())
}

/// Removes `key` from `map`, without hashing it when the map is empty (the DNS streams
/// nearly always are).
fn remove<V>(map: &mut HashMap<FlowKey, V>, key: &FlowKey) {
    if !map.is_empty() {
        map.remove(key);
    }
}

fn dns_finding(message: &DnsMessage) -> AppFinding {
    let mut meta = DnsMeta {
        id: message.id,
        query: message.question.as_ref().map(|q| q.name.text()),
        qtype: message.question.as_ref().map(|q| q.qtype),
        partial: message.partial,
        ..DnsMeta::default()
    };
    if !message.is_response() {
        return AppFinding::DnsQuery(meta);
    }

    meta.rcode = Some(message.rcode());
    let answers = message.answers.as_slice();
    // Allocated at its final size, because the first push would take the slower
    // growth path.
    meta.answers = Vec::with_capacity(answers.len());
    for answer in answers {
        let text = match &answer.data {
            AnswerData::A(addr) => text::ip_text(IpAddr::V4(*addr)),
            AnswerData::Aaaa(addr) => text::ip_text(IpAddr::V6(*addr)),
            AnswerData::Cname(name) | AnswerData::Ptr(name) => name.text(),
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
        sni: hello.server_name().map(str::to_ascii_lowercase),
        alpn: hello
            .alpn
            .iter()
            .filter(|p| !is_grease_alpn(p))
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
        // A fingerprint over the values kept would be some other client's.
        ja4: if hello.truncated {
            None
        } else {
            tls::ja4(hello, transport).map(|fingerprint| fingerprint.to_string())
        },
        partial: hello.partial || hello.truncated,
    }
}

/// GREASE ALPN identifiers (RFC 8701) are two equal bytes of the form 0x?A.
fn is_grease_alpn(protocol: &[u8]) -> bool {
    matches!(protocol, [a, b] if a == b && a & 0x0f == 0x0a)
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

    /// Builds and decodes `frame`, returning the packet and the frame bytes.
    fn decoded(frame: Frame) -> (Packet, Vec<u8>) {
        let bytes = frame.build();
        let packet = Decoder::new(DecapConfig::default())
            .decode(&bytes, frame.wire_len(), 1_000)
            .expect("fixture frame decodes");
        (packet, bytes)
    }

    /// Decodes a client→server TCP segment from port `sport` to `dport`.
    fn tcp_to(sport: u16, dport: u16, flags: u8, seq: u32, payload: &[u8]) -> (Packet, Vec<u8>) {
        decoded(
            Frame::vxlan(7)
                .inner_ipv4(CLIENT, SERVER)
                .tcp(sport, dport, flags)
                .tcp_seq(seq, 1)
                .payload_bytes(payload),
        )
    }

    /// Decodes a client→server TLS segment carrying `payload` at `seq`.
    fn segment(seq: u32, payload: &[u8]) -> (Packet, Vec<u8>) {
        tcp_to(40000, 443, tcp_flags::ACK | tcp_flags::PSH, seq, payload)
    }

    /// Decodes a client→server TLS segment with `flags`.
    fn segment_with(flags: u8, seq: u32, payload: &[u8]) -> (Packet, Vec<u8>) {
        tcp_to(40000, 443, flags, seq, payload)
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

    /// Builds a DNS query for `example.net` (type A) with transaction id 0x1234.
    fn dns_query() -> Vec<u8> {
        let mut message = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(b"\x07example\x03net\x00");
        message.extend_from_slice(&[0, 1, 0, 1]);
        message
    }

    #[test]
    fn tcp_dns_after_syn_parsed() {
        let query = dns_query();
        let mut stream = (query.len() as u16).to_be_bytes().to_vec();
        stream.extend_from_slice(&query);
        let mut extractor = AppExtractor::new();
        let frame_of = |flags: u8, seq: u32, payload: &[u8]| tcp_to(40000, 53, flags, seq, payload);
        let (packet, frame) = frame_of(tcp_flags::SYN, 9, &[]);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = frame_of(tcp_flags::ACK, 10, &stream[..3]);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = frame_of(tcp_flags::ACK, 13, &stream[3..]);
        assert!(extractor.inspect(&packet, &frame).is_some(), "query parsed");
    }

    #[test]
    fn tcp_dns_split_message_parsed() {
        let query = dns_query();
        let mut stream = (query.len() as u16).to_be_bytes().to_vec();
        stream.extend_from_slice(&query);
        let (first, rest) = stream.split_at(5);

        let mut extractor = AppExtractor::new();
        let frame_of = |seq: u32, payload: &[u8]| {
            tcp_to(40000, 53, tcp_flags::ACK | tcp_flags::PSH, seq, payload)
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

    fn sni_of(event: Option<AppEvent>) -> Option<String> {
        match event?.finding {
            AppFinding::Tls(tls) => tls.sni,
            _ => None,
        }
    }

    #[test]
    fn one_byte_first_segment_reassembled() {
        let stream = HelloSpec::browser("tiny.example.net").records(16_384);
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment(100, &stream[..1]);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = segment(101, &stream[1..]);
        let sni = sni_of(extractor.inspect(&packet, &frame));
        assert_eq!(sni.as_deref(), Some("tiny.example.net"));
    }

    #[test]
    fn swapped_segments_after_syn_reassembled() {
        let stream = HelloSpec::browser("swap.example.net").records(16_384);
        let (first, rest) = stream.split_at(700);
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment_with(tcp_flags::SYN, 99, &[]);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = segment(800, rest);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = segment(100, first);
        let sni = sni_of(extractor.inspect(&packet, &frame));
        assert_eq!(sni.as_deref(), Some("swap.example.net"));
    }

    #[test]
    fn fin_before_complete_gives_partial() {
        let stream = HelloSpec::browser("cut.example.net").records(16_384);
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment(100, &stream[..300]);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = segment_with(tcp_flags::FIN | tcp_flags::ACK, 400, &[]);
        let event = extractor
            .inspect(&packet, &frame)
            .expect("partial hello reported");
        let AppFinding::Tls(tls) = event.finding else {
            panic!("expected TLS metadata, got {:?}", event.finding);
        };
        assert!(tls.partial, "marked partial");
        assert_eq!(tls.sni.as_deref(), Some("cut.example.net"));
    }

    #[test]
    fn full_table_drops_oldest_hello() {
        let stream = HelloSpec::browser("late.example.net").records(16_384);
        let mut extractor = AppExtractor::new();
        for i in 0..MAX_PENDING_HELLOS as u16 {
            let (packet, frame) = tcp_to(1000 + i, 443, tcp_flags::ACK, 1, &stream[..200]);
            extractor.inspect(&packet, &frame);
        }
        let (packet, frame) = segment(100, &stream);
        let sni = sni_of(extractor.inspect(&packet, &frame));
        assert_eq!(sni.as_deref(), Some("late.example.net"));
    }

    #[test]
    fn http_only_in_first_segment_after_syn() {
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment_with(tcp_flags::SYN, 99, &[]);
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = segment(100, b"\x00binary upload body");
        assert_eq!(extractor.inspect(&packet, &frame), None);
        let (packet, frame) = segment(120, b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            extractor.inspect(&packet, &frame),
            None,
            "mid-stream text is no request"
        );
    }

    #[test]
    fn http_request_after_syn_parsed() {
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment_with(tcp_flags::SYN, 99, &[]);
        extractor.inspect(&packet, &frame);
        let (packet, frame) = segment(100, b"GET /first HTTP/1.1\r\nHost: a.example\r\n\r\n");
        let event = extractor.inspect(&packet, &frame).expect("request parsed");
        let AppFinding::Http(http) = event.finding else {
            panic!("expected HTTP metadata, got {:?}", event.finding);
        };
        assert_eq!(http.path, "/first");
    }

    #[test]
    fn dns_reject_counted_by_reason() {
        // The question name is a compression pointer to itself, which is not
        // strictly backward.
        let mut message = vec![0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        let (packet, bytes) = decoded(
            Frame::vxlan(7)
                .inner_ipv4(CLIENT, SERVER)
                .udp(40000, 53)
                .payload_bytes(&message),
        );

        let mut extractor = AppExtractor::new();
        assert_eq!(extractor.inspect(&packet, &bytes), None);
        let counted: Vec<(&str, &str)> = reject_labels()
            .zip(extractor.counters().rejected)
            .filter(|(_, count)| *count > 0)
            .map(|(labels, _)| labels)
            .collect();
        assert_eq!(counted, vec![("dns", DnsError::NamePointerForward.label())]);
    }

    #[test]
    fn quiet_client_hello_reported_partial() {
        let stream = HelloSpec::browser("quiet.example.net").records(16_384);
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment(100, &stream[..300]);
        assert_eq!(extractor.inspect(&packet, &frame), None);

        let mut events = Vec::new();
        extractor.expire(packet.ts_ns + 10_000_000_000, |event| events.push(event));
        assert!(events.is_empty(), "still waiting after 10 s");
        extractor.expire(packet.ts_ns + HELLO_TIMEOUT_NS + 1, |event| {
            events.push(event)
        });
        assert_eq!(events.len(), 1, "reported after the timeout");
        let AppFinding::Tls(tls) = &events[0].finding else {
            panic!("expected TLS metadata, got {:?}", events[0].finding);
        };
        assert!(tls.partial, "marked partial");
        assert_eq!(tls.sni.as_deref(), Some("quiet.example.net"));
    }

    #[test]
    fn finish_reports_pending_hellos() {
        let stream = HelloSpec::browser("end.example.net").records(16_384);
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment(100, &stream[..300]);
        extractor.inspect(&packet, &frame);
        let mut events = Vec::new();
        extractor.finish(|event| events.push(event));
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn plain_payload_gives_nothing() {
        let mut extractor = AppExtractor::new();
        let (packet, frame) = segment(1, b"\x00\x01binary");
        assert_eq!(extractor.inspect(&packet, &frame), None);
    }
}
