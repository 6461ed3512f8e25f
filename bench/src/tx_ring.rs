//! A PACKET_MMAP transmit ring (TPACKET_V2) on one interface: frames are copied into
//! slots of a ring shared with the kernel, and one `sendto` call ("kick") sends every
//! filled slot. That costs one system call per batch instead of one per frame, and
//! `PACKET_QDISC_BYPASS` skips the qdisc layer as in [`crate::sender`].
//!
//! A slot's `tp_status` word records its owner: `TP_STATUS_AVAILABLE` (user space may
//! fill it), `TP_STATUS_SEND_REQUEST` (filled, waiting for a kick) or
//! `TP_STATUS_SENDING` (the kernel is sending it). When the device queue is full, the
//! kick fails with ENOBUFS and the kernel leaves the frame at `SEND_REQUEST`, so the
//! next kick sends it again: a full queue slows the ring down but loses nothing
//! (Linux `net/packet/af_packet.c`, `tpacket_snd`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::sender::SendOutcome;

/// Bytes per slot. A slot contains the 32-byte `tpacket2_hdr` and then the frame, so a
/// frame may be at most `SLOT_SIZE - DATA_OFFSET` bytes long.
pub const SLOT_SIZE: usize = 2048;
/// Offset of the frame data in a slot: `TPACKET2_HDRLEN - sizeof(sockaddr_ll)`, where
/// the kernel reads it unless `PACKET_TX_HAS_OFF` is set.
const DATA_OFFSET: usize = libc::TPACKET2_HDRLEN - size_of::<libc::sockaddr_ll>();
/// Bytes per ring block; slots never cross a block.
const BLOCK_SIZE: usize = 1 << 16;
/// Maximum time [`TxRing::flush`] waits for the kernel to finish the ring.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Kicks that fail with ENOBUFS in a row before a slot counts as a send error.
const MAX_BUSY_KICKS: u32 = 100_000;

/// Sizes of the ring.
#[derive(Debug, Clone, Copy)]
pub struct TxRingSizes {
    /// Slots in the ring: a multiple of the 32 slots per block.
    pub slots: usize,
    /// Filled slots per kick.
    pub batch: usize,
}

impl Default for TxRingSizes {
    fn default() -> Self {
        TxRingSizes {
            slots: 4096,
            batch: 64,
        }
    }
}

/// Totals of the ring's kernel interaction since it was opened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TxRingStats {
    /// `sendto` calls.
    pub kicks: u64,
    /// Kicks that failed with ENOBUFS or EAGAIN (a full device queue) and were repeated.
    pub busy_kicks: u64,
    /// Frames the kernel rejected as malformed (`TP_STATUS_WRONG_FORMAT`).
    pub wrong_format: u64,
}

/// A TPACKET_V2 transmit ring bound to one interface.
pub struct TxRing {
    fd: OwnedFd,
    map: *mut u8,
    map_len: usize,
    slots: usize,
    batch: usize,
    /// Next slot to fill.
    head: usize,
    /// Slots filled since the last kick.
    unsent: usize,
    stats: TxRingStats,
}

