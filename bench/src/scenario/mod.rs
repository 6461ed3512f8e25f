//! Labelled evaluation scenarios for the sensor's anomaly detectors: days of benign
//! traffic from a small fleet with daily rhythms, with attacks injected at known times
//! after a learning period. A scenario is a mirror-format pcap (AWS VXLAN, one VNI,
//! one mirror source ENI per device) and a ground-truth JSON file. The same
//! [`ScenarioConfig`] gives the same bytes.

mod attacks;
mod benign;
mod benign_dns;
mod dns;
mod dns_attacks;
mod flow;
mod names;
mod pcap_file;
mod plan;
mod resolver;
mod time;
mod topology;
mod truth;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sensor::fixture::{AwsOuter, wrap_aws_vxlan};

pub use attacks::{Attack, KINDS as ATTACK_KINDS, MATCH_GRACE_NS, detectors_of};
pub use benign::NoiseEvent;
pub use time::{DAY_NS, HOUR_NS, SCENARIO_START_NS};
pub use topology::{COLLECTOR_ADDR, MAX_DEVICES, MIN_DEVICES, Role, Topology};
pub use truth::{TRUTH_SCHEMA_VERSION, Truth};

use flow::is_internal;
use topology::{COLLECTOR_MAC, ROUTER_MAC};

/// Learning period written to the truth file; attacks start after it.
pub const LEARNING_PERIOD_HOURS: u64 = 24;
/// Minimum days: the learning day and two evaluated days. With one evaluated
/// day a workstation first seen in the morning has never been observed through
/// a night when the unusual-hours attack runs, so that attack cannot be detected.
pub const MIN_DAYS: u32 = 3;
/// Maximum days: a week keeps a default-size pcap near 150 MB (an estimate: 60 MB for
/// 3 days).
pub const MAX_DAYS: u32 = 7;

/// Settings of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioConfig {
    pub seed: u64,
    /// Monitored devices, MIN_DEVICES to MAX_DEVICES.
    pub devices: usize,
    /// Days of packet time, MIN_DAYS to MAX_DAYS; the first is the learning period.
    pub days: u32,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            seed: 1,
            devices: 14,
            days: 3,
        }
    }
}

/// One mirrored frame: its capture time and bytes (outer headers included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFrame {
    pub ts_ns: u64,
    pub frame: Vec<u8>,
}

/// A generated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub truth: Truth,
    /// Frames in capture-time order.
    pub frames: Vec<MirrorFrame>,
}

/// Returns the VNI of the scenario with `seed`: 100000 plus the seed modulo 1,000,000.
pub fn vni_for_seed(seed: u64) -> u32 {
    100_000 + (seed % 1_000_000) as u32
}

/// Generates the scenario for `config`.
pub fn generate(config: &ScenarioConfig) -> Result<Scenario> {
    if !(MIN_DEVICES..=MAX_DEVICES).contains(&config.devices) {
        bail!(
            "invalid device count {}: use {MIN_DEVICES} to {MAX_DEVICES}",
            config.devices
        );
    }
    if !(MIN_DAYS..=MAX_DAYS).contains(&config.days) {
        bail!(
            "invalid day count {}: use {MIN_DAYS} to {MAX_DAYS}",
            config.days
        );
    }
    let topology = Topology::new(config.devices);
    let start_ns = SCENARIO_START_NS;
    let end_ns = start_ns + u64::from(config.days) * DAY_NS;
    let learning_end_ns = start_ns + LEARNING_PERIOD_HOURS * HOUR_NS;
    let rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut plan = plan::Plan::new(rng, &topology, start_ns, end_ns);

    let background = benign::add_background(&mut plan, learning_end_ns);
    let attacks = attacks::add_attacks(&mut plan, &background, learning_end_ns)?;

    let vni = vni_for_seed(config.seed);
    let frames = render(&plan.flows, &topology, vni);
    let truth = Truth {
        seed: config.seed,
        vni,
        start_ns,
        end_ns,
        learning_period_hours: LEARNING_PERIOD_HOURS,
        devices: topology
            .devices
            .iter()
            .map(|d| (d.addr, d.role.name()))
            .collect(),
        attacks,
        noise: background.noise,
    };
    Ok(Scenario { truth, frames })
}

/// Renders every flow, wraps each packet as its device's mirror session sends it, and
/// sorts the frames by time (ties keep the planned order, so the result is stable).
fn render(flows: &[flow::FlowSpec], topology: &Topology, vni: u32) -> Vec<MirrorFrame> {
    let mut frames = Vec::new();
    for flow in flows {
        let mac_of = |addr| match topology.index_of(addr) {
            Some(index) => topology.devices[index].mac,
            None => ROUTER_MAC,
        };
        let device = &topology.devices[flow.mirror];
        let outer = AwsOuter {
            src_mac: device.mac,
            dst_mac: COLLECTOR_MAC,
            src_ip: device.mirror_src,
            dst_ip: COLLECTOR_ADDR,
            vni,
        };
        let (client_mac, server_mac) = if is_internal(flow.client) && is_internal(flow.server) {
            (mac_of(flow.client), mac_of(flow.server))
        } else if is_internal(flow.client) {
            (mac_of(flow.client), ROUTER_MAC)
        } else {
            (ROUTER_MAC, mac_of(flow.server))
        };
        for packet in flow.render(client_mac, server_mac) {
            frames.push(MirrorFrame {
                ts_ns: packet.ts_ns / 1000 * 1000,
                frame: wrap_aws_vxlan(&packet.frame, &outer),
            });
        }
    }
    frames.sort_by_key(|frame| frame.ts_ns);
    frames
}

/// Writes the scenario as a classic pcap to `out`.
pub fn write_pcap(scenario: &Scenario, out: &mut impl Write) -> std::io::Result<()> {
    pcap_file::write_header(out)?;
    for frame in &scenario.frames {
        pcap_file::write_record(out, frame.ts_ns, &frame.frame)?;
    }
    Ok(())
}

/// Paths of the files that [`write_files`] creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioFiles {
    pub pcap: PathBuf,
    pub truth: PathBuf,
}

/// Returns the paths of the files of seed `seed` in `dir`.
pub fn file_paths(dir: &Path, seed: u64) -> ScenarioFiles {
    ScenarioFiles {
        pcap: dir.join(format!("scenario-{seed}.pcap")),
        truth: dir.join(format!("scenario-{seed}.truth.json")),
    }
}

/// Writes `DIR/scenario-SEED.pcap` and `DIR/scenario-SEED.truth.json`, creating `dir`.
pub fn write_files(scenario: &Scenario, dir: &Path) -> Result<ScenarioFiles> {
    fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let paths = file_paths(dir, scenario.truth.seed);

    let file = File::create(&paths.pcap)
        .with_context(|| format!("failed to create {}", paths.pcap.display()))?;
    let mut out = BufWriter::new(file);
    write_pcap(scenario, &mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("failed to write {}", paths.pcap.display()))?;

    let mut text = serde_json::to_string_pretty(&scenario.truth.to_json())
        .context("failed to serialize the truth file")?;
    text.push('\n');
    fs::write(&paths.truth, text)
        .with_context(|| format!("failed to write {}", paths.truth.display()))?;
    Ok(paths)
}
