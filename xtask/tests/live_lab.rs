//! Live acceptance test: the real AWS Traffic Mirroring capture crosses the lab's veth
//! pair into the real XDP program and AF_XDP sockets of `sensor run`, and must give the
//! same flow records as `sensor replay` of the same file, with metrics that account for
//! every frame the generator sent.
//!
//! Needs root (network namespaces, XDP) and the workspace binaries
//! (`cargo build --workspace --bins`; `cargo xtask test` builds them first).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use xtask::{
    Lab, LabConfig, http_get_in,
    summary::{Sample, parse_metrics},
};

const CAPTURE: &str = "aws-tm-vxlan-ssh-dns-ntp.pcap";
const CAPTURE_FRAMES: f64 = 100.0;
const METRICS: &str = "127.0.0.1:9477";
/// Offered rate: far below what the lab carries, so no frame may be lost.
const RATE_PPS: &str = "2000";

/// Fails under CI, otherwise explains why the test does not run.
fn unavailable(reason: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{reason}");
    }
    eprintln!("skipping: {reason}");
    true
}

fn capture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/captures")
        .join(CAPTURE)
}

fn binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug").join(name)
}

/// Stops the sensor with SIGINT when the test ends, so a failing test leaves no
/// process attached to the lab.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        interrupt(&mut self.0);
    }
}

fn interrupt(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // SAFETY: kill(2) with a pid we own; at worst it fails with ESRCH.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    }
}

fn scrape(ns: &str) -> anyhow::Result<Vec<Sample>> {
    let addr: SocketAddr = METRICS.parse()?;
    Ok(parse_metrics(&http_get_in(ns, addr, "/metrics")?))
}

fn total(samples: &[Sample], name: &str, label: Option<&str>) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| label.is_none_or(|l| s.labels.contains(l)))
        .map(|s| s.value)
        .sum()
}

/// A flow record without the fields that depend on when it was captured or
/// how it ended, so live and replay records can be compared.
fn comparable(line: &str) -> Value {
    let mut record: Value = serde_json::from_str(line).expect("flow record is JSON");
    strip_times(&mut record);
    record
}

/// Record fields that hold times, or the reason a record was written (which
/// depends on when the sensor was stopped), per docs/flow-records.md.
const TIME_FIELDS: &[&str] = &["start", "end", "flow_start", "first", "last", "reason"];

fn strip_times(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|key, _| !TIME_FIELDS.contains(&key.as_str()) && !key.ends_with("_ns"));
        for child in map.values_mut() {
            strip_times(child);
        }
    }
}

fn read_records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("flow file is readable");
    let mut records: Vec<Value> = text.lines().map(comparable).collect();
    records.sort_by_key(|r| r.to_string());
    records
}

