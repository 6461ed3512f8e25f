//! scenario-gen: writes a labelled evaluation scenario, `DIR/scenario-SEED.pcap`
//! (AWS VXLAN mirror frames) and `DIR/scenario-SEED.truth.json`, and prints one JSON
//! summary line to stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use bench::scenario::{
    LEARNING_PERIOD_HOURS, MAX_DAYS, MAX_DEVICES, MIN_DAYS, MIN_DEVICES, ScenarioConfig, generate,
    write_files,
};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "scenario-gen",
    about = "Write a labelled mirror-format pcap and its ground-truth file"
)]
struct Args {
    /// Seed; the same seed and settings give byte-identical files.
    #[arg(long)]
    seed: u64,
    /// Folder for the files; created when missing.
    #[arg(long)]
    out: PathBuf,
    /// Monitored devices.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u64).range(MIN_DEVICES as u64..=MAX_DEVICES as u64))]
    devices: u64,
    /// Days of packet time; the first LEARNING_PERIOD_HOURS (24) are the learning period.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(i64::from(MIN_DAYS)..=i64::from(MAX_DAYS)))]
    days: u32,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scenario-gen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let config = ScenarioConfig {
        seed: args.seed,
        devices: args.devices as usize,
        days: args.days,
    };
    let scenario = generate(&config)?;
    let paths = write_files(&scenario, &args.out)?;
    let report = serde_json::json!({
        "seed": config.seed,
        "devices": config.devices,
        "days": config.days,
        "learning_period_hours": LEARNING_PERIOD_HOURS,
        "frames": scenario.frames.len(),
        "attacks": scenario.truth.attacks.len(),
        "pcap": paths.pcap.display().to_string(),
        "truth": paths.truth.display().to_string(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{report}");
    Ok(())
}
