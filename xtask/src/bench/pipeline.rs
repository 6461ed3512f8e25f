//! The pipeline and memory part of `cargo xtask bench`: runs `pipeline-bench` for each
//! packet mix and stage, counts instructions per packet under callgrind, measures
//! memory per flow and per device, and returns the report section.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::BenchOptions;
use crate::cmd;

const MIXES: [&str; 4] = ["small", "imix", "short-flows", "elephants"];
const STAGES: [&str; 4] = ["decap", "flows", "model", "app"];
/// Stages counted under callgrind: the two the targets are about.
const CALLGRIND_STAGES: [&str; 2] = ["model", "app"];
/// Target: packets per second per core on IMIX with flows and model.
const TARGET_IMIX_PPS: f64 = 5_000_000.0;
/// Target: heap bytes per tracked flow.
const TARGET_BYTES_PER_FLOW: f64 = 256.0;
/// Functions listed from the callgrind profile of IMIX with every stage.
const PROFILE_TOP: usize = 12;
/// Flows in the table for the memory measurement; resident memory is read there.
const MEMORY_FLOWS: u32 = 1_000_000;
const MEMORY_DEVICES: u32 = 10_000;
const MEMORY_PEERS: u32 = 8;

/// Sizes of one benchmark run.
struct Sizes {
    pool_frames: u32,
    passes: u32,
    runs: u32,
}

impl Sizes {
    fn for_options(options: &BenchOptions) -> Sizes {
        if options.quick {
            Sizes {
                pool_frames: 65_536,
                passes: 1,
                runs: 3,
            }
        } else {
            Sizes {
                pool_frames: 262_144,
                passes: 4,
                runs: 5,
            }
        }
    }
}

/// One mix and stage: the median of its runs.
struct Measured {
    mix: &'static str,
    stage: &'static str,
    frames: u64,
    median_ns_per_packet: f64,
    flows_created: u64,
    records: u64,
    duplicates: u64,
}

