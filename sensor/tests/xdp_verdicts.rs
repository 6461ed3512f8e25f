//! Verdicts of the XDP program on hand-built frames, run in the kernel with
//! `BPF_PROG_TEST_RUN`, and one real redirect over a veth pair into an AF_XDP
//! socket inside a network namespace that the test creates and removes.
//!
//! Every case checks the XDP action and that exactly one verdict counter moved,
//! by exactly one. The tests need root (CAP_BPF, CAP_NET_ADMIN and
//! CAP_SYS_ADMIN for the namespace): without it they fail when `CI` is set and
//! print why and return otherwise.
//!
//! Run: `cargo test -p sensor --test xdp_verdicts` as root.

use std::{
    error::Error,
    fs::File,
    net::Ipv6Addr,
    os::fd::AsRawFd,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use sensor::{
    capture::{
        xdp::{TestRun, VerdictReader, XdpAction, XdpMode, XdpProgram, XdpSettings},
        xsk::{BindMode, QueueSocket, SocketSizes},
    },
    fixture::{ETHERTYPE_ARP, ETHERTYPE_IPV4, Frame, Vlan},
};
use sensor_ebpf::{FrameMeta, Verdict};

const ETH_LEN: usize = 14;
const VLAN_LEN: usize = 4;
const IPV4_LEN: usize = 20;
const IPV6_LEN: usize = 40;
const UDP_LEN: usize = 8;
const PROTO_TCP: u8 = 6;
const IPV6_HOP_BY_HOP: u8 = 0;

/// Returns whether the test can run; panics when it cannot and `CI` is set.
fn require_root(test: &str) -> bool {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let reason = "it loads an XDP program, which needs root (CAP_BPF and CAP_NET_ADMIN)";
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run: {reason}"
    );
    eprintln!("skipping {test}: {reason}");
    false
}

/// Formats the error and its sources, joined by ": ".
fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn load(settings: &XdpSettings) -> (XdpProgram, VerdictReader) {
    let program = XdpProgram::load(settings)
        .unwrap_or_else(|error| panic!("loading the XDP program failed: {}", error_chain(&error)));
    let reader = program.verdict_reader().expect("verdict reader");
    (program, reader)
}

/// Builds a VXLAN frame from 172.31.0.238 with an inner UDP packet.
fn vxlan() -> Frame {
    Frame::vxlan(7)
        .inner_ipv4([10, 0, 0, 1], [10, 0, 0, 2])
        .udp(40000, 53)
        .payload(32)
}

fn geneve() -> Frame {
    Frame::geneve(7)
        .inner_ipv4([10, 0, 0, 1], [10, 0, 0, 2])
        .udp(40000, 53)
        .payload(32)
}

fn ipv6(text: &str) -> Ipv6Addr {
    text.parse().expect("valid IPv6 address")
}

fn vxlan_v6() -> Frame {
    vxlan().outer_ipv6(ipv6("fd00::1"), ipv6("fd00::2"))
}

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    action: XdpAction,
    verdict: Verdict,
}

fn case(name: &'static str, frame: Frame, action: XdpAction, verdict: Verdict) -> Case {
    Case {
        name,
        frame: frame.build(),
        action,
        verdict,
    }
}

/// Runs `case` once and returns the run; asserts its action and counters.
fn check(program: &XdpProgram, reader: &VerdictReader, case: &Case) -> TestRun {
    let before = reader.read().expect("read verdicts");
    let run = program
        .test_run(&case.frame)
        .unwrap_or_else(|error| panic!("{}: test run failed: {}", case.name, error_chain(&error)));
    let after = reader.read().expect("read verdicts");

    let moved: Vec<(Verdict, u64)> = Verdict::ALL
        .into_iter()
        .map(|verdict| (verdict, after[verdict as usize] - before[verdict as usize]))
        .filter(|&(_, delta)| delta != 0)
        .collect();

    assert_eq!(run.action, case.action, "{}: action", case.name);
    assert_eq!(
        moved,
        vec![(case.verdict, 1)],
        "{}: counters that moved",
        case.name
    );
    run
}

