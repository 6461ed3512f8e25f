//! The packet mixes of the pipeline benchmark, built once in memory as AWS VXLAN mirror
//! frames. The same mix, frame count and seed give the same bytes.
//!
//! Sizes are inner IP packet lengths (IPv4 total length, or 40 plus the IPv6 payload
//! length). Every frame adds 14 bytes of inner Ethernet and 50 bytes of AWS VXLAN
//! encapsulation. One flow in five is IPv6. Clients are monitored devices in
//! 10.1.0.0/16 and fd00:1::/64; servers sit in the documentation ranges
//! 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32, on TCP port 443 or 80, so the
//! application parsers run their port and first-byte checks on every data packet.
//!
//! NOTE: payloads are a fixed byte pattern, not DNS, TLS or HTTP messages, so with
//! application metadata on, the parsers reject them early. A mix with real DNS
//! answers and ClientHellos would cost more per packet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sensor::decap::tcp_flags::{ACK, FIN, PSH, SYN};
use sensor::fixture::Frame;

/// VXLAN network identifier of every frame (the mirror session).
pub const BASE_VNI: u32 = 7;
/// Byte offset of the 24-bit VNI in a frame: outer Ethernet 14, IPv4 20, UDP 8, then
/// VXLAN flags and 3 reserved bytes.
pub const VNI_OFFSET: usize = 46;

/// IMIX sizes and weights: 7 of 64 bytes, 4 of 576, 1 of 1500.
const IMIX: [(u16, u32); 3] = [(64, 7), (576, 4), (1500, 1)];
/// Percent of flows over IPv6.
const IPV6_PERCENT: u32 = 20;
/// Flows of the small-packet and IMIX mixes; each packet picks one at random.
const STEADY_FLOWS: u32 = 4096;
/// Flows of the elephant mix.
const ELEPHANT_FLOWS: u32 = 8;
/// Short flows in progress at once; their packets interleave.
const SHORT_ACTIVE: usize = 64;
/// Monitored client devices.
const CLIENTS: u32 = 512;
/// External servers: 256 in each IPv4 documentation range, or as many IPv6 addresses.
const EXTERNAL_SERVERS: u32 = 512;
/// Percent of packets of a steady flow sent by the client.
const CLIENT_SHARE_PERCENT: u32 = 60;
const IPV4_HEADER: u16 = 20;
const IPV6_HEADER: u16 = 40;
const TCP_HEADER: u16 = 20;

/// A standard packet mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Every packet 64 bytes, over 4096 long TCP flows.
    Small,
    /// 64, 576 and 1500 bytes at 7:4:1, over 4096 long TCP flows.
    Imix,
    /// Complete 6-packet TCP sessions (handshake, request, response, FIN both ways), a
    /// new flow every 6 packets; request and response sizes follow IMIX.
    ShortFlows,
    /// 8 long TCP flows: 1500-byte data from the server, a 64-byte ACK for every two.
    Elephants,
}

impl Mix {
    pub const ALL: [Mix; 4] = [Mix::Small, Mix::Imix, Mix::ShortFlows, Mix::Elephants];

    /// Returns the name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mix::Small => "small",
            Mix::Imix => "imix",
            Mix::ShortFlows => "short-flows",
            Mix::Elephants => "elephants",
        }
    }

    /// Parses a name from [`Mix::name`].
    pub fn from_name(name: &str) -> Option<Mix> {
        Mix::ALL.into_iter().find(|mix| mix.name() == name)
    }

    /// Returns whether each pass over the pool must start new flows, because the mix
    /// is about flow setup and teardown.
    pub fn new_flows_each_pass(self) -> bool {
        self == Mix::ShortFlows
    }
}

/// Frames of one mix in one contiguous buffer, laid out as in a receive ring.
pub struct Pool {
    pub bytes: Vec<u8>,
    /// Start and end of each frame in `bytes`.
    pub ranges: Vec<(usize, usize)>,
    /// Sum of the inner IP packet lengths.
    pub ip_bytes: u64,
}

