//! `cargo xtask build` and `cargo xtask test`: cargo runs over the whole workspace,
//! after the setup check.

use anyhow::Result;

use crate::{cmd, setup};

/// Runs setup, then `cargo build --workspace --bins`, in release mode when asked.
pub fn build(release: bool) -> Result<()> {
    setup::run()?;
    build_bins(release)
}

/// Runs `cargo build --workspace --bins` without the setup check.
pub fn build_bins(release: bool) -> Result<()> {
    let mut command = cmd::cargo();
    command.args(["build", "--workspace", "--bins"]);
    if release {
        command.arg("--release");
    }
    cmd::status(&mut command)
}

/// Runs setup, builds every binary (the live tests start them), runs every test of the
/// workspace, then the detection evaluation (`cargo xtask eval`). `CI` passes through
/// from the environment; when it is set, tests that need a capture file fail instead of
/// skipping. The XDP and live tests need root.
pub fn test() -> Result<()> {
    setup::run()?;
    build_bins(false)?;
    if !cmd::is_root() {
        eprintln!("note: not root, so the XDP and network-namespace tests will fail");
    }
    cmd::status(cmd::cargo().args(["test", "--workspace"]))?;

    // The detection acceptance bar: every attack kind found in every scenario
    // seed, at most 1 false alert per 100 device-hours.
    crate::eval::run(&crate::eval::EvalOptions {
        seeds: vec![1, 2, 3],
        no_build: false,
        score_only: false,
    })
}
