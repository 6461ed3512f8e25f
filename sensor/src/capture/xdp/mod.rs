//! The user-space side of the XDP program: loading it from the object that
//! sensor/build.rs embeds, filling its maps from [`XdpSettings`], attaching
//! it to an interface, registering AF_XDP sockets, reading its verdict
//! counters, and running it on test frames with `BPF_PROG_TEST_RUN`.

mod error;
mod settings;
mod verdicts;

use std::os::fd::{AsRawFd, RawFd};

use aya::{
    Ebpf,
    maps::{Array, HashMap, LpmTrie, MapData, PerCpuArray, XskMap, lpm_trie::Key},
    programs::{ProgramError, TestRun as _, TestRunOptions, Xdp},
};
use sensor_ebpf::{Config, FrameMeta, MAX_QUEUES, maps};

pub use error::XdpError;
pub use settings::{DEFAULT_GENEVE_PORT, DEFAULT_VXLAN_PORT, XdpMode, XdpSettings};
pub use verdicts::{VerdictCounts, VerdictReader};

/// Name of the XDP entry point in the object (`sensor_xdp` in sensor-ebpf).
const PROGRAM_NAME: &str = "sensor_xdp";

/// Room the program may add in front of a test frame (its metadata).
const TEST_RUN_HEADROOM: usize = 64;

/// The XDP action a program run returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpAction {
    Aborted,
    Drop,
    Pass,
    Tx,
    Redirect,
}

impl XdpAction {
    /// Decodes a `enum xdp_action` value from the kernel UAPI.
    pub fn from_raw(value: u32) -> Option<Self> {
        match value {
            0 => Some(Self::Aborted),
            1 => Some(Self::Drop),
            2 => Some(Self::Pass),
            3 => Some(Self::Tx),
            4 => Some(Self::Redirect),
            _ => None,
        }
    }
}

/// The outcome of one `BPF_PROG_TEST_RUN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRun {
    pub action: XdpAction,
    /// The frame after the run, starting at the metadata area: the first
    /// `size_of::<FrameMeta>()` bytes are the metadata when the program stamped it.
    pub output: Vec<u8>,
}

/// The loaded XDP program and the maps user space writes after load.
pub struct XdpProgram {
    ebpf: Ebpf,
    sockets: XskMap<MapData>,
    verdicts: VerdictReader,
}

impl XdpProgram {
    /// Loads the program into the kernel and fills its maps from `settings`.
    /// The program is not attached to any interface yet.
    ///
    /// # Errors
    ///
    /// Invalid settings, missing privileges, or a kernel that rejects the program.
    pub fn load(settings: &XdpSettings) -> Result<Self, XdpError> {
        let ports = settings.mirror_ports()?;
        let (allow_v4, allow_v6) = settings.allowlist_by_family()?;
        raise_memlock_limit();

        let mut ebpf = Ebpf::load(object()).map_err(|source| {
            permission_error("creating BPF maps", &source)
                .unwrap_or_else(|| XdpError::Object(Box::new(source)))
        })?;

        let program = xdp_program(&mut ebpf)?;
        program.load().map_err(|source| {
            permission_error("loading the XDP program", &source)
                .unwrap_or_else(|| XdpError::ProgramLoad(Box::new(source)))
        })?;

        let mut mirror_ports: HashMap<_, u16, u8> = map_of(&mut ebpf, maps::MIRROR_PORTS)?;
        for (port, kind) in ports {
            mirror_ports
                .insert(port, kind as u8, 0)
                .map_err(map_error(maps::MIRROR_PORTS, "insert"))?;
        }

        let mut trie_v4: LpmTrie<_, [u8; 4], u8> = map_of(&mut ebpf, maps::ALLOW_V4)?;
        for net in &allow_v4 {
            let key = Key::new(u32::from(net.prefix_len()), net.network().octets());
            trie_v4
                .insert(&key, 1, 0)
                .map_err(map_error(maps::ALLOW_V4, "insert"))?;
        }
        let mut trie_v6: LpmTrie<_, [u8; 16], u8> = map_of(&mut ebpf, maps::ALLOW_V6)?;
        for net in &allow_v6 {
            let key = Key::new(u32::from(net.prefix_len()), net.network().octets());
            trie_v6
                .insert(&key, 1, 0)
                .map_err(map_error(maps::ALLOW_V6, "insert"))?;
        }

        let config = Config {
            allowlist_enabled: u8::from(!settings.allowlist.is_empty()),
            stamp_time: u8::from(settings.stamp_time),
            ..Config::default()
        };
        let mut config_map: Array<_, [u8; CONFIG_SIZE]> = map_of(&mut ebpf, maps::CONFIG)?;
        config_map
            .set(0, config_bytes(config), 0)
            .map_err(map_error(maps::CONFIG, "update"))?;

        let sockets: XskMap<MapData> = take_map(&mut ebpf, maps::XSKS)?;
        let verdicts: PerCpuArray<MapData, u64> = take_map(&mut ebpf, maps::VERDICTS)?;
        tracing::info!(
            vxlan_ports = ?settings.vxlan_ports,
            geneve_ports = ?settings.geneve_ports,
            allowlist_prefixes = settings.allowlist.len(),
            stamp_time = settings.stamp_time,
            "XDP program loaded"
        );

        Ok(Self {
            ebpf,
            sockets,
            verdicts: VerdictReader::new(verdicts),
        })
    }