#[test]
fn verdicts_default_ports() {
    if !require_root("verdicts_default_ports") {
        return;
    }
    let (program, reader) = load(&XdpSettings::default());
    let drop = XdpAction::Drop;
    let pass = XdpAction::Pass;

    let cases = [
        // Mirror traffic: no socket is registered, so it is dropped.
        case("vxlan", vxlan(), drop, Verdict::DroppedNoSocket),
        case("geneve", geneve(), drop, Verdict::DroppedNoSocket),
        case(
            "gateway load balancer",
            Frame::gwlb(7)
                .inner_ipv4([10, 0, 0, 1], [10, 0, 0, 2])
                .udp(1, 2),
            drop,
            Verdict::DroppedNoSocket,
        ),
        case(
            "vlan 802.1q",
            vxlan().outer_vlan(Vlan::dot1q(10)),
            drop,
            Verdict::DroppedNoSocket,
        ),
        case(
            "vlan qinq",
            vxlan()
                .outer_vlan(Vlan::dot1ad(20))
                .outer_vlan(Vlan::dot1q(10)),
            drop,
            Verdict::DroppedNoSocket,
        ),
        case("ipv6 outer", vxlan_v6(), drop, Verdict::DroppedNoSocket),
        case(
            "ipv4 options",
            vxlan().outer_ip_options(&[1, 1, 1, 1, 1, 1, 1, 0]),
            drop,
            Verdict::DroppedNoSocket,
        ),
        case(
            "ipv4 first fragment",
            vxlan().outer_fragment(0, true),
            drop,
            Verdict::DroppedNoSocket,
        ),
        // Not mirror traffic.
        case(
            "wrong port",
            vxlan().outer_udp_ports(49152, 4790),
            pass,
            Verdict::PassedNotMirror,
        ),
        case(
            "mirror port as source",
            vxlan().outer_udp_ports(4789, 40000),
            pass,
            Verdict::PassedNotMirror,
        ),
        case(
            "tcp outer",
            vxlan().outer_protocol(PROTO_TCP),
            pass,
            Verdict::PassedNotMirror,
        ),
        case(
            "arp",
            Frame::plain().inner_ethertype(ETHERTYPE_ARP).payload(28),
            pass,
            Verdict::PassedNotMirror,
        ),
        case(
            "plain tcp",
            Frame::plain()
                .inner_ipv4([10, 0, 0, 1], [10, 0, 0, 2])
                .tcp(40000, 22, 0x02),
            pass,
            Verdict::PassedNotMirror,
        ),
        case(
            "three vlan tags",
            vxlan()
                .outer_vlan(Vlan::dot1ad(30))
                .outer_vlan(Vlan::dot1q(20))
                .outer_vlan(Vlan::dot1q(10)),
            pass,
            Verdict::PassedNotMirror,
        ),
        case(
            "ipv6 extension header",
            vxlan_v6().outer_ipv6_ext(IPV6_HOP_BY_HOP),
            pass,
            Verdict::PassedNotMirror,
        ),
        // Fragments.
        case(
            "ipv4 non-first fragment",
            vxlan().outer_fragment(185, false),
            pass,
            Verdict::PassedFragment,
        ),
        case(
            "ipv4 middle fragment",
            vxlan().outer_fragment(185, true),
            pass,
            Verdict::PassedFragment,
        ),
        case(
            "ipv6 fragment header",
            vxlan_v6().outer_fragment(0, true),
            pass,
            Verdict::PassedFragment,
        ),
        // Truncated or invalid headers.
        case(
            "vlan tag truncated",
            vxlan()
                .outer_vlan(Vlan::dot1q(10))
                .truncate(ETH_LEN + VLAN_LEN - 1),
            pass,
            Verdict::PassedMalformed,
        ),
        case(
            "ipv4 truncated",
            vxlan().truncate(ETH_LEN + IPV4_LEN - 1),
            pass,
            Verdict::PassedMalformed,
        ),
        case(
            "ipv4 options truncated",
            vxlan()
                .outer_ip_options(&[1, 1, 1, 1, 1, 1, 1, 0])
                .truncate(ETH_LEN + IPV4_LEN + 4),
            pass,
            Verdict::PassedMalformed,
        ),
        case(
            "ipv4 header length below 20",
            vxlan().outer_ihl(4),
            pass,
            Verdict::PassedMalformed,
        ),
        case(
            "ipv4 ethertype, version 6",
            vxlan_v6().outer_ethertype(ETHERTYPE_IPV4),
            pass,
            Verdict::PassedMalformed,
        ),
        case(
            "ipv6 truncated",
            vxlan_v6().truncate(ETH_LEN + IPV6_LEN - 1),
            pass,
            Verdict::PassedMalformed,
        ),
        case(
            "udp truncated",
            vxlan().truncate(ETH_LEN + IPV4_LEN + UDP_LEN - 1),
            pass,
            Verdict::PassedMalformed,
        ),
        case(
            "udp truncated after ipv6",
            vxlan_v6().truncate(ETH_LEN + IPV6_LEN + UDP_LEN - 1),
            pass,
            Verdict::PassedMalformed,
        ),
    ];

    for case in &cases {
        check(&program, &reader, case);
    }
}