impl TxRing {
    /// Opens the ring on `interface` in the current network namespace. Needs
    /// CAP_NET_RAW.
    pub fn open(interface: &str, sizes: TxRingSizes) -> Result<TxRing> {
        let slots_per_block = BLOCK_SIZE / SLOT_SIZE;
        if sizes.slots == 0 || !sizes.slots.is_multiple_of(slots_per_block) {
            bail!(
                "invalid TX ring size {} slots: use a multiple of {slots_per_block}",
                sizes.slots
            );
        }
        if sizes.batch == 0 || sizes.batch > sizes.slots {
            bail!(
                "invalid TX batch {} frames: use 1 to the ring size ({})",
                sizes.batch,
                sizes.slots
            );
        }
        let ifindex = interface_index(interface)?;

        // Protocol 0: the socket sends only and receives nothing.
        // SAFETY: plain syscall with constant arguments.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let error = io::Error::last_os_error();
            bail!("socket(AF_PACKET, SOCK_RAW) failed: {error} (it needs root or CAP_NET_RAW)");
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        set_option(
            &fd,
            libc::PACKET_VERSION,
            &(libc::tpacket_versions::TPACKET_V2 as libc::c_int),
        )
        .context("setsockopt(PACKET_VERSION, TPACKET_V2) failed")?;
        set_option(&fd, libc::PACKET_QDISC_BYPASS, &(1 as libc::c_int))
            .context("setsockopt(PACKET_QDISC_BYPASS) failed")?;
        // With PACKET_LOSS the kernel skips a malformed frame (marking it
        // TP_STATUS_WRONG_FORMAT) instead of stopping the whole ring at it.
        set_option(&fd, libc::PACKET_LOSS, &(1 as libc::c_int))
            .context("setsockopt(PACKET_LOSS) failed")?;

        let request = libc::tpacket_req {
            tp_block_size: BLOCK_SIZE as libc::c_uint,
            tp_block_nr: (sizes.slots / slots_per_block) as libc::c_uint,
            tp_frame_size: SLOT_SIZE as libc::c_uint,
            tp_frame_nr: sizes.slots as libc::c_uint,
        };
        set_option(&fd, libc::PACKET_TX_RING, &request).with_context(|| {
            format!(
                "setsockopt(PACKET_TX_RING) with {} slots failed",
                sizes.slots
            )
        })?;

        let map_len = sizes.slots * SLOT_SIZE;
        // SAFETY: a shared mapping of the ring the kernel just allocated for `fd`, of
        // exactly the size requested above; the kernel checks the length.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            let error = io::Error::last_os_error();
            bail!("mmap of the {map_len}-byte TX ring failed: {error}");
        }
        // From here on, dropping `ring` unmaps the ring.
        let ring = TxRing {
            fd,
            map: map.cast(),
            map_len,
            slots: sizes.slots,
            batch: sizes.batch,
            head: 0,
            unsent: 0,
            stats: TxRingStats::default(),
        };

