//! `sensor run`: turns the flags into a live configuration and runs it.

use std::{
    path::Path,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use anyhow::{Context, bail};

use crate::{
    capture::{xdp::XdpSettings, xsk::SocketSizes},
    cli::{
        analysis::analysis_config,
        args::{DecapArgs, RunArgs},
    },
    pipeline::{
        clock::PacketClock,
        live::{LiveConfig, LiveSummary, run_live},
    },
};

/// Runs the live sensor until `stop` is set.
pub fn run(args: RunArgs, stop: Arc<AtomicBool>) -> anyhow::Result<LiveSummary> {
    check_ports(&args.decap)?;
    check_power_of_two("--rx-ring-size", args.rx_ring_size)?;
    check_power_of_two("--umem-frames", args.umem_frames)?;
    check_mtu(&args.interface, args.frame_size_bytes)?;

    let count = rx_queue_count(&args.interface)?;
    let queues = if args.queues.is_empty() {
        (0..count).collect()
    } else {
        args.queues.clone()
    };
    if let Some(bad) = queues.iter().find(|&&queue| queue >= count) {
        bail!(
            "invalid --queues value {bad}: {} has {count} RX queues (0 to {})",
            args.interface,
            count - 1
        );
    }

    let cpu_count = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpus = if args.no_pin {
        Vec::new()
    } else if args.cpus.is_empty() {
        (0..cpu_count).collect()
    } else {
        args.cpus.clone()
    };
    if let Some(bad) = cpus.iter().find(|&&cpu| cpu >= cpu_count) {
        bail!(
            "invalid --cpus value {bad}: this machine has CPUs 0 to {}",
            cpu_count - 1
        );
    }

    let config = LiveConfig {
        interface: args.interface.clone(),
        queues,
        xdp_mode: args.xdp_mode,
        bind_mode: args.bind_mode,
        sizes: SocketSizes {
            umem_frames: args.umem_frames,
            frame_size: args.frame_size_bytes,
            rx_ring: args.rx_ring_size,
        },
        xdp: XdpSettings {
            vxlan_ports: args.decap.vxlan_port.clone(),
            geneve_ports: args.decap.geneve_port.clone(),
            allowlist: args.mirror_source.clone(),
            stamp_time: !args.no_xdp_timestamp,
        },
        decap: args.decap.config(false),
        flows: args.flows.config()?,
        flows_out: args.flows.flows_out.clone(),
        app_metadata: !args.flows.no_app_metadata,
        metrics_listen: (!args.no_metrics).then_some(args.metrics_listen),
        duration: args.duration_secs.map(Duration::from_secs),
        cpus,
    };
    let mut analysis = analysis_config(&args.model, Some(PacketClock::new()))?;
    // The mirror sources' own networks hold monitored devices too (their ENIs),
    // unless the operator named the home networks explicitly.
    if let Some(analysis) = &mut analysis
        && args.model.home_net.is_empty()
    {
        for net in &args.mirror_source {
            if !analysis.model.home_nets.contains(net) {
                analysis.model.home_nets.push(*net);
            }
        }
    }
    run_live(config, analysis, stop)
}

/// Refuses a port configured as both VXLAN and GENEVE.
pub fn check_ports(decap: &DecapArgs) -> anyhow::Result<()> {
    for port in &decap.vxlan_port {
        if decap.geneve_port.contains(port) {
            bail!(
                "invalid port {port}: it is given to both --vxlan-port and --geneve-port; keep it in one"
            );
        }
    }
    let total = decap.vxlan_port.len() + decap.geneve_port.len();
    let max = sensor_ebpf::MAX_MIRROR_PORTS as usize;
    if total > max {
        bail!(
            "too many mirror ports ({total}): the XDP program accepts at most {max}; drop some --vxlan-port or --geneve-port values"
        );
    }
    Ok(())
}

fn check_power_of_two(flag: &str, value: u32) -> anyhow::Result<()> {
    if !value.is_power_of_two() {
        bail!(
            "invalid {flag} {value}: it must be a power of two, such as {}",
            value.checked_next_power_of_two().unwrap_or(2048)
        );
    }
    Ok(())
}

/// Bytes the kernel keeps in front of each frame in a UMEM frame.
const XDP_PACKET_HEADROOM: u32 = 256;
/// Ethernet header plus two VLAN tags, on top of the MTU.
const MAX_L2_OVERHEAD: u32 = 14 + 2 * 4;

/// Rejects an MTU whose largest frames do not fit one UMEM frame, because the
/// kernel would drop them after XDP redirected them and no counter would show why.
fn check_mtu(interface: &str, frame_size: u32) -> anyhow::Result<()> {
    let path = Path::new("/sys/class/net").join(interface).join("mtu");
    let Ok(text) = std::fs::read_to_string(&path) else {
        // A missing interface is reported with its fix by rx_queue_count.
        return Ok(());
    };
    let mtu: u32 = text
        .trim()
        .parse()
        .with_context(|| format!("unreadable MTU {:?} in {}", text.trim(), path.display()))?;
    let largest_mtu = frame_size.saturating_sub(XDP_PACKET_HEADROOM + MAX_L2_OVERHEAD);
    if mtu > largest_mtu {
        bail!(
            "interface {interface} has MTU {mtu}, but a {frame_size}-byte UMEM frame holds frames of an MTU up to {largest_mtu}: \
             run `ip link set {interface} mtu {largest_mtu}` (ENA's native XDP needs 3498 or less), \
             or raise --frame-size-bytes to 4096 if it is lower"
        );
    }
    Ok(())
}

/// Returns the number of RX queues of `interface`, from sysfs.
fn rx_queue_count(interface: &str) -> anyhow::Result<u32> {
    let dir = Path::new("/sys/class/net").join(interface).join("queues");
    let entries = std::fs::read_dir(&dir).with_context(|| {
        format!(
            "interface {interface} not found ({} is unreadable): check the name with `ip link`",
            dir.display()
        )
    })?;
    let mut count = 0;
    for entry in entries {
        let entry = entry.with_context(|| format!("failed to list {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with("rx-") {
            count += 1;
        }
    }
    if count == 0 {
        bail!(
            "interface {interface} has no RX queues in {}",
            dir.display()
        );
    }
    Ok(count)
}
