//! The built-in default workload: a seeded, deterministic set of complete conversations
//! (TCP sessions, DNS lookups, ICMP echoes, over IPv4 and IPv6), wrapped as AWS VPC
//! Traffic Mirroring sends them. The same seed and settings give the same frames.
//!
//! Inner addresses come from ranges that never reach a real network: clients in
//! 10.0.1.0/24 and fd00:10:0:1::/64, internal servers in 10.0.100.0/24 and
//! fd00:10:0:100::/64, external servers in the documentation ranges 198.51.100.0/24,
//! 203.0.113.0/24 and 2001:db8::/32, names under example.com.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sensor::decap::tcp_flags::{ACK, FIN, PSH, SYN};
use sensor::fixture::{AwsOuter, Frame, wrap_aws_vxlan};

/// IP protocol numbers of the conversations.
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

/// Largest TCP payload per segment. With the inner IPv6 and TCP headers, the inner
/// Ethernet header and the 50 bytes of AWS encapsulation, a frame stays within a
/// 1500-byte MTU.
const MAX_SEGMENT: usize = 1300;
/// Conversations in progress at once; their packets are interleaved.
const MAX_ACTIVE: usize = 16;
/// Monitored client devices; conversations pick one of them.
const CLIENT_COUNT: u8 = 20;
/// Server ports of the TCP sessions.
const TCP_PORTS: [u16; 5] = [443, 443, 80, 22, 5432];
const DNS_PORT: u16 = 53;
/// Client ports: the Linux default ephemeral range.
const EPHEMERAL_PORTS: std::ops::Range<u16> = 32768..61000;
const ECHO_PAYLOAD: usize = 56;
/// Draws of a client port or echo identifier before a repeat of one already used is
/// accepted (and the two conversations share one flow).
const MAX_PORT_DRAWS: u32 = 64;

/// Settings of the synthetic workload.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadConfig {
    /// Number of conversations.
    pub flows: u32,
    pub seed: u64,
    /// Outer headers of every frame (one mirror source, one session).
    pub outer: AwsOuter,
}

/// Kind of conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationKind {
    /// Handshake, a request, a response in several segments, FIN both ways.
    Tcp,
    /// One UDP query and its response.
    Dns,
    /// One to three echo requests, each with its reply.
    IcmpEcho,
}

/// One conversation of the workload, with the totals a flow record should show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub kind: ConversationKind,
    /// IP protocol number.
    pub protocol: u8,
    pub client: IpAddr,
    pub server: IpAddr,
    /// Client port; the echo identifier for ICMP and ICMPv6.
    pub client_port: u16,
    /// Server port; 0 for ICMP and ICMPv6.
    pub server_port: u16,
    /// Packets in both directions.
    pub packets: u32,
    /// Inner IP bytes in both directions: the IPv4 total length, or 40 plus the IPv6
    /// payload length, of each packet.
    pub ip_bytes: u64,
}

/// The generated workload.
#[derive(Debug, Clone)]
pub struct Workload {
    pub conversations: Vec<Conversation>,
    /// Mirror frames in send order.
    pub frames: Vec<Vec<u8>>,
    /// For each frame, the index of its conversation.
    pub frame_conversation: Vec<usize>,
}

/// Generates the workload for `cfg`.
pub fn generate(cfg: &WorkloadConfig) -> Workload {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut used = UsedEndpoints::default();
    let mut conversations = Vec::new();
    let mut pending: Vec<(usize, std::vec::IntoIter<Vec<u8>>)> = Vec::new();
    let mut workload = Workload {
        conversations: Vec::new(),
        frames: Vec::new(),
        frame_conversation: Vec::new(),
    };

    let total = cfg.flows as usize;
    while conversations.len() < total || !pending.is_empty() {
        // Keep MAX_ACTIVE conversations in progress, then send the next packet of a
        // random one of them.
        while pending.len() < MAX_ACTIVE && conversations.len() < total {
            let (conversation, inner_frames) = conversation(&mut rng, &mut used);
            pending.push((conversations.len(), inner_frames.into_iter()));
            conversations.push(conversation);
        }
        let slot = rng.random_range(0..pending.len());
        let (index, frames) = &mut pending[slot];
        match frames.next() {
            Some(inner) => {
                workload.frames.push(wrap_aws_vxlan(&inner, &cfg.outer));
                workload.frame_conversation.push(*index);
            }
            None => {
                pending.swap_remove(slot);
            }
        }
    }
    workload.conversations = conversations;
    workload
}