// NOTE: a frame shorter than an Ethernet header never reaches the program in
// a test run, because the kernel rejects it with EINVAL; on a live interface
// the program counts it as PassedMalformed.
#[test]
fn test_run_short_ethernet_rejected() {
    if !require_root("test_run_short_ethernet_rejected") {
        return;
    }
    let (program, _reader) = load(&XdpSettings::default());

    let result = program.test_run(&vxlan().truncate(ETH_LEN - 1).build());

    assert!(result.is_err(), "a 13-byte frame was accepted: {result:?}");
}

#[test]
fn verdicts_custom_ports() {
    if !require_root("verdicts_custom_ports") {
        return;
    }
    let settings = XdpSettings {
        vxlan_ports: vec![8472],
        geneve_ports: vec![6082],
        ..XdpSettings::default()
    };
    let (program, reader) = load(&settings);

    let cases = [
        case(
            "vxlan on 8472",
            vxlan().outer_udp_ports(49152, 8472),
            XdpAction::Drop,
            Verdict::DroppedNoSocket,
        ),
        case(
            "geneve on 6082",
            geneve().outer_udp_ports(49152, 6082),
            XdpAction::Drop,
            Verdict::DroppedNoSocket,
        ),
        case(
            "vxlan on 4789",
            vxlan(),
            XdpAction::Pass,
            Verdict::PassedNotMirror,
        ),
        case(
            "geneve on 6081",
            geneve(),
            XdpAction::Pass,
            Verdict::PassedNotMirror,
        ),
    ];

    for case in &cases {
        check(&program, &reader, case);
    }
}

#[test]
fn verdicts_allowlist() {
    if !require_root("verdicts_allowlist") {
        return;
    }
    let settings = XdpSettings {
        allowlist: vec![
            "172.31.0.0/16".parse().unwrap(),
            "fd00::/64".parse().unwrap(),
        ],
        ..XdpSettings::default()
    };
    let (program, reader) = load(&settings);
    let v6 = |src: &str| vxlan().outer_ipv6(ipv6(src), ipv6("fd00::2"));

    let cases = [
        case(
            "ipv4 source allowed",
            vxlan().outer_ipv4([172, 31, 5, 6], [172, 31, 17, 188]),
            XdpAction::Drop,
            Verdict::DroppedNoSocket,
        ),
        case(
            "ipv4 source not allowed",
            vxlan().outer_ipv4([192, 0, 2, 1], [172, 31, 17, 188]),
            XdpAction::Drop,
            Verdict::DroppedNotAllowed,
        ),
        case(
            "ipv6 source allowed",
            v6("fd00::1"),
            XdpAction::Drop,
            Verdict::DroppedNoSocket,
        ),
        case(
            "ipv6 source not allowed",
            v6("2001:db8::1"),
            XdpAction::Drop,
            Verdict::DroppedNotAllowed,
        ),
        case(
            "not mirror traffic, source not allowed",
            vxlan()
                .outer_ipv4([192, 0, 2, 1], [172, 31, 17, 188])
                .outer_udp_ports(49152, 53),
            XdpAction::Pass,
            Verdict::PassedNotMirror,
        ),
    ];

    for case in &cases {
        check(&program, &reader, case);
    }
}

#[test]
fn stamp_time_writes_metadata() {
    if !require_root("stamp_time_writes_metadata") {
        return;
    }
    let (program, reader) = load(&XdpSettings::default());
    let frame = vxlan().build();
    let meta_len = size_of::<FrameMeta>();

    let run = check(
        &program,
        &reader,
        &Case {
            name: "stamped vxlan",
            frame: frame.clone(),
            action: XdpAction::Drop,
            verdict: Verdict::DroppedNoSocket,
        },
    );

    assert_eq!(run.output.len(), meta_len + frame.len(), "output length");
    assert_eq!(
        run.output.get(meta_len..),
        Some(&frame[..]),
        "frame after the metadata"
    );
    let stamp: [u8; 8] = run.output[..meta_len].try_into().unwrap();
    assert_ne!(u64::from_ne_bytes(stamp), 0, "rx_time_ns");
}

#[test]
fn stamp_time_off_leaves_frame() {
    if !require_root("stamp_time_off_leaves_frame") {
        return;
    }
    let settings = XdpSettings {
        stamp_time: false,
        ..XdpSettings::default()
    };
    let (program, _reader) = load(&settings);
    let frame = vxlan().build();

    let run = program.test_run(&frame).expect("test run");

    assert_eq!(run.output, frame);
}

