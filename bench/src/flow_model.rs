//! The synthetic flow model for load tests: a fixed number of concurrent flows, an
//! IMIX-like size mix, a share of IPv6 and of TCP, and flows replaced by new ones at a
//! set rate. It renders a pool of AWS VXLAN mirror frames that the sender cycles over.
//! The same seed and settings give the same frames.
//!
//! Unlike [`crate::synthetic`], flows here are not complete conversations: a TCP flow
//! opens with a SYN and then carries ACK segments, and nothing closes it. The point is
//! packet load with a realistic spread of flow keys, not flow records to check.
//!
//! Inner addresses come from ranges that never reach a real network: clients in
//! 10.64.0.0/16 and fd00:10:64::/48, servers in 198.51.100.0/24 and 2001:db8:64::/48.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sensor::decap::tcp_flags::{ACK, SYN};
use sensor::fixture::{AwsOuter, Frame, wrap_aws_vxlan_into};

/// Inner Ethernet frame lengths of the size mix and their weights: 7 small, 4 medium
/// and 1 large frame, the classic simple IMIX ratio. The large size is 1464 bytes
/// instead of 1518, so that the mirror frame (50 bytes of AWS encapsulation on top)
/// fits a 1500-byte MTU.
pub const IMIX: [(usize, u32); 3] = [(64, 7), (576, 4), (1464, 1)];

/// Server ports of TCP flows.
const TCP_PORTS: [u16; 4] = [443, 80, 22, 5432];
/// Server ports of UDP flows. They avoid 53 and 443, whose payloads the sensor parses
/// as DNS and QUIC, because the model's payloads are filler bytes.
const UDP_PORTS: [u16; 3] = [123, 514, 8125];
/// Client ports: the Linux default ephemeral range.
const EPHEMERAL_PORTS: std::ops::Range<u16> = 32768..61000;
/// Largest pool the model renders; it bounds the generator's memory (about 400 MB of
/// IMIX frames).
pub const MAX_POOL_FRAMES: usize = 1 << 20;
/// Largest number of concurrent flows.
pub const MAX_FLOWS: u32 = 1 << 24;

/// Settings of the flow model.
#[derive(Debug, Clone, Copy)]
pub struct FlowModelConfig {
    /// Flows open at any time.
    pub flows: u32,
    /// Frames in the rendered pool; the sender cycles over it.
    pub pool_frames: usize,
    /// Percent of flows over IPv6 (the rest IPv4).
    pub ipv6_percent: u8,
    /// Percent of flows over TCP (the rest UDP).
    pub tcp_percent: u8,
    /// New flows per second, each replacing a random open flow, at `nominal_pps`.
    pub new_flows_per_sec: u64,
    /// Packet rate at which `new_flows_per_sec` holds; the pool places one new flow
    /// every `nominal_pps / new_flows_per_sec` frames.
    pub nominal_pps: u64,
    pub seed: u64,
    /// Outer headers of every frame.
    pub outer: AwsOuter,
}

/// The rendered pool.
#[derive(Debug, Clone)]
pub struct FlowModel {
    /// Mirror frames in send order.
    pub frames: Vec<Vec<u8>>,
    /// Flows that appear in the pool: the initial ones plus the new ones.
    pub flows_started: u64,
    /// Frames per size class, in [`IMIX`] order.
    pub frames_per_size: [u64; IMIX.len()],
}

/// One open flow, from its client's point of view.
#[derive(Debug, Clone, Copy)]
struct FlowKey {
    ipv6: bool,
    tcp: bool,
    client_host: u32,
    server_host: u8,
    client_port: u16,
    server_port: u16,
    /// The flow's first packet (a SYN for TCP) is not rendered yet.
    opening: bool,
}