/// Client endpoints already in the workload, as (protocol, client, port or echo id), so
/// that each conversation becomes its own flow.
#[derive(Default)]
struct UsedEndpoints(HashSet<(u8, IpAddr, u16)>);

impl UsedEndpoints {
    /// Draws a port (or echo identifier) from `range` that `client` has not used for
    /// `protocol`, giving up after MAX_PORT_DRAWS draws.
    fn draw(
        &mut self,
        rng: &mut ChaCha8Rng,
        protocol: u8,
        client: IpAddr,
        range: std::ops::Range<u16>,
    ) -> u16 {
        let mut port = rng.random_range(range.clone());
        for _ in 1..MAX_PORT_DRAWS {
            if !self.0.contains(&(protocol, client, port)) {
                break;
            }
            port = rng.random_range(range.clone());
        }
        self.0.insert((protocol, client, port));
        port
    }
}

/// Draws one conversation and builds its inner Ethernet frames.
fn conversation(rng: &mut ChaCha8Rng, used: &mut UsedEndpoints) -> (Conversation, Vec<Vec<u8>>) {
    let ipv6 = rng.random_range(0..100) < 20;
    let client_index = rng.random_range(0..CLIENT_COUNT);
    let client = client_addr(client_index, ipv6);
    let draw = rng.random_range(0..100);
    let (kind, mut frames, protocol, server, client_port, server_port) = if draw < 55 {
        let server = server_addr(rng, ipv6);
        let client_port = used.draw(rng, PROTO_TCP, client, EPHEMERAL_PORTS);
        let server_port = TCP_PORTS[rng.random_range(0..TCP_PORTS.len())];
        let ends = Ends::new(client, server, client_index);
        let frames = tcp_session(rng, &ends, client_port, server_port);
        (
            ConversationKind::Tcp,
            frames,
            PROTO_TCP,
            server,
            client_port,
            server_port,
        )
    } else if draw < 85 {
        let server = resolver_addr(ipv6);
        let client_port = used.draw(rng, PROTO_UDP, client, EPHEMERAL_PORTS);
        let ends = Ends::new(client, server, client_index);
        let frames = dns_lookup(rng, &ends, client_port);
        (
            ConversationKind::Dns,
            frames,
            PROTO_UDP,
            server,
            client_port,
            DNS_PORT,
        )
    } else {
        let server = server_addr(rng, ipv6);
        let protocol = if ipv6 { PROTO_ICMPV6 } else { PROTO_ICMP };
        let id = used.draw(rng, protocol, client, 1..u16::MAX);
        let ends = Ends::new(client, server, client_index);
        let frames = echo(rng, &ends, id);
        (ConversationKind::IcmpEcho, frames, protocol, server, id, 0)
    };
    frames.shrink_to_fit();

    let conversation = Conversation {
        kind,
        protocol,
        client,
        server,
        client_port,
        server_port,
        packets: frames.len() as u32,
        ip_bytes: frames.iter().map(|frame| inner_ip_bytes(frame)).sum(),
    };
    (conversation, frames)
}

/// Returns the IP length of an inner Ethernet frame without VLAN tags, as the fixture
/// builds it: the IPv4 total length, or 40 plus the IPv6 payload length; 0 otherwise.
pub fn inner_ip_bytes(frame: &[u8]) -> u64 {
    let field = |offset: usize| {
        frame
            .get(offset..offset + 2)
            .map(|b| u64::from(u16::from_be_bytes([b[0], b[1]])))
    };
    match field(12) {
        Some(0x0800) => field(16).unwrap_or(0),
        Some(0x86dd) => field(18).map_or(0, |payload| 40 + payload),
        _ => 0,
    }
}

fn client_addr(index: u8, ipv6: bool) -> IpAddr {
    if ipv6 {
        IpAddr::V6(Ipv6Addr::new(
            0xfd00,
            0x10,
            0,
            1,
            0,
            0,
            0,
            10 + u16::from(index),
        ))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, 1, 10 + index))
    }
}

fn resolver_addr(ipv6: bool) -> IpAddr {
    if ipv6 {
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0x10, 0, 0, 0, 0, 0, 2))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))
    }
}

