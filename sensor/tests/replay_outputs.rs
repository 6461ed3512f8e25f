//! `sensor replay` with outputs that fail: the exit status, the counts of lost
//! records and the error messages, end to end through the binary.

mod common;

use std::{
    fs,
    process::{Command, Output, Stdio},
};

use common::{FLOWS, TempDir, flows_capture, scan_capture, sensor, stderr};

/// Runs the sensor through bash with a file size limit of `kib` KiB (`ulimit -f`)
/// and `arguments`, shell words that may end in a redirection.
fn sensor_with_file_limit(kib: u32, arguments: &str) -> Output {
    let script = format!(
        "ulimit -f {kib}; exec '{}' {arguments}",
        env!("CARGO_BIN_EXE_sensor")
    );
    Command::new("bash")
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs")
}

#[test]
fn flows_to_closed_pipe_counted_lost() {
    let dir = TempDir::new("closed-pipe");
    let capture = flows_capture(&dir);
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);

    let output = sensor(&["replay", capture.to_str().expect("UTF-8 path")])
        .stdout(Stdio::from(writer))
        .output()
        .expect("sensor runs");

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("failed to write flow records to stdout: Broken pipe (os error 32)"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{FLOWS} of {FLOWS} records were lost")),
        "{message}"
    );
    assert!(
        message.contains("keep the program that reads the pipe running"),
        "{message}"
    );
}

#[test]
fn size_limit_leaves_whole_lines() {
    let dir = TempDir::new("size-limit");
    let capture = flows_capture(&dir);
    let out = dir.join("flows.jsonl");
    // A file size limit makes writes past it fail with EFBIG, as a full disk
    // fails with ENOSPC: the write that reaches it is cut short. The sensor
    // ignores SIGXFSZ, which would otherwise end it at that write.
    let arguments = format!(
        "replay '{}' --flows-out '{}'",
        capture.display(),
        out.display()
    );
    let output = sensor_with_file_limit(100, &arguments);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    let text = fs::read_to_string(&out).expect("read flows");
    assert!(text.ends_with('\n'), "the file ends inside a line");
    let lines = text.lines().count();
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("whole JSON record");
    }
    assert!(lines > 0, "no record was written");
    assert!(lines < usize::from(FLOWS), "every record was written");
    let lost = usize::from(FLOWS) - lines;
    assert!(
        message.contains(&format!("{lost} of {FLOWS} records were lost")),
        "{lines} lines: {message}"
    );
    assert!(
        message.contains("File too large (os error 27)"),
        "{message}"
    );
}

#[test]
fn size_limit_on_stdout_counts_whole_lines() {
    let dir = TempDir::new("stdout-size-limit");
    let capture = flows_capture(&dir);
    let out = dir.join("stdout.jsonl");
    // As size_limit_leaves_whole_lines, with the records on stdout. A cut line
    // stays in a file written through stdout, but it must count as lost.
    let arguments = format!(
        "replay '{}' --flows-out - > '{}'",
        capture.display(),
        out.display()
    );
    let output = sensor_with_file_limit(100, &arguments);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    let text = fs::read_to_string(&out).expect("read stdout");
    let whole = text.matches('\n').count();
    assert!(whole > 0, "no record was written");
    assert!(whole < usize::from(FLOWS), "every record was written");
    let lost = usize::from(FLOWS) - whole;
    assert!(
        message.contains(&format!("{lost} of {FLOWS} records were lost")),
        "{whole} whole lines: {message}"
    );
}

