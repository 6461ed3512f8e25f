//! pipeline-bench: measures the sensor's packet pipeline on one core from memory, and
//! its memory per flow and per device. Prints one JSON object per line to stdout;
//! `cargo xtask bench` runs it and writes the report.

use std::process::ExitCode;

use anyhow::{Result, bail};
use bench::pipeline_bench::alloc::CountingAlloc;
use bench::pipeline_bench::memory::{measure_devices, measure_flows};
use bench::pipeline_bench::mix::{self, Mix};
use bench::pipeline_bench::runner::{self, FRAME_INTERVAL_NS, Stage};
use clap::{Parser, Subcommand};
use serde_json::json;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

#[derive(Parser, Debug)]
#[command(
    name = "pipeline-bench",
    about = "Measure the sensor pipeline from memory, and its memory use"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a packet mix through decapsulation, flows, model and application metadata,
    /// and print one line per run: frames and nanoseconds of processing.
    Throughput {
        /// Packet mix: small, imix, short-flows or elephants.
        #[arg(long)]
        mix: String,
        /// Last stage included: decap, flows, model or app (each includes the earlier).
        #[arg(long)]
        stage: String,
        /// Frames built in memory; the run passes over them `--passes` times.
        #[arg(long, default_value_t = 262_144)]
        pool_frames: usize,
        /// Passes over the frames per run.
        #[arg(long, default_value_t = 4)]
        passes: u32,
        /// Runs, each with a fresh pipeline over the same frames.
        #[arg(long, default_value_t = 5)]
        runs: u32,
        /// Seed of the mix; the same seed gives the same frames.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure heap bytes per flow and per device profile, and resident memory.
    Memory {
        /// Flows in the flow table.
        #[arg(long, default_value_t = 1_000_000)]
        flows: u32,
        /// Devices the model learns.
        #[arg(long, default_value_t = 10_000)]
        devices: u32,
        /// External peers per device, one flow record each.
        #[arg(long, default_value_t = 8)]
        peers: u32,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pipeline-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Throughput {
            mix,
            stage,
            pool_frames,
            passes,
            runs,
            seed,
        } => {
            let Some(mix) = Mix::from_name(&mix) else {
                bail!("invalid --mix {mix:?}: use small, imix, short-flows or elephants");
            };
            let Some(stage) = Stage::from_name(&stage) else {
                bail!("invalid --stage {stage:?}: use decap, flows, model or app");
            };
            if pool_frames == 0 || passes == 0 || runs == 0 {
                bail!("--pool-frames, --passes and --runs must be at least 1");
            }
            throughput(mix, stage, pool_frames, passes, runs, seed);
            Ok(())
        }
        Command::Memory {
            flows,
            devices,
            peers,
        } => {
            if flows == 0 || devices == 0 || peers == 0 {
                bail!("--flows, --devices and --peers must be at least 1");
            }
            memory(flows, devices, peers);
            Ok(())
        }
    }
}

fn throughput(mix: Mix, stage: Stage, pool_frames: usize, passes: u32, runs: u32, seed: u64) {
    let mut pool = mix::build(mix, pool_frames, seed);
    for run in 0..runs {
        let result = runner::run(&mut pool, mix, stage, passes);
        let line = json!({
            "kind": "throughput",
            "mix": mix.name(),
            "stage": stage.name(),
            "run": run,
            "seed": seed,
            "pool_frames": pool.len(),
            "pool_ip_bytes": pool.ip_bytes,
            "passes": passes,
            "frame_interval_ns": FRAME_INTERVAL_NS,
            "frames": result.frames,
            "elapsed_ns": result.elapsed_ns,
            "decoded": result.decoded,
            "flows_created": result.flows_created,
            "duplicates": result.duplicates,
            "records": result.records,
            "alerts": result.alerts,
            "app_findings": result.app_findings,
        });
        println!("{line}");
    }
}

fn memory(flows: u32, devices: u32, peers: u32) {
    let table = measure_flows(flows);
    let line = json!({
        "kind": "flow_memory",
        "flows": table.flows,
        "empty_table_bytes": table.empty_table_bytes,
        "full_table_bytes": table.full_table_bytes,
        "peak_bytes": table.peak_bytes,
        "rss_before_kib": table.rss_before_kib,
        "rss_empty_kib": table.rss_empty_kib,
        "rss_kib": table.rss_kib,
        "hwm_kib": table.hwm_kib,
    });
    println!("{line}");

    let model = measure_devices(devices, peers);
    let line = json!({
        "kind": "device_memory",
        "devices": model.devices,
        "peers_per_device": model.peers_per_device,
        "model_bytes": model.model_bytes,
        "tracked_devices": model.tracked_devices,
    });
    println!("{line}");
}