/// Draws an internal or an external server.
fn server_addr(rng: &mut ChaCha8Rng, ipv6: bool) -> IpAddr {
    let host: u8 = rng.random_range(10..250);
    let external = rng.random_bool(0.5);
    match (ipv6, external) {
        (false, false) => IpAddr::V4(Ipv4Addr::new(10, 0, 100, host % 32 + 10)),
        (false, true) if host.is_multiple_of(2) => IpAddr::V4(Ipv4Addr::new(198, 51, 100, host)),
        (false, true) => IpAddr::V4(Ipv4Addr::new(203, 0, 113, host)),
        (true, false) => IpAddr::V6(Ipv6Addr::new(
            0xfd00,
            0x10,
            0,
            100,
            0,
            0,
            0,
            u16::from(host % 32 + 10),
        )),
        (true, true) => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, u16::from(host), 0, 0, 0, 0, 1)),
    }
}

/// Addresses and MACs of both ends. Every packet is mirrored from the client's ENI,
/// so the server's MAC is the VPC router's.
struct Ends {
    client: IpAddr,
    server: IpAddr,
    client_mac: [u8; 6],
    router_mac: [u8; 6],
}

impl Ends {
    fn new(client: IpAddr, server: IpAddr, client_index: u8) -> Ends {
        Ends {
            client,
            server,
            client_mac: [0x02, 0, 0, 0, 1, client_index],
            router_mac: [0x02, 0, 0, 0, 0, 1],
        }
    }

    /// Starts an inner frame in one direction, with MACs, addresses and TTL set.
    fn frame(&self, from_client: bool) -> Frame {
        let (src, dst, src_mac, dst_mac) = if from_client {
            (self.client, self.server, self.client_mac, self.router_mac)
        } else {
            (self.server, self.client, self.router_mac, self.client_mac)
        };
        let frame = Frame::plain().inner_macs(src_mac, dst_mac).inner_ttl(64);
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => frame.inner_ipv4(src, dst),
            (IpAddr::V6(src), IpAddr::V6(dst)) => frame.inner_ipv6(src, dst),
            // Both ends are drawn from the same family above.
            _ => unreachable!("client and server of one conversation share an IP version"),
        }
    }
}

fn tcp_session(
    rng: &mut ChaCha8Rng,
    ends: &Ends,
    client_port: u16,
    server_port: u16,
) -> Vec<Vec<u8>> {
    let client_isn: u32 = rng.random();
    let server_isn: u32 = rng.random();
    let request = request_payload(rng, server_port);
    let response = response_payload(rng, server_port);

    let to_server = |flags: u8, seq: u32, ack: u32, payload: &[u8]| {
        ends.frame(true)
            .tcp(client_port, server_port, flags)
            .tcp_seq(seq, ack)
            .payload_bytes(payload)
            .build()
    };
    let to_client = |flags: u8, seq: u32, ack: u32, payload: &[u8]| {
        ends.frame(false)
            .tcp(server_port, client_port, flags)
            .tcp_seq(seq, ack)
            .payload_bytes(payload)
            .build()
    };

    let mut frames = Vec::new();
    let client_data = client_isn.wrapping_add(1);
    let server_data = server_isn.wrapping_add(1);

    frames.push(to_server(SYN, client_isn, 0, &[]));
    frames.push(to_client(SYN | ACK, server_isn, client_data, &[]));
    frames.push(to_server(ACK, client_data, server_data, &[]));

    let client_fin = client_data.wrapping_add(request.len() as u32);
    frames.push(to_server(PSH | ACK, client_data, server_data, &request));

    let segments: Vec<&[u8]> = response.chunks(MAX_SEGMENT).collect();
    let mut offset = 0u32;
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let flags = if last { PSH | ACK } else { ACK };
        frames.push(to_client(
            flags,
            server_data.wrapping_add(offset),
            client_fin,
            segment,
        ));
        offset = offset.wrapping_add(segment.len() as u32);
        // The client acknowledges every second segment and the last one.
        if i % 2 == 1 || last {
            frames.push(to_server(
                ACK,
                client_fin,
                server_data.wrapping_add(offset),
                &[],
            ));
        }
    }

    let server_fin = server_data.wrapping_add(offset);
    frames.push(to_server(FIN | ACK, client_fin, server_fin, &[]));
    frames.push(to_client(
        FIN | ACK,
        server_fin,
        client_fin.wrapping_add(1),
        &[],
    ));
    frames.push(to_server(
        ACK,
        client_fin.wrapping_add(1),
        server_fin.wrapping_add(1),
        &[],
    ));
    frames
}

