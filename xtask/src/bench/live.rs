//! The live lab benchmark: the highest offered rate with zero loss for three receivers
//! on the same lab of two veth queues. The receivers are the sensor's XDP program with
//! no socket, which drops and counts every mirror frame (the lab's ceiling), a
//! do-nothing AF_XDP reader in copy mode (`xsk-sink`), and `sensor run`. A binary
//! search over short trials of the flow model, sent through `mirror-gen`'s TX ring,
//! finds each rate.
//!
//! A trial passes when the receiver counted every frame the generator sent, its sockets
//! dropped none (`XDP_STATISTICS`), and the generator reached 95% of the offered rate.
//! A veth pair pushes back on the sender when the receiving queue is full, so a
//! receiver that falls behind shows up as a generator below its offered rate as well as
//! loss.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::BenchOptions;
use crate::lab::{Lab, LabConfig, SENSOR_ADDR, SRC_ADDR};
use crate::{cmd, http_get_in, summary};

/// Lab namespace prefix; the lab is `bnch-live-src` and `bnch-live-sensor`.
const LAB_PREFIX: &str = "bnch-live";
const QUEUES: u32 = 2;
/// UMEM frames and RX ring descriptors of every receiver's sockets. Deeper than the
/// sensor's defaults (4096 and 2048): the generator's pinned sender threads share the
/// receivers' CPUs, and the scheduler can keep a receiver off its CPU for several
/// milliseconds, longer than the default ring lasts at these rates.
const UMEM_FRAMES: u32 = 16_384;
const RX_RING: u32 = 8_192;
const METRICS_ADDR: &str = "127.0.0.1:9477";
/// A trial passes only when the generator reaches this share of the offered rate.
const MIN_ACHIEVED_SHARE: f64 = 0.95;
/// Time a receiver gets to load XDP, bind its sockets and report its counters.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Time a receiver gets to exit after SIGINT before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Time the generator gets beyond the trial length, to render its frame pool.
const GENERATOR_GRACE: Duration = Duration::from_secs(30);
/// Maximum wait for a receiver's counters to settle after a trial.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(3);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Sizes of one benchmark run.
#[derive(Debug, Clone, Copy)]
struct Plan {
    trial: Duration,
    /// Binary search steps after the first, unpaced trial.
    steps: u32,
    model_flows: u32,
    model_frames: usize,
}

impl Plan {
    fn for_options(options: &BenchOptions) -> Plan {
        if options.quick {
            Plan {
                trial: Duration::from_secs(1),
                steps: 4,
                model_flows: 1000,
                model_frames: 16_384,
            }
        } else {
            Plan {
                trial: Duration::from_secs(3),
                steps: 7,
                model_flows: 10_000,
                model_frames: 65_536,
            }
        }
    }
}

/// The three receivers, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReceiverKind {
    XdpDrop,
    Reader,
    Sensor,
}

impl ReceiverKind {
    const ALL: [ReceiverKind; 3] = [
        ReceiverKind::XdpDrop,
        ReceiverKind::Reader,
        ReceiverKind::Sensor,
    ];

    fn title(self) -> &'static str {
        match self {
            ReceiverKind::XdpDrop => "XDP_DROP (sensor program, no socket)",
            ReceiverKind::Reader => "do-nothing AF_XDP reader (copy mode)",
            ReceiverKind::Sensor => "`sensor run` (release)",
        }
    }
}

/// Cumulative counters of a receiver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counters {
    /// Frames the receiver counted.
    frames: u64,
    /// Frames its sockets dropped (ring full, fill ring empty, other).
    ring_drops: u64,
}

/// The outcome of one trial.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Trial {
    /// Offered rate in frames per second; 0 means as fast as possible.
    offered_pps: u64,
    sent: u64,
    counted: u64,
    ring_drops: u64,
    achieved_pps: f64,
    /// CPU seconds (user and system, all threads) the receiver process used during
    /// the trial. Kernels that account time by ticks (no IRQ_TIME_ACCOUNTING) charge
    /// softirq work, such as the copy into the socket, to the running task, so part
    /// of the kernel's work can be in it.
    receiver_cpu_s: f64,
}

