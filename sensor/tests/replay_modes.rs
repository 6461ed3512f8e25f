//! `sensor replay` with parts of the pipeline turned off: `--no-model` writes
//! the same flow records and no alerts, and `--no-app-metadata` writes the same
//! flows without the fields that payloads give.

mod common;

use common::{TempDir, scan_capture, sensor, stderr};
use sensor::fixture::shared_capture;
use serde_json::Value;

/// Fields of a flow record that come from packet payloads.
const PAYLOAD_FIELDS: [&str; 4] = ["dns", "http", "tls", "dst_name"];

/// Replays `capture` with `flags` and returns the flow records as text and the
/// stderr.
fn replay(capture: &str, flags: &[&str]) -> (String, String) {
    let mut args = vec!["replay", capture];
    args.extend_from_slice(flags);
    let output = sensor(&args).output().expect("sensor runs");
    let message = stderr(&output);
    assert!(output.status.success(), "{flags:?}: {message}");
    let records = String::from_utf8(output.stdout).expect("records are UTF-8");
    (records, message)
}

fn records(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("record is JSON"))
        .collect()
}

fn without_payload_fields(mut record: Value) -> Value {
    if let Some(fields) = record.as_object_mut() {
        for field in PAYLOAD_FIELDS {
            fields.remove(field);
        }
    }
    record
}

#[test]
fn no_model_writes_same_records_and_no_alerts() {
    let dir = TempDir::new("no-model");
    let capture = scan_capture(&dir);
    let capture = capture.to_str().expect("UTF-8 path");

    let (with_model, message) = replay(capture, &[]);
    assert_eq!(message.matches(" alert: ").count(), 5, "{message}");

    let (without_model, message) = replay(capture, &["--no-model"]);
    assert_eq!(message.matches(" alert: ").count(), 0, "{message}");
    assert_eq!(records(&without_model).len(), 100, "one record per SYN");
    assert_eq!(
        without_model, with_model,
        "the model does not change records"
    );
}

/// Files that `--alerts-out` and `--model-state` point at in the conflict tests.
const ALERTS_FILE: &str = "alerts.jsonl";
const STATE_FILE: &str = "model.snap";

/// Returns the flags that need the model, each with its variable and a value.
fn model_flags(dir: &TempDir) -> [(&'static str, &'static str, String); 3] {
    let path = |name: &str| dir.join(name).to_str().expect("UTF-8 path").to_string();
    [
        ("SENSOR_ALERTS_OUT", "--alerts-out", path(ALERTS_FILE)),
        (
            "SENSOR_ALERT_WEBHOOK",
            "--alert-webhook",
            "http://127.0.0.1:9/alerts".to_string(),
        ),
        ("SENSOR_MODEL_STATE", "--model-state", path(STATE_FILE)),
    ]
}

#[test]
fn no_model_rejects_alert_and_state_flags() {
    let dir = TempDir::new("no-model-conflicts");
    let capture = scan_capture(&dir);
    let capture = capture.to_str().expect("UTF-8 path");

    for (_, flag, value) in model_flags(&dir) {
        let output = sensor(&["replay", capture, "--no-model", flag, &value])
            .output()
            .expect("sensor runs");
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{flag}: {message}");
        assert!(message.contains("--no-model"), "{flag}: {message}");
        assert!(message.contains(flag), "{flag}: {message}");
    }
    assert!(!dir.join(ALERTS_FILE).exists(), "no alert file is created");
    assert!(!dir.join(STATE_FILE).exists(), "no model state is written");

    // The same holds when the switch comes from the environment.
    let output = sensor(&["replay", capture, "--alerts-out", "-"])
        .env("SENSOR_NO_MODEL", "1")
        .output()
        .expect("sensor runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn no_model_off_by_env_allows_alert_flags() {
    let dir = TempDir::new("no-model-off");
    let capture = scan_capture(&dir);
    let capture = capture.to_str().expect("UTF-8 path");
    let alerts = dir.join(ALERTS_FILE);
    let alerts = alerts.to_str().expect("UTF-8 path");

    // docs/flags.md reads these values as off, so the model runs and alerts.
    for value in ["0", "false", "no", "off", ""] {
        let output = sensor(&["replay", capture, "--alerts-out", alerts])
            .env("SENSOR_NO_MODEL", value)
            .output()
            .expect("sensor runs");
        assert!(
            output.status.success(),
            "SENSOR_NO_MODEL={value:?}: {}",
            stderr(&output)
        );
        let written = std::fs::read_to_string(alerts).expect("alert file is written");
        assert_eq!(written.lines().count(), 5, "SENSOR_NO_MODEL={value:?}");
    }
}

#[test]
fn no_model_rejects_alert_flags_from_env() {
    let dir = TempDir::new("no-model-env-conflicts");
    let capture = scan_capture(&dir);
    let capture = capture.to_str().expect("UTF-8 path");

    for (variable, flag, value) in model_flags(&dir) {
        let output = sensor(&["replay", capture, "--no-model"])
            .env(variable, value)
            .output()
            .expect("sensor runs");
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{variable}: {message}");
        assert!(message.contains(flag), "{variable}: {message}");
        assert!(message.contains(variable), "{variable}: {message}");
    }
    assert!(!dir.join(ALERTS_FILE).exists(), "no alert file is created");
    assert!(!dir.join(STATE_FILE).exists(), "no model state is written");
}

#[test]
fn no_app_metadata_drops_only_payload_fields() {
    for name in ["aws-tm-vxlan-ssh-dns-ntp.pcap", "vxlan-http-get.pcap"] {
        let Some(path) = shared_capture(name) else {
            continue;
        };
        let capture = path.to_str().expect("UTF-8 path");
        let (full, _) = replay(capture, &[]);
        let (bare, _) = replay(capture, &["--no-app-metadata"]);
        let full = records(&full);
        let bare = records(&bare);

        let with_payload_fields = |records: &[Value]| {
            records
                .iter()
                .filter(|record| PAYLOAD_FIELDS.iter().any(|f| record.get(f).is_some()))
                .count()
        };
        assert!(
            with_payload_fields(&full) > 0,
            "{name}: metadata by default"
        );
        assert_eq!(with_payload_fields(&bare), 0, "{name}");
        let full: Vec<Value> = full.into_iter().map(without_payload_fields).collect();
        assert_eq!(bare, full, "{name}: the same flows otherwise");
    }
}

#[test]
fn switch_typo_rejected() {
    let dir = TempDir::new("switch-typo");
    let capture = scan_capture(&dir);
    let capture = capture.to_str().expect("UTF-8 path");

    for variable in ["SENSOR_NO_MODEL", "SENSOR_NO_APP_METADATA"] {
        let output = sensor(&["replay", capture])
            .env(variable, "flase")
            .output()
            .expect("sensor runs");
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{variable}: {message}");
        assert!(message.contains("invalid value 'flase'"), "{message}");
        assert!(message.contains("0, false, no, off or empty"), "{message}");
    }
}
