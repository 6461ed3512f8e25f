//! The XDP entry point, its maps, and the verdict for each frame: redirect
//! mirror traffic (VXLAN and GENEVE ports) to the AF_XDP socket of its RX
//! queue, pass everything else to the kernel, count every outcome.

use core::mem::size_of;

use aya_ebpf::{
    bindings::xdp_action,
    helpers::{bpf_ktime_get_ns, bpf_xdp_adjust_meta},
    macros::{map, xdp},
    maps::{Array, HashMap, LpmTrie, PerCpuArray, XskMap, lpm_trie::Key},
    programs::XdpContext,
};
use sensor_ebpf::{
    Config, FrameMeta, MAX_ALLOWLIST_PREFIXES, MAX_MIRROR_PORTS, MAX_QUEUES, VLAN_MAX_DEPTH,
    Verdict,
};

use crate::parse::{
    Cursor, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, EthHdr, IPPROTO_FRAGMENT, IPPROTO_UDP,
    IPV4_MIN_HEADER_LEN, IPV4_OFFSET_MASK, Ipv4Hdr, Ipv6Hdr, UdpHdr, VlanHdr, be16,
};

/// RX queue index → AF_XDP socket bound to that queue.
#[map]
static XSKS: XskMap = XskMap::with_max_entries(MAX_QUEUES, 0);

/// Frame count per [`Verdict`], per CPU.
#[map]
static VERDICTS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Verdict::COUNT, 0);

/// UDP destination port (host byte order) → `PortKind` of the mirror traffic it carries.
#[map]
static MIRROR_PORTS: HashMap<u16, u8> = HashMap::with_max_entries(MAX_MIRROR_PORTS, 0);

/// Allowed IPv4 mirror sources (prefixes); read only when the allowlist is enabled.
#[map]
static ALLOW_V4: LpmTrie<[u8; 4], u8> = LpmTrie::with_max_entries(MAX_ALLOWLIST_PREFIXES, 0);

/// Allowed IPv6 mirror sources (prefixes); read only when the allowlist is enabled.
#[map]
static ALLOW_V6: LpmTrie<[u8; 16], u8> = LpmTrie::with_max_entries(MAX_ALLOWLIST_PREFIXES, 0);

/// The program settings in slot 0.
#[map]
static CONFIG: Array<Config> = Array::with_max_entries(1, 0);

/// Outer source address of a mirror frame, for the allowlist.
enum Source {
    V4([u8; 4]),
    V6([u8; 16]),
}

// NOTE: the program is not multi-buffer aware (no `xdp.frags`). Drivers
// therefore reject a native attach when one frame does not fit one buffer
// (ENA: MTU above 3498 on 4 KiB pages). Generic mode has no such limit.
#[xdp]
pub fn sensor_xdp(ctx: XdpContext) -> u32 {
    let verdict = match try_sensor_xdp(&ctx) {
        Ok(verdict) | Err(verdict) => verdict,
    };
    count(verdict);
    action(verdict)
}

/// Classifies one frame. `Err` carries the verdict of an early exit.
#[inline(always)]
fn try_sensor_xdp(ctx: &XdpContext) -> Result<Verdict, Verdict> {
    let mut cursor = Cursor::new(ctx.data(), ctx.data_end());

    let eth = cursor.next::<EthHdr>().ok_or(Verdict::PassedMalformed)?;
    let mut ether_type = be16(&eth.ether_type);

    for _ in 0..VLAN_MAX_DEPTH {
        if ether_type != ETH_P_8021Q && ether_type != ETH_P_8021AD {
            break;
        }
        let vlan = cursor.next::<VlanHdr>().ok_or(Verdict::PassedMalformed)?;
        ether_type = be16(&vlan.ether_type);
    }

    let source = match ether_type {
        ETH_P_IP => read_ipv4(&mut cursor)?,
        ETH_P_IPV6 => read_ipv6(&mut cursor)?,
        _ => return Err(Verdict::PassedNotMirror),
    };

    let udp = cursor.next::<UdpHdr>().ok_or(Verdict::PassedMalformed)?;
    let dst_port = be16(&udp.dst_port);
    if MIRROR_PORTS.get_ptr(&dst_port).is_none() {
        return Err(Verdict::PassedNotMirror);
    }

    let config = CONFIG.get(0).copied().unwrap_or_default();
    if config.allowlist_enabled != 0 && !is_allowed(&source) {
        return Err(Verdict::DroppedNotAllowed);
    }
    if config.stamp_time != 0 {
        stamp_time(ctx);
    }

    match XSKS.redirect(ctx.rx_queue_index(), 0) {
        Ok(_) => Ok(Verdict::Redirected),
        Err(_) => Err(Verdict::DroppedNoSocket),
    }
}

