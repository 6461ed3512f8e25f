//! xsk-sink: the do-nothing receivers of the live lab benchmark. It loads the sensor's
//! own XDP program on an interface. With `--mode drop` it registers no socket, so the
//! program drops every mirror frame and counts it as `dropped_no_socket` (the lab's
//! ceiling). With `--mode reader` it opens one AF_XDP socket per queue and only counts
//! the frames. Both use the sensor's loader and socket code, so the only
//! difference from `sensor run` is the work done per frame.
//!
//! Every 100 ms it writes its counters as one JSON object to `--stats-file` (replaced
//! atomically), and prints the final counters to stdout when it stops.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench::rss::pin_to_cpu;
use clap::{Parser, ValueEnum};
use sensor::capture::xdp::{VerdictReader, XdpMode, XdpProgram, XdpSettings};
use sensor::capture::xsk::{BindMode, QueueSocket, SocketSizes};

/// Slots of the program's verdict counters, as in `sensor_ebpf::Verdict`.
const VERDICT_REDIRECTED: usize = 0;
const VERDICT_DROPPED_NO_SOCKET: usize = 1;
const STATS_INTERVAL: Duration = Duration::from_millis(100);
/// Time a worker waits in `poll` before it checks the stop flag again.
const POLL_TIMEOUT_MS: i32 = 100;

#[derive(Parser, Debug)]
#[command(
    name = "xsk-sink",
    about = "Count mirror frames with the sensor's XDP program and nothing else"
)]
struct Args {
    /// Interface to attach to, in the current network namespace.
    #[arg(long)]
    interface: String,
    /// `drop`: no socket, the program drops and counts each mirror frame; `reader`: one
    /// AF_XDP socket (copy mode) per queue that counts frames.
    #[arg(long, value_enum)]
    mode: SinkMode,
    /// RX queues to read in reader mode, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    queues: Vec<u32>,
    /// Pin the reader of the i-th queue to the i-th CPU of this list; default: CPU i.
    #[arg(long, value_delimiter = ',')]
    cpus: Vec<usize>,
    /// Frames in each queue's UMEM (a power of two), as `sensor run --umem-frames`.
    #[arg(long, default_value_t = 4096)]
    umem_frames: u32,
    /// Descriptors in each RX ring (a power of two), as `sensor run --rx-ring-size`.
    #[arg(long, default_value_t = 2048)]
    rx_ring_size: u32,
    /// File the counters are written to every 100 ms.
    #[arg(long)]
    stats_file: PathBuf,
    /// Stop after this many seconds (or at SIGINT or SIGTERM).
    #[arg(long, default_value_t = 600)]
    duration_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SinkMode {
    Drop,
    Reader,
}

/// Counters of one queue's reader, published once per batch.
#[derive(Default)]
struct QueueCounters {
    frames: AtomicU64,
    rx_ring_full: AtomicU64,
    fill_ring_empty: AtomicU64,
    rx_dropped: AtomicU64,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xsk-sink: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    install_stop_handler()?;
    let settings = XdpSettings::default();
    let mut program = XdpProgram::load(&settings).context("failed to load the XDP program")?;
    program
        .attach(&args.interface, XdpMode::Native)
        .with_context(|| format!("failed to attach the XDP program to {}", args.interface))?;
    let verdicts = program.verdict_reader()?;

    let counters: Vec<Arc<QueueCounters>> = match args.mode {
        SinkMode::Drop => Vec::new(),
        SinkMode::Reader => args
            .queues
            .iter()
            .map(|_| Arc::new(QueueCounters::default()))
            .collect(),
    };
    let mut workers: Vec<JoinHandle<Result<()>>> = Vec::new();
    if args.mode == SinkMode::Reader {
        let sizes = SocketSizes {
            umem_frames: args.umem_frames,
            frame_size: 4096,
            rx_ring: args.rx_ring_size,
        };
        for (index, &queue) in args.queues.iter().enumerate() {
            let socket = QueueSocket::open(
                &args.interface,
                queue,
                BindMode::Copy,
                sizes,
                settings.stamp_time,
            )
            .with_context(|| format!("failed to open the AF_XDP socket of queue {queue}"))?;
            program.register_socket(queue, socket.raw_fd())?;
            let cpu = args.cpus.get(index).copied().unwrap_or(index);
            let queue_counters = Arc::clone(&counters[index]);
            workers.push(std::thread::spawn(move || {
                read_queue(socket, cpu, &queue_counters)
            }));
        }
    }
    eprintln!(
        "xsk-sink: {:?} mode on {}, queues {:?}",
        args.mode, args.interface, args.queues
    );

