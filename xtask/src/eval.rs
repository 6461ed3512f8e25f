//! `cargo xtask eval`: builds the release binaries, generates the labelled scenarios
//! with `scenario-gen`, replays each through `sensor replay` with alerts on, scores the
//! alerts against the truth files, and writes the report to stdout and
//! `target/eval/report.md`. Fails when an attack is missed or a scenario has more than
//! one false alert per 100 device-hours.

pub mod report;
pub mod score;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;
use score::{Score, parse_alerts, parse_truth};

/// Settings of one evaluation run.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Scenario seeds.
    pub seeds: Vec<u64>,
    /// Use the release binaries already built.
    pub no_build: bool,
    /// Score the truth and alert files already in the output folder; run nothing.
    pub score_only: bool,
}

/// Returns the folder of scenarios, alerts and the report: `target/eval`.
pub fn eval_dir() -> PathBuf {
    cmd::target_dir().join("eval")
}

/// Runs the whole evaluation.
pub fn run(options: &EvalOptions) -> Result<()> {
    if options.seeds.is_empty() {
        bail!("no seeds given: pass --seeds 1,2,3");
    }
    let dir = eval_dir();
    fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    if !options.no_build && !options.score_only {
        cmd::status(cmd::cargo().args([
            "build",
            "--release",
            "-p",
            "sensor",
            "-p",
            "bench",
            "--bin",
            "sensor",
            "--bin",
            "scenario-gen",
        ]))?;
    }

    let release = cmd::target_dir().join("release");
    let mut scores = Vec::with_capacity(options.seeds.len());
    for &seed in &options.seeds {
        let files = ScenarioPaths::new(&dir, seed);
        if !options.score_only {
            generate(&release, &dir, seed)?;
            replay(&release, &files)?;
        }
        scores.push(score_files(&files)?);
    }

    let text = report::render(&scores);
    print!("{text}");
    let report_path = dir.join("report.md");
    fs::write(&report_path, &text)
        .with_context(|| format!("failed to write {}", report_path.display()))?;
    println!("report: {}", report_path.display());

    let failed: Vec<String> = scores
        .iter()
        .filter(|s| !s.passed())
        .map(|s| s.seed.to_string())
        .collect();
    if !failed.is_empty() {
        bail!(
            "evaluation failed for seed(s) {}: see the report above",
            failed.join(", ")
        );
    }
    Ok(())
}

/// Files of one scenario in the output folder.
struct ScenarioPaths {
    pcap: PathBuf,
    truth: PathBuf,
    alerts: PathBuf,
}

impl ScenarioPaths {
    fn new(dir: &Path, seed: u64) -> ScenarioPaths {
        ScenarioPaths {
            pcap: dir.join(format!("scenario-{seed}.pcap")),
            truth: dir.join(format!("scenario-{seed}.truth.json")),
            alerts: dir.join(format!("alerts-{seed}.jsonl")),
        }
    }
}

fn generate(release: &Path, dir: &Path, seed: u64) -> Result<()> {
    let binary = release.join("scenario-gen");
    let mut command = Command::new(&binary);
    command
        .arg("--seed")
        .arg(seed.to_string())
        .arg("--out")
        .arg(dir);
    let summary = cmd::stdout(&mut command)?;
    eprintln!("scenario-gen: {}", summary.trim());
    Ok(())
}

fn replay(release: &Path, files: &ScenarioPaths) -> Result<()> {
    let truth_text = fs::read_to_string(&files.truth)
        .with_context(|| format!("failed to read {}", files.truth.display()))?;
    let truth = parse_truth(&truth_text)
        .with_context(|| format!("invalid truth file {}", files.truth.display()))?;
    // A stale alert file from an earlier run must not be scored if the replay fails.
    match fs::remove_file(&files.alerts) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error)
                .with_context(|| format!("failed to remove {}", files.alerts.display()));
        }
    }
    let mut command = Command::new(release.join("sensor"));
    command
        .arg("replay")
        .arg(&files.pcap)
        .args(["--flows-out", "/dev/null", "--alerts-out"])
        .arg(&files.alerts)
        .arg("--learning-period-hours")
        .arg(truth.learning_period_hours.to_string());
    let output = cmd::output(&mut command)?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

fn score_files(files: &ScenarioPaths) -> Result<Score> {
    let truth_text = fs::read_to_string(&files.truth).with_context(|| {
        format!(
            "failed to read {}; run without --score-only to generate it",
            files.truth.display()
        )
    })?;
    let truth = parse_truth(&truth_text)
        .with_context(|| format!("invalid truth file {}", files.truth.display()))?;
    let alerts_text = fs::read_to_string(&files.alerts).with_context(|| {
        format!(
            "failed to read {}; the sensor writes it with --alerts-out",
            files.alerts.display()
        )
    })?;
    let alerts = parse_alerts(&alerts_text)
        .with_context(|| format!("invalid alert file {}", files.alerts.display()))?;
    Ok(score::score(&truth, &alerts))
}
