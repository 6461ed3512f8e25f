//! Live lab test: creates a lab, serves HTTP in the sensor namespace and fetches it from
//! the source namespace over the veth pair. Needs root.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};

use xtask::http::enter_namespace;
use xtask::lab::SENSOR_ADDR;
use xtask::{Lab, LabConfig, cmd, http_get_in};

/// Returns false (after saying why) when the test cannot run here; under CI it fails.
fn can_run_live() -> bool {
    if cmd::is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but the lab test is not running as root"
    );
    eprintln!("skipped: the lab test needs root to create network namespaces");
    false
}

fn test_config(name: &str, queues: u32) -> LabConfig {
    LabConfig {
        prefix: format!("xt{}-{name}", std::process::id()),
        queues,
        ..LabConfig::default()
    }
}

fn queue_count(lab: &Lab, kind: &str) -> usize {
    let path = format!("/sys/class/net/{}/queues", lab.sensor_if());
    let listing = cmd::stdout(Lab::command_in(lab.sensor_ns(), "ls").arg(path)).unwrap();
    listing
        .split_whitespace()
        .filter(|entry| entry.starts_with(kind))
        .count()
}

#[test]
fn lab_up_creates_queues() {
    if !can_run_live() {
        return;
    }
    let lab = Lab::up(&test_config("q", 3)).unwrap();
    assert_eq!(queue_count(&lab, "rx-"), 3);
    assert_eq!(queue_count(&lab, "tx-"), 3);
}

#[test]
fn lab_carries_http() {
    if !can_run_live() {
        return;
    }
    let lab = Lab::up(&test_config("h", 1)).unwrap();
    let sensor_ns = lab.sensor_ns().to_string();
    let addr: SocketAddr = format!("{SENSOR_ADDR}:8080").parse().unwrap();

    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        enter_namespace(&sensor_ns).unwrap();
        let listener = TcpListener::bind(addr).unwrap();
        ready_tx.send(()).unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong")
            .unwrap();
    });
    ready_rx.recv().unwrap();

    let body = http_get_in(lab.src_ns(), addr, "/ping").unwrap();
    assert_eq!(body, "pong");
    server.join().unwrap();
}

#[test]
fn lab_down_is_idempotent() {
    if !can_run_live() {
        return;
    }
    let lab = Lab::up(&test_config("d", 1)).unwrap();
    lab.down().unwrap();
    assert!(lab.down().is_ok());
    assert!(
        !std::path::Path::new("/run/netns")
            .join(lab.src_ns())
            .exists()
    );
}

#[test]
fn lab_drop_tears_down() {
    if !can_run_live() {
        return;
    }
    let cfg = test_config("x", 1);
    let src_ns = Lab::up(&cfg).unwrap().src_ns().to_string();
    assert!(!std::path::Path::new("/run/netns").join(src_ns).exists());
}