        // SAFETY: sockaddr_ll is plain data, for which all-zero bytes are valid.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `addr` is a live sockaddr_ll and the length matches its size.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let error = io::Error::last_os_error();
            bail!("bind(AF_PACKET) to interface {interface} (index {ifindex}) failed: {error}");
        }
        Ok(ring)
    }

    /// Copies `frame` into the next slot, and kicks the kernel when a batch is full.
    /// `Sent` means queued: a frame the kernel later finds malformed is counted in
    /// [`TxRingStats::wrong_format`] instead.
    pub fn send(&mut self, frame: &[u8]) -> SendOutcome {
        if frame.len() > SLOT_SIZE - DATA_OFFSET {
            return SendOutcome::Failed {
                errno: libc::EMSGSIZE,
                retries: 0,
            };
        }
        let busy_before = self.stats.busy_kicks;
        if let Err(errno) = self.wait_for_slot(self.head) {
            return SendOutcome::Failed {
                errno,
                retries: (self.stats.busy_kicks - busy_before) as u32,
            };
        }

        let slot = self.slot_ptr(self.head);
        // SAFETY: the slot is AVAILABLE, so the kernel does not touch it until its
        // status is SEND_REQUEST. The frame fits after the header (checked above), and
        // the slot lies inside the mapping.
        unsafe {
            let header = slot.cast::<libc::tpacket2_hdr>();
            std::ptr::copy_nonoverlapping(frame.as_ptr(), slot.add(DATA_OFFSET), frame.len());
            (*header).tp_len = frame.len() as u32;
        }
        // Release ordering makes the frame and its length visible to the kernel before
        // the new status.
        self.status(self.head)
            .store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        self.head = (self.head + 1) % self.slots;
        self.unsent += 1;

        if self.unsent >= self.batch {
            self.kick(false);
        }
        SendOutcome::Sent {
            retries: (self.stats.busy_kicks - busy_before) as u32,
        }
    }

    /// Sends every filled slot and waits, up to 2 s, until the kernel has finished
    /// them all. Returns the totals so far.
    pub fn flush(&mut self) -> TxRingStats {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        loop {
            self.kick(true);
            let pending = (0..self.slots).any(|slot| self.is_busy(slot));
            if !pending || Instant::now() >= deadline {
                break;
            }
            std::thread::yield_now();
        }
        self.collect_wrong_format();
        self.stats
    }

    /// Returns the totals so far.
    pub fn stats(&self) -> TxRingStats {
        self.stats
    }

    /// Waits until `slot` is AVAILABLE, kicking the kernel while it is not.
    fn wait_for_slot(&mut self, slot: usize) -> Result<(), i32> {
        let mut busy_kicks = 0;
        loop {
            let status = self.status(slot).load(Ordering::Acquire);
            if status == libc::TP_STATUS_AVAILABLE {
                return Ok(());
            }
            if status & libc::TP_STATUS_WRONG_FORMAT != 0 {
                self.stats.wrong_format += 1;
                self.status(slot)
                    .store(libc::TP_STATUS_AVAILABLE, Ordering::Release);
                return Ok(());
            }
            // A full ring: block in the kernel until it has sent what it can.
            if !self.kick(true) {
                busy_kicks += 1;
                if busy_kicks >= MAX_BUSY_KICKS {
                    return Err(libc::ENOBUFS);
                }
                std::thread::yield_now();
            }
        }
    }

    /// Calls `sendto` to send every SEND_REQUEST slot. With `wait`, the call blocks
    /// until the kernel has finished them. Returns false when the device queue was
    /// full (ENOBUFS or EAGAIN) and the frames stay queued.
    fn kick(&mut self, wait: bool) -> bool {
        self.unsent = 0;
        self.stats.kicks += 1;
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        // SAFETY: a null buffer with length 0 makes the kernel send from the ring, so
        // no memory of ours is passed.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                std::ptr::null(),
                0,
                flags,
                std::ptr::null(),
                0,
            )
        };
        if rc >= 0 {
            return true;
        }
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if errno == libc::ENOBUFS || errno == libc::EAGAIN {
            self.stats.busy_kicks += 1;
        }
        false
    }

    fn is_busy(&self, slot: usize) -> bool {
        let status = self.status(slot).load(Ordering::Acquire);
        status == libc::TP_STATUS_SEND_REQUEST || status == libc::TP_STATUS_SENDING
    }

    fn collect_wrong_format(&mut self) {
        for slot in 0..self.slots {
            let status = self.status(slot).load(Ordering::Acquire);
            if status & libc::TP_STATUS_WRONG_FORMAT != 0 {
                self.stats.wrong_format += 1;
                self.status(slot)
                    .store(libc::TP_STATUS_AVAILABLE, Ordering::Release);
            }
        }
    }

    fn slot_ptr(&self, slot: usize) -> *mut u8 {
        // SAFETY: `slot < self.slots`, so the offset stays inside the mapping.
        unsafe { self.map.add(slot * SLOT_SIZE) }
    }

    /// Returns the slot's `tp_status` word, which the kernel reads and writes
    /// concurrently.
    fn status(&self, slot: usize) -> &AtomicU32 {
        // SAFETY: `tp_status` is the first, 4-byte aligned u32 of the slot (slots are
        // 2048-byte aligned in a page-aligned mapping), it lives as long as `self`, and
        // every access from user space goes through this atomic.
        unsafe { AtomicU32::from_ptr(self.slot_ptr(slot).cast::<u32>()) }
    }
}

impl Drop for TxRing {
    fn drop(&mut self) {
        // SAFETY: `map` and `map_len` are the mapping created in `open`, unmapped once.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
        }
    }
}

fn interface_index(interface: &str) -> Result<u32> {
    let name =
        CString::new(interface).with_context(|| format!("invalid interface name {interface:?}"))?;
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        bail!("interface {interface} not found in this network namespace");
    }
    Ok(ifindex)
}

fn set_option<T>(fd: &OwnedFd, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: the option value points to a live `T` of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_offset_is_tpacket2_header() {
        assert_eq!(DATA_OFFSET, 32);
    }

    #[test]
    fn open_rejects_bad_sizes() {
        let cases = [
            TxRingSizes { slots: 0, batch: 1 },
            TxRingSizes {
                slots: 33,
                batch: 1,
            },
            TxRingSizes {
                slots: 64,
                batch: 0,
            },
            TxRingSizes {
                slots: 64,
                batch: 65,
            },
        ];
        for sizes in cases {
            assert!(TxRing::open("lo", sizes).is_err(), "accepted {sizes:?}");
        }
    }
}
