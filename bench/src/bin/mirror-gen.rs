//! mirror-gen: sends mirror frames out of an interface from the network namespace it runs
//! in, from a pcap file or from the built-in synthetic workload. Progress goes to stderr,
//! one JSON report line to stdout.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bench::run::{RunLimits, send_frames};
use bench::sender::PacketSender;
use bench::synthetic::{WorkloadConfig, generate};
use bench::{netns, pcap};
use clap::{ArgGroup, Parser};
use sensor::fixture::{AwsOuter, wrap_aws_vxlan};

#[derive(Parser, Debug)]
#[command(
    name = "mirror-gen",
    about = "Send VPC Traffic Mirroring frames out of an interface"
)]
#[command(group(ArgGroup::new("source").required(true).args(["pcap", "synthetic"])))]
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
    /// comma-separated list) that the hash of its outer addresses and ports picks,
    /// so the peer receives it on that CPU's RX queue and each outer flow stays on one.
    #[arg(long, value_delimiter = ',')]
    rss_cpus: Vec<usize>,
    /// Allow sending from the root network namespace, onto a real network.
    #[arg(long)]
    allow_root_namespace: bool,
}

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

    let sender = PacketSender::open(&args.interface)?;
    let limits = RunLimits {
        rate_pps: args.rate_pps,
        count: args.count,
        loops: args.loops,
        max_duration: Duration::from_secs(args.max_duration_secs),
        rss_cpus: args.rss_cpus.clone(),
    };
    let report = send_frames(&sender, &frames, &limits);
    println!("{}", report.to_json());
    Ok(())
}

fn load_frames(args: &Args, outer: &AwsOuter) -> Result<Vec<Vec<u8>>> {
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
