//! Running external tools (`ip`, `apt-get`, `cargo`, …) with errors that name the
//! command line, its exit status and its stderr.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// Formats a command as a shell-like line for messages.
pub fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs `command` with captured output and returns it, or fails when the command cannot
/// start or exits non-zero.
pub fn output(command: &mut Command) -> Result<Output> {
    let line = describe(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to start `{line}`: is it installed and on PATH?"))?;
    if !output.status.success() {
        bail!(
            "`{line}` failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// Runs `command` with captured output and returns its stdout as text.
pub fn stdout(command: &mut Command) -> Result<String> {
    let output = output(command)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `command` with the terminal as stdin, stdout and stderr, so its progress stays
/// visible, and fails when it exits non-zero.
pub fn status(command: &mut Command) -> Result<()> {
    let line = describe(command);
    let status = command
        .status()
        .with_context(|| format!("failed to start `{line}`: is it installed and on PATH?"))?;
    if !status.success() {
        bail!("`{line}` failed with {status} (its output is above)");
    }
    Ok(())
}

/// Returns the workspace root: the parent folder of this crate.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match manifest_dir.parent() {
        Some(root) => root.to_path_buf(),
        None => manifest_dir,
    }
}

/// Returns cargo's target folder: `$CARGO_TARGET_DIR` when set (relative to the
/// workspace root), otherwise `target` in the workspace root.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Returns a `cargo` command run from the workspace root. It uses the cargo that runs
/// xtask (`$CARGO`), so `cargo +nightly xtask …` stays on nightly.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

/// Returns true when this process runs with effective user id 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid takes no arguments and always succeeds (POSIX.1-2008).
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_joins_program_and_args() {
        let mut command = Command::new("ip");
        command.args(["netns", "add", "lab-src"]);
        assert_eq!(describe(&command), "ip netns add lab-src");
    }

    #[test]
    fn output_failure_names_command() {
        let error = output(Command::new("false").arg("x")).unwrap_err();
        assert!(error.to_string().contains("`false x` failed"), "{error}");
    }

    #[test]
    fn output_missing_program_says_not_found() {
        let error = output(&mut Command::new("/nonexistent/tool")).unwrap_err();
        assert!(error.to_string().contains("failed to start"), "{error}");
    }
}
