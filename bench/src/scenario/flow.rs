//! One flow of a scenario as a specification ([`FlowSpec`]), and its rendering into
//! timestamped inner Ethernet frames: TCP handshakes, request and response rounds and
//! FIN both ways, rejected and unanswered connection attempts, and UDP exchanges.

use std::net::Ipv4Addr;

use sensor::decap::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use sensor::fixture::Frame;

/// TCP maximum segment size inside the VPC (MTU 9001 minus 52 bytes of headers).
pub const MSS_INTERNAL: u32 = 8949;
/// TCP maximum segment size to and from the internet (MTU 1500, timestamps on).
pub const MSS_EXTERNAL: u32 = 1448;
/// The receiver of a bulk transfer acknowledges every this many segments.
// NOTE: real stacks acknowledge every second segment; fewer ACKs keep the files small
// and change only the ACK direction's packet count.
const SEGMENTS_PER_ACK: u32 = 8;
/// Time between back-to-back data segments.
const SEGMENT_GAP_NS: u64 = 30_000;
/// Time before a client retransmits an unanswered SYN (the Linux initial RTO).
const SYN_RETRY_NS: u64 = 1_000_000_000;
/// Largest TCP payload kept in a rendered frame. A longer segment is cut to this size
/// with its IPv4 total length still stating the full size, as a mirror session with a
/// packet length limit sends it. Flow records count bytes from that length field, and
/// the files stay small whatever a flow's byte count.
const MAX_RENDERED_PAYLOAD: usize = 160;
/// Payload bytes of rendered TCP segments: byte i is `i % 251`.
static PATTERN: [u8; MAX_RENDERED_PAYLOAD] = {
    let mut bytes = [0u8; MAX_RENDERED_PAYLOAD];
    let mut i = 0;
    while i < MAX_RENDERED_PAYLOAD {
        bytes[i] = (i % 251) as u8;
        i += 1;
    }
    bytes
};

/// Packet sequence of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Handshake, then `rounds` of `request` bytes from the client followed by
    /// `response` bytes from the server, `gap_ns` apart, then FIN both ways.
    TcpSession {
        rounds: u32,
        request: u32,
        response: u32,
        gap_ns: u64,
    },
    /// SYN answered by RST-ACK: the port is closed.
    TcpRejected,
    /// SYN, SYN-ACK, then RST from the client: a half-open (SYN) scan of an open port.
    TcpHalfOpen,
    /// SYN with no answer, sent `attempts` times one second apart.
    TcpUnanswered { attempts: u32 },
    /// One UDP request and its response. `None` payloads are patterned bytes of the
    /// given sizes; DNS exchanges carry real messages.
    Udp {
        request: Vec<u8>,
        response: Option<Vec<u8>>,
    },
}

/// One flow: who talks to whom, when, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    /// Time of the first packet, in ns since the Unix epoch.
    pub start_ns: u64,
    pub client: Ipv4Addr,
    pub client_port: u16,
    pub server: Ipv4Addr,
    pub server_port: u16,
    /// Round-trip time between the two ends.
    pub rtt_ns: u64,
    pub shape: Shape,
    /// Index of the device whose mirror session captures this flow.
    pub mirror: usize,
}

impl FlowSpec {
    /// Bytes sent by (client, server), counting IP and transport headers as flow
    /// records do.
    pub fn bytes(&self) -> (u64, u64) {
        let mut builder = Builder::new(self, None);
        builder.run();
        (builder.client_bytes, builder.server_bytes)
    }

    /// Renders the flow's packets in time order. `client_mac` and `server_mac` are the
    /// inner MACs of the two ends.
    pub fn render(&self, client_mac: [u8; 6], server_mac: [u8; 6]) -> Vec<RenderedPacket> {
        let mut builder = Builder::new(self, Some((client_mac, server_mac)));
        builder.run();
        builder.out
    }
}