    /// Attaches the program to `interface` through a BPF link, which the
    /// kernel removes when this value is dropped or the process exits.
    ///
    /// NOTE: on kernels without XDP BPF links (before 5.9) aya falls back to
    /// a netlink attach, which outlives the process until
    /// `ip link set dev IFACE xdp off` removes it.
    ///
    /// # Errors
    ///
    /// Unknown interface, missing privileges, another XDP program already
    /// attached, or a driver without native XDP support.
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<(), XdpError> {
        let aya_mode = match mode {
            XdpMode::Native => aya::programs::XdpMode::Driver,
            XdpMode::Generic => aya::programs::XdpMode::Skb,
        };
        let program = xdp_program(&mut self.ebpf)?;
        program
            .attach(interface, aya_mode)
            .map_err(|source| match source {
                ProgramError::UnknownInterface { .. } => XdpError::InterfaceNotFound {
                    interface: interface.to_string(),
                },
                source => XdpError::Attach {
                    interface: interface.to_string(),
                    mode,
                    hint: error::attach_hint(interface, mode, error::os_error(&source)),
                    source: Box::new(source),
                },
            })?;
        tracing::info!(interface, %mode, "XDP program attached");
        Ok(())
    }

    /// Sends mirror frames that arrive on RX queue `queue` to the AF_XDP
    /// socket `socket`, which must be bound to that queue of the attached
    /// interface.
    ///
    /// # Errors
    ///
    /// `queue` beyond the socket map, or a map update the kernel rejects
    /// (for example, `socket` is not a bound AF_XDP socket).
    pub fn register_socket(&mut self, queue: u32, socket: RawFd) -> Result<(), XdpError> {
        if queue >= MAX_QUEUES {
            return Err(XdpError::QueueOutOfRange {
                queue,
                max: MAX_QUEUES,
            });
        }
        self.sockets
            .set(queue, socket.as_raw_fd(), 0)
            .map_err(map_error(maps::XSKS, "update"))?;
        tracing::debug!(queue, socket, "AF_XDP socket registered");
        Ok(())
    }

    /// Removes the socket of RX queue `queue`; its mirror frames are dropped again.
    ///
    /// # Errors
    ///
    /// `queue` beyond the socket map, or no socket registered on it.
    pub fn unregister_socket(&mut self, queue: u32) -> Result<(), XdpError> {
        if queue >= MAX_QUEUES {
            return Err(XdpError::QueueOutOfRange {
                queue,
                max: MAX_QUEUES,
            });
        }
        self.sockets
            .unset(queue)
            .map_err(map_error(maps::XSKS, "delete"))
    }

    /// Returns a reader of the verdict counters that can move to another
    /// thread. Every reader shares the same map.
    ///
    /// # Errors
    ///
    /// None today: the map is opened at load. The `Result` leaves room for
    /// opening it here instead.
    pub fn verdict_reader(&self) -> Result<VerdictReader, XdpError> {
        Ok(self.verdicts.clone())
    }

    /// Runs the program once on `frame` with `BPF_PROG_TEST_RUN`, as if it
    /// arrived on RX queue 0 of the loopback interface. The run moves the
    /// verdict counters like a real frame.
    ///
    /// # Errors
    ///
    /// The syscall failed, for example because `frame` is shorter than an
    /// Ethernet header (the kernel rejects those with EINVAL), or the program
    /// returned a value that is not an XDP action.
    pub fn test_run(&self, frame: &[u8]) -> Result<TestRun, XdpError> {
        let program: &Xdp = self
            .ebpf
            .program(PROGRAM_NAME)
            .and_then(|program| program.try_into().ok())
            .ok_or(XdpError::ProgramNotFound { name: PROGRAM_NAME })?;

        let mut output = vec![0; frame.len() + TEST_RUN_HEADROOM];
        let options = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut output),
            ..TestRunOptions::default()
        };
        let result = program
            .test_run(options)
            .map_err(|source| XdpError::TestRun(Box::new(source)))?;

        output.truncate(result.data_size_out as usize);
        let action = XdpAction::from_raw(result.return_value)
            .ok_or(XdpError::UnknownAction(result.return_value))?;
        Ok(TestRun { action, output })
    }
}