    let deadline = Instant::now() + Duration::from_secs(args.duration_secs);
    while !STOP.load(Ordering::SeqCst) && Instant::now() < deadline {
        write_stats(&args.stats_file, &stats_json(&verdicts, &counters)?)?;
        if workers.iter().any(JoinHandle::is_finished) {
            break;
        }
        std::thread::sleep(STATS_INTERVAL);
    }
    STOP.store(true, Ordering::SeqCst);
    for worker in workers {
        match worker.join() {
            Ok(result) => result?,
            Err(_) => bail!("a reader thread panicked"),
        }
    }
    let last = stats_json(&verdicts, &counters)?;
    write_stats(&args.stats_file, &last)?;
    println!("{last}");
    Ok(())
}

/// Counts the frames of one queue until the stop flag is set.
fn read_queue(mut socket: QueueSocket, cpu: usize, counters: &QueueCounters) -> Result<()> {
    if let Err(error) = pin_to_cpu(cpu) {
        eprintln!(
            "xsk-sink: failed to pin the reader of queue {} to CPU {cpu}: {error}; it runs unpinned",
            socket.queue()
        );
    }
    let mut frames = 0u64;
    let mut batches = 0u64;
    while !STOP.load(Ordering::Relaxed) {
        let received = socket
            .recv_batch(POLL_TIMEOUT_MS, |_frame| {})
            .with_context(|| format!("receiving on queue {} failed", socket.queue()))?;
        frames += received as u64;
        counters.frames.store(frames, Ordering::Relaxed);
        batches += 1;
        if received == 0 || batches.is_multiple_of(64) {
            publish_ring_stats(&socket, counters);
        }
    }
    publish_ring_stats(&socket, counters);
    Ok(())
}

fn publish_ring_stats(socket: &QueueSocket, counters: &QueueCounters) {
    if let Ok(stats) = socket.ring_stats() {
        counters
            .rx_ring_full
            .store(stats.rx_ring_full, Ordering::Relaxed);
        counters
            .fill_ring_empty
            .store(stats.rx_fill_ring_empty, Ordering::Relaxed);
        counters
            .rx_dropped
            .store(stats.rx_dropped, Ordering::Relaxed);
    }
}

/// Renders the counters as one JSON object. `frames` is what this receiver counted: the
/// program's drops in drop mode, socket frames in reader mode.
fn stats_json(verdicts: &VerdictReader, counters: &[Arc<QueueCounters>]) -> Result<String> {
    let counts = verdicts.read()?;
    let sum = |field: fn(&QueueCounters) -> &AtomicU64| -> u64 {
        counters
            .iter()
            .map(|queue| field(queue).load(Ordering::Relaxed))
            .sum()
    };
    let per_queue: Vec<u64> = counters
        .iter()
        .map(|queue| queue.frames.load(Ordering::Relaxed))
        .collect();
    let frames = if counters.is_empty() {
        counts[VERDICT_DROPPED_NO_SOCKET]
    } else {
        sum(|queue| &queue.frames)
    };
    Ok(serde_json::json!({
        "frames": frames,
        "frames_per_queue": per_queue,
        "xdp_redirected": counts[VERDICT_REDIRECTED],
        "xdp_dropped_no_socket": counts[VERDICT_DROPPED_NO_SOCKET],
        "xdp_verdicts": counts.to_vec(),
        "rx_ring_full": sum(|queue| &queue.rx_ring_full),
        "fill_ring_empty": sum(|queue| &queue.fill_ring_empty),
        "rx_dropped": sum(|queue| &queue.rx_dropped),
    })
    .to_string())
}

/// Replaces `path` with `text` through a rename, so a reader never sees half a file.
fn write_stats(path: &Path, text: &str) -> Result<()> {
    let partial = path.with_extension("partial");
    fs::write(&partial, text).with_context(|| format!("failed to write {}", partial.display()))?;
    fs::rename(&partial, path).with_context(|| {
        format!(
            "failed to rename {} to {}",
            partial.display(),
            path.display()
        )
    })
}

fn install_stop_handler() -> Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let previous =
            unsafe { libc::signal(signal, request_stop as *const () as libc::sighandler_t) };
        if previous == libc::SIG_ERR {
            bail!("failed to install the handler of signal {signal}");
        }
    }
    Ok(())
}