/// One packet of a rendered flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPacket {
    pub ts_ns: u64,
    /// Inner Ethernet frame. A payload longer than `MAX_RENDERED_PAYLOAD` bytes is cut
    /// to that length while the IPv4 total length keeps the full size.
    pub frame: Vec<u8>,
}

/// Walks a flow's packets in time order, building each frame.
struct Builder<'a> {
    spec: &'a FlowSpec,
    /// Inner MACs of client and server; `None` counts bytes without building frames.
    macs: Option<([u8; 6], [u8; 6])>,
    out: Vec<RenderedPacket>,
    client_bytes: u64,
    server_bytes: u64,
}

/// IPv4 (20) plus TCP (20) header bytes.
const TCP_HEADERS: u64 = 40;
/// IPv4 (20) plus UDP (8) header bytes.
const UDP_HEADERS: u64 = 28;

impl<'a> Builder<'a> {
    fn new(spec: &'a FlowSpec, macs: Option<([u8; 6], [u8; 6])>) -> Builder<'a> {
        Builder {
            spec,
            macs,
            out: Vec::new(),
            client_bytes: 0,
            server_bytes: 0,
        }
    }

    fn run(&mut self) {
        let spec = self.spec;
        let half_rtt = (spec.rtt_ns / 2).max(1_000);
        let mut t = spec.start_ns;
        match &spec.shape {
            Shape::TcpSession {
                rounds,
                request,
                response,
                gap_ns,
            } => self.tcp_session(t, half_rtt, *rounds, *request, *response, *gap_ns),
            Shape::TcpRejected => {
                self.tcp(t, true, SYN, 1000, 0, 0);
                self.tcp(t + half_rtt, false, RST | ACK, 0, 1001, 0);
            }
            Shape::TcpHalfOpen => {
                self.tcp(t, true, SYN, 1000, 0, 0);
                t += half_rtt;
                self.tcp(t, false, SYN | ACK, 5000, 1001, 0);
                self.tcp(t + half_rtt, true, RST, 1001, 0, 0);
            }
            Shape::TcpUnanswered { attempts } => {
                for attempt in 0..u64::from((*attempts).max(1)) {
                    self.tcp(t + attempt * SYN_RETRY_NS, true, SYN, 1000, 0, 0);
                }
            }
            Shape::Udp { request, response } => {
                self.udp(t, true, request);
                if let Some(response) = response {
                    self.udp(t + 2 * half_rtt, false, response);
                }
            }
        }
    }

    fn tcp_session(
        &mut self,
        start: u64,
        half_rtt: u64,
        rounds: u32,
        request: u32,
        response: u32,
        gap_ns: u64,
    ) {
        let external = !(is_internal(self.spec.client) && is_internal(self.spec.server));
        let mss = if external { MSS_EXTERNAL } else { MSS_INTERNAL };
        let mut client_seq: u32 = 0x1000_0000 ^ u32::from(self.spec.client_port);
        let mut server_seq: u32 = 0x2000_0000 ^ u32::from(self.spec.server_port);
        let mut t = start;

        self.tcp(t, true, SYN, client_seq, 0, 0);
        client_seq = client_seq.wrapping_add(1);
        t += half_rtt;
        self.tcp(t, false, SYN | ACK, server_seq, client_seq, 0);
        server_seq = server_seq.wrapping_add(1);
        t += half_rtt;
        self.tcp(t, true, ACK, client_seq, server_seq, 0);

        for round in 0..rounds.max(1) {
            if round > 0 {
                t += gap_ns;
            }
            t = self.send(t, true, request, mss, &mut client_seq, server_seq);
            t += half_rtt;
            if response > 0 {
                t = self.send(t, false, response, mss, &mut server_seq, client_seq);
                t += half_rtt;
            }
        }

        self.tcp(t, true, FIN | ACK, client_seq, server_seq, 0);
        client_seq = client_seq.wrapping_add(1);
        t += half_rtt;
        self.tcp(t, false, FIN | ACK, server_seq, client_seq, 0);
        server_seq = server_seq.wrapping_add(1);
        t += half_rtt;
        self.tcp(t, true, ACK, client_seq, server_seq, 0);
    }

    /// Sends `bytes` in MSS-sized segments from one side, with ACKs from the other side
    /// every `SEGMENTS_PER_ACK` segments and after the last. Returns the time of the
    /// last packet.
    fn send(
        &mut self,
        start: u64,
        from_client: bool,
        bytes: u32,
        mss: u32,
        seq: &mut u32,
        peer_seq: u32,
    ) -> u64 {
        let mut t = start;
        let mut left = bytes;
        let mut segment = 0u32;
        while left > 0 {
            let len = left.min(mss);
            left -= len;
            segment += 1;
            let flags = if left == 0 { PSH | ACK } else { ACK };
            self.tcp(t, from_client, flags, *seq, peer_seq, len);
            *seq = seq.wrapping_add(len);
            if segment.is_multiple_of(SEGMENTS_PER_ACK) || left == 0 {
                self.tcp(t + 1_000, !from_client, ACK, peer_seq, *seq, 0);
            }
            t += SEGMENT_GAP_NS;
        }
        t
    }

    fn frame(&self, from_client: bool, (client_mac, server_mac): ([u8; 6], [u8; 6])) -> Frame {
        let spec = self.spec;
        let (src, dst, src_mac, dst_mac) = if from_client {
            (spec.client, spec.server, client_mac, server_mac)
        } else {
            (spec.server, spec.client, server_mac, client_mac)
        };
        Frame::plain()
            .inner_macs(src_mac, dst_mac)
            .inner_ttl(64)
            .inner_ipv4(src, dst)
    }

    fn tcp(&mut self, ts_ns: u64, from_client: bool, flags: u8, seq: u32, ack: u32, len: u32) {
        let ip_bytes = TCP_HEADERS + u64::from(len);
        self.count(from_client, ip_bytes);
        let Some(macs) = self.macs else {
            return;
        };
        let (sport, dport) = self.ports(from_client);
        let mut frame = self
            .frame(from_client, macs)
            .tcp(sport, dport, flags)
            .tcp_seq(seq, ack);
        let kept_len = (len as usize).min(MAX_RENDERED_PAYLOAD);
        if kept_len > 0 {
            frame = frame.payload_bytes(&PATTERN[..kept_len]);
        }
        if kept_len < len as usize {
            // At most 65,535 bytes: MSS_INTERNAL plus headers.
            frame = frame.inner_total_len(ip_bytes.min(u64::from(u16::MAX)) as u16);
        }
        self.out.push(RenderedPacket {
            ts_ns,
            frame: frame.build(),
        });
    }

    fn udp(&mut self, ts_ns: u64, from_client: bool, payload: &[u8]) {
        self.count(from_client, UDP_HEADERS + payload.len() as u64);
        let Some(macs) = self.macs else {
            return;
        };
        let (sport, dport) = self.ports(from_client);
        let frame = self
            .frame(from_client, macs)
            .udp(sport, dport)
            .payload_bytes(payload);
        self.out.push(RenderedPacket {
            ts_ns,
            frame: frame.build(),
        });
    }

    fn count(&mut self, from_client: bool, ip_bytes: u64) {
        if from_client {
            self.client_bytes += ip_bytes;
        } else {
            self.server_bytes += ip_bytes;
        }
    }

    fn ports(&self, from_client: bool) -> (u16, u16) {
        if from_client {
            (self.spec.client_port, self.spec.server_port)
        } else {
            (self.spec.server_port, self.spec.client_port)
        }
    }
}

/// Returns whether `addr` is inside the simulated VPC (10.0.0.0/8).
pub fn is_internal(addr: Ipv4Addr) -> bool {
    addr.octets()[0] == 10
}