/// Builds an HTTP request for port 80, otherwise opaque bytes of a random size.
fn request_payload(rng: &mut ChaCha8Rng, server_port: u16) -> Vec<u8> {
    let item: u32 = rng.random_range(1..10_000);
    if server_port == 80 {
        let host = rng.random_range(1..100);
        return format!(
            "GET /item/{item} HTTP/1.1\r\nHost: shop{host}.example.com\r\nAccept: */*\r\n\r\n"
        )
        .into_bytes();
    }
    pattern(rng.random_range(40..600))
}

fn response_payload(rng: &mut ChaCha8Rng, server_port: u16) -> Vec<u8> {
    let body_len = rng.random_range(200..20_000);
    if server_port == 80 {
        let mut response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {body_len}\r\n\r\n").into_bytes();
        response.extend(pattern(body_len));
        return response;
    }
    pattern(body_len)
}

/// `n` bytes of a fixed pattern (byte i is `i % 251`).
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn dns_lookup(rng: &mut ChaCha8Rng, ends: &Ends, client_port: u16) -> Vec<Vec<u8>> {
    let id: u16 = rng.random();
    let host: u16 = rng.random_range(1..500);
    let name = format!("host{host}.example.com");
    let answer_host: u8 = rng.random_range(1..255);
    let (query, response) = match ends.client {
        IpAddr::V4(_) => {
            let answer = Ipv4Addr::new(198, 51, 100, answer_host).octets().to_vec();
            (
                dns_message(id, &name, DNS_TYPE_A, None),
                dns_message(id, &name, DNS_TYPE_A, Some(&answer)),
            )
        }
        IpAddr::V6(_) => {
            let answer = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(answer_host))
                .octets()
                .to_vec();
            (
                dns_message(id, &name, DNS_TYPE_AAAA, None),
                dns_message(id, &name, DNS_TYPE_AAAA, Some(&answer)),
            )
        }
    };
    vec![
        ends.frame(true)
            .udp(client_port, DNS_PORT)
            .payload_bytes(&query)
            .build(),
        ends.frame(false)
            .udp(DNS_PORT, client_port)
            .payload_bytes(&response)
            .build(),
    ]
}

const DNS_TYPE_A: u16 = 1;
const DNS_TYPE_AAAA: u16 = 28;
const DNS_CLASS_IN: u16 = 1;
const DNS_ANSWER_TTL_SECS: u32 = 300;

/// Encodes a DNS query (RFC 1035), or its response when `answer` contains the record data.
fn dns_message(id: u16, name: &str, record_type: u16, answer: Option<&[u8]>) -> Vec<u8> {
    // Query: RD set. Response: QR, RD and RA set, NOERROR.
    let flags: u16 = if answer.is_some() { 0x8180 } else { 0x0100 };
    let answers: u16 = if answer.is_some() { 1 } else { 0 };
    let mut message = Vec::new();
    for field in [id, flags, 1, answers, 0, 0] {
        message.extend_from_slice(&field.to_be_bytes());
    }
    for label in name.split('.') {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&record_type.to_be_bytes());
    message.extend_from_slice(&DNS_CLASS_IN.to_be_bytes());

    if let Some(data) = answer {
        // The owner name is a pointer to the question name at offset 12.
        message.extend_from_slice(&[0xc0, 12]);
        message.extend_from_slice(&record_type.to_be_bytes());
        message.extend_from_slice(&DNS_CLASS_IN.to_be_bytes());
        message.extend_from_slice(&DNS_ANSWER_TTL_SECS.to_be_bytes());
        message.extend_from_slice(&(data.len() as u16).to_be_bytes());
        message.extend_from_slice(data);
    }
    message
}