#[test]
fn register_socket_queue_out_of_range() {
    if !require_root("register_socket_queue_out_of_range") {
        return;
    }
    let (mut program, _reader) = load(&XdpSettings::default());

    let result = program.register_socket(sensor_ebpf::MAX_QUEUES, 0);

    assert!(
        result.is_err(),
        "queue {} was accepted",
        sensor_ebpf::MAX_QUEUES
    );
}

/// A network namespace, removed when dropped.
struct Namespace {
    name: String,
}

impl Namespace {
    fn create(name: &str) -> Self {
        // A namespace left by an earlier, killed run would make `add` fail.
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        run_ip(&["netns", "add", name]);
        Namespace {
            name: name.to_string(),
        }
    }

    /// Moves the calling thread into the namespace.
    fn enter(&self) {
        let file = File::open(format!("/run/netns/{}", self.name)).expect("open namespace");
        // SAFETY: `file` is an open network namespace file for the whole call.
        let result = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(result, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run_ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("run ip");
    assert!(status.success(), "ip {} failed: {status}", args.join(" "));
}

/// Sends `frame` out of `interface` through an AF_PACKET socket of the
/// calling thread's namespace.
fn send_raw(interface: &str, frame: &[u8]) {
    let name = std::ffi::CString::new(interface).unwrap();
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(index, 0, "interface {interface} not found");

    // SAFETY: plain socket creation; the descriptor is closed below.
    let socket = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    assert!(socket >= 0, "socket: {}", std::io::Error::last_os_error());

    // SAFETY: all-zero bytes are a valid `sockaddr_ll`.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_ifindex = index as i32;
    address.sll_halen = 6;
    // SAFETY: `frame` and `address` are valid for the lengths passed.
    let sent = unsafe {
        libc::sendto(
            socket,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&raw const address).cast(),
            size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    let error = std::io::Error::last_os_error();
    // SAFETY: `socket` is open and closed once.
    unsafe { libc::close(socket) };
    assert_eq!(sent, frame.len() as isize, "sendto: {error}");
}

/// Binds an AF_XDP socket to queue 0 of a veth inside a fresh namespace,
/// then checks the redirect with a test run and with a real frame sent
/// through the veth pair into the socket.
#[test]
fn redirect_to_registered_socket() {
    if !require_root("redirect_to_registered_socket") {
        return;
    }
    let namespace = Namespace::create(&format!("sensor-xdp-test-{}", std::process::id()));
    run_ip(&[
        "-n",
        &namespace.name,
        "link",
        "add",
        "mirror0",
        "type",
        "veth",
        "peer",
        "name",
        "sensor0",
    ]);
    run_ip(&["-n", &namespace.name, "link", "set", "mirror0", "up"]);
    run_ip(&["-n", &namespace.name, "link", "set", "sensor0", "up"]);

    // setns moves only the calling thread, so the test runs in its own thread.
    let handle = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                namespace.enter();
                redirect_inside_namespace();
            })
            .join()
    });
    drop(namespace);
    if let Err(panic) = handle {
        std::panic::resume_unwind(panic);
    }
}

fn redirect_inside_namespace() {
    let (mut program, reader) = load(&XdpSettings::default());
    let sizes = SocketSizes {
        umem_frames: 64,
        frame_size: 4096,
        rx_ring: 64,
    };
    let mut socket =
        QueueSocket::open("sensor0", 0, BindMode::Copy, sizes, true).unwrap_or_else(|error| {
            panic!("binding the AF_XDP socket failed: {}", error_chain(&error))
        });
    program
        .register_socket(0, socket.raw_fd())
        .unwrap_or_else(|error| panic!("register_socket failed: {}", error_chain(&error)));

    check(
        &program,
        &reader,
        &case(
            "vxlan with socket",
            vxlan(),
            XdpAction::Redirect,
            Verdict::Redirected,
        ),
    );

    program
        .attach("sensor0", XdpMode::Generic)
        .unwrap_or_else(|error| panic!("attach failed: {}", error_chain(&error)));
    let frame = vxlan().build();
    let before = reader.read().expect("read verdicts");
    send_raw("mirror0", &frame);

    let mut received: Vec<(Vec<u8>, Option<FrameMeta>)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while received.is_empty() && Instant::now() < deadline {
        socket
            .recv_batch(100, |rx| received.push((rx.data.to_vec(), rx.meta)))
            .expect("recv_batch");
    }
    let after = reader.read().expect("read verdicts");
    let redirected = after[Verdict::Redirected as usize] - before[Verdict::Redirected as usize];

    assert_eq!(redirected, 1, "Redirected counter");
    assert_eq!(received.len(), 1, "frames received on the socket");
    assert_eq!(received[0].0, frame, "received bytes");
    assert!(
        received[0].1.is_some_and(|meta| meta.rx_time_ns != 0),
        "rx_time_ns stamped"
    );
}
