use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;

use super::webhook::test_server::TestServer;
use super::*;

#[derive(Serialize)]
struct TestAlert {
    device: &'static str,
    score: f64,
}

fn alert(device: &'static str) -> TestAlert {
    TestAlert { device, score: 0.5 }
}

fn temp_dir(test: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "sensor-alerts-{}-{}-{}",
        test,
        std::process::id(),
        n
    ));
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path)
        .expect("read alerts")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// A writer whose every write fails, as a full disk would.
struct FailingWriter;

impl Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::other("disk full"))
    }
}

#[test]
fn json_lines_one_object_per_line() {
    let dir = temp_dir("lines");
    let path = dir.join("alerts.jsonl");
    let mut sink = JsonLinesSink::create(&path).expect("create");

    sink.send(&alert("10.0.1.5")).expect("first");
    sink.send(&alert("10.0.2.7")).expect("second");

    let written = lines(&path);
    assert_eq!(written.len(), 2);
    assert_eq!(written[0]["device"], "10.0.1.5");
    assert_eq!(written[1]["device"], "10.0.2.7");
    assert_eq!(sink.counters().snapshot().sent, 2);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_lines_flushed_per_alert() {
    let dir = temp_dir("flushed");
    let path = dir.join("alerts.jsonl");
    let mut sink = JsonLinesSink::create(&path).expect("create");

    sink.send(&alert("10.0.1.5")).expect("send");

    // Read while the sink is still open: nothing may sit in its buffer.
    assert_eq!(lines(&path).len(), 1);
    drop(sink);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_lines_create_truncates() {
    let dir = temp_dir("truncate");
    let path = dir.join("alerts.jsonl");
    fs::write(&path, "{\"old\":1}\n").expect("write old");

    let mut sink = JsonLinesSink::create(&path).expect("create");
    sink.send(&alert("10.0.1.5")).expect("send");

    assert_eq!(lines(&path).len(), 1);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_lines_append_keeps_old() {
    let dir = temp_dir("append");
    let path = dir.join("alerts.jsonl");
    fs::write(&path, "{\"old\":1}\n").expect("write old");

    let mut sink = JsonLinesSink::append(&path).expect("append");
    sink.send(&alert("10.0.1.5")).expect("send");

    let written = lines(&path);
    assert_eq!(written.len(), 2);
    assert_eq!(written[0]["old"], 1);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_lines_open_error_names_path() {
    let dir = temp_dir("open-error");
    let path = dir.join("absent").join("alerts.jsonl");

    let Err(err) = JsonLinesSink::create(&path) else {
        panic!("opened a file in a missing directory");
    };

    assert!(err.to_string().contains("absent/alerts.jsonl"), "{err}");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_lines_write_error_counted() {
    let mut sink = JsonLinesSink::from_writer("broken", Box::new(FailingWriter));

    let result = sink.send(&alert("10.0.1.5"));

    assert!(matches!(result, Err(AlertSinkError::Write { .. })));
    assert_eq!(sink.counters().snapshot().failed, 1);
}

#[test]
fn fan_out_reaches_every_sink() {
    let dir = temp_dir("fan-out");
    let path = dir.join("alerts.jsonl");
    let server = TestServer::start(&[]);
    let mut sinks = AlertSinks::new();
    sinks.add(JsonLinesSink::create(&path).expect("create"));
    sinks.add(WebhookSink::start(WebhookConfig::new(server.url())).expect("start"));

    sinks.send(&alert("10.0.1.5")).expect("send");
    let counts = sinks.shutdown();

    assert_eq!(lines(&path).len(), 1);
    assert_eq!(server.requests().len(), 1);
    let kinds: Vec<&str> = counts.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, ["json-lines", "webhook"]);
    assert!(counts.iter().all(|(_, c)| c.sent == 1), "{counts:?}");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn fan_out_failure_skips_no_sink() {
    let dir = temp_dir("fan-out-failure");
    let path = dir.join("alerts.jsonl");
    let mut sinks = AlertSinks::new();
    sinks.add(JsonLinesSink::from_writer(
        "broken",
        Box::new(FailingWriter),
    ));
    sinks.add(JsonLinesSink::create(&path).expect("create"));

    let result = sinks.send(&alert("10.0.1.5"));

    assert!(matches!(result, Err(AlertSinkError::Write { .. })));
    assert_eq!(lines(&path).len(), 1);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn fan_out_empty_accepts() {
    let mut sinks: AlertSinks<TestAlert> = AlertSinks::new();

    let result = sinks.send(&alert("10.0.1.5"));

    assert!(result.is_ok());
    assert!(sinks.is_empty());
}
