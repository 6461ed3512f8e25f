//! `cargo xtask demo`: builds the release binaries, starts the lab and the sensor in it,
//! sends the generator's built-in workload, then prints a summary of the flows and
//! metrics. The lab is torn down and the sensor stopped on success, failure and Ctrl-C.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::lab::{Lab, LabConfig, SENSOR_ADDR, SRC_ADDR};
use crate::{cmd, http_get_in, summary, workspace};

/// Metrics endpoint of the sensor, inside the sensor namespace.
const METRICS_ADDR: &str = "127.0.0.1:9477";
/// Time allowed for the sensor to load XDP, bind its sockets and serve metrics.
const SENSOR_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for the generator; its own `--max-duration-secs` is shorter.
const GENERATOR_TIMEOUT: Duration = Duration::from_secs(90);
const GENERATOR_MAX_DURATION_SECS: u64 = 60;
/// Time the sensor gets to drain its rings after the generator finishes.
const SETTLE_TIME: Duration = Duration::from_secs(2);
/// Time the sensor gets to write its last flows after SIGINT.
const SENSOR_STOP_TIMEOUT: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Settings of one demo run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// veth queues; the sensor opens one AF_XDP socket per RX queue.
    pub queues: u32,
    /// Conversations in the synthetic workload.
    pub flows: u32,
    /// Seed of the synthetic workload.
    pub seed: u64,
    /// Generator send rate in frames per second; 0 sends as fast as possible.
    pub rate_pps: u64,
    /// Use the release binaries already built instead of running setup and the build.
    pub no_build: bool,
    /// Lab namespace prefix, so the demo never replaces a lab someone else uses.
    pub prefix: String,
}

/// Runs the whole demo.
pub fn run(options: &DemoOptions) -> Result<()> {
    let interrupted = install_interrupt_flag()?;
    if !options.no_build {
        workspace::build(true)?;
    }
    check_interrupt(&interrupted)?;

    let release_dir = cmd::target_dir().join("release");
    let demo_dir = cmd::target_dir().join("demo");
    fs::create_dir_all(&demo_dir)
        .with_context(|| format!("failed to create {}", demo_dir.display()))?;
    let flows_path = demo_dir.join("flows.jsonl");
    remove_if_present(&flows_path)?;

    let lab_cfg = LabConfig {
        queues: options.queues,
        prefix: options.prefix.clone(),
        ..LabConfig::default()
    };
    let lab = Lab::up(&lab_cfg)?;
    println!(
        "lab up: {} ({} {SRC_ADDR}) -> {} ({} {SENSOR_ADDR}), {} queues",
        lab.src_ns(),
        lab.src_if(),
        lab.sensor_ns(),
        lab.sensor_if(),
        options.queues
    );

    let metrics_addr: SocketAddr = METRICS_ADDR.parse().context("invalid METRICS_ADDR")?;
    let log_path = demo_dir.join("sensor.log");
    let mut sensor = start_sensor(&lab, &release_dir, &flows_path, &log_path)?;
    wait_for_metrics(&lab, metrics_addr, &mut sensor, &log_path, &interrupted)?;
    println!(
        "sensor up: metrics on {METRICS_ADDR} in {}, log in {}",
        lab.sensor_ns(),
        log_path.display()
    );

    let report = run_generator(&lab, &release_dir, options, &interrupted)?;
    println!("generator: {}", report.trim());
    sleep_unless_interrupted(SETTLE_TIME, &interrupted)?;

    let metrics = http_get_in(lab.sensor_ns(), metrics_addr, "/metrics")?;
    let status = sensor.stop()?;
    if !status.success() {
        bail!(
            "the sensor exited with {status} after SIGINT; see {}",
            log_path.display()
        );
    }

    let flows = fs::read_to_string(&flows_path)
        .with_context(|| format!("failed to read the flow file {}", flows_path.display()))?;
    let flow_summary = summary::summarize_flows(&flows);
    let samples = summary::parse_metrics(&metrics);
    print!("{}", summary::render(&flow_summary, &samples));
    println!(
        "(metrics were scraped before the sensor stopped; it writes the flows still open at stop, so the flow file holds {} records)",
        flows.lines().count()
    );
    println!("flow records: {}", flows_path.display());

    lab.down()?;
    println!("lab down");
    Ok(())
}

/// Makes Ctrl-C set a flag instead of killing xtask, so the guards below can stop the
/// sensor and remove the lab. The terminal sends SIGINT to the children too.
fn install_interrupt_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = Arc::clone(&flag);
    ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst))
        .context("failed to install the Ctrl-C handler")?;
    Ok(flag)
}

