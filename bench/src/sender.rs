//! An AF_PACKET raw socket that sends whole Ethernet frames out of one interface,
//! bypassing the qdisc layer (`PACKET_QDISC_BYPASS`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Retries of one frame after ENOBUFS or EAGAIN before it counts as a send error.
const MAX_RETRIES: u32 = 20;
/// First backoff after ENOBUFS; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_micros(20);
const MAX_BACKOFF: Duration = Duration::from_millis(2);

/// Result of sending one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// The kernel took the frame, after `retries` ENOBUFS/EAGAIN retries.
    Sent { retries: u32 },
    /// The send failed with this errno (after all retries, for ENOBUFS/EAGAIN).
    Failed { errno: i32, retries: u32 },
}

/// A raw packet socket bound to one interface.
pub struct PacketSender {
    fd: OwnedFd,
}

impl PacketSender {
    /// Opens the socket on `interface` in the current network namespace. Needs
    /// CAP_NET_RAW.
    pub fn open(interface: &str) -> Result<PacketSender> {
        let name = CString::new(interface)
            .with_context(|| format!("invalid interface name {interface:?}"))?;
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            bail!("interface {interface} not found in this network namespace");
        }

        // Protocol 0: the socket sends only and receives nothing.
        // SAFETY: plain syscall with constant arguments.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let error = io::Error::last_os_error();
            bail!("socket(AF_PACKET, SOCK_RAW) failed: {error} (it needs root or CAP_NET_RAW)");
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let one: libc::c_int = 1;
        // SAFETY: the option value points to a live c_int of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_QDISC_BYPASS,
                (&one as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let error = io::Error::last_os_error();
            bail!("setsockopt(PACKET_QDISC_BYPASS) failed: {error}");
        }

        // SAFETY: sockaddr_ll is plain data, for which all-zero bytes are valid.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `addr` is a live sockaddr_ll and the length matches its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let error = io::Error::last_os_error();
            bail!("bind(AF_PACKET) to interface {interface} (index {ifindex}) failed: {error}");
        }
        Ok(PacketSender { fd })
    }

    /// Sends one frame, retrying with exponential backoff while the device queue is full
    /// (ENOBUFS or EAGAIN).
    pub fn send(&self, frame: &[u8]) -> SendOutcome {
        let mut retries = 0;
        let mut backoff = FIRST_BACKOFF;
        loop {
            // SAFETY: the pointer and length describe the live `frame` slice.
            let rc =
                unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
            if rc >= 0 {
                return SendOutcome::Sent { retries };
            }
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            let queue_full = errno == libc::ENOBUFS || errno == libc::EAGAIN;
            if !queue_full || retries >= MAX_RETRIES {
                return SendOutcome::Failed { errno, retries };
            }
            retries += 1;
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}