/// Checks `cfg` and explains the first invalid value.
pub fn validate(cfg: &FlowModelConfig) -> Result<()> {
    if cfg.flows == 0 || cfg.flows > MAX_FLOWS {
        bail!("invalid flow count {}: use 1 to {MAX_FLOWS}", cfg.flows);
    }
    if cfg.pool_frames == 0 || cfg.pool_frames > MAX_POOL_FRAMES {
        bail!(
            "invalid pool size {} frames: use 1 to {MAX_POOL_FRAMES}",
            cfg.pool_frames
        );
    }
    for (name, percent) in [("IPv6", cfg.ipv6_percent), ("TCP", cfg.tcp_percent)] {
        if percent > 100 {
            bail!("invalid {name} share {percent}%: use 0 to 100");
        }
    }
    if cfg.new_flows_per_sec > 0 && cfg.nominal_pps == 0 {
        bail!("a new-flow rate needs a nominal packet rate above 0 to place new flows");
    }
    if cfg.new_flows_per_sec > cfg.nominal_pps {
        bail!(
            "invalid new-flow rate {} per second: use at most one new flow per frame ({} at \
             this packet rate)",
            cfg.new_flows_per_sec,
            cfg.nominal_pps
        );
    }
    Ok(())
}

/// Renders the pool for `cfg`.
pub fn generate(cfg: &FlowModelConfig) -> Result<FlowModel> {
    validate(cfg)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut open: Vec<FlowKey> = (0..cfg.flows).map(|_| new_flow(&mut rng, cfg)).collect();
    let mut model = FlowModel {
        frames: Vec::with_capacity(cfg.pool_frames),
        flows_started: u64::from(cfg.flows),
        frames_per_size: [0; IMIX.len()],
    };

    // New flows are due at new_flows_per_sec / nominal_pps per frame. The fraction is
    // kept in integers (units of 1 / nominal_pps), so the count is exact.
    let mut churn_due = 0u64;
    let total_weight: u32 = IMIX.iter().map(|(_, weight)| weight).sum();
    let mut wrapped = Vec::new();

    for _ in 0..cfg.pool_frames {
        churn_due += cfg.new_flows_per_sec;
        while cfg.nominal_pps > 0 && churn_due >= cfg.nominal_pps {
            churn_due -= cfg.nominal_pps;
            let slot = rng.random_range(0..open.len());
            open[slot] = new_flow(&mut rng, cfg);
            model.flows_started += 1;
        }

        let slot = rng.random_range(0..open.len());
        let size_class = pick_size_class(rng.random_range(0..total_weight));
        let from_client = rng.random_bool(0.5);
        let flow = &mut open[slot];
        let inner = render_inner(flow, from_client, IMIX[size_class].0);
        flow.opening = false;

        wrap_aws_vxlan_into(&inner, &cfg.outer, &mut wrapped);
        model.frames.push(wrapped.clone());
        model.frames_per_size[size_class] += 1;
    }
    Ok(model)
}

/// Maps a draw in `0..sum of weights` to an index of [`IMIX`].
fn pick_size_class(draw: u32) -> usize {
    let mut bound = 0;
    for (index, (_, weight)) in IMIX.iter().enumerate() {
        bound += weight;
        if draw < bound {
            return index;
        }
    }
    IMIX.len() - 1
}

fn new_flow(rng: &mut ChaCha8Rng, cfg: &FlowModelConfig) -> FlowKey {
    let tcp = rng.random_range(0..100) < cfg.tcp_percent;
    let server_port = if tcp {
        TCP_PORTS[rng.random_range(0..TCP_PORTS.len())]
    } else {
        UDP_PORTS[rng.random_range(0..UDP_PORTS.len())]
    };
    FlowKey {
        ipv6: rng.random_range(0..100) < cfg.ipv6_percent,
        tcp,
        client_host: rng.random_range(1..0xffff),
        server_host: rng.random_range(1..255),
        client_port: rng.random_range(EPHEMERAL_PORTS),
        server_port,
        opening: true,
    }
}