/// Runs the pipeline and memory benchmarks and returns their markdown section.
pub fn run(options: &BenchOptions) -> Result<String> {
    if !options.no_build {
        cmd::status(cmd::cargo().args([
            "build",
            "--release",
            "-p",
            "bench",
            "--bin",
            "pipeline-bench",
        ]))?;
    }
    let binary = cmd::target_dir().join("release").join("pipeline-bench");
    if !binary.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p bench --bin pipeline-bench` or drop --no-build",
            binary.display()
        );
    }
    let sizes = Sizes::for_options(options);

    let mut measured = Vec::new();
    for mix in MIXES {
        for stage in STAGES {
            eprintln!("bench: pipeline {mix} up to {stage}");
            measured.push(throughput(&binary, mix, stage, &sizes, options.seed)?);
        }
    }
    let callgrind = callgrind_all(&binary, &sizes, options.seed);
    let memory = memory(&binary);

    Ok(render(&sizes, options.seed, &measured, &callgrind, &memory))
}

fn throughput(
    binary: &Path,
    mix: &'static str,
    stage: &'static str,
    sizes: &Sizes,
    seed: u64,
) -> Result<Measured> {
    let text = cmd::stdout(Command::new(binary).args([
        "throughput",
        "--mix",
        mix,
        "--stage",
        stage,
        "--pool-frames",
        &sizes.pool_frames.to_string(),
        "--passes",
        &sizes.passes.to_string(),
        "--runs",
        &sizes.runs.to_string(),
        "--seed",
        &seed.to_string(),
    ]))?;
    let lines = parse_lines(&text)?;
    let Some(last) = lines.last() else {
        bail!("pipeline-bench printed no result for mix {mix}, stage {stage}");
    };
    let mut per_packet: Vec<f64> = lines
        .iter()
        .map(|line| field(line, "elapsed_ns") as f64 / field(line, "frames").max(1) as f64)
        .collect();
    Ok(Measured {
        mix,
        stage,
        frames: field(last, "frames"),
        median_ns_per_packet: median(&mut per_packet),
        flows_created: field(last, "flows_created"),
        records: field(last, "records"),
        duplicates: field(last, "duplicates"),
    })
}

/// Instruction counts of every mix and callgrind stage, or why they are missing.
struct Callgrind {
    /// (mix, stage, instructions per packet).
    per_packet: Vec<(&'static str, &'static str, f64)>,
    /// `callgrind_annotate` lines of IMIX with every stage.
    profile: Vec<String>,
    failures: Vec<String>,
}

fn callgrind_all(binary: &Path, sizes: &Sizes, seed: u64) -> Callgrind {
    let mut result = Callgrind {
        per_packet: Vec::new(),
        profile: Vec::new(),
        failures: Vec::new(),
    };
    let dir = profile_dir();
    if let Err(error) = std::fs::create_dir_all(&dir) {
        result
            .failures
            .push(format!("failed to create {}: {error}", dir.display()));
        return result;
    }
    for mix in MIXES {
        for stage in CALLGRIND_STAGES {
            eprintln!("bench: callgrind {mix} up to {stage}");
            let out = dir.join(format!("callgrind.{mix}.{stage}.out"));
            match callgrind(binary, &out, mix, stage, sizes, seed) {
                Ok(per_packet) => result.per_packet.push((mix, stage, per_packet)),
                Err(error) => result.failures.push(format!("{mix}, {stage}: {error:#}")),
            }
            if mix == "imix" && stage == "app" {
                match annotate(&out) {
                    Ok(lines) => result.profile = lines,
                    Err(error) => result
                        .failures
                        .push(format!("callgrind_annotate: {error:#}")),
                }
            }
        }
    }
    result
}

/// Runs one benchmark run under callgrind, counting only the passes over the frames
/// (`timed_pass`), and returns instructions per packet.
fn callgrind(
    binary: &Path,
    out: &Path,
    mix: &str,
    stage: &str,
    sizes: &Sizes,
    seed: u64,
) -> Result<f64> {
    let text = cmd::stdout(
        Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .args(["--collect-atstart=no", "--toggle-collect=*timed_pass*"])
            .arg(binary)
            .args(["throughput", "--mix", mix, "--stage", stage, "--runs", "1"])
            .arg(format!("--pool-frames={}", sizes.pool_frames))
            .arg(format!("--passes={}", sizes.passes))
            .arg(format!("--seed={seed}")),
    )?;
    let lines = parse_lines(&text)?;
    let frames = lines.last().map(|line| field(line, "frames")).unwrap_or(0);
    if frames == 0 {
        bail!("the run under callgrind processed no frames");
    }
    let profile = std::fs::read_to_string(out)
        .with_context(|| format!("failed to read {}", out.display()))?;
    let Some(total) = profile
        .lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|value| value.trim().parse::<u64>().ok())
    else {
        bail!("no `totals:` line in {}", out.display());
    };
    Ok(total as f64 / frames as f64)
}

/// Returns the functions with the most instructions in `out`: self cost, then the
/// sensor's own functions by inclusive cost (with what they call).
fn annotate(out: &Path) -> Result<Vec<String>> {
    // --auto=no: no annotated source below the table, whose lines would read as rows.
    let text = cmd::stdout(Command::new("callgrind_annotate").arg("--auto=no").arg(out))?;
    let rows = profile_rows(&text);
    let hashing: f64 = rows
        .iter()
        .filter(|(_, function)| is_sip_hash(function))
        .filter_map(|(count, _)| {
            count
                .split_once('(')?
                .1
                .trim()
                .trim_end_matches("%)")
                .parse::<f64>()
                .ok()
        })
        // fold, not sum: an empty float sum is -0.0, which prints as "-0.0%".
        .fold(0.0, |total, share| total + share);
    let mut lines = vec![format!(
        "self cost (std's SipHash, the default HashMap hasher, takes {hashing:.1}% in all):"
    )];
    for (count, function) in rows.into_iter().take(PROFILE_TOP) {
        lines.push(format!("{count} {function}"));
    }

    let text = cmd::stdout(
        Command::new("callgrind_annotate")
            .args(["--inclusive=yes", "--auto=no"])
            .arg(out),
    )?;
    lines.push(String::new());
    lines.push("inclusive cost of sensor functions:".to_string());
    let mut seen: Vec<String> = Vec::new();
    for (count, function) in profile_rows(&text) {
        if !function.contains("sensor::") || seen.contains(&function) {
            continue;
        }
        lines.push(format!("{count} {function}"));
        seen.push(function);
        if seen.len() == PROFILE_TOP {
            break;
        }
    }
    Ok(lines)
}

/// Returns whether `function` is part of std's SipHash-1-3, the `HashMap` default.
/// `BuildHasher::hash_one` is not counted: it is generic, and the sensor calls it
/// with foldhash.
fn is_sip_hash(function: &str) -> bool {
    function.contains("hash::sip::") || function.contains("DefaultHasher")
}

/// Returns the (count with percentage, function) rows of `callgrind_annotate` output,
/// without binary names. The function keeps the last two parts of its source path:
/// with LTO most code is inlined into a few functions, and the file distinguishes the
/// rows of one function.
fn profile_rows(text: &str) -> Vec<(String, String)> {
    text.lines()
        .skip_while(|line| !line.contains("file:function"))
        .skip(2)
        .filter_map(parse_profile_row)
        .collect()
}

/// Splits a row such as `1,234 ( 5.6%)  /src/flow/x.rs:crate::f [/bin/app]` into
/// `1,234 ( 5.6%)` and `crate::f (flow/x.rs)`.
fn parse_profile_row(line: &str) -> Option<(String, String)> {
    let (count, rest) = line.trim_start().split_once("%)")?;
    let rest = rest.trim();
    let (file, function) = match rest
        .rfind(".rs:")
        .or_else(|| rest.rfind(".S:"))
        .or_else(|| rest.rfind(".c:"))
    {
        Some(at) => {
            let (path, function) = rest.split_at(at + rest.get(at..)?.find(':')?);
            (Some(short_path(path)), function.get(1..)?)
        }
        None => (None, rest),
    };
    // Drop the binary name and, in inclusive output, the call count: ` [bin]`, ` (65,536x)`.
    let function = function.split(" [").next().unwrap_or(function);
    let function = function.split(" (").next().unwrap_or(function);
    let function = match file {
        Some(file) => format!("{function} ({file})"),
        None => function.to_string(),
    };
    Some((format!("{count}%)"), function))
}

/// Returns the last two parts of a source path: `flow/table.rs`.
fn short_path(path: &str) -> &str {
    let mut slashes = path.rmatch_indices('/').map(|(at, _)| at);
    let _last = slashes.next();
    match slashes.next() {
        Some(at) => path.get(at + 1..).unwrap_or(path),
        None => path,
    }
}

/// Memory results, or why they are missing.
struct Memory {
    flow: Option<Value>,
    device: Option<Value>,
    failure: Option<String>,
}

fn memory(binary: &Path) -> Memory {
    eprintln!("bench: memory at {MEMORY_FLOWS} flows");
    let result = cmd::stdout(Command::new(binary).args([
        "memory",
        "--flows",
        &MEMORY_FLOWS.to_string(),
        "--devices",
        &MEMORY_DEVICES.to_string(),
        "--peers",
        &MEMORY_PEERS.to_string(),
    ]))
    .and_then(|text| parse_lines(&text));
    match result {
        Ok(lines) => {
            let find = |kind: &str| lines.iter().find(|line| line["kind"] == kind).cloned();
            Memory {
                flow: find("flow_memory"),
                device: find("device_memory"),
                failure: None,
            }
        }
        Err(error) => Memory {
            flow: None,
            device: None,
            failure: Some(format!("{error:#}")),
        },
    }
}

fn parse_lines(text: &str) -> Result<Vec<Value>> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .with_context(|| format!("invalid JSON line from pipeline-bench: {line}"))
        })
        .collect()
}

fn field(line: &Value, name: &str) -> u64 {
    line[name].as_u64().unwrap_or(0)
}

fn signed_field(line: &Value, name: &str) -> i64 {
    line[name].as_i64().unwrap_or(0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn render(
    sizes: &Sizes,
    seed: u64,
    measured: &[Measured],
    callgrind: &Callgrind,
    memory: &Memory,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Pipeline throughput per core, from memory\n");
    let _ = writeln!(
        out,
        "Method: `pipeline-bench throughput` builds {} AWS VXLAN mirror frames per mix (seed {seed}) \
         in one buffer, then runs {} times a fresh decoder, flow table, model and application \
         extractor over them on one thread: one untimed warm-up pass, then timed passes ({} of them). Packet time advances 1 µs per frame. \
         The final flush that ends every open flow is not timed. \
         Each stage includes the ones before it: `decap`, then `flows` (flow table), `model` \
         (every flow record fed to the model), `app` (application parsers and the record \
         enricher). The figures are medians of the runs.\n",
        sizes.pool_frames, sizes.runs, sizes.passes
    );
    let _ = writeln!(
        out,
        "Mixes (sizes are inner IP packet lengths; one flow in five is IPv6): `small` 64 bytes over \
         4096 TCP flows; `imix` 64/576/1500 bytes at 7:4:1 over 4096 TCP flows; `short-flows` \
         6-packet TCP sessions, a new flow every 6 packets; `elephants` 8 flows of 1500-byte data \
         with a 64-byte ACK for every two.\n"
    );
    let _ = writeln!(
        out,
        "| mix | stage | ns/packet | Mpps per core | instructions/packet | flows | flow records |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
    for row in measured {
        let instructions = callgrind
            .per_packet
            .iter()
            .find(|(mix, stage, _)| *mix == row.mix && *stage == row.stage)
            .map_or("–".to_string(), |(_, _, ir)| format!("{ir:.0}"));
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.2} | {} | {} | {} |",
            row.mix,
            row.stage,
            row.median_ns_per_packet,
            mpps(row.median_ns_per_packet),
            instructions,
            row.flows_created,
            row.records
        );
    }
    let duplicates: u64 = measured.iter().map(|row| row.duplicates).sum();
    if duplicates > 0 {
        let _ = writeln!(
            out,
            "\nWarning: the flow table counted {duplicates} packets as mirrored twice; the mixes should have none."
        );
    }
    let frames = measured.first().map_or(0, |row| row.frames);
    let _ = writeln!(
        out,
        "\nEach run processed {frames} frames. Instructions per packet come from `valgrind \
         --tool=callgrind`, collecting only in the timed passes, \
         for one run of the same size; they do not depend on machine load.\n"
    );

    render_target_pps(&mut out, measured, callgrind);
    render_profile(&mut out, callgrind);
    render_memory(&mut out, memory);
    out
}

fn mpps(ns_per_packet: f64) -> f64 {
    if ns_per_packet > 0.0 {
        1_000.0 / ns_per_packet
    } else {
        0.0
    }
}

fn render_target_pps(out: &mut String, measured: &[Measured], callgrind: &Callgrind) {
    let Some(imix) = measured
        .iter()
        .find(|row| row.mix == "imix" && row.stage == "model")
    else {
        return;
    };
    let pps = mpps(imix.median_ns_per_packet) * 1_000_000.0;
    let budget_ns = 1e9 / TARGET_IMIX_PPS;
    let verdict = if pps >= TARGET_IMIX_PPS {
        format!(
            "met: {:.2} Mpps, {:.0}% of the target",
            pps / 1e6,
            100.0 * pps / TARGET_IMIX_PPS
        )
    } else {
        format!(
            "missed: {:.2} Mpps is {:.0}% of the target; a packet takes {:.0} ns against a budget of {budget_ns:.0} ns ({:.1}x too slow)",
            pps / 1e6,
            100.0 * pps / TARGET_IMIX_PPS,
            imix.median_ns_per_packet,
            imix.median_ns_per_packet / budget_ns
        )
    };
    let _ = writeln!(
        out,
        "**Target ≥ 5 Mpps per core on IMIX with flows and model:** {verdict}."
    );
    if let Some((_, _, ir)) = callgrind
        .per_packet
        .iter()
        .find(|(mix, stage, _)| *mix == "imix" && *stage == "model")
    {
        let _ = writeln!(
            out,
            "At 5 Mpps a core at an assumed 3 GHz has 600 cycles per packet; this stage runs {ir:.0} instructions per packet."
        );
    }
    // The IMIX flows last the whole run, so its model stage scores records only at
    // the final flush, which is not timed. Say so, with the mix whose flows end.
    if let Some(short) = measured
        .iter()
        .find(|row| row.mix == "short-flows" && row.stage == "model")
    {
        let _ = writeln!(
            out,
            "The IMIX flows last the whole run, so the model scores their records only at the \
             final flush, which is not timed. The short-flows mix feeds the model a record \
             every 6 packets or so and runs {:.2} Mpps per core at the model stage.",
            mpps(short.median_ns_per_packet)
        );
    }
    let _ = writeln!(out);
}

fn render_profile(out: &mut String, callgrind: &Callgrind) {
    if !callgrind.profile.is_empty() {
        let _ = writeln!(
            out,
            "Where the instructions go, IMIX with every stage (callgrind):\n"
        );
        let _ = writeln!(out, "```");
        for line in &callgrind.profile {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "```\n");
    }
    for failure in &callgrind.failures {
        let _ = writeln!(out, "- callgrind failed: {failure}");
    }
    if !callgrind.failures.is_empty() {
        let _ = writeln!(out);
    }
}

