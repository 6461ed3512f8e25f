//! `sensor run`: turns the flags into a live configuration and runs it.

use std::{
    path::Path,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use anyhow::{Context, bail};

use crate::{
    capture::{xdp::XdpSettings, xsk::SocketSizes},
    cli::args::{DecapArgs, RunArgs},
    pipeline::live::{LiveConfig, LiveSummary, run_live},
};

/// Runs the live sensor until `stop` is set.
pub fn run(args: RunArgs, stop: Arc<AtomicBool>) -> anyhow::Result<LiveSummary> {
    check_ports(&args.decap)?;
    let queues = if args.queues.is_empty() {
        let count = rx_queue_count(&args.interface)?;
        (0..count).collect()
    } else {
        args.queues.clone()
    };
    let cpus = if args.no_pin {
        Vec::new()
    } else if args.cpus.is_empty() {
        (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
    } else {
        args.cpus.clone()
    };

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
        metrics_listen: (!args.no_metrics).then_some(args.metrics_listen),
        duration: args.duration_secs.map(Duration::from_secs),
        cpus,
    };
    run_live(config, stop)
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
        bail!("too many mirror ports ({total}): the XDP program holds at most {max}");
    }
    Ok(())
}

/// The number of RX queues of `interface`, from sysfs.
fn rx_queue_count(interface: &str) -> anyhow::Result<u32> {
    let dir = Path::new("/sys/class/net").join(interface).join("queues");
    let entries = std::fs::read_dir(&dir).with_context(|| {
        format!("interface {interface} not found ({} is unreadable): check the name with `ip link`", dir.display())
    })?;
    let mut count = 0;
    for entry in entries {
        let entry = entry.with_context(|| format!("failed to list {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with("rx-") {
            count += 1;
        }
    }
    if count == 0 {
        bail!("interface {interface} has no RX queues in {}", dir.display());
    }
    Ok(count)
}
