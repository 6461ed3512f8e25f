//! Helpers of the tests that run the `sensor` binary on captures they write:
//! a temporary folder, a classic pcap writer and two small captures.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use sensor::fixture::Frame;

/// Flows in [`flows_capture`]; each gives one record.
pub const FLOWS: u16 = 2000;

/// A temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("sensor-tests-{test}-{}", std::process::id()));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        fs::remove_dir_all(&self.0).ok();
    }
}

/// Writes `frames` (capture time in microseconds, Ethernet frame) as a classic
/// pcap file.
pub fn write_pcap(path: &Path, frames: &[(u64, Vec<u8>)]) {
    let mut bytes = Vec::new();
    for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    for (micros, frame) in frames {
        let len = frame.len() as u32;
        let secs = (micros / 1_000_000) as u32;
        let fraction = (micros % 1_000_000) as u32;
        for field in [secs, fraction, len, len] {
            bytes.extend_from_slice(&field.to_le_bytes());
        }
        bytes.extend_from_slice(frame);
    }
    fs::write(path, bytes).expect("write capture");
}

/// Writes a capture of [`FLOWS`] one-packet DNS flows, one millisecond apart,
/// and returns its path.
pub fn flows_capture(dir: &TempDir) -> PathBuf {
    let frames: Vec<(u64, Vec<u8>)> = (0..FLOWS)
        .map(|i| {
            let frame = Frame::vxlan(1).udp(10_000 + i, 53).build();
            (1_767_571_200_000_000 + u64::from(i) * 1000, frame)
        })
        .collect();
    let path = dir.join("flows.pcap");
    write_pcap(&path, &frames);
    path
}

/// Writes a capture of a vertical scan and returns its path: 10.0.0.1 sends
/// lone SYNs to 20 ports on each of 10.0.0.2 to 10.0.0.6, which raises one
/// alert per scanned host.
pub fn scan_capture(dir: &TempDir) -> PathBuf {
    const SYN: u8 = 0x02;
    let mut frames = Vec::new();
    for host in 2..=6u8 {
        for port in 1..=20u16 {
            let frame = Frame::vxlan(1)
                .inner_ipv4([10, 0, 0, 1], [10, 0, 0, host])
                .tcp(40_000 + port, port, SYN)
                .build();
            let micros = 1_767_571_200_000_000 + frames.len() as u64 * 1000;
            frames.push((micros, frame));
        }
    }
    let path = dir.join("scan.pcap");
    write_pcap(&path, &frames);
    path
}

pub fn sensor(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sensor"));
    command.args(args).env("NO_COLOR", "1");
    command
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