fn render_memory(out: &mut String, memory: &Memory) {
    let _ = writeln!(out, "## Memory\n");
    if let Some(failure) = &memory.failure {
        let _ = writeln!(out, "The memory benchmark failed: {failure}\n");
        return;
    }
    let _ = writeln!(
        out,
        "Method: `pipeline-bench memory` counts the heap bytes the benchmark thread holds with a \
         counting global allocator (requested sizes, without malloc's own overhead), and reads \
         VmRSS and VmHWM from /proc/self/status.\n"
    );
    if let Some(flow) = &memory.flow {
        let flows = field(flow, "flows").max(1);
        let full = signed_field(flow, "full_table_bytes");
        let empty = signed_field(flow, "empty_table_bytes");
        let per_flow = full as f64 / flows as f64;
        let _ = writeln!(out, "| measure | value |");
        let _ = writeln!(out, "|---|---:|");
        let _ = writeln!(out, "| flows in the table | {flows} |");
        let _ = writeln!(
            out,
            "| table heap, empty (reserved for all flows) | {} MiB |",
            mib(empty)
        );
        let _ = writeln!(out, "| table heap, full | {} MiB |", mib(full));
        let _ = writeln!(out, "| heap bytes per tracked flow | {per_flow:.0} |");
        let _ = writeln!(
            out,
            "| VmRSS before the table | {} MiB |",
            field(flow, "rss_before_kib") / 1024
        );
        let _ = writeln!(
            out,
            "| VmRSS with the empty table | {} MiB |",
            field(flow, "rss_empty_kib") / 1024
        );
        let _ = writeln!(
            out,
            "| VmRSS with {flows} flows | {} MiB |",
            field(flow, "rss_kib") / 1024
        );
        let _ = writeln!(
            out,
            "| VmHWM with {flows} flows | {} MiB |",
            field(flow, "hwm_kib") / 1024
        );
        if let Some(device) = &memory.device {
            let devices = field(device, "devices").max(1);
            let bytes = signed_field(device, "model_bytes");
            let _ = writeln!(
                out,
                "| heap bytes per device profile ({} peers each, {} devices) | {:.0} |",
                field(device, "peers_per_device"),
                devices,
                bytes as f64 / devices as f64
            );
        }
        let _ = writeln!(
            out,
            "\nThe table reserves its slots, queue links and index at creation. The index is \
             faulted in at once, in transparent huge pages where the kernel allows them, so that \
             page faults do not fall on the packet path; the kernel gives the slots and links \
             pages as flows arrive. A flow costs its slot (key, times, both directions' counters, \
             TCP state), two queue links, and an index entry of a 4-byte slot number in a hash \
             table sized for twice the capacity. Duplicate detection adds a fixed 128 KiB cache \
             per table instead of fingerprints in every slot."
        );
        let verdict = if per_flow <= TARGET_BYTES_PER_FLOW {
            format!("met: {per_flow:.0} bytes")
        } else {
            format!(
                "missed: {per_flow:.0} bytes is {:.1}x the target ({:.0} bytes over)",
                per_flow / TARGET_BYTES_PER_FLOW,
                per_flow - TARGET_BYTES_PER_FLOW
            )
        };
        let _ = writeln!(
            out,
            "\n**Target ≤ 256 bytes per tracked flow:** {verdict}.\n"
        );
    }
    out.push('\n');
}

