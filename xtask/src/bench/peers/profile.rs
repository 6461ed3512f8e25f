//! Instruction counts of the sensor replaying the peer capture, next to those of
//! the peer that came closest. Both run under callgrind on the same input, so the
//! counts compare on a noisy machine where CPU seconds do not. The sensor's count
//! is split by thread: packets (read, decapsulation, flows, application parsers),
//! analysis (the model) and writer (flow records as JSON).

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::tools::{Paths, Tool};
use crate::cmd;

/// Instructions of one run under callgrind.
pub struct Profile {
    /// Instructions per thread of the sensor, named by the work it does.
    pub sensor_threads: Vec<(&'static str, u64)>,
    /// The peer and its instructions (all threads).
    pub peer: Option<(Tool, u64)>,
}

/// The entry function of each sensor thread other than the packet thread, and the
/// name the report gives the thread.
const THREADS: [(&str, &str); 2] = [
    ("sensor::pipeline::analysis::run", "analysis (model)"),
    (
        "sensor::pipeline::writer::write_all",
        "writer (records as JSON)",
    ),
];
const PACKET_THREAD: &str = "packets (read, decapsulation, flows, application parsers)";

/// Runs the sensor (and `peer`, when given) under callgrind in `work_dir`.
pub fn measure(paths: &Paths, work_dir: &Path, peer: Option<Tool>) -> Result<Profile> {
    let dir = work_dir.join("callgrind");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("failed to remove {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;

    let sensor_out = dir.join("sensor.out");
    run_under_callgrind(
        &Tool::Sensor.command(paths, &dir),
        &sensor_out,
        &["--separate-threads=yes"],
    )?;
    let mut sensor_threads = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("failed to read {}", dir.display()))? {
        let path = entry?.path();
        let is_thread_file = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("sensor.out-"));
        if !is_thread_file {
            continue;
        }
        let text = fs::read_to_string(&path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let name = THREADS
            .iter()
            .find(|(function, _)| text.contains(function))
            .map_or(PACKET_THREAD, |&(_, name)| name);
        sensor_threads.push((name, total(&text, &path)?));
    }
    if sensor_threads.is_empty() {
        bail!("callgrind wrote no thread profiles into {}", dir.display());
    }
    let unnamed = sensor_threads
        .iter()
        .filter(|&&(name, _)| name == PACKET_THREAD)
        .count();
    if unnamed > 1 {
        bail!(
            "{unnamed} thread profiles in {} name none of {:?}: the sensor's thread entry \
             functions were renamed or inlined; keep them #[inline(never)] and update THREADS",
            dir.display(),
            THREADS.map(|(function, _)| function)
        );
    }
    sensor_threads.sort_by_key(|&(_, instructions)| std::cmp::Reverse(instructions));

    let peer = match peer {
        Some(tool) => {
            let out = dir.join(format!("{tool:?}.out").to_lowercase());
            let tool_dir = dir.join(format!("{tool:?}").to_lowercase());
            fs::create_dir_all(&tool_dir)
                .with_context(|| format!("failed to create {}", tool_dir.display()))?;
            run_under_callgrind(&tool.command(paths, &tool_dir), &out, &[])?;
            let text = fs::read_to_string(&out)
                .with_context(|| format!("failed to read {}", out.display()))?;
            Some((tool, total(&text, &out)?))
        }
        None => None,
    };
    Ok(Profile {
        sensor_threads,
        peer,
    })
}

/// Runs `command`'s program and arguments under callgrind, writing its profile to `out`.
fn run_under_callgrind(command: &Command, out: &Path, extra: &[&str]) -> Result<()> {
    let mut wrapped = Command::new("valgrind");
    wrapped
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .args(extra)
        .arg(command.get_program())
        .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    cmd::stdout(&mut wrapped).map(drop)
}

/// Reads the `summary:` (or `totals:`) line of a callgrind profile.
fn total(text: &str, path: &Path) -> Result<u64> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|value| value.trim().parse().ok())
        .with_context(|| format!("no `summary:` line in {}", path.display()))
}