/// Builds one inner Ethernet frame of `flow` of about `frame_len` bytes: the payload
/// fills what the headers leave, so a frame is longer only when its headers alone are.
fn render_inner(flow: &FlowKey, from_client: bool, frame_len: usize) -> Vec<u8> {
    let from_client = from_client || flow.opening;
    let (client_v4, server_v4) = (
        Ipv4Addr::from(0x0a40_0000 | flow.client_host),
        Ipv4Addr::new(198, 51, 100, flow.server_host),
    );
    let (client_v6, server_v6) = (
        Ipv6Addr::new(0xfd00, 0x10, 0x64, 0, 0, 0, 0, flow.client_host as u16),
        Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0, u16::from(flow.server_host)),
    );

    let mut frame = Frame::plain();
    frame = match (flow.ipv6, from_client) {
        (false, true) => frame.inner_ipv4(client_v4, server_v4),
        (false, false) => frame.inner_ipv4(server_v4, client_v4),
        (true, true) => frame.inner_ipv6(client_v6, server_v6),
        (true, false) => frame.inner_ipv6(server_v6, client_v6),
    };
    let (sport, dport) = if from_client {
        (flow.client_port, flow.server_port)
    } else {
        (flow.server_port, flow.client_port)
    };

    let ip_header = if flow.ipv6 { 40 } else { 20 };
    let (l4_header, frame) = if flow.tcp {
        let flags = if flow.opening { SYN } else { ACK };
        (20, frame.tcp(sport, dport, flags))
    } else {
        (8, frame.udp(sport, dport))
    };
    let headers = 14 + ip_header + l4_header;
    let payload = if flow.tcp && flow.opening {
        0
    } else {
        frame_len.saturating_sub(headers)
    };
    frame.payload(payload).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FlowModelConfig {
        FlowModelConfig {
            flows: 100,
            pool_frames: 2000,
            ipv6_percent: 20,
            tcp_percent: 70,
            new_flows_per_sec: 1000,
            nominal_pps: 10_000,
            seed: 7,
            outer: AwsOuter {
                src_mac: [2, 0, 0, 0, 0, 1],
                dst_mac: [2, 0, 0, 0, 0, 2],
                src_ip: Ipv4Addr::new(192, 0, 2, 1),
                dst_ip: Ipv4Addr::new(192, 0, 2, 2),
                vni: 100,
            },
        }
    }

    #[test]
    fn generate_same_seed_same_frames() {
        let first = generate(&config()).unwrap();
        let second = generate(&config()).unwrap();
        assert_eq!(first.frames, second.frames);
    }

    #[test]
    fn generate_other_seed_other_frames() {
        let first = generate(&config()).unwrap();
        let other = generate(&FlowModelConfig {
            seed: 8,
            ..config()
        })
        .unwrap();
        assert_ne!(first.frames, other.frames);
    }

    #[test]
    fn generate_pool_size() {
        let model = generate(&config()).unwrap();
        assert_eq!(model.frames.len(), 2000);
    }

    #[test]
    fn generate_counts_new_flows() {
        // One new flow every 10 frames over 2000 frames, on top of the first 100.
        let model = generate(&config()).unwrap();
        assert_eq!(model.flows_started, 100 + 200);
    }

    #[test]
    fn generate_follows_size_mix() {
        let model = generate(&config()).unwrap();
        let small_share = model.frames_per_size[0] as f64 / 2000.0;
        assert!((0.5..0.67).contains(&small_share), "{small_share}");
    }

    #[test]
    fn generate_frames_fit_mtu() {
        let model = generate(&config()).unwrap();
        let longest = model.frames.iter().map(Vec::len).max().unwrap();
        // 14 bytes of outer Ethernet plus a 1500-byte outer IP packet.
        assert!(longest <= 1514, "{longest}");
    }

    #[test]
    fn generate_decodes_as_vxlan() {
        let model = generate(&config()).unwrap();
        for frame in model.frames.iter().take(50) {
            assert_eq!(frame.get(36..38), Some(&[0x12, 0xb5][..]));
        }
    }

    #[test]
    fn validate_rejects_bad_configs() {
        let cases = [
            FlowModelConfig {
                flows: 0,
                ..config()
            },
            FlowModelConfig {
                pool_frames: 0,
                ..config()
            },
            FlowModelConfig {
                ipv6_percent: 101,
                ..config()
            },
            FlowModelConfig {
                tcp_percent: 101,
                ..config()
            },
            FlowModelConfig {
                nominal_pps: 0,
                ..config()
            },
            FlowModelConfig {
                new_flows_per_sec: 10_001,
                ..config()
            },
        ];
        for cfg in cases {
            assert!(validate(&cfg).is_err(), "accepted {cfg:?}");
        }
    }

    #[test]
    fn pick_size_class_bounds() {
        let cases = [(0, 0), (6, 0), (7, 1), (10, 1), (11, 2), (99, 2)];
        for (draw, expected) in cases {
            assert_eq!(pick_size_class(draw), expected, "draw {draw}");
        }
    }
}