fn echo(rng: &mut ChaCha8Rng, ends: &Ends, id: u16) -> Vec<Vec<u8>> {
    let count: u16 = rng.random_range(1..=3);
    let mut frames = Vec::new();
    for seq in 1..=count {
        let (request, reply) = match ends.client {
            IpAddr::V4(_) => (
                ends.frame(true).icmp_echo(id, seq),
                ends.frame(false).icmp_echo_reply(id, seq),
            ),
            IpAddr::V6(_) => (
                ends.frame(true).icmpv6_echo(id, seq),
                ends.frame(false).icmpv6_echo_reply(id, seq),
            ),
        };
        frames.push(request.payload(ECHO_PAYLOAD).build());
        frames.push(reply.payload(ECHO_PAYLOAD).build());
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(flows: u32, seed: u64) -> WorkloadConfig {
        let outer = AwsOuter {
            src_mac: [0x02, 0, 0, 0, 0, 1],
            dst_mac: [0x02, 0, 0, 0, 0, 2],
            src_ip: Ipv4Addr::new(192, 0, 2, 1),
            dst_ip: Ipv4Addr::new(192, 0, 2, 2),
            vni: 100,
        };
        WorkloadConfig { flows, seed, outer }
    }

    #[test]
    fn generate_same_seed_same_frames() {
        let first = generate(&config(50, 7));
        let second = generate(&config(50, 7));
        assert_eq!(first.frames, second.frames);
        assert_eq!(first.conversations, second.conversations);
    }

    #[test]
    fn generate_other_seed_other_frames() {
        let first = generate(&config(50, 7));
        let second = generate(&config(50, 8));
        assert_ne!(first.frames, second.frames);
    }

    #[test]
    fn generate_conversation_count() {
        let workload = generate(&config(123, 1));
        assert_eq!(workload.conversations.len(), 123);
    }

    #[test]
    fn generate_frames_match_conversations() {
        let workload = generate(&config(200, 3));
        let total: u64 = workload
            .conversations
            .iter()
            .map(|c| u64::from(c.packets))
            .sum();
        assert_eq!(workload.frames.len() as u64, total);
        assert_eq!(workload.frame_conversation.len(), workload.frames.len());
        for (index, conversation) in workload.conversations.iter().enumerate() {
            let frames = workload
                .frame_conversation
                .iter()
                .filter(|&&c| c == index)
                .count();
            assert_eq!(frames as u32, conversation.packets, "conversation {index}");
        }
    }

    #[test]
    fn generate_covers_every_kind() {
        let workload = generate(&config(200, 1));
        let has = |kind: ConversationKind, v6: bool| {
            workload
                .conversations
                .iter()
                .any(|c| c.kind == kind && c.client.is_ipv6() == v6)
        };
        for kind in [
            ConversationKind::Tcp,
            ConversationKind::Dns,
            ConversationKind::IcmpEcho,
        ] {
            assert!(has(kind, false), "no IPv4 {kind:?}");
            assert!(has(kind, true), "no IPv6 {kind:?}");
        }
    }

    #[test]
    fn generate_frames_fit_mtu() {
        let workload = generate(&config(200, 5));
        let longest = workload.frames.iter().map(Vec::len).max().unwrap();
        assert!(longest <= 1514, "longest frame {longest} bytes");
    }

    #[test]
    fn generate_zero_flows_is_empty() {
        let workload = generate(&config(0, 1));
        assert!(workload.frames.is_empty());
    }

    #[test]
    fn tcp_session_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ends = Ends::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 1, 10)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 100, 10)),
            0,
        );
        let frames = tcp_session(&mut rng, &ends, 40000, 443);
        // TCP flags sit at byte 13 of the TCP header: Ethernet 14 + IPv4 20 + 13.
        let flags: Vec<u8> = frames.iter().map(|f| f[14 + 20 + 13]).collect();
        assert_eq!(&flags[..3], &[SYN, SYN | ACK, ACK]);
        assert_eq!(&flags[flags.len() - 3..], &[FIN | ACK, FIN | ACK, ACK]);
    }

    #[test]
    fn dns_message_layout() {
        let query = dns_message(0x1234, "a.example.com", DNS_TYPE_A, None);
        // Header 12, name 1+1+1+7+1+3+1 = 15, type and class 4.
        assert_eq!(query.len(), 31);
        assert_eq!(&query[..4], &[0x12, 0x34, 0x01, 0x00]);
        let response = dns_message(
            0x1234,
            "a.example.com",
            DNS_TYPE_A,
            Some(&[198, 51, 100, 1]),
        );
        assert_eq!(response.len(), 31 + 16);
        assert_eq!(&response[6..8], &[0, 1]);
    }

    #[test]
    fn inner_ip_bytes_cases() {
        let v4 = Frame::plain()
            .inner_ipv4([10, 0, 0, 1], [10, 0, 0, 2])
            .udp(1, 2)
            .payload(10)
            .build();
        let v6 = Frame::plain()
            .inner_ipv6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST)
            .udp(1, 2)
            .payload(10)
            .build();
        let cases: [(&[u8], u64); 3] = [(&v4, 20 + 8 + 10), (&v6, 40 + 8 + 10), (&[0u8; 10], 0)];
        for (frame, expected) in cases {
            assert_eq!(
                inner_ip_bytes(frame),
                expected,
                "frame of {} bytes",
                frame.len()
            );
        }
    }
}