impl Pool {
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Returns frame `index`, or an empty slice when out of range.
    pub fn frame(&self, index: usize) -> &[u8] {
        match self.ranges.get(index) {
            Some(&(start, end)) => self.bytes.get(start..end).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Writes `vni` into every frame's VXLAN header, so the next pass makes new flows.
    pub fn set_vni(&mut self, vni: u32) {
        let be = vni.to_be_bytes();
        for &(start, _) in &self.ranges {
            let at = start + VNI_OFFSET;
            if let Some(field) = self.bytes.get_mut(at..at + 3) {
                field.copy_from_slice(&be[1..4]);
            }
        }
    }
}

/// Builds `frames` frames of `mix` from `seed`.
pub fn build(mix: Mix, frames: usize, seed: u64) -> Pool {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut builder = PoolBuilder::with_capacity(frames);
    match mix {
        Mix::Small => steady(&mut rng, &mut builder, frames, STEADY_FLOWS, |_| 64),
        Mix::Imix => steady(&mut rng, &mut builder, frames, STEADY_FLOWS, imix_size),
        Mix::ShortFlows => short_flows(&mut rng, &mut builder, frames),
        Mix::Elephants => elephants(&mut rng, &mut builder, frames),
    }
    builder.pool
}

/// One TCP flow of the workload and the next IP ID and sequence number of each side,
/// so no two packets of a direction look like one packet mirrored twice.
struct Flow {
    client: IpAddr,
    server: IpAddr,
    client_port: u16,
    server_port: u16,
    next_id: [u16; 2],
    next_seq: [u32; 2],
}

impl Flow {
    fn draw(rng: &mut ChaCha8Rng, index: u32) -> Flow {
        let ipv6 = rng.random_range(0..100) < IPV6_PERCENT;
        let client_index = rng.random_range(0..CLIENTS);
        let server_index = rng.random_range(0..EXTERNAL_SERVERS);
        let (client, server) = if ipv6 {
            let client = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, client_index as u16 + 1);
            let server = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, server_index as u16 + 1);
            (IpAddr::V6(client), IpAddr::V6(server))
        } else {
            let client = Ipv4Addr::new(10, 1, (client_index >> 8) as u8, client_index as u8);
            let server = if server_index < 256 {
                Ipv4Addr::new(198, 51, 100, server_index as u8)
            } else {
                Ipv4Addr::new(203, 0, 113, server_index as u8)
            };
            (IpAddr::V4(client), IpAddr::V4(server))
        };
        Flow {
            client,
            server,
            // Distinct per flow index, so two flows never share a key.
            client_port: 1024 + (index % 60_000) as u16,
            server_port: if rng.random_range(0..4) == 0 { 80 } else { 443 },
            next_id: [1, 1],
            next_seq: [rng.random(), rng.random()],
        }
    }

    /// Builds the next packet of this flow: from the client when `from_client`.
    fn packet(&mut self, from_client: bool, flags: u8, ip_len: u16) -> Frame {
        let side = usize::from(!from_client);
        let (src, dst, sport, dport) = if from_client {
            (self.client, self.server, self.client_port, self.server_port)
        } else {
            (self.server, self.client, self.server_port, self.client_port)
        };
        let ip_header = if src.is_ipv6() {
            IPV6_HEADER
        } else {
            IPV4_HEADER
        };
        let payload = usize::from(ip_len.saturating_sub(ip_header + TCP_HEADER));
        let id = self.next_id[side];
        let seq = self.next_seq[side];
        let ack = self.next_seq[1 - side];
        self.next_id[side] = id.wrapping_add(1);
        self.next_seq[side] = seq.wrapping_add(payload.max(1) as u32);

        let frame = Frame::vxlan(BASE_VNI);
        let frame = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => frame.inner_ipv4(s, d).inner_id(id),
            (IpAddr::V6(s), IpAddr::V6(d)) => frame.inner_ipv6(s, d),
            _ => frame,
        };
        frame
            .tcp(sport, dport, flags)
            .tcp_seq(seq, ack)
            .payload(payload)
    }
}

