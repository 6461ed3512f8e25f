//! Text forms of addresses written without `core::fmt`, for the hot paths that build
//! one per packet or record, and a parser for them. Each gives exactly what the
//! standard `Display` and `FromStr` give.

use std::net::{IpAddr, Ipv4Addr};

/// Room for the longest dotted quad, `255.255.255.255`, and the spare byte that the
/// last 4-byte copy of [`dotted_quad`] writes.
pub const DOTTED_QUAD_ROOM: usize = 16;

/// Returns `addr` in dotted decimal (`192.0.2.1`) at the start of the array, and its
/// length. Each octet is one copy of constant size from a table.
#[inline(always)]
pub fn dotted_quad(addr: Ipv4Addr) -> ([u8; DOTTED_QUAD_ROOM], usize) {
    let mut text = [b'.'; DOTTED_QUAD_ROOM];
    let mut len = 0;
    for (index, octet) in addr.octets().into_iter().enumerate() {
        let (digits, count) = OCTETS[usize::from(octet)];
        if let Some(slot) = text.get_mut(len..len + 4) {
            slot.copy_from_slice(&digits);
        }
        len += usize::from(count);
        if index < 3 {
            if let Some(separator) = text.get_mut(len) {
                *separator = b'.';
            }
            len += 1;
        }
    }
    (text, len)
}

/// Returns `addr` as its `Display` text. IPv4 is written by [`dotted_quad`]; IPv6, whose
/// zero-run and embedded-IPv4 rules are longer, goes through `Display`.
pub fn ip_text(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => {
            let (text, len) = dotted_quad(v4);
            // Digits and dots are ASCII.
            let quad = text.get(..len).unwrap_or_default();
            String::from_utf8(quad.to_vec()).unwrap_or_else(|_| v4.to_string())
        }
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// Parses an address as `str::parse::<IpAddr>` does, for the DNS answers of flow
/// records. Dotted-quad IPv4, the most common form, takes a direct path.
pub fn parse_ip_text(text: &str) -> Option<IpAddr> {
    if let Some(v4) = parse_dotted_quad(text) {
        return Some(IpAddr::V4(v4));
    }
    text.parse().ok()
}

/// Parses four dot-separated decimal octets of one to three digits, without leading
/// zeros, each at most 255: a subset of what `Ipv4Addr`'s parser accepts, with the
/// same result. `None` for anything else, which the caller passes to that parser.
fn parse_dotted_quad(text: &str) -> Option<Ipv4Addr> {
    let bytes = text.as_bytes();
    let mut octets = [0u8; 4];
    let mut index = 0;
    for (position, octet) in octets.iter_mut().enumerate() {
        if position > 0 {
            if bytes.get(index) != Some(&b'.') {
                return None;
            }
            index += 1;
        }
        let start = index;
        let mut value = 0u16;
        while let Some(&digit) = bytes.get(index) {
            if !digit.is_ascii_digit() || index - start == 3 {
                break;
            }
            value = value * 10 + u16::from(digit - b'0');
            index += 1;
        }
        let digits = index - start;
        let leading_zero = digits > 1 && bytes.get(start) == Some(&b'0');
        if digits == 0 || leading_zero {
            return None;
        }
        *octet = u8::try_from(value).ok()?;
    }
    (index == bytes.len()).then_some(Ipv4Addr::from(octets))
}

/// The decimal digits of each octet at the start of four bytes, and their count.
const OCTETS: [([u8; 4], u8); 256] = make_octets();

const fn make_octets() -> [([u8; 4], u8); 256] {
    let mut octets = [([0u8; 4], 0u8); 256];
    let mut value = 0;
    while value < 256 {
        let (hundreds, tens, ones) = (
            b'0' + (value / 100) as u8,
            b'0' + (value / 10 % 10) as u8,
            b'0' + (value % 10) as u8,
        );
        octets[value] = match value {
            0..=9 => ([ones, 0, 0, 0], 1),
            10..=99 => ([tens, ones, 0, 0], 2),
            _ => ([hundreds, tens, ones, 0], 3),
        };
        value += 1;
    }
    octets
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

    #[test]
    fn parse_ip_matches_std_parser() {
        let octets = [
            "", "0", "00", "01", "1", "9", "10", "099", "99", "100", "199", "255", "256", "999",
            "1000", "+1", "-1", "a", " 1",
        ];
        let mut count = 0;
        for a in octets {
            for b in ["0", "01", "255", "256", ""] {
                for c in octets {
                    for d in octets {
                        let text = format!("{a}.{b}.{c}.{d}");
                        let expected = text.parse::<IpAddr>().ok();
                        assert_eq!(parse_ip_text(&text), expected, "{text:?}");
                        count += usize::from(expected.is_some());
                    }
                }
            }
        }
        assert!(count > 0);
        let others = [
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4.",
            ".1.2.3.4",
            "1..2.3",
            "192.0.2.1",
            "::1",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "edge.example.net",
            "",
            "1.2.3.4 ",
            "\u{661}.2.3.4",
        ];
        for text in others {
            assert_eq!(parse_ip_text(text), text.parse::<IpAddr>().ok(), "{text:?}");
        }
    }
}
