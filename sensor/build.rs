//! Builds the XDP program (the `sensor-ebpf` binary) for `bpfel-unknown-none`
//! with the nightly toolchain and exports the object path as
//! `SENSOR_EBPF_OBJECT` for `aya::include_bytes_aligned!`.
//!
//! The inner cargo gets its own target directory under `OUT_DIR`, so it does
//! not wait on the outer build's target-directory lock. The outer build's
//! compiler settings (`OUTER_BUILD_VARIABLES`) are for the host target, so
//! they are removed from its environment.

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

const TARGET: &str = "bpfel-unknown-none";
const PACKAGE: &str = "sensor-ebpf";
const SETUP_HINT: &str = "run `cargo xtask setup` to install it";

/// Variables of the outer build that must not reach the inner one.
const OUTER_BUILD_VARIABLES: [&str; 7] = [
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTUP_TOOLCHAIN",
    "CARGO_TARGET_DIR",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let ebpf_dir = manifest_dir.join("..").join(PACKAGE);

    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed={}", ebpf_dir.join("src").display());
    println!(
        "cargo::rerun-if-changed={}",
        ebpf_dir.join("Cargo.toml").display()
    );

    if let Err(missing) = check_toolchain() {
        println!("cargo::error={missing}; {SETUP_HINT}");
        return;
    }

    let target_dir = out_dir.join("ebpf");
    let mut command = Command::new("rustup");
    command
        .args(["run", "nightly", "cargo", "build"])
        .args(["--package", PACKAGE, "--bin", PACKAGE])
        .args(["-Z", "build-std=core", "--target", TARGET, "--release"])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&ebpf_dir)
        // Cargo reads the build script's stdout for directives, so the inner
        // build's output goes to stderr, which cargo shows on failure.
        .stdout(Stdio::from(std::io::stderr()));
    for variable in OUTER_BUILD_VARIABLES {
        command.env_remove(variable);
    }

    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            println!(
                "cargo::error=building the XDP program failed ({status}): rerun `cargo +nightly build -p {PACKAGE} -Z build-std=core --target {TARGET} --release` to see the compiler errors"
            );
            return;
        }
        Err(error) => {
            println!(
                "cargo::error=could not run `rustup run nightly cargo`: {error}; {SETUP_HINT}"
            );
            return;
        }
    }

    let object = target_dir.join(TARGET).join("release").join(PACKAGE);
    println!("cargo::rustc-env=SENSOR_EBPF_OBJECT={}", object.display());
}

/// Checks for the nightly toolchain, its `rust-src` component and
/// `bpf-linker`, and returns the first one that is missing.
fn check_toolchain() -> Result<(), String> {
    let sysroot = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--print", "sysroot"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
        .ok_or("the nightly Rust toolchain is missing (needed to build the XDP program)")?;

    let core_source = sysroot.join("lib/rustlib/src/rust/library/core");
    if !core_source.is_dir() {
        return Err(format!(
            "the rust-src component of the nightly toolchain is missing ({} not found)",
            core_source.display()
        ));
    }

    if find_in_path("bpf-linker").is_none() {
        return Err("bpf-linker is missing from PATH".to_string());
    }
    Ok(())
}

/// Returns the first `name` found in the directories of `PATH`.
fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;

    path.metadata()
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}
