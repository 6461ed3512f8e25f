//! `cargo xtask setup`: installs what a new Debian 12 machine lacks to build and test the
//! workspace. It is idempotent and prints one line per item: what it found or what it did.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Debian packages needed whatever the LLVM version: the C toolchain for libxdp (built by
/// xsk-rs, whose configure needs libpcap-dev), libelf and zlib for BPF objects, and the
/// network tools the lab uses.
const DEBIAN_PACKAGES: &[&str] = &[
    "clang",
    "llvm",
    "m4",
    "pkg-config",
    "libelf-dev",
    "zlib1g-dev",
    "iproute2",
    "ethtool",
    "libpcap-dev",
];

/// Runs every setup step in order. The nightly toolchain comes first because its LLVM
/// major version selects the LLVM packages and the bpf-linker build.
pub fn run() -> Result<()> {
    ensure_nightly()?;
    ensure_rust_src()?;
    let llvm_major = nightly_llvm_major()?;
    println!("found nightly rustc with LLVM {llvm_major}");
    ensure_debian_packages(llvm_major)?;
    ensure_bpf_linker(llvm_major)?;
    Ok(())
}

fn ensure_nightly() -> Result<()> {
    let toolchains = cmd::stdout(Command::new("rustup").args(["toolchain", "list"]))
        .context("rustup is required: install Rust with rustup, then rerun `cargo xtask setup`")?;
    if toolchains.lines().any(|line| line.starts_with("nightly")) {
        println!("found rust toolchain nightly");
        return Ok(());
    }

    println!("installing rust toolchain nightly (profile minimal)");
    cmd::status(Command::new("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
    ]))
}

fn ensure_rust_src() -> Result<()> {
    let installed = cmd::stdout(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))?;
    if installed.lines().any(|line| line.starts_with("rust-src")) {
        println!("found rust-src for nightly");
        return Ok(());
    }

    println!("installing rust-src for nightly");
    cmd::status(Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        "nightly",
    ]))
}

/// Reads the LLVM major version from `rustc +nightly -vV`.
fn nightly_llvm_major() -> Result<u32> {
    let version = cmd::stdout(Command::new("rustc").args(["+nightly", "-vV"]))?;
    parse_llvm_major(&version).with_context(|| {
        format!("no `LLVM version: N.x` line in the output of `rustc +nightly -vV`:\n{version}")
    })
}

/// Extracts N from the `LLVM version: N.x.y` line of `rustc -vV`.
pub fn parse_llvm_major(rustc_version: &str) -> Option<u32> {
    let line = rustc_version
        .lines()
        .find_map(|line| line.strip_prefix("LLVM version:"))?;
    line.trim().split('.').next()?.parse().ok()
}

