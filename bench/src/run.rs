//! The send loop: paces frames from a source out of a [`FrameSink`] (a plain AF_PACKET
//! socket or a PACKET_MMAP TX ring), within a frame budget and a time limit, printing
//! progress each second and a final JSON report.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::pacing::{frame_budget, mbit_per_sec, wait_before};
use crate::rss::{outer_flow_hash, pin_to_cpu};
use crate::sender::{PacketSender, SendOutcome};
use crate::tx_ring::TxRing;

/// Shortest wait worth a sleep; shorter ones are caught up later, because each frame's
/// due time counts from the start of the run.
const MIN_SLEEP: Duration = Duration::from_micros(200);
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// Distinct errno values that get their own log line; later ones are only counted.
const MAX_LOGGED_ERRNOS: usize = 8;

/// Limits of one run.
#[derive(Debug, Clone)]
pub struct RunLimits {
    /// Frames per second; 0 sends as fast as possible.
    pub rate_pps: u64,
    /// `--count`: frames to send, cycling over the source.
    pub count: Option<u64>,
    /// `--loops`: passes over the source; 0 means no limit.
    pub loops: Option<u64>,
    pub max_duration: Duration,
    /// `--rss-cpus`: send each frame from the CPU its outer flow hash picks
    /// (see [`crate::rss`]); empty sends from whatever CPU the thread is on.
    pub rss_cpus: Vec<usize>,
}

/// Totals of one run, printed as the final JSON line.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct RunReport {
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub elapsed_secs: f64,
    /// Frames the kernel did not take, after retries.
    pub send_errors: u64,
    /// Retries after ENOBUFS or EAGAIN (a full device queue).
    pub enobufs_retries: u64,
}

impl RunReport {
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "frames_sent": self.frames_sent,
            "bytes_sent": self.bytes_sent,
            "elapsed_secs": self.elapsed_secs,
            "send_errors": self.send_errors,
            "enobufs_retries": self.enobufs_retries,
        })
        .to_string()
    }
}

/// A way to send whole Ethernet frames out of one interface.
pub trait FrameSink {
    /// Sends or queues one frame.
    fn send(&mut self, frame: &[u8]) -> SendOutcome;
    /// Sends every queued frame and returns how many of the frames reported as
    /// `Sent` the kernel rejected after all.
    fn flush(&mut self) -> u64;
}

impl FrameSink for PacketSender {
    fn send(&mut self, frame: &[u8]) -> SendOutcome {
        PacketSender::send(self, frame)
    }

    fn flush(&mut self) -> u64 {
        0
    }
}

impl FrameSink for TxRing {
    fn send(&mut self, frame: &[u8]) -> SendOutcome {
        TxRing::send(self, frame)
    }

    fn flush(&mut self) -> u64 {
        let before = self.stats().wrong_format;
        TxRing::flush(self).wrong_format - before
    }
}

/// Sends `frames` in order, cycling as the limits allow, and returns the totals.
pub fn send_frames(
    sender: &mut impl FrameSink,
    frames: &[Vec<u8>],
    limits: &RunLimits,
) -> RunReport {
    let budget = frame_budget(frames.len() as u64, limits.count, limits.loops);
    let mut report = RunReport::default();
    let mut logged_errnos: Vec<i32> = Vec::with_capacity(MAX_LOGGED_ERRNOS);
    let start = Instant::now();
    let mut last_progress = start;
    let mut progress_frames = 0u64;
    let mut progress_bytes = 0u64;
    let mut pinned: Option<usize> = None;

    for (index, frame) in (0u64..).zip(frames.iter().cycle()) {
        if budget.is_some_and(|budget| index >= budget) {
            break;
        }
        let elapsed = start.elapsed();
        if elapsed >= limits.max_duration {
            eprintln!(
                "stopping: --max-duration-secs {} reached",
                limits.max_duration.as_secs()
            );
            break;
        }
        let wait = wait_before(index, limits.rate_pps, elapsed);
        if wait >= MIN_SLEEP {
            // Queued frames go out before the pause, so pacing holds for a ring too.
            reject_late(&mut report, sender.flush());
            std::thread::sleep(wait);
        }

        if !limits.rss_cpus.is_empty() {
            let slot = (outer_flow_hash(frame) % limits.rss_cpus.len() as u64) as usize;
            let cpu = limits.rss_cpus[slot];
            if pinned != Some(cpu) {
                match pin_to_cpu(cpu) {
                    Ok(()) => pinned = Some(cpu),
                    Err(error) => {
                        eprintln!("failed to move the sender to CPU {cpu}: {error}; stopping");
                        break;
                    }
                }
            }
        }

        match sender.send(frame) {
            SendOutcome::Sent { retries } => {
                report.frames_sent += 1;
                report.bytes_sent += frame.len() as u64;
                report.enobufs_retries += u64::from(retries);
            }
            SendOutcome::Failed { errno, retries } => {
                report.send_errors += 1;
                report.enobufs_retries += u64::from(retries);
                if !logged_errnos.contains(&errno) && logged_errnos.len() < MAX_LOGGED_ERRNOS {
                    logged_errnos.push(errno);
                    let error = std::io::Error::from_raw_os_error(errno);
                    eprintln!(
                        "send of frame {index} ({} bytes) failed: {error}; later failures with this error are only counted",
                        frame.len()
                    );
                }
            }
        }

        let now = Instant::now();
        if now - last_progress >= PROGRESS_INTERVAL {
            let interval = now - last_progress;
            let frames = report.frames_sent - progress_frames;
            let bytes = report.bytes_sent - progress_bytes;
            eprintln!(
                "sent {} frames, {:.0} pps, {:.1} Mbit/s",
                report.frames_sent,
                frames as f64 / interval.as_secs_f64(),
                mbit_per_sec(bytes, interval)
            );
            let _ = std::io::stderr().flush();
            last_progress = now;
            progress_frames = report.frames_sent;
            progress_bytes = report.bytes_sent;
        }
    }
    reject_late(&mut report, sender.flush());
    report.elapsed_secs = start.elapsed().as_secs_f64();
    report
}

/// Moves frames that the kernel rejected after they were queued from sent to errors.
fn reject_late(report: &mut RunReport, rejected: u64) {
    if rejected == 0 {
        return;
    }
    report.frames_sent = report.frames_sent.saturating_sub(rejected);
    report.send_errors += rejected;
}