/// Returns the XDP object that sensor/build.rs built, embedded in the binary.
fn object() -> &'static [u8] {
    aya::include_bytes_aligned!(env!("SENSOR_EBPF_OBJECT"))
}

fn xdp_program(ebpf: &mut Ebpf) -> Result<&mut Xdp, XdpError> {
    ebpf.program_mut(PROGRAM_NAME)
        .and_then(|program| program.try_into().ok())
        .ok_or(XdpError::ProgramNotFound { name: PROGRAM_NAME })
}

/// Borrows map `name` as the typed map `M`.
fn map_of<'a, M>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<M, XdpError>
where
    M: TryFrom<&'a mut aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.map_mut(name).ok_or(XdpError::MapNotFound { name })?;
    M::try_from(map).map_err(map_error(name, "type check"))
}

/// Takes map `name` out of the object as the owned typed map `M`.
fn take_map<M>(ebpf: &mut Ebpf, name: &'static str) -> Result<M, XdpError>
where
    M: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.take_map(name).ok_or(XdpError::MapNotFound { name })?;
    M::try_from(map).map_err(map_error(name, "type check"))
}

fn map_error(
    name: &'static str,
    operation: &'static str,
) -> impl FnOnce(aya::maps::MapError) -> XdpError {
    move |source| XdpError::Map {
        name,
        operation,
        source,
    }
}

/// Returns [`XdpError::PermissionDenied`] when `source` failed with EPERM.
fn permission_error<E>(operation: &'static str, source: &E) -> Option<XdpError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    (error::os_error(source) == Some(libc::EPERM)).then(|| XdpError::PermissionDenied {
        operation,
        source: source.to_string().into(),
    })
}

const CONFIG_SIZE: usize = size_of::<Config>();

// The program reads `Config` as plain bytes, so it must have no implicit padding.
const _: () = assert!(CONFIG_SIZE == 8);
// `FrameMeta` is the only metadata the program writes; its size is the
// metadata length user space must expect.
const _: () = assert!(size_of::<FrameMeta>() == 8);

/// Encodes `config` as the bytes the program reads from the `CONFIG` map.
fn config_bytes(config: Config) -> [u8; CONFIG_SIZE] {
    // SAFETY: `Config` is `#[repr(C)]` and `Copy` with only `u8` fields and an
    // explicit padding array (size checked above), so every byte is
    // initialized and any value has a valid byte representation.
    unsafe { std::mem::transmute::<Config, [u8; CONFIG_SIZE]>(config) }
}

/// Raises `RLIMIT_MEMLOCK` to unlimited. Kernels before 5.11 charge BPF maps
/// to it, and its default (64 KiB on many distributions) is too small. Later
/// kernels charge memory cgroups instead, so there it has no effect.
fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `current` is a valid, writable `rlimit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut current) } != 0 {
        return;
    }
    if current.rlim_cur == libc::RLIM_INFINITY {
        return;
    }
    // SAFETY: `unlimited` is a valid `rlimit` that outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } == 0 {
        tracing::debug!(
            previous_bytes = current.rlim_cur,
            "raised RLIMIT_MEMLOCK to unlimited (kernels before 5.11 charge BPF maps to it)"
        );
    } else {
        // Without CAP_SYS_RESOURCE only the soft limit can move, up to the
        // hard one. Kernels from 5.11 on do not need it, so this is no error.
        let error = std::io::Error::last_os_error();
        let to_hard = libc::rlimit {
            rlim_cur: current.rlim_max,
            rlim_max: current.rlim_max,
        };
        // SAFETY: `to_hard` is a valid `rlimit` that outlives the call.
        let raised = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &to_hard) } == 0;
        tracing::debug!(
            current_bytes = current.rlim_cur,
            hard_limit_bytes = current.rlim_max,
            raised_to_hard_limit = raised,
            %error,
            "could not lift RLIMIT_MEMLOCK; kernels before 5.11 may then refuse to create BPF maps"
        );
    }
}
