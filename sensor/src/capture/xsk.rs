//! AF_XDP sockets: one UMEM and one socket per RX queue, built with xsk-rs.
//!
//! A [`QueueSocket`] owns every frame of its UMEM. Frames live in exactly one
//! place at a time: the fill ring (the kernel may write them), the RX ring
//! (the kernel has written them) or the batch being handed to the caller.
//! The fill ring is as large as the UMEM, so returning a batch to it never
//! fails.
//!
//! NOTE: one frame is one UMEM frame. Multi-buffer AF_XDP (`XDP_USE_SG`, kernel
//! ≥ 6.6, an `xdp.frags` program) is not used yet, so a frame longer than the
//! UMEM frame size minus the 256-byte headroom never reaches the socket; the
//! kernel counts it in XDP_STATISTICS. Keep the interface MTU below that.

use std::{ffi::CString, io, num::NonZeroU32, os::fd::AsRawFd, str::FromStr};

use sensor_ebpf::FrameMeta;
use thiserror::Error;
use xsk_rs::{
    FillQueue, FrameDesc, RxQueue, TxQueue, Umem,
    config::{BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig},
};

/// Requested way for the socket to move frames from the driver to the UMEM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BindMode {
    /// Try zero-copy, fall back to copy when the driver cannot do it.
    Auto,
    /// Zero-copy only: fail when the driver does not support it.
    ZeroCopy,
    /// Copy mode (the kernel copies each frame into the UMEM).
    Copy,
}

/// The mode a socket ended up bound in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundMode {
    ZeroCopy,
    Copy,
}

impl BoundMode {
    /// Returns the `mode` label value of `sensor_xsk_bind_mode_info`.
    pub fn label(self) -> &'static str {
        match self {
            BoundMode::ZeroCopy => "zero_copy",
            BoundMode::Copy => "copy",
        }
    }
}

/// Ring and UMEM sizes of one queue's socket.
#[derive(Clone, Copy, Debug)]
pub struct SocketSizes {
    /// Frames in the UMEM; also the fill ring size. A power of two.
    pub umem_frames: u32,
    /// Bytes per UMEM frame: 2048 or 4096.
    pub frame_size: u32,
    /// Descriptors in the RX ring. A power of two.
    pub rx_ring: u32,
}

/// Failure to set up a socket.
#[derive(Debug, Error)]
pub enum XskError {
    #[error("invalid {what} {value}: {reason}")]
    InvalidSize {
        what: &'static str,
        value: u32,
        reason: String,
    },
    #[error("failed to create the UMEM for {interface} queue {queue}: {reason}")]
    Umem {
        interface: String,
        queue: u32,
        reason: String,
    },
    #[error(
        "failed to bind an AF_XDP socket to {interface} queue {queue} in {mode} mode: {reason}; {hint}"
    )]
    Bind {
        interface: String,
        queue: u32,
        mode: &'static str,
        reason: String,
        hint: &'static str,
    },
}

/// Counters the kernel keeps per socket (`XDP_STATISTICS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Frames dropped for reasons other than a full ring.
    pub rx_dropped: u64,
    /// Frames dropped because the RX ring was full.
    pub rx_ring_full: u64,
    /// Frames dropped because the fill ring was empty.
    pub rx_fill_ring_empty: u64,
    /// Descriptors the kernel found invalid.
    pub rx_invalid_descs: u64,
}

/// One received frame, valid until the batch closure returns.
pub struct RxFrame<'a> {
    /// The frame bytes, from the outer Ethernet header on.
    pub data: &'a [u8],
    /// Metadata the XDP program wrote in front of the frame, if it stamps frames.
    pub meta: Option<FrameMeta>,
}

/// The AF_XDP socket of one RX queue with its UMEM.
pub struct QueueSocket {
    queue: u32,
    mode: BoundMode,
    umem: Umem,
    fill: FillQueue,
    rx: RxQueue,
    // Kept alive with the socket; this sensor never transmits.
    _tx: TxQueue,
    batch: Vec<FrameDesc>,
    stamped: bool,
}

/// Descriptors taken from the RX ring per call of [`QueueSocket::recv_batch`].
pub const RX_BATCH: usize = 64;