fn ensure_debian_packages(llvm_major: u32) -> Result<()> {
    let mut packages: Vec<String> = DEBIAN_PACKAGES
        .iter()
        .map(|name| name.to_string())
        .collect();
    // bpf-linker links against the LLVM that rustc uses; Polly is a dependency of its
    // llvm-config on Debian.
    packages.push(format!("llvm-{llvm_major}-dev"));
    packages.push(format!("libpolly-{llvm_major}-dev"));

    let mut missing = Vec::new();
    for package in &packages {
        match installed_version(package)? {
            Some(version) => println!("found {package} {version}"),
            None => missing.push(package.clone()),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }

    let list = missing.join(" ");
    if !cmd::is_root() {
        bail!(
            "Debian packages missing: {list}. Installing them needs root: \
             run `sudo apt-get install {list}`, or rerun `cargo xtask setup` as root"
        );
    }
    println!("installing {list} (apt-get update, then apt-get install)");
    cmd::status(Command::new("apt-get").arg("update"))?;
    cmd::status(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Returns the installed version of a Debian package, or `None` when it is not installed.
fn installed_version(package: &str) -> Result<Option<String>> {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev} ${Version}", package])
        .output()
        .context(
            "dpkg-query not found: `cargo xtask setup` supports Debian 12-like systems; \
             elsewhere install the packages it lists by hand",
        )?;
    // dpkg-query exits non-zero for a package it has never heard of.
    if !output.status.success() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(parse_dpkg_status(&text))
}

/// Parses `${db:Status-Abbrev} ${Version}` output: `ii  1.2-3` means installed.
fn parse_dpkg_status(text: &str) -> Option<String> {
    let (status, version) = text.split_at_checked(3)?;
    if !status.starts_with("ii") {
        return None;
    }
    Some(version.trim().to_string())
}

fn ensure_bpf_linker(llvm_major: u32) -> Result<()> {
    let found = find_on_path("bpf-linker");
    if let Some(path) = &found {
        match linked_llvm_major(path)? {
            Some(major) if major == llvm_major => {
                println!("found bpf-linker at {} (LLVM {major})", path.display());
                return Ok(());
            }
            Some(major) => println!(
                "bpf-linker at {} uses LLVM {major} but nightly rustc uses LLVM {llvm_major}: \
                 reinstalling",
                path.display()
            ),
            None => println!(
                "bpf-linker at {} links no shared libLLVM, so its LLVM version is unknown: \
                 reinstalling",
                path.display()
            ),
        }
    } else {
        println!("installing bpf-linker for LLVM {llvm_major} (cargo install, several minutes)");
    }

    let llvm_prefix = format!("/usr/lib/llvm-{llvm_major}");
    let path = std::env::var("PATH").unwrap_or_default();
    // llvm-sys reads its LLVM location from LLVM_SYS_<major><minor>_PREFIX; every LLVM
    // release since 18 is numbered N.1, so the minor is 1.
    let prefix_var = format!("LLVM_SYS_{llvm_major}1_PREFIX");
    cmd::status(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args([
                "install",
                "bpf-linker",
                "--locked",
                "--force",
                "--no-default-features",
            ])
            .args(["--features", &format!("llvm-{llvm_major}")])
            .env("PATH", format!("{llvm_prefix}/bin:{path}"))
            .env(prefix_var, &llvm_prefix),
    )
}

/// Returns the LLVM major version of the shared libLLVM that `binary` links, read from
/// `ldd` (a line like `libLLVM.so.22.1 => …`).
fn linked_llvm_major(binary: &std::path::Path) -> Result<Option<u32>> {
    let listing = cmd::stdout(Command::new("ldd").arg(binary))?;
    Ok(parse_ldd_llvm_major(&listing))
}

/// Parses the libLLVM line of `ldd` output. LLVM 18 and later name the library
/// `libLLVM.so.N.1`; earlier Debian builds name it `libLLVM-N.so.1`.
fn parse_ldd_llvm_major(ldd_output: &str) -> Option<u32> {
    ldd_output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("libLLVM")?;
        let version = match rest.strip_prefix('-') {
            Some(dashed) => dashed,
            None => rest.strip_prefix(".so.")?,
        };
        let major = version.split(|c: char| !c.is_ascii_digit()).next()?;
        major.parse().ok()
    })
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llvm_major_from_rustc() {
        let text = "rustc 1.97.0-nightly\nhost: x86_64-unknown-linux-gnu\nLLVM version: 22.1.4\n";
        assert_eq!(parse_llvm_major(text), Some(22));
    }

    #[test]
    fn llvm_major_missing_line() {
        assert_eq!(parse_llvm_major("rustc 1.97.0\n"), None);
    }

    #[test]
    fn dpkg_status_cases() {
        let cases = [
            ("ii  1:14.0-55.7", Some("1:14.0-55.7")),
            ("un ", None),
            ("rc  2.0", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_dpkg_status(text).as_deref(),
                expected,
                "input {text:?}"
            );
        }
    }

    #[test]
    fn ldd_llvm_major_cases() {
        let cases = [
            (
                "\tlibLLVM.so.22.1 => /usr/lib/llvm-22/lib/libLLVM.so.22.1 (0x0)",
                Some(22),
            ),
            ("\tlibLLVM-17.so.1 => /usr/lib/x.so (0x0)", Some(17)),
            ("\tlibc.so.6 => /lib/libc.so.6 (0x0)", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_ldd_llvm_major(text), expected, "input {text:?}");
        }
    }
}