impl Trial {
    fn passed(&self) -> bool {
        let lossless = self.counted == self.sent && self.ring_drops == 0 && self.sent > 0;
        let on_rate = self.offered_pps == 0
            || self.achieved_pps >= self.offered_pps as f64 * MIN_ACHIEVED_SHARE;
        lossless && on_rate
    }
}

/// The trials of one search and the best passing one.
#[derive(Debug, Clone, Default)]
struct Search {
    trials: Vec<Trial>,
    best: Option<Trial>,
}

/// Runs the live lab benchmark and returns its markdown section.
pub fn run(options: &BenchOptions) -> Result<String> {
    if !cmd::is_root() {
        bail!("the live lab benchmark needs root to create network namespaces: rerun as root");
    }
    if !options.no_build {
        cmd::status(cmd::cargo().args(["build", "--release", "-p", "sensor", "-p", "bench"]))?;
    }
    let plan = Plan::for_options(options);
    let release_dir = cmd::target_dir().join("release");
    let work_dir = cmd::target_dir().join("bench").join("live");
    fs::create_dir_all(&work_dir)
        .with_context(|| format!("failed to create {}", work_dir.display()))?;

    let lab = Lab::up(&LabConfig {
        prefix: LAB_PREFIX.to_string(),
        queues: QUEUES,
        ..LabConfig::default()
    })?;

    let mut results = Vec::new();
    for kind in ReceiverKind::ALL {
        eprintln!("live: searching the zero-loss rate of {}", kind.title());
        let outcome = measure(kind, &lab, &release_dir, &work_dir, &plan, options.seed);
        if let Err(error) = &outcome {
            eprintln!("live: {} failed: {error:#}", kind.title());
        }
        results.push((kind, outcome));
    }
    lab.down()?;
    Ok(render(&plan, options.seed, &results))
}

/// Starts receiver `kind`, searches its zero-loss rate, and stops it.
fn measure(
    kind: ReceiverKind,
    lab: &Lab,
    release_dir: &Path,
    work_dir: &Path,
    plan: &Plan,
    seed: u64,
) -> Result<Search> {
    let mut receiver = Receiver::start(kind, lab, release_dir, work_dir)?;
    let search = search_rate(plan.steps, |offered_pps| {
        let trial = run_trial(&mut receiver, lab, release_dir, plan, seed, offered_pps)?;
        eprintln!(
            "live:   offered {} pps: sent {}, counted {}, ring drops {}, {:.0} pps achieved: {}",
            offered_pps,
            trial.sent,
            trial.counted,
            trial.ring_drops,
            trial.achieved_pps,
            if trial.passed() { "pass" } else { "loss" }
        );
        Ok(trial)
    })?;
    receiver.stop()?;
    Ok(search)
}

/// Finds the highest passing rate: one unpaced trial first, and when it loses frames a
/// binary search between 0 and the rate it reached, for up to `steps` trials or until
/// the bounds are within 2% of each other.
fn search_rate(steps: u32, mut trial: impl FnMut(u64) -> Result<Trial>) -> Result<Search> {
    let mut search = Search::default();
    let first = trial(0)?;
    search.trials.push(first);
    if first.passed() {
        search.best = Some(first);
        return Ok(search);
    }

    let mut low = 0u64;
    let mut high = first.achieved_pps as u64;
    for _ in 0..steps {
        if high <= low || high - low <= high / 50 {
            break;
        }
        let offered = low + (high - low) / 2;
        let outcome = trial(offered)?;
        search.trials.push(outcome);
        if outcome.passed() {
            low = offered;
            search.best = Some(outcome);
        } else {
            high = offered;
        }
    }
    Ok(search)
}