/// Flow records by the lower of their two ports (the service port here).
fn count_by_port(records: &[Value]) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        let src = record["src_port"].as_u64().unwrap_or(0);
        let dst = record["dst_port"].as_u64().unwrap_or(0);
        *counts.entry(src.min(dst)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn live_matches_replay() {
    if !xtask::cmd::is_root() && unavailable("the live lab test needs root") {
        return;
    }
    let capture = capture_path();
    if !capture.exists() && unavailable(&format!("capture {} is missing", capture.display())) {
        return;
    }
    let sensor = binary("sensor");
    let generator = binary("mirror-gen");
    for bin in [&sensor, &generator] {
        assert!(
            bin.exists(),
            "{} is missing: run `cargo build --workspace --bins` first (cargo xtask test does)",
            bin.display()
        );
    }

    check_live_matches_replay(&capture, &sensor, &generator, &[]);
    // Flows only: a sensor that reads no payload and runs no model must still
    // take every frame and write the same flows, without payload metadata.
    check_live_matches_replay(
        &capture,
        &sensor,
        &generator,
        &["--no-model", "--no-app-metadata"],
    );
}

/// Sends the capture through the lab to `sensor run` with `flags`, and compares
/// its records with those of `sensor replay` of the file with the same flags.
fn check_live_matches_replay(capture: &Path, sensor: &Path, generator: &Path, flags: &[&str]) {
    let out = tempdir();
    let live_flows = out.join("live.jsonl");
    let replay_flows = out.join("replay.jsonl");

    // Two queues, so the two directions of some flows land on different queues
    // and meet again in one record.
    let lab = Lab::up(&LabConfig {
        prefix: format!("ll{}", std::process::id() % 100_000),
        queues: 2,
        ..LabConfig::default()
    })
    .expect("lab comes up");

    let child = Lab::command_in(lab.sensor_ns(), sensor)
        .args([
            "run",
            "--interface",
            lab.sensor_if(),
            "--xdp-mode",
            "native",
        ])
        .args([
            "--bind-mode",
            "copy",
            "--no-pin",
            "--metrics-listen",
            METRICS,
        ])
        .args(flags)
        .arg("--flows-out")
        .arg(&live_flows)
        .stdin(Stdio::null())
        .spawn()
        .expect("sensor starts");
    let mut sensor_proc = Running(child);

    let deadline = Instant::now() + Duration::from_secs(30);
    while scrape(lab.sensor_ns()).is_err() {
        if let Ok(Some(status)) = sensor_proc.0.try_wait() {
            panic!("sensor exited early: {status}");
        }
        assert!(Instant::now() < deadline, "metrics endpoint never answered");
        std::thread::sleep(Duration::from_millis(200));
    }

    let sent = Lab::command_in(lab.src_ns(), generator)
        .args([
            "--interface",
            lab.src_if(),
            "--rate-pps",
            RATE_PPS,
            "--rss-cpus",
            "0,1",
            "--pcap",
        ])
        .arg(capture)
        .stderr(Stdio::inherit())
        .output()
        .expect("generator runs");
    assert!(sent.status.success(), "generator failed: {}", sent.status);
    let report: Value = serde_json::from_slice(
        sent.stdout
            .split(|b| *b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap_or(b"{}"),
    )
    .expect("generator prints a JSON summary");
    assert_eq!(
        report["frames_sent"].as_f64(),
        Some(CAPTURE_FRAMES),
        "frames sent"
    );

    // The frames are in flight for a moment; wait until the sensor has them all.
    let deadline = Instant::now() + Duration::from_secs(20);
    let samples = loop {
        let samples = scrape(lab.sensor_ns()).expect("scrape succeeds");
        if total(&samples, "sensor_queue_frames_total", None) >= CAPTURE_FRAMES
            || Instant::now() > deadline
        {
            break samples;
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    assert_eq!(
        total(&samples, "sensor_queue_frames_total", None),
        CAPTURE_FRAMES,
        "frames taken from the AF_XDP sockets"
    );
    assert_eq!(
        total(
            &samples,
            "sensor_xdp_frames_total",
            Some("verdict=\"redirected\"")
        ),
        CAPTURE_FRAMES,
        "frames redirected by XDP"
    );
    assert_eq!(
        total(&samples, "sensor_xsk_dropped_frames_total", None),
        0.0,
        "ring drops"
    );
    assert_eq!(
        total(&samples, "sensor_decap_decoded_frames_total", None),
        CAPTURE_FRAMES,
        "frames decoded"
    );
    // The generator spread the frames by outer flow as RSS would: the capture's
    // DNS responses share one outer port and its queries do not, so some flows
    // have their two directions on different queues and need steering.
    for queue in ["queue=\"0\"", "queue=\"1\""] {
        assert!(
            total(&samples, "sensor_queue_frames_total", Some(queue)) > 0.0,
            "frames on {queue}"
        );
    }
    assert!(
        total(&samples, "sensor_steered_packets_total", None) > 0.0,
        "packets steered between queues"
    );

    interrupt(&mut sensor_proc.0);
    let status = sensor_proc.0.wait().expect("sensor exits");
    assert!(status.success(), "sensor exit status: {status}");
    drop(lab);

    let replay = Command::new(sensor)
        .arg("replay")
        .arg(capture)
        .args(flags)
        .arg("--flows-out")
        .arg(&replay_flows)
        .status()
        .expect("replay runs");
    assert!(replay.success(), "replay exit status: {replay}");

    let live = read_records(&live_flows);
    let replayed = read_records(&replay_flows);
    assert_eq!(live.len(), 13, "live flow records");
    assert_eq!(replayed.len(), 13, "replayed flow records");
    let by_port = count_by_port(&replayed);
    assert_eq!(by_port.get(&22), Some(&4), "SSH flows");
    assert_eq!(by_port.get(&53), Some(&8), "DNS flows");
    assert_eq!(by_port.get(&123), Some(&1), "NTP flows");
    let with_dns = live.iter().filter(|r| r.get("dns").is_some()).count();
    let expected_dns = if flags.contains(&"--no-app-metadata") {
        0
    } else {
        8
    };
    assert_eq!(
        with_dns, expected_dns,
        "live records with DNS metadata, {flags:?}"
    );
    let only_live: Vec<String> = live
        .iter()
        .filter(|r| !replayed.contains(r))
        .map(Value::to_string)
        .collect();
    let only_replayed: Vec<String> = replayed
        .iter()
        .filter(|r| !live.contains(r))
        .map(Value::to_string)
        .collect();
    std::fs::remove_dir_all(&out).ok();
    assert!(only_live.is_empty(), "records only live: {only_live:#?}");
    assert!(
        only_replayed.is_empty(),
        "records only replayed: {only_replayed:#?}"
    );
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sensor-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
