//! The floors of the sensor's peer run. The I/O floor is the CPU time that only
//! reading its input file and writing as many bytes as its flow records takes,
//! measured in this process with the thread's CPU clock around plain read(2) and
//! write(2) loops. A replay that reads the file and writes the records with those
//! calls, as the sensor does, cannot use less. The floor therefore shows how much of
//! the time a target allows is left for the work itself. The start-up cost is the
//! CPU time of `sensor replay` on a capture without frames.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use super::measure::{self, Usage};
use super::{RUN_LIMIT, TARGET_RATIO};

/// Block size of the read, as the sensor's pcap reader uses.
const READ_BLOCK_BYTES: u64 = 1024 * 1024;
/// Block size of the write, as the sensor's record writer uses.
const WRITE_BLOCK_BYTES: u64 = 64 * 1024;

/// CPU time of the two halves of the floor.
pub struct Floor {
    pub read: Usage,
    pub write: Usage,
    /// Bytes written: the size of the sensor's flow records.
    pub written_bytes: u64,
}

/// Measures the floor `runs` times and keeps the median of each half. `records` is
/// the flow record file of a finished sensor run.
pub fn measure(input: &Path, records: &Path, work_dir: &Path, runs: usize) -> Result<Floor> {
    let written_bytes = fs::metadata(records)
        .with_context(|| format!("failed to read the size of {}", records.display()))?
        .len();
    let out_dir = work_dir.join("floor");
    fs::create_dir_all(&out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    let output = out_dir.join("written.bin");

    let mut reads = Vec::new();
    let mut writes = Vec::new();
    for _ in 0..runs.max(1) {
        reads.push(
            timed(|| read_all(input))
                .with_context(|| format!("failed to read {}", input.display()))?,
        );
        // A fresh file each time, as the sensor writes one.
        if output.exists() {
            fs::remove_file(&output)
                .with_context(|| format!("failed to remove {}", output.display()))?;
        }
        writes.push(
            timed(|| write_zeros(&output, written_bytes))
                .with_context(|| format!("failed to write {}", output.display()))?,
        );
    }
    Ok(Floor {
        read: median(reads),
        write: median(writes),
        written_bytes,
    })
}

/// Reads `path` to its end in blocks of [`READ_BLOCK_BYTES`].
fn read_all(path: &Path) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    let mut block = vec![0u8; READ_BLOCK_BYTES as usize];
    while file.read(&mut block)? > 0 {}
    Ok(())
}

/// Writes `bytes` zero bytes to a new file at `path` in blocks of
/// [`WRITE_BLOCK_BYTES`], and closes it.
fn write_zeros(path: &Path, bytes: u64) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    let block = vec![0u8; WRITE_BLOCK_BYTES as usize];
    let mut left = bytes;
    while left > 0 {
        let len = left.min(WRITE_BLOCK_BYTES) as usize;
        file.write_all(&block[..len])?;
        left -= len as u64;
    }
    drop(file);
    Ok(())
}

