//! RSS emulation for the lab. A NIC spreads frames over its RX queues by a hash
//! of the outer headers; a veth pair has no such hash: a frame sent through an
//! AF_PACKET socket arrives on the peer's RX queue that matches the sending
//! CPU. Pinning the sender to a CPU chosen by the outer 5-tuple hash before
//! each frame therefore spreads the frames over the sensor's queues the way RSS
//! would, and keeps each outer flow on one queue.

use std::io;

/// Hashes the outer IPv4 addresses and UDP ports of a mirror frame (FNV-1a).
/// Frames that are not IPv4/UDP hash to 0, so they all go to the first CPU.
pub fn outer_flow_hash(frame: &[u8]) -> u64 {
    const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
    const PROTO_UDP: u8 = 17;

    if frame.get(12..14) != Some(&ETHERTYPE_IPV4[..]) {
        return 0;
    }
    let Some(ihl) = frame.get(14).map(|b| usize::from(b & 0x0f) * 4) else {
        return 0;
    };
    if frame.get(23) != Some(&PROTO_UDP) {
        return 0;
    }
    let (Some(addrs), Some(ports)) = (frame.get(26..34), frame.get(14 + ihl..14 + ihl + 4)) else {
        return 0;
    };

    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in addrs.iter().chain(ports) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Moves the calling thread to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit inside `set`; `cpu` is checked by the kernel.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t that outlives the call; pid 0 is this thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
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
    fn outer_flow_hash_non_ip_is_zero() {
        assert_eq!(outer_flow_hash(&[0u8; 60]), 0);
    }

    #[test]
    fn outer_flow_hash_depends_on_ports() {
        let mut frame = vec![0u8; 60];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        frame[14] = 0x45;
        frame[23] = 17;
        let first = outer_flow_hash(&frame);
        frame[35] = 1;
        assert_ne!(first, outer_flow_hash(&frame));
    }
}
