//! Runs one child process to completion and measures the CPU time it used: user plus
//! system seconds from `wait4`, which include every thread of the child and every
//! descendant process that it waited for.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// How often a running child is polled for its exit.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Resources used by one finished child process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User plus system CPU seconds.
    pub cpu_seconds: f64,
    /// The system (kernel) part of `cpu_seconds`: reading the input, writing the
    /// output, page faults and thread wake-ups.
    pub system_seconds: f64,
    /// Wall-clock seconds from spawn to exit.
    pub wall_seconds: f64,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
}

/// Runs `command` with stdout and stderr written to `stdout_path` and `stderr_path`, and
/// returns its resource usage. Fails when the command cannot start, exits non-zero, or
/// runs longer than `limit` (then it is killed).
pub fn run_measured(
    command: &mut Command,
    stdout_path: &Path,
    stderr_path: &Path,
    limit: Duration,
) -> Result<Usage> {
    let line = cmd::describe(command);
    let stdout = File::create(stdout_path)
        .with_context(|| format!("failed to create {}", stdout_path.display()))?;
    let stderr = File::create(stderr_path)
        .with_context(|| format!("failed to create {}", stderr_path.display()))?;
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("failed to start `{line}`: is it installed and on PATH?"))?;
    let pid = libc::pid_t::try_from(child.id())
        .with_context(|| format!("process id {} of `{line}` does not fit pid_t", child.id()))?;

    let (status, usage) = wait_with_limit(pid, started, limit)
        .with_context(|| format!("failed to wait for `{line}`"))?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let Some(status) = status else {
        bail!(
            "`{line}` ran longer than {} s and was killed; its output is in {}",
            limit.as_secs(),
            stderr_path.display()
        );
    };
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!(
            "`{line}` failed with wait status {status:#x}; its output is in {} and {}",
            stdout_path.display(),
            stderr_path.display()
        );
    }
    Ok(Usage {
        cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        system_seconds: seconds(usage.ru_stime),
        wall_seconds,
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    })
}

/// Waits for `pid` until `limit` after `started`, then kills it. Returns the wait status
/// (`None` when the child was killed for running too long) and its resource usage.
fn wait_with_limit(
    pid: libc::pid_t,
    started: Instant,
    limit: Duration,
) -> std::io::Result<(Option<i32>, libc::rusage)> {
    let mut killed = false;
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data, so all-zero bytes are a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed { 0 } else { libc::WNOHANG };
        // SAFETY: pid is our own child, which no other code waits for; status and usage
        // point to live locals.
        let waited = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if waited == pid {
            return Ok(((!killed).then_some(status), usage));
        }
        if waited < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if started.elapsed() >= limit {
            // SAFETY: pid is our child and has not been reaped, so the id is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
            continue;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn seconds(time: libc::timeval) -> f64 {
    time.tv_sec as f64 + time.tv_usec as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_child_uses_cpu() {
        let dir = std::env::temp_dir().join(format!("xtask-measure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new("sh");
        command.args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"]);
        let usage = run_measured(
            &mut command,
            &dir.join("out"),
            &dir.join("err"),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(usage.cpu_seconds > 0.0, "{usage:?}");
        assert!(usage.max_rss_kib > 0, "{usage:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failing_child_is_an_error() {
        let dir = std::env::temp_dir().join(format!("xtask-measure-fail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let error = run_measured(
            &mut Command::new("false"),
            &dir.join("out"),
            &dir.join("err"),
            Duration::from_secs(60),
        )
        .unwrap_err();
        assert!(error.to_string().contains("`false` failed"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn slow_child_is_killed() {
        let dir = std::env::temp_dir().join(format!("xtask-measure-slow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let error = run_measured(
            Command::new("sleep").arg("30"),
            &dir.join("out"),
            &dir.join("err"),
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(error.to_string().contains("ran longer than"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
