//! `sensor replay` of input files that cannot be replayed: the exit status and
//! the error line, end to end through the binary.

use std::process::{Command, Output};

fn replay(file: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args(["replay", file, "--flows-out", "/dev/null"])
        .env("NO_COLOR", "1")
        .output()
        .expect("sensor runs")
}

/// Returns the last line of the standard error, where the error is.
fn error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn directory_names_fix() {
    let dir = std::env::temp_dir();
    let dir = dir.to_str().expect("UTF-8 path");

    let output = replay(dir);

    assert!(!output.status.success());
    assert_eq!(
        error_line(&output),
        format!(
            "error: {dir} is a directory, not a capture file: name the pcap or pcapng files in \
             it (for example {dir}/*.pcap)"
        )
    );
}

#[test]
fn missing_file_names_cause_once() {
    let output = replay("/nonexistent/capture.pcap");

    assert!(!output.status.success());
    assert_eq!(
        error_line(&output),
        "error: failed to open capture /nonexistent/capture.pcap: No such file or directory \
         (os error 2)"
    );
}