/// Sends one trial at `offered_pps` and counts what the receiver got.
fn run_trial(
    receiver: &mut Receiver,
    lab: &Lab,
    release_dir: &Path,
    plan: &Plan,
    seed: u64,
    offered_pps: u64,
) -> Result<Trial> {
    let before = receiver.settled_counters(None)?;
    let cpu_before = receiver.cpu_seconds()?;
    // An unpaced trial sends for the trial length; a paced one sends rate × length.
    let count = offered_pps.saturating_mul(plan.trial.as_secs());
    let report = run_generator(lab, release_dir, plan, seed, offered_pps, count)?;
    let sent = json_u64(&report, "frames_sent")?;
    let elapsed = report
        .get("elapsed_secs")
        .and_then(Value::as_f64)
        .context("the generator report has no elapsed_secs")?;
    let after = receiver.settled_counters(Some(before.frames + sent))?;
    let receiver_cpu_s = receiver.cpu_seconds()? - cpu_before;
    Ok(Trial {
        receiver_cpu_s,
        offered_pps,
        sent,
        counted: after.frames.saturating_sub(before.frames),
        ring_drops: after.ring_drops.saturating_sub(before.ring_drops),
        achieved_pps: if elapsed > 0.0 {
            sent as f64 / elapsed
        } else {
            0.0
        },
    })
}

