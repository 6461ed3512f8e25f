//! mirror-gen: sends mirror frames out of an interface from the network namespace it runs
//! in, from a pcap file, the built-in synthetic workload or the flow model, through a
//! plain AF_PACKET socket or a PACKET_MMAP TX ring. Progress goes to stderr, one JSON
//! report line to stdout.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bench::flow_model::{self, FlowModelConfig};
use bench::rss::{outer_flow_hash, pin_to_cpu};
use bench::run::{RunLimits, RunReport, send_frames};
use bench::sender::PacketSender;
use bench::synthetic::{WorkloadConfig, generate};
use bench::tx_ring::{TxRing, TxRingSizes};
use bench::{netns, pcap};
use clap::{ArgGroup, Parser, ValueEnum};
use sensor::fixture::{AwsOuter, wrap_aws_vxlan};

#[derive(Parser, Debug)]
#[command(
    name = "mirror-gen",
    about = "Send VPC Traffic Mirroring frames out of an interface"
)]
#[command(group(ArgGroup::new("source").required(true).args(["pcap", "synthetic", "model_flows"])))]
struct Args {
    /// Interface to send on, in the current network namespace.
    #[arg(long)]
    interface: String,
    /// Send the frames of this pcap or pcapng file, as they are (already mirror format)
    /// unless --wrap-aws is given.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Wrap each pcap frame (plain Ethernet traffic) in AWS VXLAN mirror headers.
    #[arg(long, requires = "pcap")]
    wrap_aws: bool,
    /// Send the built-in workload: complete TCP, DNS and ICMP conversations over IPv4
    /// and IPv6, wrapped as AWS mirror frames.
    #[arg(long)]
    synthetic: bool,
    /// Conversations in the synthetic workload.
    #[arg(long, default_value_t = 200)]
    flows: u32,
    /// Send the flow model with this many concurrent flows: an IMIX-like size mix
    /// (7:4:1 of 64, 576 and 1464-byte inner frames) over TCP and UDP, IPv4 and IPv6.
    #[arg(long)]
    model_flows: Option<u32>,
    /// Frames the flow model renders; the sender cycles over them.
    #[arg(long, default_value_t = 65_536, requires = "model_flows")]
    model_frames: usize,
    /// Percent of the model's flows over IPv6.
    #[arg(long, default_value_t = 20, requires = "model_flows")]
    model_ipv6_percent: u8,
    /// Percent of the model's flows over TCP (the rest is UDP).
    #[arg(long, default_value_t = 80, requires = "model_flows")]
    model_tcp_percent: u8,
    /// New flows per second in the model, each replacing an open one. They are placed
    /// in the frame pool for the packet rate of --rate-pps, or of 1,000,000 frames per
    /// second when sending as fast as possible.
    #[arg(long, default_value_t = 0, requires = "model_flows")]
    model_new_flows_per_sec: u64,
    /// Seed of the synthetic workload; the same seed gives the same frames.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Outer IPv4 source of wrapped frames (the mirror source ENI).
    #[arg(long, default_value = "192.0.2.1")]
    outer_src: Ipv4Addr,
    /// Outer IPv4 destination of wrapped frames (the sensor).
    #[arg(long, default_value = "192.0.2.2")]
    outer_dst: Ipv4Addr,
    /// VXLAN network identifier (24 bits) of wrapped frames.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=0xff_ffff))]
    vni: u32,
    /// Frames per second; 0 sends as fast as possible.
    #[arg(long, default_value_t = 0)]
    rate_pps: u64,
    /// Frames to send, cycling over the source [default: one pass].
    #[arg(long)]
    count: Option<u64>,
    /// Passes over the source; 0 repeats until --max-duration-secs.
    #[arg(long)]
    loops: Option<u64>,
    /// Stop after this many seconds, even when the other limits allow more frames.
    #[arg(long, default_value_t = 60)]
    max_duration_secs: u64,
    /// Emulate a NIC's RSS on a veth pair: send each frame from the CPU (of this
    /// comma-separated list) that the hash of its outer addresses and ports picks.
    /// The peer then receives it on that CPU's RX queue, and each outer flow stays on
    /// one queue. With --sender ring, each CPU gets its own thread and ring.
    #[arg(long, value_delimiter = ',')]
    rss_cpus: Vec<usize>,
    /// Allow sending from the root network namespace, onto a real network.
    #[arg(long)]
    allow_root_namespace: bool,
    /// Send path: `socket` (one send call per frame) or `ring` (a PACKET_MMAP TX ring,
    /// one call per batch).
    #[arg(long, value_enum, default_value_t = SenderKind::Socket)]
    sender: SenderKind,
    /// Frames per kick of the TX ring (--sender ring).
    #[arg(long, default_value_t = 64)]
    ring_batch: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SenderKind {
    Socket,
    Ring,
}

/// Packet rate for which the flow model places new flows when the send rate is 0 (as
/// fast as possible).
const MODEL_NOMINAL_PPS: u64 = 1_000_000;

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mirror-gen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    if !args.allow_root_namespace && netns::in_root_namespace()? {
        bail!(
            "sending on {} from the root network namespace is rejected, because the frames \
             could reach a real network: run inside a lab namespace (`ip netns exec …`) or \
             pass --allow-root-namespace",
            args.interface
        );
    }