fn check_interrupt(interrupted: &AtomicBool) -> Result<()> {
    if interrupted.load(Ordering::SeqCst) {
        bail!("interrupted by Ctrl-C");
    }
    Ok(())
}

fn sleep_unless_interrupted(duration: Duration, interrupted: &AtomicBool) -> Result<()> {
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        check_interrupt(interrupted)?;
        std::thread::sleep(POLL_INTERVAL);
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("failed to remove {}", path.display())),
    }
}

/// A running sensor. Dropping it sends SIGINT and waits, then kills it if it hangs.
struct SensorProcess {
    child: Child,
    stopped: bool,
}

impl SensorProcess {
    /// Sends SIGINT, waits for the sensor to write its remaining flows and exit, and
    /// returns its exit status.
    fn stop(&mut self) -> Result<ExitStatus> {
        self.stopped = true;
        send_sigint(&self.child);
        let deadline = Instant::now() + SENSOR_STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!(
                    "the sensor did not exit within {} s of SIGINT and was killed",
                    SENSOR_STOP_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for SensorProcess {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if let Err(error) = self.stop() {
            eprintln!("stopping the sensor failed: {error:#}");
        }
    }
}

fn send_sigint(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child, which
    // has not been reaped yet, so it cannot name another process.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
}

fn start_sensor(
    lab: &Lab,
    release_dir: &Path,
    flows_path: &Path,
    log_path: &Path,
) -> Result<SensorProcess> {
    let log = fs::File::create(log_path)
        .with_context(|| format!("failed to create the sensor log {}", log_path.display()))?;
    let log_err = log.try_clone()?;
    let mut command = Lab::command_in(lab.sensor_ns(), release_dir.join("sensor"));
    command
        .args([
            "run",
            "--interface",
            lab.sensor_if(),
            "--xdp-mode",
            "native",
        ])
        .arg("--flows-out")
        .arg(flows_path)
        .args(["--metrics-listen", METRICS_ADDR])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    let line = cmd::describe(&command);
    println!("starting: {line}");
    let child = command
        .spawn()
        .with_context(|| format!("failed to start `{line}`"))?;
    Ok(SensorProcess {
        child,
        stopped: false,
    })
}

fn wait_for_metrics(
    lab: &Lab,
    addr: SocketAddr,
    sensor: &mut SensorProcess,
    log_path: &Path,
    interrupted: &AtomicBool,
) -> Result<()> {
    let deadline = Instant::now() + SENSOR_START_TIMEOUT;
    loop {
        check_interrupt(interrupted)?;
        if let Some(status) = sensor.child.try_wait()? {
            sensor.stopped = true;
            bail!(
                "the sensor exited with {status} before serving metrics; see {}",
                log_path.display()
            );
        }
        let error = match http_get_in(lab.sensor_ns(), addr, "/metrics") {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            return Err(error.context(format!(
                "the sensor did not serve metrics within {} s; see {}",
                SENSOR_START_TIMEOUT.as_secs(),
                log_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Runs the generator in the source namespace and returns its final JSON line.
fn run_generator(
    lab: &Lab,
    release_dir: &Path,
    options: &DemoOptions,
    interrupted: &AtomicBool,
) -> Result<String> {
    let generator: PathBuf = release_dir.join("mirror-gen");
    let mut command = Lab::command_in(lab.src_ns(), &generator);
    command
        .args(["--interface", lab.src_if(), "--synthetic"])
        .args(["--flows", &options.flows.to_string()])
        .args(["--seed", &options.seed.to_string()])
        .args(["--rate-pps", &options.rate_pps.to_string()])
        .args([
            "--max-duration-secs",
            &GENERATOR_MAX_DURATION_SECS.to_string(),
        ])
        .args(["--outer-src", SRC_ADDR, "--outer-dst", SENSOR_ADDR])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let line = cmd::describe(&command);
    println!("starting: {line}");
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to start `{line}`"))?;

    let deadline = Instant::now() + GENERATOR_TIMEOUT;
    let status = loop {
        if interrupted.load(Ordering::SeqCst) || Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            check_interrupt(interrupted)?;
            bail!(
                "`{line}` did not finish within {} s",
                GENERATOR_TIMEOUT.as_secs()
            );
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(POLL_INTERVAL);
    };

    let mut report = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut report)?;
    }
    if !status.success() {
        bail!("`{line}` failed with {status} (its stderr is above)");
    }
    Ok(report)
}