impl QueueSocket {
    /// Creates the UMEM, binds a socket to `interface` queue `queue` and fills
    /// the fill ring. The caller registers [`QueueSocket::raw_fd`] in the XDP
    /// program's socket map; the program itself is loaded elsewhere, so
    /// libxdp must not load its own.
    ///
    /// `stamped` says whether the XDP program writes a [`FrameMeta`] in front
    /// of each frame.
    pub fn open(
        interface: &str,
        queue: u32,
        bind: BindMode,
        sizes: SocketSizes,
        stamped: bool,
    ) -> Result<Self, XskError> {
        let umem_config = umem_config(sizes)?;
        let frame_count = NonZeroU32::new(sizes.umem_frames).ok_or(XskError::InvalidSize {
            what: "UMEM frame count",
            value: 0,
            reason: "it must be at least 1".into(),
        })?;
        let (umem, frames) =
            Umem::new(umem_config, frame_count, false).map_err(|e| XskError::Umem {
                interface: interface.to_owned(),
                queue,
                reason: error_chain(&e),
            })?;

        let attempts: &[BoundMode] = match bind {
            BindMode::Auto => &[BoundMode::ZeroCopy, BoundMode::Copy],
            BindMode::ZeroCopy => &[BoundMode::ZeroCopy],
            BindMode::Copy => &[BoundMode::Copy],
        };

        let mut last_error = None;
        for &mode in attempts {
            match bind_socket(&umem, interface, queue, mode, sizes.rx_ring) {
                Ok((tx, rx, fill)) => {
                    let mut socket = QueueSocket {
                        queue,
                        mode,
                        umem,
                        fill,
                        rx,
                        _tx: tx,
                        batch: vec![FrameDesc::default(); RX_BATCH],
                        stamped,
                    };
                    socket.give_to_kernel(&frames);
                    return Ok(socket);
                }
                Err(error) => {
                    if bind == BindMode::Auto && mode == BoundMode::ZeroCopy {
                        tracing::info!(
                            interface,
                            queue,
                            error = %error,
                            "zero-copy bind failed; falling back to copy mode"
                        );
                    }
                    last_error = Some(error);
                }
            }
        }

        let source = last_error.unwrap_or_else(|| io::Error::other("no bind mode was tried"));
        let mode = attempts.last().copied().unwrap_or(BoundMode::Copy);
        Err(XskError::Bind {
            interface: interface.to_owned(),
            queue,
            mode: mode.label(),
            hint: bind_hint(&source, mode),
            reason: source.to_string(),
        })
    }

    /// Returns the RX queue this socket is bound to.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// Returns the mode the socket was bound in.
    pub fn mode(&self) -> BoundMode {
        self.mode
    }

    /// Returns the socket's file descriptor, for the XDP program's socket map.
    pub fn raw_fd(&self) -> i32 {
        self.rx.fd().as_raw_fd()
    }

