//! Installs the peer tools when they are missing (Debian packages with apt-get, nfstream
//! with pip) and reads their versions. Running it again installs nothing new.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Debian packages of the peers, with one program that each must put on PATH.
const DEBIAN_PACKAGES: [(&str, &str); 6] = [
    ("softflowd", "softflowd"),
    ("nfdump", "nfpcapd"),
    ("argus-server", "argus"),
    ("argus-client", "racluster"),
    ("pmacct", "pmacctd"),
    ("tshark", "tshark"),
];
/// The PyPI package of nfstream, pinned to the version the report was written with.
const NFSTREAM_REQUIREMENT: &str = "nfstream==6.6.0";
/// Debian's hook that decides whether package maintainer scripts may start services.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// Installs every missing peer and returns (package, version) rows for the report.
pub fn ensure_installed() -> Result<Vec<(String, String)>> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(_, program)| !on_path(program))
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        install_debian(&missing)?;
    }
    if !python_imports("nfstream") {
        eprintln!("bench: installing {NFSTREAM_REQUIREMENT} with pip");
        cmd::status(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            NFSTREAM_REQUIREMENT,
        ]))?;
    }

    let mut versions = Vec::new();
    for (package, _) in DEBIAN_PACKAGES {
        versions.push((package.to_string(), debian_version(package)?));
    }
    let nfstream = cmd::stdout(
        Command::new("python3").args(["-c", "import nfstream; print(nfstream.__version__)"]),
    )?;
    versions.push(("nfstream (PyPI)".to_string(), nfstream.trim().to_string()));
    Ok(versions)
}

/// Installs `packages` with apt-get. The packages ship services (softflowd, nfcapd,
/// argus, pmacctd): a temporary policy-rc.d that returns 101 keeps them from starting,
/// unless the machine already has its own policy-rc.d, which is left as it is.
fn install_debian(packages: &[&str]) -> Result<()> {
    if !cmd::is_root() {
        bail!(
            "peer tools missing ({}): run `cargo xtask bench` as root, or install them with \
             `apt-get install {}`",
            packages.join(", "),
            packages.join(" ")
        );
    }
    eprintln!("bench: installing {} with apt-get", packages.join(" "));
    let policy = Path::new(POLICY_RC_D);
    let temporary_policy = !policy.exists();
    if temporary_policy {
        write_deny_policy(policy)?;
    }
    let result = cmd::status(Command::new("apt-get").arg("update").arg("-q")).and_then(|()| {
        cmd::status(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(packages),
        )
    });
    if temporary_policy {
        std::fs::remove_file(policy)
            .with_context(|| format!("failed to remove the temporary {POLICY_RC_D}"))?;
    }
    result
}

fn write_deny_policy(policy: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(
        policy,
        "#!/bin/sh\n# Written by cargo xtask bench during apt-get install.\nexit 101\n",
    )
    .with_context(|| format!("failed to write {}", policy.display()))?;
    std::fs::set_permissions(policy, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("failed to make {} executable", policy.display()))
}

/// Returns the installed version of a Debian package.
fn debian_version(package: &str) -> Result<String> {
    let version = cmd::stdout(Command::new("dpkg-query").args([
        "--show",
        "--showformat=${Version}",
        package,
    ]))?;
    Ok(version.trim().to_string())
}

/// Returns true when `program` is an executable file in a folder of `$PATH`.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    })
}

fn python_imports(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_path_finds_sh() {
        assert!(on_path("sh"));
    }

    #[test]
    fn on_path_misses_unknown() {
        assert!(!on_path("no-such-program-xtask"));
    }
}