/// Reads an IPv4 header and its options, leaving the cursor on the UDP header.
#[inline(always)]
fn read_ipv4(cursor: &mut Cursor) -> Result<Source, Verdict> {
    let ip = cursor.next::<Ipv4Hdr>().ok_or(Verdict::PassedMalformed)?;
    if ip.version_ihl >> 4 != 4 {
        return Err(Verdict::PassedMalformed);
    }
    let header_len = usize::from(ip.version_ihl & 0x0f) * 4;
    if header_len < IPV4_MIN_HEADER_LEN {
        return Err(Verdict::PassedMalformed);
    }

    // A non-first fragment starts inside the payload: there is no UDP header.
    if be16(&ip.frag_off) & IPV4_OFFSET_MASK != 0 {
        return Err(Verdict::PassedFragment);
    }
    if ip.protocol != IPPROTO_UDP {
        return Err(Verdict::PassedNotMirror);
    }
    let source = Source::V4(ip.src);

    cursor
        .skip(header_len - IPV4_MIN_HEADER_LEN)
        .ok_or(Verdict::PassedMalformed)?;
    Ok(source)
}

/// Reads the IPv6 fixed header, leaving the cursor on the UDP header.
// NOTE: only UDP directly after the fixed header is mirror traffic. VXLAN and
// GENEVE senders (AWS Traffic Mirroring, Gateway Load Balancer) add no
// extension headers, so frames with any other next header are passed, and a
// fragment header is counted as a fragment.
#[inline(always)]
fn read_ipv6(cursor: &mut Cursor) -> Result<Source, Verdict> {
    let ip = cursor.next::<Ipv6Hdr>().ok_or(Verdict::PassedMalformed)?;
    if ip.version_class_flow[0] >> 4 != 6 {
        return Err(Verdict::PassedMalformed);
    }
    match ip.next_header {
        IPPROTO_UDP => Ok(Source::V6(ip.src)),
        IPPROTO_FRAGMENT => Err(Verdict::PassedFragment),
        _ => Err(Verdict::PassedNotMirror),
    }
}

/// Looks the outer source up in the allowlist trie of its family.
#[inline(always)]
fn is_allowed(source: &Source) -> bool {
    match source {
        Source::V4(addr) => ALLOW_V4.get(Key::new(32, *addr)).is_some(),
        Source::V6(addr) => ALLOW_V6.get(Key::new(128, *addr)).is_some(),
    }
}

/// Writes the kernel time into a [`FrameMeta`] in front of the frame. On
/// failure the frame goes out unstamped and user space uses its own clock.
#[inline(always)]
fn stamp_time(ctx: &XdpContext) {
    let meta_len = size_of::<FrameMeta>() as i32;
    // SAFETY: `ctx.ctx` is the context the kernel passed to this run. The
    // helper invalidates earlier packet pointers, and none is used after it.
    if unsafe { bpf_xdp_adjust_meta(ctx.ctx, -meta_len) } != 0 {
        return;
    }

    let meta = ctx.metadata();
    if meta + size_of::<FrameMeta>() > ctx.metadata_end() {
        return;
    }
    // SAFETY: `bpf_ktime_get_ns` has no preconditions.
    let rx_time_ns = unsafe { bpf_ktime_get_ns() };
    // SAFETY: `[meta, meta + size_of::<FrameMeta>())` was checked against the
    // start of the frame just above, and the write does not assume alignment.
    unsafe { (meta as *mut FrameMeta).write_unaligned(FrameMeta { rx_time_ns }) };
}

/// Adds one to the per-CPU counter of `verdict`.
#[inline(always)]
fn count(verdict: Verdict) {
    if let Some(counter) = VERDICTS.get_ptr_mut(verdict as u32) {
        // SAFETY: the pointer is this CPU's slot, which no other program run
        // writes while this one runs (XDP runs with preemption disabled).
        unsafe { *counter += 1 };
    }
}

/// Maps `verdict` to the XDP action that carries it out.
#[inline(always)]
fn action(verdict: Verdict) -> u32 {
    match verdict {
        Verdict::Redirected => xdp_action::XDP_REDIRECT,
        Verdict::DroppedNoSocket | Verdict::DroppedNotAllowed => xdp_action::XDP_DROP,
        Verdict::PassedNotMirror | Verdict::PassedFragment | Verdict::PassedMalformed => {
            xdp_action::XDP_PASS
        }
    }
}

// NOTE: the kernel only needs a GPL-compatible string for GPL-only helpers,
// and this program calls none, so it declares the workspace license.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 11] = *b"Apache-2.0\0";

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects programs that can reach this loop, so a panic
    // path in the program is caught at load time.
    loop {}
}