    /// Waits up to `timeout_ms` for frames, then hands each frame of one
    /// batch to `on_frame` and returns the frames to the fill ring. Returns
    /// the number of frames handled.
    pub fn recv_batch(
        &mut self,
        timeout_ms: i32,
        mut on_frame: impl FnMut(RxFrame<'_>),
    ) -> io::Result<usize> {
        // SAFETY: every descriptor in `self.batch` belongs to `self.umem`, and
        // frames handed back to the kernel through `self.fill` are not read
        // until the RX ring returns them.
        let received = unsafe { self.rx.poll_and_consume(&mut self.batch, timeout_ms)? };

        for desc in &self.batch[..received] {
            // SAFETY: the kernel published this descriptor on our RX ring, so
            // the frame belongs to our UMEM and nothing writes it until it is
            // given back to the fill ring below.
            let data = unsafe { self.umem.data(desc) };
            let data = data.contents();
            let meta = if self.stamped { read_meta(data) } else { None };
            on_frame(RxFrame { data, meta });
        }

        let descs = std::mem::take(&mut self.batch);
        self.give_to_kernel(&descs[..received]);
        self.batch = descs;
        Ok(received)
    }

    /// Reads the kernel's drop counters for this socket.
    pub fn ring_stats(&self) -> io::Result<RingStats> {
        let stats = self.rx.fd().xdp_statistics()?;
        Ok(RingStats {
            rx_dropped: stats.rx_dropped(),
            rx_ring_full: stats.rx_ring_full(),
            rx_fill_ring_empty: stats.rx_fill_ring_empty_descs(),
            rx_invalid_descs: stats.rx_invalid_descs(),
        })
    }

    fn give_to_kernel(&mut self, descs: &[FrameDesc]) {
        if descs.is_empty() {
            return;
        }
        // SAFETY: the descriptors belong to `self.umem` and the caller no
        // longer reads their frames.
        let produced = unsafe { self.fill.produce(descs) };
        // The fill ring is as large as the UMEM (see `umem_config`), so it
        // always has room for frames coming back.
        debug_assert_eq!(produced, descs.len(), "fill ring unexpectedly full");
        if self.fill.needs_wakeup()
            && let Err(error) = self.fill.wakeup(self.rx.fd_mut(), 0)
        {
            tracing::debug!(queue = self.queue, %error, "fill ring wakeup failed");
        }
    }
}

/// Reads the [`FrameMeta`] the XDP program wrote immediately before `data`.
fn read_meta(data: &[u8]) -> Option<FrameMeta> {
    if data.is_empty() {
        return None;
    }
    let len = size_of::<FrameMeta>();
    // SAFETY: `data` starts at a UMEM frame's packet data, and the kernel
    // reserves XDP_PACKET_HEADROOM (256) bytes of the same frame in front of
    // it, where it copies the XDP metadata area. Those `len` bytes are inside
    // the UMEM mapping and nothing writes them while we hold the frame. The
    // value may be stale when the program could not stamp this frame; the
    // caller checks it against its own clock.
    let meta = unsafe { data.as_ptr().sub(len).cast::<FrameMeta>().read_unaligned() };
    Some(meta)
}

fn umem_config(sizes: SocketSizes) -> Result<UmemConfig, XskError> {
    let frame_size = FrameSize::new(sizes.frame_size).map_err(|e| XskError::InvalidSize {
        what: "UMEM frame size",
        value: sizes.frame_size,
        reason: format!("{e}; use 2048 or 4096"),
    })?;
    let fill_size = queue_size("UMEM frame count", sizes.umem_frames)?;
    let comp_size = queue_size("completion ring size", 64)?;
    UmemConfig::builder()
        .frame_size(frame_size)
        .fill_queue_size(fill_size)
        .comp_queue_size(comp_size)
        .build()
        .map_err(|e| XskError::InvalidSize {
            what: "UMEM frame size",
            value: sizes.frame_size,
            reason: e.to_string(),
        })
}

fn queue_size(what: &'static str, value: u32) -> Result<QueueSize, XskError> {
    QueueSize::new(value).map_err(|e| XskError::InvalidSize {
        what,
        value,
        reason: format!("{e}; use a power of two such as 2048"),
    })
}

fn bind_socket(
    umem: &Umem,
    interface: &str,
    queue: u32,
    mode: BoundMode,
    rx_ring: u32,
) -> io::Result<(TxQueue, RxQueue, FillQueue)> {
    let rx_size = queue_size("RX ring size", rx_ring).map_err(io::Error::other)?;
    let tx_size = queue_size("TX ring size", 64).map_err(io::Error::other)?;
    let bind_flags = match mode {
        BoundMode::ZeroCopy => BindFlags::XDP_ZEROCOPY | BindFlags::XDP_USE_NEED_WAKEUP,
        BoundMode::Copy => BindFlags::XDP_COPY | BindFlags::XDP_USE_NEED_WAKEUP,
    };
    let config = SocketConfig::builder()
        .rx_queue_size(rx_size)
        .tx_queue_size(tx_size)
        .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
        .bind_flags(bind_flags)
        .build();
    let name = CString::new(interface)
        .map_err(|_| io::Error::other(format!("interface name {interface:?} contains NUL")))?;
    let interface = Interface::from_str(name.to_str().unwrap_or_default())
        .unwrap_or_else(|_| Interface::new(name));

    // SAFETY: the UMEM is not shared with another socket on this queue, and
    // libxdp's own program load is inhibited, as `Socket::new` requires.
    let (tx, rx, rings) = unsafe { xsk_rs::Socket::new(config, umem, &interface, queue) }
        .map_err(|e| io::Error::other(error_chain(&e)))?;
    let (fill, _completion) =
        rings.ok_or_else(|| io::Error::other("the UMEM is already bound to this queue"))?;
    Ok((tx, rx, fill))
}

/// `error` and its sources, joined by ": ".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

fn bind_hint(error: &io::Error, mode: BoundMode) -> &'static str {
    let text = error.to_string();
    if text.contains("Operation not supported") && mode == BoundMode::ZeroCopy {
        "the driver has no zero-copy support: use --bind-mode copy"
    } else if text.contains("Operation not permitted") {
        "run as root or with CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF"
    } else if text.contains("Device or resource busy") {
        "another AF_XDP socket is bound to this queue: stop it or pick other --queues"
    } else {
        "check the interface name and --queues"
    }
}
