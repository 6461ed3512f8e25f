//! Live capture: loads and attaches the XDP program, opens one AF_XDP socket
//! per RX queue, runs one pinned worker per queue, serves metrics, and on
//! stop writes every remaining flow before the program is detached.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Barrier,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;

use crate::{
    app::extract::AppExtractor,
    capture::{
        xdp::{XdpMode, XdpProgram, XdpSettings},
        xsk::{BindMode, QueueSocket, SocketSizes},
    },
    decap::{DecapConfig, Decoder},
    flow::FlowConfig,
    metrics::{MetricsSources, QueueInfo, server::MetricsServer},
    pipeline::{
        analysis::{Analysis, AnalysisConfig, run_outcome},
        outbox::Outbox,
        shard::Shard,
        stats::{StatsBlocks, load, stats_blocks},
        steer::Mesh,
        worker::Worker,
        writer::RecordWriter,
    },
};

/// Everything `sensor run` needs besides the analysis settings.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub interface: String,
    /// RX queues to capture, each with its own socket and worker.
    pub queues: Vec<u32>,
    pub xdp_mode: XdpMode,
    pub bind_mode: BindMode,
    pub sizes: SocketSizes,
    pub xdp: XdpSettings,
    pub decap: DecapConfig,
    /// Flow table settings; `capacity` is split evenly over the workers.
    pub flows: FlowConfig,
    pub flows_out: PathBuf,
    /// Whether payloads are parsed for DNS, HTTP, TLS and QUIC metadata.
    pub app_metadata: bool,
    pub metrics_listen: Option<SocketAddr>,
    /// Stop by itself after this long.
    pub duration: Option<Duration>,
    /// Pin worker `i` to CPU `cpus[i % len]`; empty: no pinning.
    pub cpus: Vec<usize>,
}

/// Totals of a live run, summed over queues.
#[derive(Debug, Default)]
pub struct LiveSummary {
    pub frames: u64,
    pub decoded: u64,
    pub flows_created: u64,
    pub records_written: u64,
}

/// Runs until `stop` is set (SIGINT/SIGTERM) or `duration` passes. Without
/// `analysis` (`--no-model`), flow records are written and nothing is analysed.
pub fn run_live(
    config: LiveConfig,
    analysis: Option<AnalysisConfig>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<LiveSummary> {
    let started = Instant::now();
    let clock = analysis
        .as_ref()
        .and_then(|analysis| analysis.live_clock)
        .unwrap_or_default();
    let mut program = XdpProgram::load(&config.xdp)?;

    let mut sockets = Vec::with_capacity(config.queues.len());
    for &queue in &config.queues {
        let socket = QueueSocket::open(
            &config.interface,
            queue,
            config.bind_mode,
            config.sizes,
            config.xdp.stamp_time,
        )?;
        program.register_socket(queue, socket.raw_fd())?;
        tracing::info!(
            interface = %config.interface,
            queue,
            mode = socket.mode().label(),
            "AF_XDP socket bound"
        );
        sockets.push(socket);
    }
    program.attach(&config.interface, config.xdp_mode)?;
    tracing::info!(interface = %config.interface, mode = ?config.xdp_mode, "XDP program attached");

    let workers = sockets.len();
    let stats: Arc<StatsBlocks> = Arc::new(stats_blocks(workers));
    let (analysis, feed) = analysis.map(Analysis::start).transpose()?.unzip();
    let writer = RecordWriter::start(&config.flows_out, feed)?;
    let queues = sockets
        .iter()
        .map(|socket| QueueInfo {
            queue: socket.queue(),
            bind_mode: Some(socket.mode().label()),
        })
        .collect();
    let sources = Arc::new(MetricsSources {
        mode: "live",
        started,
        queues,
        stats: Arc::clone(&stats),
        verdicts: Some(program.verdict_reader()?),
        records: writer.counts(),
        analysis: analysis.as_ref().map(Analysis::stats),
    });
    let server = match config.metrics_listen {
        Some(listen) => Some(MetricsServer::start(listen, sources)?),
        None => None,
    };

    let mesh = Arc::new(Mesh::new(workers));
    let stopped = Arc::new(Barrier::new(workers));
    let shard_capacity = (config.flows.capacity / workers.max(1)).max(1);
    let mut handles = Vec::with_capacity(workers);
    for (index, socket) in sockets.into_iter().enumerate() {
        let worker = Worker {
            index,
            socket,
            decoder: Decoder::new(config.decap.clone()),
            extractor: config.app_metadata.then(AppExtractor::new),
            shard: Shard::new(
                FlowConfig {
                    capacity: shard_capacity,
                    ..config.flows.clone()
                },
                Outbox::new(writer.sender(), true),
            ),
            mesh: Arc::clone(&mesh),
            stats: Arc::clone(&stats),
            clock,
            stop: Arc::clone(&stop),
            stopped: Arc::clone(&stopped),
        };
        let cpu = (!config.cpus.is_empty()).then(|| config.cpus[index % config.cpus.len()]);
        let handle = std::thread::Builder::new()
            .name(format!("queue-{}", worker.socket.queue()))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    pin_to(cpu, worker.socket.queue());
                }
                worker.run()
            })
            .context("failed to start a queue worker thread")?;
        handles.push(handle);
    }

    wait_for_stop(&stop, config.duration);
    stop.store(true, Ordering::Relaxed);
    tracing::info!("stopping: writing the remaining flows");

    for handle in handles {
        if handle.join().is_err() {
            tracing::error!("a queue worker panicked");
        }
    }
    let written = writer.finish();
    let analysed = analysis.map_or(Ok(()), Analysis::finish);
    if let Some(server) = server {
        server.stop();
    }
    drop(program);

    // The summary is logged before a failed output is returned, as replay prints
    // its summary before its output errors.
    let frames = stats.iter().map(|s| load(&s.frames)).sum();
    let decoded = stats.iter().map(|s| load(&s.decoded)).sum();
    let flows_created = stats.iter().map(|s| load(&s.flows_created)).sum();
    tracing::info!(
        frames,
        decoded,
        flows = flows_created,
        records = written.as_ref().ok().copied(),
        "sensor stopped; XDP program detached"
    );
    let records_written = run_outcome(written, analysed)?;
    Ok(LiveSummary {
        frames,
        decoded,
        flows_created,
        records_written,
    })
}

fn wait_for_stop(stop: &AtomicBool, duration: Option<Duration>) {
    let deadline = duration.map(|d| Instant::now() + d);
    while !stop.load(Ordering::Relaxed) {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            tracing::info!("--duration-secs reached");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pin_to(cpu: usize, queue: u32) {
    let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    if pinned {
        tracing::debug!(queue, cpu, "worker pinned");
    } else {
        tracing::warn!(
            queue,
            cpu,
            "failed to pin the worker to its CPU; it runs unpinned"
        );
    }
}