/// Runs `mirror-gen` in the source namespace and returns its JSON report.
fn run_generator(
    lab: &Lab,
    release_dir: &Path,
    plan: &Plan,
    seed: u64,
    rate_pps: u64,
    count: u64,
) -> Result<Value> {
    let mut command = Lab::command_in(lab.src_ns(), release_dir.join("mirror-gen"));
    command
        .args(["--interface", lab.src_if(), "--sender", "ring"])
        .args(["--rss-cpus", &rss_cpus()])
        .args(["--model-flows", &plan.model_flows.to_string()])
        .args(["--model-frames", &plan.model_frames.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--rate-pps", &rate_pps.to_string()])
        .args(["--max-duration-secs", &plan.trial.as_secs().to_string()])
        .args(["--outer-src", SRC_ADDR, "--outer-dst", SENSOR_ADDR]);
    if count > 0 {
        command.args(["--count", &count.to_string()]);
    } else {
        command.args(["--loops", "0"]);
    }
    let line = cmd::describe(&command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("failed to start `{line}`"))?;

    let deadline = Instant::now() + plan.trial + GENERATOR_GRACE;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{line}` did not finish in time and was killed");
        }
        std::thread::sleep(POLL_INTERVAL);
    };
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stdout)?;
    }
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("invalid report from `{line}`: {last:?}"))
}

/// Returns the generator's `--rss-cpus` list: one sender thread and TX ring per queue,
/// on CPU `queue`, so each outer flow reaches one veth RX queue as RSS would place it.
fn rss_cpus() -> String {
    (0..QUEUES)
        .map(|queue| queue.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn json_u64(report: &Value, key: &str) -> Result<u64> {
    report
        .get(key)
        .and_then(Value::as_u64)
        .with_context(|| format!("the generator report has no {key}: {report}"))
}

/// A running receiver in the sensor namespace. Dropping it stops it.
struct Receiver {
    kind: ReceiverKind,
    child: Child,
    sensor_ns: String,
    stats_file: PathBuf,
    log_file: PathBuf,
    stopped: bool,
}

impl Receiver {
    fn start(
        kind: ReceiverKind,
        lab: &Lab,
        release_dir: &Path,
        work_dir: &Path,
    ) -> Result<Receiver> {
        let name = match kind {
            ReceiverKind::XdpDrop => "xdp-drop",
            ReceiverKind::Reader => "reader",
            ReceiverKind::Sensor => "sensor",
        };
        let stats_file = work_dir.join(format!("{name}.json"));
        let log_file = work_dir.join(format!("{name}.log"));
        let _ = fs::remove_file(&stats_file);
        let log = fs::File::create(&log_file)
            .with_context(|| format!("failed to create {}", log_file.display()))?;

        let queues = (0..QUEUES)
            .map(|queue| queue.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // The same queues and socket sizes for every AF_XDP receiver.
        let sockets = [
            "--queues".to_string(),
            queues,
            "--umem-frames".to_string(),
            UMEM_FRAMES.to_string(),
            "--rx-ring-size".to_string(),
            RX_RING.to_string(),
        ];
        let mut command = match kind {
            ReceiverKind::XdpDrop | ReceiverKind::Reader => {
                let mut command = Lab::command_in(lab.sensor_ns(), release_dir.join("xsk-sink"));
                let mode = if kind == ReceiverKind::XdpDrop {
                    "drop"
                } else {
                    "reader"
                };
                command
                    .args(["--interface", lab.sensor_if(), "--mode", mode])
                    .args(&sockets)
                    .arg("--stats-file")
                    .arg(&stats_file);
                command
            }
            ReceiverKind::Sensor => {
                let mut command = Lab::command_in(lab.sensor_ns(), release_dir.join("sensor"));
                command
                    .args(["run", "--interface", lab.sensor_if()])
                    .args(["--xdp-mode", "native", "--bind-mode", "copy"])
                    .args(&sockets)
                    .arg("--flows-out")
                    .arg(work_dir.join("flows.jsonl"))
                    .args(["--metrics-listen", METRICS_ADDR]);
                command
            }
        };
        let line = cmd::describe(&command);
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("failed to start `{line}`"))?;
        let mut receiver = Receiver {
            kind,
            child,
            sensor_ns: lab.sensor_ns().to_string(),
            stats_file,
            log_file,
            stopped: false,
        };
        receiver.wait_ready()?;
        Ok(receiver)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = true;
                bail!(
                    "{} exited with {status} at start; see {}",
                    self.kind.title(),
                    self.log_file.display()
                );
            }
            let error = match self.counters() {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            if Instant::now() >= deadline {
                return Err(error.context(format!(
                    "{} reported no counters within {} s; see {}",
                    self.kind.title(),
                    START_TIMEOUT.as_secs(),
                    self.log_file.display()
                )));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// CPU seconds the receiver process has used so far (`ip netns exec` replaced
    /// itself with the receiver, so the child is the receiver).
    fn cpu_seconds(&self) -> Result<f64> {
        process_cpu_seconds(self.child.id())
    }

    fn counters(&self) -> Result<Counters> {
        match self.kind {
            ReceiverKind::XdpDrop | ReceiverKind::Reader => {
                let text = fs::read_to_string(&self.stats_file)
                    .with_context(|| format!("failed to read {}", self.stats_file.display()))?;
                let stats: Value = serde_json::from_str(&text)
                    .with_context(|| format!("invalid JSON in {}", self.stats_file.display()))?;
                let field = |key: &str| stats.get(key).and_then(Value::as_u64).unwrap_or(0);
                Ok(Counters {
                    frames: field("frames"),
                    ring_drops: field("rx_ring_full")
                        + field("fill_ring_empty")
                        + field("rx_dropped"),
                })
            }
            ReceiverKind::Sensor => {
                let addr: SocketAddr = METRICS_ADDR.parse().context("invalid METRICS_ADDR")?;
                let page = http_get_in(&self.sensor_ns, addr, "/metrics")?;
                let samples = summary::parse_metrics(&page);
                let total = |name: &str| -> u64 {
                    samples
                        .iter()
                        .filter(|sample| sample.name == name)
                        .map(|sample| sample.value as u64)
                        .sum()
                };
                Ok(Counters {
                    frames: total("sensor_queue_frames_total"),
                    ring_drops: total("sensor_xsk_dropped_frames_total"),
                })
            }
        }
    }

    /// Reads the counters until they stop moving, or until `frames` reach `target`,
    /// for at most 3 s. Both receivers publish their counters every 100 ms at most.
    fn settled_counters(&self, target: Option<u64>) -> Result<Counters> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let mut last = self.counters()?;
        let mut unchanged = 0;
        while Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL * 2);
            let now = self.counters()?;
            let reached = target.is_some_and(|target| now.frames >= target);
            unchanged = if now == last { unchanged + 1 } else { 0 };
            last = now;
            if reached || unchanged >= 2 {
                break;
            }
        }
        Ok(last)
    }

    /// Sends SIGINT and waits for the receiver to exit, killing it after 20 s.
    fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill has no memory-safety preconditions; the pid is our own
            // child, not reaped yet, so it cannot name another process.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!(
                        "{} exited with {status} after SIGINT; see {}",
                        self.kind.title(),
                        self.log_file.display()
                    );
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!(
                    "{} did not exit within {} s of SIGINT and was killed",
                    self.kind.title(),
                    STOP_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            eprintln!("live: stopping the receiver failed: {error:#}");
        }
    }
}

/// Renders the section: method, one row per receiver, the ratios and every trial.
fn render(plan: &Plan, seed: u64, results: &[(ReceiverKind, Result<Search>)]) -> String {
    let mut out = String::new();
    out.push_str("## Live lab: zero-loss rate\n\n");
    out.push_str(&format!(
        "Method: a lab of two network namespaces joined by a veth pair with {QUEUES} queues \
         (native XDP on the receiving end). `mirror-gen --sender ring` sends the flow model \
         ({} concurrent flows, a pool of {} frames, IMIX-like 7:4:1 mix of 64, 576 and \
         1464-byte inner frames, 20% IPv6, 80% TCP, seed {seed}) through a PACKET_MMAP TX \
         ring. Both AF_XDP receivers use {UMEM_FRAMES} UMEM frames and {RX_RING} RX \
         descriptors per queue, and pin the reader of queue i to CPU i. Each receiver gets \
         one unpaced trial, then a binary search of up to {} paced trials of {} s. A trial \
         passes when the receiver counted every frame sent, its sockets dropped none, and \
         the generator reached {:.0}% of the offered rate.\n\n",
        plan.model_flows,
        plan.model_frames,
        plan.steps,
        plan.trial.as_secs(),
        MIN_ACHIEVED_SHARE * 100.0
    ));
    out.push_str(
        "NOTE: the generator, the veth receive path (it runs in the sender's softirq) and \
         the receiver share the same CPUs, so these rates are those of the whole lab on this \
         machine, not of a NIC. An unpaced trial that passes means the generator, not the \
         receiver, set the limit.\n\n",
    );

    out.push_str("| receiver | zero-loss rate (frames/s) | trials |\n|---|---|---|\n");
    for (kind, outcome) in results {
        let cell = match outcome {
            Ok(search) => match search.best {
                Some(best) if best.offered_pps == 0 => {
                    format!("≥ {:.0} (generator limit)", best.achieved_pps)
                }
                Some(best) => format!("{:.0}", best.achieved_pps),
                None => "none passed".to_string(),
            },
            Err(error) => format!("failed: {}", one_line(&format!("{error:#}"))),
        };
        let trials = outcome
            .as_ref()
            .map(|search| search.trials.len())
            .unwrap_or(0);
        out.push_str(&format!("| {} | {cell} | {trials} |\n", kind.title()));
    }

    let best = |wanted: ReceiverKind| -> Option<Trial> {
        results
            .iter()
            .find(|(kind, _)| *kind == wanted)
            .and_then(|(_, outcome)| outcome.as_ref().ok())
            .and_then(|search| search.best)
    };
    out.push('\n');
    let sensor = best(ReceiverKind::Sensor);
    let reader = best(ReceiverKind::Reader);
    let ratio = sensor
        .zip(reader)
        .and_then(|(sensor, reader)| zero_loss_ratio(&sensor, &reader));
    let verdict = verdict(ratio, search_resolution(plan));
    let both_limited = sensor
        .zip(reader)
        .is_some_and(|(sensor, reader)| sensor.offered_pps == 0 && reader.offered_pps == 0);
    let described = match ratio {
        Some(ratio) => ratio.describe(),
        None if both_limited => {
            "no ratio: both took everything the generator sent, so both rates are lower bounds"
                .to_string()
        }
        None => "not measured (see the rows above)".to_string(),
    };
    out.push_str(&format!(
        "Sensor / do-nothing reader: {described} (target ≥ {:.0}%: {verdict}).\n",
        TARGET_SHARE * 100.0
    ));
    if let Some(ratio) = sensor
        .zip(best(ReceiverKind::XdpDrop))
        .and_then(|(sensor, ceiling)| zero_loss_ratio(&sensor, &ceiling))
    {
        out.push_str(&format!(
            "Sensor / XDP_DROP ceiling: {}.\n",
            ratio.describe()
        ));
    }

    render_cpu(&mut out, results);

    out.push_str("\nEvery trial (offered 0 means as fast as possible):\n\n");
    out.push_str("| receiver | offered (frames/s) | sent | counted | ring drops | achieved (frames/s) | receiver CPU s | result |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for (kind, outcome) in results {
        let Ok(search) = outcome else { continue };
        for trial in &search.trials {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.0} | {:.2} | {} |\n",
                kind.title(),
                trial.offered_pps,
                trial.sent,
                trial.counted,
                trial.ring_drops,
                trial.achieved_pps,
                trial.receiver_cpu_s,
                if trial.passed() { "pass" } else { "loss" }
            ));
        }
    }
    out
}

/// Target share: the sensor's zero-loss rate over the do-nothing reader's.
const TARGET_SHARE: f64 = 0.9;

/// A ratio of two zero-loss rates. A rate the generator limited (its unpaced trial
/// passed) is only a lower bound of the receiver's capacity.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ratio {
    Exact(f64),
    AtLeast(f64),
    AtMost(f64),
}

impl Ratio {
    fn describe(self) -> String {
        match self {
            Ratio::Exact(ratio) => format!("{:.1}%", ratio * 100.0),
            Ratio::AtLeast(ratio) => format!("at least {:.1}%", ratio * 100.0),
            Ratio::AtMost(ratio) => format!("at most {:.1}%", ratio * 100.0),
        }
    }
}

/// Returns how far a ratio of two searched rates can be from the true one: each
/// search ends within 1/2^steps of its unpaced rate, and the ratio has two of them.
fn search_resolution(plan: &Plan) -> f64 {
    2.0 / 2f64.powi(plan.steps.min(30) as i32)
}

/// Returns the verdict on the target share for `ratio`, which is known only to
/// within `resolution`.
fn verdict(ratio: Option<Ratio>, resolution: f64) -> String {
    let points = |share: f64| share * 100.0;
    match ratio {
        Some(Ratio::Exact(ratio)) if (ratio - TARGET_SHARE).abs() < resolution => format!(
            "not determined: within the search's resolution of ±{:.1} points",
            points(resolution)
        ),
        Some(Ratio::Exact(ratio)) | Some(Ratio::AtLeast(ratio)) if ratio >= TARGET_SHARE => {
            "met".to_string()
        }
        Some(Ratio::Exact(ratio)) if ratio < TARGET_SHARE => {
            format!("missed by {:.1} points", points(TARGET_SHARE - ratio))
        }
        Some(Ratio::AtMost(ratio)) if ratio < TARGET_SHARE => format!(
            "missed by at least {:.1} points",
            points(TARGET_SHARE - ratio)
        ),
        Some(_) => "not determined: the bound does not decide it".to_string(),
        None => "not determined".to_string(),
    }
}

/// Returns `ours / theirs` from the best trials, or `None` when both are lower
/// bounds (nothing follows from two of them) or `theirs` is zero.
fn zero_loss_ratio(ours: &Trial, theirs: &Trial) -> Option<Ratio> {
    if theirs.achieved_pps <= 0.0 {
        return None;
    }
    let ratio = ours.achieved_pps / theirs.achieved_pps;
    match (ours.offered_pps == 0, theirs.offered_pps == 0) {
        (false, false) => Some(Ratio::Exact(ratio)),
        (true, false) => Some(Ratio::AtLeast(ratio)),
        (false, true) => Some(Ratio::AtMost(ratio)),
        (true, true) => None,
    }
}

/// Appends the receivers' CPU time per frame in their unpaced trial.
fn render_cpu(out: &mut String, results: &[(ReceiverKind, Result<Search>)]) {
    let unpaced = |wanted: ReceiverKind| -> Option<(f64, f64)> {
        let (_, outcome) = results.iter().find(|(kind, _)| *kind == wanted)?;
        let trial = outcome
            .as_ref()
            .ok()?
            .trials
            .iter()
            .find(|trial| trial.offered_pps == 0 && trial.counted > 0)?;
        Some((
            trial.receiver_cpu_s * 1e9 / trial.counted as f64,
            trial.achieved_pps,
        ))
    };
    let (Some((sensor, sensor_pps)), Some((reader, reader_pps))) =
        (unpaced(ReceiverKind::Sensor), unpaced(ReceiverKind::Reader))
    else {
        return;
    };
    out.push_str(&format!(
        "\nCPU time of the receiver process per frame counted, unpaced trial: `sensor run` \
         {sensor:.0} ns at {sensor_pps:.0} frames/s, do-nothing reader {reader:.0} ns at \
         {reader_pps:.0} frames/s. Both include kernel work charged to the process (this \
         kernel accounts softirq time by ticks), which is most of the reader's figure and \
         changes with the rate, so the difference is not the sensor's own work alone; \
         `pipeline-bench` above measures that.\n"
    ));
}

/// Reads the user and system CPU time of process `pid`, all threads, from
/// /proc/PID/stat.
fn process_cpu_seconds(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = fs::read_to_string(&path).with_context(|| format!("failed to read {path}"))?;
    // The command name may contain spaces and parentheses, so fields count from the
    // last ')'.
    let after_name = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("no command name in {path}"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; the part after the name
    // starts at field 3.
    let ticks = |index: usize| -> Result<u64> {
        fields
            .get(index)
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("field {} of {path} is not a number", index + 3))
    };
    let total = ticks(11)? + ticks(12)?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if per_second <= 0 {
        bail!("sysconf(_SC_CLK_TCK) returned {per_second}");
    }
    Ok(total as f64 / per_second as f64)
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '|'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(offered_pps: u64, capacity: u64) -> Trial {
        let achieved = if offered_pps == 0 {
            capacity * 2
        } else {
            offered_pps
        };
        let counted = achieved.min(capacity);
        Trial {
            offered_pps,
            sent: achieved,
            counted,
            ring_drops: 0,
            achieved_pps: achieved as f64,
            receiver_cpu_s: 0.5,
        }
    }

    /// Runs only this part, quick, on the release binaries already built, and prints
    /// the section. Needs root:
    /// `cargo test -p xtask --lib bench::live::tests::quick_section -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs root, builds a network lab and runs for about a minute"]
    fn quick_section() {
        let options = BenchOptions {
            quick: true,
            seed: 1,
            no_build: true,
        };
        println!("{}", run(&options).expect("live part"));
    }

    #[test]
    fn cpu_seconds_grow_while_this_process_spins() {
        let pid = std::process::id();
        let start = process_cpu_seconds(pid).expect("readable");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut spins = 0u64;
        loop {
            for _ in 0..100_000 {
                spins = std::hint::black_box(spins + 1);
            }
            if process_cpu_seconds(pid).expect("readable") - start >= 0.2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no 0.2 s of CPU counted in 20 s of spinning"
            );
        }
    }

    #[test]
    fn passed_cases() {
        let base = Trial {
            offered_pps: 1000,
            sent: 1000,
            counted: 1000,
            ring_drops: 0,
            achieved_pps: 1000.0,
            receiver_cpu_s: 0.1,
        };
        let cases = [
            (base, true),
            (
                Trial {
                    counted: 999,
                    ..base
                },
                false,
            ),
            (
                Trial {
                    ring_drops: 1,
                    ..base
                },
                false,
            ),
            (
                Trial {
                    achieved_pps: 900.0,
                    ..base
                },
                false,
            ),
            (
                Trial {
                    offered_pps: 0,
                    achieved_pps: 10.0,
                    ..base
                },
                true,
            ),
            (
                Trial {
                    sent: 0,
                    counted: 0,
                    ..base
                },
                false,
            ),
        ];
        for (trial, expected) in cases {
            assert_eq!(trial.passed(), expected, "{trial:?}");
        }
    }

    #[test]
    fn search_rate_converges_below_capacity() {
        let search = search_rate(10, |offered| Ok(trial(offered, 100_000))).unwrap();
        let best = search.best.unwrap().achieved_pps;
        assert!((95_000.0..=100_000.0).contains(&best), "{best}");
    }

    #[test]
    fn search_rate_stops_after_steps() {
        let search = search_rate(3, |offered| Ok(trial(offered, 100_000))).unwrap();
        assert_eq!(search.trials.len(), 4);
    }

    #[test]
    fn search_rate_unpaced_pass_ends_search() {
        let search = search_rate(5, |offered| {
            Ok(Trial {
                counted: trial(offered, 1).sent,
                ..trial(offered, 1)
            })
        })
        .unwrap();
        assert_eq!(search.trials.len(), 1);
    }

    #[test]
    fn verdict_cases() {
        let cases = [
            (Some(Ratio::Exact(0.95)), "met"),
            (Some(Ratio::AtLeast(0.95)), "met"),
            (Some(Ratio::Exact(0.80)), "missed by 10.0 points"),
            (Some(Ratio::AtMost(0.80)), "missed by at least 10.0 points"),
            (
                Some(Ratio::Exact(0.896)),
                "not determined: within the search's resolution of ±1.6 points",
            ),
            (
                Some(Ratio::AtLeast(0.80)),
                "not determined: the bound does not decide it",
            ),
            (
                Some(Ratio::AtMost(0.95)),
                "not determined: the bound does not decide it",
            ),
            (None, "not determined"),
        ];
        for (ratio, expected) in cases {
            assert_eq!(verdict(ratio, 2.0 / 128.0), expected, "{ratio:?}");
        }
    }

    #[test]
    fn ratio_of_bounds() {
        let paced = |pps: f64| Trial {
            offered_pps: 1,
            achieved_pps: pps,
            ..trial(1, 1)
        };
        let unpaced = |pps: f64| Trial {
            offered_pps: 0,
            achieved_pps: pps,
            ..trial(1, 1)
        };
        assert_eq!(
            zero_loss_ratio(&paced(90.0), &paced(100.0)),
            Some(Ratio::Exact(0.9))
        );
        assert_eq!(
            zero_loss_ratio(&unpaced(90.0), &paced(100.0)),
            Some(Ratio::AtLeast(0.9))
        );
        assert_eq!(
            zero_loss_ratio(&paced(90.0), &unpaced(100.0)),
            Some(Ratio::AtMost(0.9))
        );
        assert_eq!(zero_loss_ratio(&unpaced(90.0), &unpaced(100.0)), None);
        assert_eq!(zero_loss_ratio(&paced(90.0), &paced(0.0)), None);
    }

    #[test]
    fn render_reports_ratio() {
        let search = |pps: f64, cpu_s: f64| Search {
            trials: vec![Trial {
                offered_pps: 0,
                sent: 2_000_000,
                counted: 1_000_000,
                ring_drops: 5,
                achieved_pps: 2.0 * pps,
                receiver_cpu_s: cpu_s,
            }],
            best: Some(Trial {
                offered_pps: 1,
                sent: 1,
                counted: 1,
                ring_drops: 0,
                achieved_pps: pps,
                receiver_cpu_s: cpu_s,
            }),
        };
        let results = vec![
            (ReceiverKind::XdpDrop, Ok(search(200.0, 0.0))),
            (ReceiverKind::Reader, Ok(search(100.0, 0.05))),
            (ReceiverKind::Sensor, Ok(search(95.0, 0.3))),
        ];
        let plan = Plan {
            trial: Duration::from_secs(1),
            steps: 4,
            model_flows: 10,
            model_frames: 100,
        };
        let text = render(&plan, 1, &results);
        assert!(text.contains("do-nothing reader: 95.0%"), "{text}");
        assert!(
            text.contains("`sensor run` 300 ns at 190 frames/s, do-nothing reader 50 ns"),
            "{text}"
        );
    }
}