struct PoolBuilder {
    pool: Pool,
}

impl PoolBuilder {
    fn with_capacity(frames: usize) -> Self {
        PoolBuilder {
            pool: Pool {
                bytes: Vec::new(),
                ranges: Vec::with_capacity(frames),
                ip_bytes: 0,
            },
        }
    }

    fn push(&mut self, frame: &Frame, ip_len: u16) {
        let bytes = frame.build();
        let start = self.pool.bytes.len();
        self.pool.bytes.extend_from_slice(&bytes);
        self.pool.ranges.push((start, self.pool.bytes.len()));
        self.pool.ip_bytes += u64::from(ip_len);
    }
}

fn imix_size(rng: &mut ChaCha8Rng) -> u16 {
    let total: u32 = IMIX.iter().map(|&(_, weight)| weight).sum();
    let mut draw = rng.random_range(0..total);
    for (size, weight) in IMIX {
        if draw < weight {
            return size;
        }
        draw -= weight;
    }
    IMIX[0].0
}

/// Long flows that started before the run: every packet is ACK (and PSH with data).
fn steady(
    rng: &mut ChaCha8Rng,
    builder: &mut PoolBuilder,
    frames: usize,
    flow_count: u32,
    size: impl Fn(&mut ChaCha8Rng) -> u16,
) {
    let mut flows: Vec<Flow> = (0..flow_count).map(|i| Flow::draw(rng, i)).collect();
    for _ in 0..frames {
        let index = rng.random_range(0..flows.len());
        let from_client = rng.random_range(0..100) < CLIENT_SHARE_PERCENT;
        let ip_len = size(rng);
        if let Some(flow) = flows.get_mut(index) {
            let frame = flow.packet(from_client, ACK | PSH, ip_len);
            builder.push(&frame, ip_len);
        }
    }
}

/// A short session in progress: its flow, its steps and the index of the next step.
type Session = (Flow, [(bool, u8, u16); 6], usize);

/// Returns the six packets of one short session: (from client, flags, size).
fn session_steps(rng: &mut ChaCha8Rng) -> [(bool, u8, u16); 6] {
    [
        (true, SYN, 64),
        (false, SYN | ACK, 64),
        (true, ACK | PSH, imix_size(rng)),
        (false, ACK | PSH, imix_size(rng)),
        (true, FIN | ACK, 64),
        (false, FIN | ACK, 64),
    ]
}

fn short_flows(rng: &mut ChaCha8Rng, builder: &mut PoolBuilder, frames: usize) {
    let mut started = 0u32;
    let mut active: Vec<Session> = Vec::with_capacity(SHORT_ACTIVE);
    while builder.pool.len() < frames {
        while active.len() < SHORT_ACTIVE {
            let flow = Flow::draw(rng, started);
            started += 1;
            active.push((flow, session_steps(rng), 0));
        }
        let slot = rng.random_range(0..active.len());
        let Some((flow, steps, next)) = active.get_mut(slot) else {
            continue;
        };
        if let Some(&(from_client, flags, ip_len)) = steps.get(*next) {
            let frame = flow.packet(from_client, flags, ip_len);
            builder.push(&frame, ip_len);
            *next += 1;
        }
        if *next >= steps.len() {
            active.swap_remove(slot);
        }
    }
}

fn elephants(rng: &mut ChaCha8Rng, builder: &mut PoolBuilder, frames: usize) {
    let mut flows: Vec<Flow> = (0..ELEPHANT_FLOWS).map(|i| Flow::draw(rng, i)).collect();
    let mut sent = 0usize;
    while sent < frames {
        let index = rng.random_range(0..flows.len());
        let Some(flow) = flows.get_mut(index) else {
            continue;
        };
        for (from_client, flags, ip_len) in [
            (false, ACK | PSH, 1500),
            (false, ACK | PSH, 1500),
            (true, ACK, 64),
        ] {
            if sent == frames {
                break;
            }
            let frame = flow.packet(from_client, flags, ip_len);
            builder.push(&frame, ip_len);
            sent += 1;
        }
    }
}
