//! The loader's error type. Each message names the value involved and, where
//! one is known, the fix.

use std::{error::Error as StdError, io};

use thiserror::Error;

use super::XdpMode;

/// A failure of loading, configuring, attaching or test-running the XDP program.
#[derive(Debug, Error)]
pub enum XdpError {
    #[error("mirror port 0 is invalid: configure UDP ports between 1 and 65535")]
    ZeroPort,

    #[error("UDP port {port} is configured as both a VXLAN and a GENEVE port: give it one kind")]
    PortConflict { port: u16 },

    #[error(
        "{count} mirror ports are configured but the XDP program holds at most {max}: configure fewer"
    )]
    TooManyPorts { count: usize, max: u32 },

    #[error(
        "{count} {family} allowlist prefixes are configured but the XDP program holds at most {max}: merge them into fewer, shorter prefixes"
    )]
    TooManyPrefixes {
        family: &'static str,
        count: usize,
        max: u32,
    },

    #[error("queue {queue} is out of range: the socket map holds queues 0 to {}", max - 1)]
    QueueOutOfRange { queue: u32, max: u32 },

    #[error("{operation} failed with EPERM: run as root or with CAP_BPF and CAP_NET_ADMIN")]
    PermissionDenied {
        operation: &'static str,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },

    #[error("parsing or creating the maps of the embedded XDP object failed")]
    Object(#[source] Box<aya::EbpfError>),

    #[error("program `{name}` not found in the embedded XDP object, or it is not an XDP program")]
    ProgramNotFound { name: &'static str },

    #[error(
        "loading the XDP program failed (the kernel verifier rejected it, or the kernel lacks a feature it needs)"
    )]
    ProgramLoad(#[source] Box<aya::programs::ProgramError>),

    #[error("map `{name}` not found in the embedded XDP object")]
    MapNotFound { name: &'static str },

    #[error("map `{name}`: {operation} failed")]
    Map {
        name: &'static str,
        operation: &'static str,
        #[source]
        source: aya::maps::MapError,
    },

    #[error("interface {interface} not found: check the name with `ip link`")]
    InterfaceNotFound { interface: String },

    #[error("attaching XDP to {interface} in {mode} mode failed: {hint}")]
    Attach {
        interface: String,
        mode: XdpMode,
        hint: String,
        #[source]
        source: Box<aya::programs::ProgramError>,
    },

    #[error("BPF_PROG_TEST_RUN failed")]
    TestRun(#[source] Box<aya::programs::ProgramError>),

    #[error("the XDP program returned {0}, which is not an XDP action")]
    UnknownAction(u32),
}

/// Returns the first OS error code in the chain of `error`.
pub(crate) fn os_error(error: &(dyn StdError + 'static)) -> Option<i32> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(code) = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            return Some(code);
        }
        current = error.source();
    }
    None
}

/// Picks the fix to suggest when attaching to `interface` in `mode` failed
/// with OS error `code`.
pub(crate) fn attach_hint(interface: &str, mode: XdpMode, code: Option<i32>) -> String {
    match (code, mode) {
        (Some(libc::EPERM), _) => "run as root or with CAP_BPF and CAP_NET_ADMIN".to_string(),
        (Some(libc::EBUSY | libc::EEXIST), _) => format!(
            "another XDP program is attached: detach it with `ip link set dev {interface} xdp off`"
        ),
        (Some(libc::EOPNOTSUPP | libc::EINVAL | libc::ERANGE), XdpMode::Native) => {
            "the driver does not support native XDP with this MTU or channel count: lower the MTU, or use --xdp-mode generic".to_string()
        }
        _ => "see the cause below".to_string(),
    }
}
