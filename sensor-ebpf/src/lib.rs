//! Types shared by the XDP program and user space: map names, the verdict
//! counter layout and the metadata the program writes in front of each
//! redirected frame.
//!
//! Everything here is `#[repr(C)]` or a plain integer so that both sides read
//! the same bytes, and `no_std` so that the BPF target can use it.

#![no_std]

/// Map names, as the loader looks them up in the object file.
pub mod maps {
    /// `XskMap`: RX queue index → AF_XDP socket.
    pub const XSKS: &str = "XSKS";
    /// `PerCpuArray<u64>` indexed by [`crate::Verdict`].
    pub const VERDICTS: &str = "VERDICTS";
    /// `HashMap<u16, u8>`: UDP destination port (host order) → [`crate::PortKind`].
    pub const MIRROR_PORTS: &str = "MIRROR_PORTS";
    /// `LpmTrie<[u8; 4], u8>`: allowed IPv4 mirror-source prefixes.
    pub const ALLOW_V4: &str = "ALLOW_V4";
    /// `LpmTrie<[u8; 16], u8>`: allowed IPv6 mirror-source prefixes.
    pub const ALLOW_V6: &str = "ALLOW_V6";
    /// `Array<Config>` with one entry.
    pub const CONFIG: &str = "CONFIG";
}

/// Maximum entries in [`maps::MIRROR_PORTS`].
pub const MAX_MIRROR_PORTS: u32 = 16;
/// Maximum prefixes in each allowlist trie.
pub const MAX_ALLOWLIST_PREFIXES: u32 = 1024;
/// Most RX queues the socket map can hold.
pub const MAX_QUEUES: u32 = 256;
/// Outer VLAN tags the program walks before giving up on a frame.
pub const VLAN_MAX_DEPTH: usize = 2;

/// Tunnel protocol of a mirror port.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortKind {
    Vxlan = 1,
    Geneve = 2,
}

/// Program settings written by user space before attach.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Non-zero: only sources inside [`maps::ALLOW_V4`] / [`maps::ALLOW_V6`]
    /// are redirected; mirror frames from other sources are dropped.
    pub allowlist_enabled: u8,
    /// Non-zero: write a [`FrameMeta`] in front of each redirected frame.
    pub stamp_time: u8,
    pub _pad: [u8; 6],
}

/// Written by the program into the XDP metadata area (immediately before the
/// frame bytes) of each redirected frame; AF_XDP delivers it to user space.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameMeta {
    /// `bpf_ktime_get_ns()` when the program saw the frame (CLOCK_MONOTONIC).
    pub rx_time_ns: u64,
}

/// Every outcome the program counts, one slot each in [`maps::VERDICTS`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A mirror frame sent to the AF_XDP socket of its queue.
    Redirected = 0,
    /// A mirror frame on a queue with no socket: dropped, since the kernel
    /// could only answer it with ICMP port unreachable.
    DroppedNoSocket = 1,
    /// A mirror frame from a source outside the configured allowlist.
    DroppedNotAllowed = 2,
    /// Not mirror traffic (wrong port, not UDP, ARP, ...): left to the kernel.
    PassedNotMirror = 3,
    /// A non-first IP fragment: its payload has no UDP header to read.
    PassedFragment = 4,
    /// Headers shorter than they claim: left to the kernel, which drops them.
    PassedMalformed = 5,
}

impl Verdict {
    /// Number of verdict slots.
    pub const COUNT: u32 = 6;

    /// Every verdict, in slot order.
    pub const ALL: [Verdict; Verdict::COUNT as usize] = [
        Verdict::Redirected,
        Verdict::DroppedNoSocket,
        Verdict::DroppedNotAllowed,
        Verdict::PassedNotMirror,
        Verdict::PassedFragment,
        Verdict::PassedMalformed,
    ];

    /// Returns the `verdict` label value of `sensor_xdp_frames_total`.
    pub const fn label(self) -> &'static str {
        match self {
            Verdict::Redirected => "redirected",
            Verdict::DroppedNoSocket => "dropped_no_socket",
            Verdict::DroppedNotAllowed => "dropped_not_allowed",
            Verdict::PassedNotMirror => "passed_not_mirror",
            Verdict::PassedFragment => "passed_fragment",
            Verdict::PassedMalformed => "passed_malformed",
        }
    }
}
