//! `cargo xtask`: the command line over the tasks in the xtask library.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::bench::BenchOptions;
use xtask::demo::DemoOptions;
use xtask::eval::EvalOptions;
use xtask::{Lab, LabConfig, bench, demo, eval, setup, workspace};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Set up, build, test and demo the sensor"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what this Debian 12 machine lacks (packages, nightly rust-src,
    /// bpf-linker); prints one line per item.
    Setup,
    /// Run setup, then build every binary of the workspace.
    Build {
        /// Build with the release profile.
        #[arg(long)]
        release: bool,
    },
    /// Create or remove the network-namespace lab (needs root).
    Lab {
        #[command(subcommand)]
        action: LabAction,
        /// Namespace name prefix: the lab is <PREFIX>-src and <PREFIX>-sensor.
        #[arg(long, default_value = "mirlab", global = true)]
        prefix: String,
        /// RX and TX queues of each veth end.
        #[arg(long, default_value_t = 1, global = true)]
        queues: u32,
    },
    /// Run setup, build every binary, then run every test of the workspace.
    Test,
    /// Run setup, build release binaries, start the lab and the sensor, send the
    /// built-in workload and print flows and metrics (needs root).
    Demo {
        /// veth queues; the sensor opens one AF_XDP socket per RX queue.
        #[arg(long, default_value_t = 2)]
        queues: u32,
        /// Conversations in the synthetic workload.
        #[arg(long, default_value_t = 200)]
        flows: u32,
        /// Seed of the synthetic workload.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Generator send rate in frames per second; 0 sends as fast as possible.
        #[arg(long, default_value_t = 20_000)]
        rate_pps: u64,
        /// Use the release binaries already built; skip setup and the build.
        #[arg(long)]
        no_build: bool,
        /// Lab namespace prefix: the demo creates `<prefix>-src` and `<prefix>-sensor`
        /// and replaces a lab left with those names.
        #[arg(long, default_value = "mirdemo")]
        prefix: String,
    },
    /// Build release binaries, generate the labelled scenarios, replay them through the
    /// sensor and score its alerts. Writes target/eval/report.md, and fails when an
    /// attack is missed or false alerts exceed 1 per 100 device-hours.
    Eval {
        /// Scenario seeds, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        seeds: Vec<u64>,
        /// Use the release binaries already built; skip the build.
        #[arg(long)]
        no_build: bool,
        /// Score the truth and alert files already in target/eval; build, generate and
        /// replay nothing.
        #[arg(long)]
        score_only: bool,
    },
    /// Build release binaries, run the pipeline, memory, live-lab and peer-tool
    /// benchmarks, and write docs/benchmarks.md. A slow result never fails the command,
    /// but a part that cannot run does, after the report is written.
    Bench {
        /// Small sizes and few runs, to check that the harness works.
        #[arg(long)]
        quick: bool,
        /// Seed of every synthetic workload.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Use the release binaries already built; skip the build.
        #[arg(long)]
        no_build: bool,
    },
}

#[derive(Subcommand, Clone, Copy)]
enum LabAction {
    /// Create the lab, replacing one with the same names.
    Up,
    /// Remove the lab; succeeds when it does not exist.
    Down,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.task {
        Task::Setup => setup::run(),
        Task::Build { release } => workspace::build(release),
        Task::Lab {
            action,
            prefix,
            queues,
        } => {
            let cfg = LabConfig {
                prefix,
                queues,
                ..LabConfig::default()
            };
            run_lab(action, &cfg)
        }
        Task::Test => workspace::test(),
        Task::Demo {
            queues,
            flows,
            seed,
            rate_pps,
            no_build,
            prefix,
        } => demo::run(&DemoOptions {
            queues,
            flows,
            seed,
            rate_pps,
            no_build,
            prefix,
        }),
        Task::Eval {
            seeds,
            no_build,
            score_only,
        } => eval::run(&EvalOptions {
            seeds,
            no_build,
            score_only,
        }),
        Task::Bench {
            quick,
            seed,
            no_build,
        } => bench::run(&BenchOptions {
            quick,
            seed,
            no_build,
        }),
    }
}

fn run_lab(action: LabAction, cfg: &LabConfig) -> Result<()> {
    match action {
        LabAction::Up => {
            let lab = Lab::up(cfg)?;
            println!(
                "lab up: {} ({}) <-> {} ({}), {} queues",
                lab.src_ns(),
                lab.src_if(),
                lab.sensor_ns(),
                lab.sensor_if(),
                cfg.queues
            );
            lab.keep();
        }
        LabAction::Down => {
            let lab = Lab::named(cfg);
            lab.down()?;
            println!("lab down: {} and {} removed", lab.src_ns(), lab.sensor_ns());
            lab.keep();
        }
    }
    Ok(())
}