    let outer = AwsOuter {
        src_mac: [0x02, 0, 0, 0, 0, 0x01],
        dst_mac: [0x02, 0, 0, 0, 0, 0x02],
        src_ip: args.outer_src,
        dst_ip: args.outer_dst,
        vni: args.vni,
    };
    let frames = load_frames(&args, &outer)?;
    if frames.is_empty() {
        bail!("the source has no frames to send");
    }

    let limits = RunLimits {
        rate_pps: args.rate_pps,
        count: args.count,
        loops: args.loops,
        max_duration: Duration::from_secs(args.max_duration_secs),
        rss_cpus: args.rss_cpus.clone(),
    };
    let report = match args.sender {
        SenderKind::Socket => {
            let mut sender = PacketSender::open(&args.interface)?;
            send_frames(&mut sender, &frames, &limits)
        }
        SenderKind::Ring if !args.rss_cpus.is_empty() => {
            send_ring_per_cpu(&args, &frames, &limits)?
        }
        SenderKind::Ring => send_ring(&args, &frames, &limits)?,
    };
    println!("{}", report.to_json());
    Ok(())
}

/// Sends `frames` through one TX ring from the current thread.
fn send_ring(args: &Args, frames: &[Vec<u8>], limits: &RunLimits) -> Result<RunReport> {
    let sizes = TxRingSizes {
        batch: args.ring_batch,
        ..TxRingSizes::default()
    };
    let mut ring = TxRing::open(&args.interface, sizes)?;
    let report = send_frames(&mut ring, frames, limits);
    let stats = ring.stats();
    eprintln!(
        "TX ring: {} kicks, {} repeated after a full device queue, {} frames rejected as malformed",
        stats.kicks, stats.busy_kicks, stats.wrong_format
    );
    Ok(report)
}

/// Emulates RSS with TX rings: splits `frames` by the hash of their outer headers over
/// the CPUs of `--rss-cpus`. Each part goes out from a thread pinned to its CPU with its
/// own ring, so each outer flow reaches one veth RX queue. The rate and the frame
/// count are split evenly between the threads.
fn send_ring_per_cpu(args: &Args, frames: &[Vec<u8>], limits: &RunLimits) -> Result<RunReport> {
    let cpus = &args.rss_cpus;
    let mut parts: Vec<Vec<Vec<u8>>> = vec![Vec::new(); cpus.len()];
    for frame in frames {
        let slot = (outer_flow_hash(frame) % cpus.len() as u64) as usize;
        parts[slot].push(frame.clone());
    }
    let threads = cpus.len() as u64;

    let results: Vec<Result<RunReport>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cpus
            .iter()
            .zip(&parts)
            .enumerate()
            .filter(|(_, (_, part))| !part.is_empty())
            .map(|(index, (&cpu, part))| {
                let share =
                    |total: u64| total / threads + u64::from((index as u64) < total % threads);
                let thread_limits = RunLimits {
                    rate_pps: share(limits.rate_pps),
                    count: limits.count.map(share),
                    rss_cpus: Vec::new(),
                    ..limits.clone()
                };
                scope.spawn(move || -> Result<RunReport> {
                    pin_to_cpu(cpu)
                        .with_context(|| format!("failed to pin the sender to CPU {cpu}"))?;
                    send_ring(args, part, &thread_limits)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| bail!("a sender thread panicked"))
            })
            .collect()
    });

    let mut total = RunReport::default();
    for result in results {
        let report = result?;
        total.frames_sent += report.frames_sent;
        total.bytes_sent += report.bytes_sent;
        total.send_errors += report.send_errors;
        total.enobufs_retries += report.enobufs_retries;
        total.elapsed_secs = total.elapsed_secs.max(report.elapsed_secs);
    }
    Ok(total)
}

fn load_frames(args: &Args, outer: &AwsOuter) -> Result<Vec<Vec<u8>>> {
    if let Some(flows) = args.model_flows {
        let nominal_pps = if args.rate_pps == 0 {
            MODEL_NOMINAL_PPS
        } else {
            args.rate_pps
        };
        let model = flow_model::generate(&FlowModelConfig {
            flows,
            pool_frames: args.model_frames,
            ipv6_percent: args.model_ipv6_percent,
            tcp_percent: args.model_tcp_percent,
            new_flows_per_sec: args.model_new_flows_per_sec,
            nominal_pps,
            seed: args.seed,
            outer: *outer,
        })?;
        eprintln!(
            "flow model: {} frames, {} flows ({flows} open at a time), frames per size {:?} (seed {})",
            model.frames.len(),
            model.flows_started,
            model.frames_per_size,
            args.seed
        );
        return Ok(model.frames);
    }
    if args.synthetic {
        let workload = generate(&WorkloadConfig {
            flows: args.flows,
            seed: args.seed,
            outer: *outer,
        });
        eprintln!(
            "synthetic workload: {} conversations, {} frames (seed {})",
            workload.conversations.len(),
            workload.frames.len(),
            args.seed
        );
        return Ok(workload.frames);
    }

    let path = args
        .pcap
        .as_ref()
        .context("--pcap or --synthetic is required")?;
    let frames = pcap::read_frames(path)?;
    eprintln!("{}: {} frames", path.display(), frames.len());
    if args.wrap_aws {
        return Ok(frames
            .iter()
            .map(|frame| wrap_aws_vxlan(frame, outer))
            .collect());
    }
    Ok(frames)
}
