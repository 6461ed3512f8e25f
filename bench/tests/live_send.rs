//! mirror-gen in a lab: the frames it reports as sent arrive on the sensor-side veth,
//! and it rejects the root network namespace. Needs root.

use std::process::Command;

use xtask::{Lab, LabConfig, cmd};

const GENERATOR: &str = env!("CARGO_BIN_EXE_mirror-gen");

/// Returns false (after saying why) when the test cannot run here; under CI it fails.
fn can_run_live() -> bool {
    if cmd::is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but the live test is not running as root"
    );
    eprintln!("skipped: the live send test needs root");
    false
}

fn lab(name: &str) -> Lab {
    let cfg = LabConfig {
        prefix: format!("bg{}-{name}", std::process::id()),
        queues: 2,
        ..LabConfig::default()
    };
    let lab = Lab::up(&cfg).unwrap();
    // Without IPv6 the kernel sends nothing of its own on the link (no neighbour
    // discovery, no MLD), so the receive counter holds only the generator's frames.
    for (ns, ifname) in [
        (lab.src_ns(), lab.src_if()),
        (lab.sensor_ns(), lab.sensor_if()),
    ] {
        let setting = format!("net.ipv6.conf.{ifname}.disable_ipv6=1");
        cmd::output(Lab::command_in(ns, "sysctl").args(["-w", &setting])).unwrap();
    }
    lab
}

fn rx_packets(lab: &Lab) -> u64 {
    let path = format!("/sys/class/net/{}/statistics/rx_packets", lab.sensor_if());
    let text = cmd::stdout(Lab::command_in(lab.sensor_ns(), "cat").arg(path)).unwrap();
    text.trim().parse().unwrap()
}

fn report_field(report: &serde_json::Value, name: &str) -> u64 {
    report
        .get(name)
        .and_then(serde_json::Value::as_u64)
        .unwrap()
}

#[test]
fn generator_frames_arrive() {
    if !can_run_live() {
        return;
    }
    let lab = lab("rx");
    let before = rx_packets(&lab);

    let output = cmd::output(
        Lab::command_in(lab.src_ns(), GENERATOR)
            .args([
                "--interface",
                lab.src_if(),
                "--synthetic",
                "--flows",
                "40",
                "--loops",
                "2",
            ])
            .args(["--max-duration-secs", "30"]),
    )
    .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(report_field(&report, "send_errors"), 0);
    let sent = report_field(&report, "frames_sent");
    assert!(sent > 0);
    assert_eq!(rx_packets(&lab) - before, sent);
}

#[test]
fn generator_rejects_root_namespace() {
    if !can_run_live() {
        return;
    }
    let output = Command::new(GENERATOR)
        .args(["--interface", "lo", "--synthetic", "--flows", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("root network namespace"), "{stderr}");
}
