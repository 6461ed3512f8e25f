//! Text forms of addresses written without `core::fmt`, for the hot paths that build
//! one per packet or record. Each gives exactly what the standard `Display` gives.

use std::net::{IpAddr, Ipv4Addr};

/// Appends `addr` in dotted decimal (`192.0.2.1`).
pub fn push_ipv4(out: &mut Vec<u8>, addr: Ipv4Addr) {
    for (index, octet) in addr.octets().into_iter().enumerate() {
        if index > 0 {
            out.push(b'.');
        }
        if octet >= 100 {
            out.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            out.push(b'0' + octet / 10 % 10);
        }
        out.push(b'0' + octet % 10);
    }
}

/// Returns `addr` as its `Display` text. IPv4 is written by [`push_ipv4`]; IPv6, whose
/// zero-run and embedded-IPv4 rules are longer, goes through `Display`.
pub fn ip_text(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => {
            let mut out = Vec::with_capacity(15);
            push_ipv4(&mut out, v4);
            // Digits and dots are ASCII.
            String::from_utf8(out).unwrap_or_else(|_| v4.to_string())
        }
        IpAddr::V6(v6) => v6.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_equals_display() {
        // Every octet value in every position.
        for value in 0..=255u8 {
            for position in 0..4 {
                let mut octets = [1, 20, 255, 0];
                octets[position] = value;
                let addr = Ipv4Addr::from(octets);
                assert_eq!(ip_text(IpAddr::V4(addr)), addr.to_string());
            }
        }
    }

    #[test]
    fn ipv6_equals_display() {
        for text in [
            "::",
            "::1",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "fe80::1:2:3:4",
        ] {
            let addr: IpAddr = text.parse().expect("address");
            assert_eq!(ip_text(addr), addr.to_string());
        }
    }
}