/// Runs `step` and returns the CPU time this thread spent in it.
fn timed(step: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<Usage> {
    let before = thread_cpu()?;
    let started = Instant::now();
    step()?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let after = thread_cpu()?;
    Ok(Usage {
        cpu_seconds: (after.0 - before.0) + (after.1 - before.1),
        system_seconds: after.1 - before.1,
        wall_seconds,
        max_rss_kib: 0,
    })
}

/// Returns the user and system CPU seconds of the calling thread.
fn thread_cpu() -> std::io::Result<(f64, f64)> {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    Ok((seconds(usage.ru_utime), seconds(usage.ru_stime)))
}

/// Measures `sensor replay` on a classic pcap file without frames `runs` times and
/// returns the median run: the fixed cost of starting and stopping the sensor.
pub fn measure_startup(sensor: &Path, work_dir: &Path, runs: usize) -> Result<Usage> {
    let out_dir = work_dir.join("startup");
    fs::create_dir_all(&out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    let empty = out_dir.join("empty.pcap");
    fs::write(&empty, EMPTY_PCAP)
        .with_context(|| format!("failed to write {}", empty.display()))?;
    let records = out_dir.join("flows.jsonl");

    let mut usages = Vec::new();
    for _ in 0..runs.max(1) {
        let mut replay = Command::new(sensor);
        replay
            .arg("replay")
            .arg(&empty)
            .arg("--flows-out")
            .arg(&records);
        usages.push(run(&mut replay, &out_dir)?);
    }
    Ok(median(usages))
}

/// A classic pcap file header (little-endian, microseconds, Ethernet) and no record.
const EMPTY_PCAP: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
];

fn run(command: &mut Command, out_dir: &Path) -> Result<Usage> {
    measure::run_measured(
        command,
        &out_dir.join("stdout.txt"),
        &out_dir.join("stderr.txt"),
        RUN_LIMIT,
    )
}

fn median(mut runs: Vec<Usage>) -> Usage {
    runs.sort_by(|a, b| a.cpu_seconds.total_cmp(&b.cpu_seconds));
    runs[runs.len() / 2]
}

/// Appends the floor and what it leaves of the CPU budget that a lead of
/// [`TARGET_RATIO`] over `peer` (its label and CPU seconds) allows.
pub fn render(out: &mut String, frames: u64, floor: &Result<Floor>, peer: Option<(&str, f64)>) {
    let _ = writeln!(out, "\n### The I/O floor\n");
    let floor = match floor {
        Ok(floor) => floor,
        Err(error) => {
            let _ = writeln!(out, "The floor runs failed: {error:#}\n");
            return;
        }
    };

    let total = floor.read.cpu_seconds + floor.write.cpu_seconds;
    let _ = writeln!(
        out,
        "The bench reads the VXLAN file in {} KiB blocks, and writes {} bytes of zeros \
         (the size of the sensor's flow records) to a new file in {} KiB blocks, and \
         measures its own thread's CPU time around each loop. Nothing else runs, so this \
         is the least CPU time that reading this input and writing these records with \
         read(2) and write(2) can take.\n",
        READ_BLOCK_BYTES / 1024,
        floor.written_bytes,
        WRITE_BLOCK_BYTES / 1024
    );
    let _ = writeln!(out, "| step | CPU s | of which system s |");
    let _ = writeln!(out, "|---|---:|---:|");
    for (step, usage) in [
        ("read the input", &floor.read),
        ("write the records", &floor.write),
    ] {
        let _ = writeln!(
            out,
            "| {step} | {:.3} | {:.3} |",
            usage.cpu_seconds, usage.system_seconds
        );
    }
    let _ = writeln!(out, "| both | {total:.3} | |");

    let Some((label, peer_seconds)) = peer else {
        return;
    };
    let budget = peer_seconds / TARGET_RATIO;
    let left = budget - total;
    let _ = write!(
        out,
        "\nA {TARGET_RATIO:.0}x lead over {label} ({peer_seconds:.3} s) allows {budget:.3} s \
         of CPU for the whole run. The floor takes {:.0}% of that",
        100.0 * total / budget.max(f64::EPSILON)
    );
    if left > 0.0 {
        let _ = writeln!(
            out,
            ", which leaves {left:.3} s, or {:.0} ns per frame, for decapsulation, flows, \
             the application parsers, the model and the JSON text.",
            left * 1e9 / frames.max(1) as f64
        );
    } else {
        let _ = writeln!(
            out,
            ", so no replay that reads this input and writes these records with read(2) \
             and write(2) can meet the target."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(cpu_seconds: f64) -> Usage {
        Usage {
            cpu_seconds,
            system_seconds: cpu_seconds / 2.0,
            wall_seconds: cpu_seconds,
            max_rss_kib: 1024,
        }
    }

    fn floor(read: f64, write: f64) -> Result<Floor> {
        Ok(Floor {
            read: usage(read),
            write: usage(write),
            written_bytes: 1_000,
        })
    }

    #[test]
    fn render_states_what_is_left() {
        let mut out = String::new();
        render(
            &mut out,
            1_000_000,
            &floor(0.010, 0.020),
            Some(("softflowd", 0.300)),
        );
        assert!(out.contains("| both | 0.030 | |"), "{out}");
        assert!(out.contains("allows 0.100 s"), "{out}");
        assert!(out.contains("The floor takes 30% of that"), "{out}");
        assert!(out.contains("leaves 0.070 s, or 70 ns per frame"), "{out}");
    }

    #[test]
    fn render_states_an_unreachable_target() {
        let mut out = String::new();
        render(
            &mut out,
            1_000,
            &floor(0.080, 0.040),
            Some(("softflowd", 0.300)),
        );
        assert!(out.contains("The floor takes 120% of that"), "{out}");
        assert!(out.contains("no replay"), "{out}");
    }

    #[test]
    fn render_without_peer_shows_only_the_floor() {
        let mut out = String::new();
        render(&mut out, 1_000, &floor(0.010, 0.020), None);
        assert!(out.contains("| read the input | 0.010 | 0.005 |"), "{out}");
        assert!(!out.contains("allows"), "{out}");
    }

    #[test]
    fn measure_reads_and_writes_files() {
        let dir = std::env::temp_dir().join(format!("floor-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let input = dir.join("input.bin");
        let records = dir.join("records.jsonl");
        fs::write(&input, vec![7u8; 3 * 1024 * 1024]).unwrap();
        fs::write(&records, vec![b'x'; 200_000]).unwrap();

        let floor = measure(&input, &records, &dir, 1).unwrap();
        assert_eq!(floor.written_bytes, 200_000);
        let written = fs::metadata(dir.join("floor").join("written.bin"))
            .unwrap()
            .len();
        assert_eq!(written, 200_000, "as many bytes as the records");
        assert!(floor.read.cpu_seconds >= 0.0);
        assert!(floor.write.system_seconds <= floor.write.cpu_seconds);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_pcap_is_a_classic_header() {
        assert_eq!(
            u32::from_le_bytes(EMPTY_PCAP[..4].try_into().unwrap()),
            0xa1b2_c3d4
        );
        assert_eq!(
            u32::from_le_bytes(EMPTY_PCAP[20..].try_into().unwrap()),
            1,
            "Ethernet"
        );
    }

    #[test]
    fn measure_fails_without_records() {
        let dir = std::env::temp_dir().join(format!("floor-missing-{}", std::process::id()));
        let error = measure(&dir.join("input"), &dir.join("none.jsonl"), &dir, 1)
            .err()
            .expect("no records file");
        assert!(format!("{error:#}").contains("none.jsonl"), "{error:#}");
    }
}