fn mib(bytes: i64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Returns the folder of callgrind profiles: `target/bench`.
pub fn profile_dir() -> PathBuf {
    cmd::target_dir().join("bench")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_row_keeps_short_file() {
        let row = "60,817,408 ( 5.98%)  /work/main/sensor/src/flow/table.rs:sensor::flow::table::FlowTable::update [/work/main/target/release/pipeline-bench]";
        let (count, function) = parse_profile_row(row).expect("row parses");
        assert_eq!(count, "60,817,408 ( 5.98%)");
        assert_eq!(
            function,
            "sensor::flow::table::FlowTable::update (flow/table.rs)"
        );
    }

    #[test]
    fn inclusive_row_drops_call_count() {
        let row = "  1,234 ( 0.12%)  ./string/../memmove-vec-unaligned-erms.S:__memcpy_avx (570,074x) [/usr/lib/libc.so.6]";
        let (_, function) = parse_profile_row(row).expect("row parses");
        assert_eq!(function, "__memcpy_avx (../memmove-vec-unaligned-erms.S)");
    }

    #[test]
    fn row_without_file_kept_whole() {
        let row = "1,000 ( 1.00%)  ???:0x000000000001ab70 [/usr/lib/ld-linux-x86-64.so.2]";
        let (_, function) = parse_profile_row(row).expect("row parses");
        assert_eq!(function, "???:0x000000000001ab70");
    }
}