#[test]
fn alerts_to_full_disk_fail_replay() {
    let dir = TempDir::new("alerts-full");
    let capture = scan_capture(&dir);
    let capture = capture.to_str().expect("UTF-8 path");

    let output = sensor(&[
        "replay",
        capture,
        "--flows-out",
        "/dev/null",
        "--alerts-out",
        "/dev/full",
    ])
    .output()
    .expect("sensor runs");

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    let raised = message.matches(" alert: ").count();
    assert!(raised >= 2, "{raised} alerts: {message}");
    let failure_lines = message
        .lines()
        .filter(|line| line.contains("ERROR") && line.contains("failed to write an alert"))
        .count();
    assert_eq!(failure_lines, 1, "{message}");
    assert!(
        message.contains(&format!(
            "error: failed to write alerts to /dev/full: No space left on device (os error 28); \
             {raised} of {raised} alerts were lost; free space on its file system, or pass \
             another path to --alerts-out"
        )),
        "{message}"
    );
}

#[test]
fn alerts_size_limit_leaves_whole_lines() {
    let dir = TempDir::new("alerts-size-limit");
    let capture = scan_capture(&dir);
    let out = dir.join("alerts.jsonl");
    // As in size_limit_leaves_whole_lines: 4 KiB take one alert of about 2 KiB
    // and the start of the next.
    let arguments = format!(
        "replay '{}' --flows-out /dev/null --alerts-out '{}'",
        capture.display(),
        out.display()
    );
    let output = sensor_with_file_limit(4, &arguments);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    let text = fs::read_to_string(&out).expect("read alerts");
    assert!(text.ends_with('\n'), "the file ends inside a line");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("whole JSON alert");
    }
    let lines = text.lines().count();
    let raised = message.matches(" alert: ").count();
    assert!(lines > 0, "no alert was written");
    assert!(lines < raised, "every alert was written");
    assert!(
        message.contains(&format!("{} of {raised} alerts were lost", raised - lines)),
        "{lines} lines: {message}"
    );
    assert!(
        message.contains("File too large (os error 27)"),
        "{message}"
    );
}

#[test]
fn alerts_written_replay_succeeds() {
    let dir = TempDir::new("alerts-ok");
    let capture = scan_capture(&dir);
    let alerts = dir.join("alerts.jsonl");

    let output = sensor(&[
        "replay",
        capture.to_str().expect("UTF-8 path"),
        "--flows-out",
        "/dev/null",
        "--alerts-out",
        alerts.to_str().expect("UTF-8 path"),
    ])
    .output()
    .expect("sensor runs");

    let message = stderr(&output);
    assert!(output.status.success(), "{message}");
    let lines = fs::read_to_string(&alerts)
        .expect("read alerts")
        .lines()
        .count();
    assert_eq!(lines, 5, "one alert per scanned host");
    assert_eq!(message.matches(" alert: ").count(), 5, "{message}");
}

#[test]
fn unwritable_model_state_rejected_at_start() {
    let dir = TempDir::new("state");
    let capture = flows_capture(&dir);

    // sysfs rejects new files even for root, where file modes would not.
    let output = sensor(&[
        "replay",
        capture.to_str().expect("UTF-8 path"),
        "--flows-out",
        "/dev/null",
        "--model-state",
        "/sys/sensor-model.snap",
    ])
    .output()
    .expect("sensor runs");

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains(
            "error: invalid --model-state /sys/sensor-model.snap: failed to write model snapshot \
             /sys/sensor-model.snap.tmp: "
        ),
        "{message}"
    );
    assert!(
        message.contains("check that its directory exists and is writable"),
        "{message}"
    );
    assert!(!message.contains("replaying"), "{message}");
}

#[test]
fn alerts_out_missing_directory_names_cause_once() {
    let dir = TempDir::new("alerts-missing-dir");
    let capture = scan_capture(&dir);
    let alerts = dir.join("absent").join("alerts.jsonl");

    let output = sensor(&[
        "replay",
        capture.to_str().expect("UTF-8 path"),
        "--alerts-out",
        alerts.to_str().expect("UTF-8 path"),
    ])
    .output()
    .expect("sensor runs");

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert_eq!(
        message.lines().last().unwrap_or_default(),
        format!(
            "error: failed to open --alerts-out {}: No such file or directory (os error 2); \
             check that its directory exists and that the file is writable",
            alerts.display()
        )
    );
}
