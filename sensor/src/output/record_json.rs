//! Flow records as JSON text, written directly: the same bytes as serde_json
//! gives for `FlowRecord`'s `Serialize` (a test checks), at a fraction of the
//! cost. serde_json scans every key for characters to escape and formats each
//! value through its serializer. Here the keys are constants, numbers and
//! addresses go straight into the buffer, and strings are escaped as
//! serde_json escapes them. Writing records was the largest cost of the
//! writer thread.
//!
//! The writers here and in `meta_json` and `time_text` are
//! `#[inline(always)]` into [`RecordJson::write_line`], so that the write
//! position of the [`JsonBuf`] stays in a register for the whole record.

use std::{io::Write, net::IpAddr};

use crate::flow::{DirectionCounters, EndReason, FlowRecord};
use crate::output::json_buf::JsonBuf;
use crate::output::json_string::put_str;
use crate::output::meta_json::{put_dns, put_http, put_tls};
use crate::output::time_text::TimeText;
use crate::text;

/// A writer of flow records as JSON, keeping the text of recent times.
#[derive(Clone, Debug, Default)]
pub struct RecordJson {
    times: TimeText,
}

impl RecordJson {
    /// Writes `record` as one JSON line at the start of `room`. Returns its
    /// length, or `None` when it did not fit.
    #[inline(never)]
    pub fn write_line(&mut self, room: &mut [u8], record: &FlowRecord) -> Option<usize> {
        let mut out = JsonBuf::new(room);
        self.write(&mut out, record);
        out.put_byte(b'\n');
        out.finish()
    }

    /// Appends `record` as one JSON object, without a line end.
    #[inline(always)]
    fn write(&mut self, out: &mut JsonBuf, record: &FlowRecord) {
        out.put(b"{\"schema_version\":");
        out.put_u64(u64::from(record.schema_version));
        out.put(b",\"reason\":");
        put_reason(out, record.reason);
        out.put(b",\"vni\":");
        out.put_u64(u64::from(record.vni));
        out.put(b",\"protocol\":");
        out.put_u64(u64::from(record.protocol));
        out.put(b",\"src_addr\":");
        put_addr(out, record.src_addr);
        out.put(b",\"dst_addr\":");
        put_addr(out, record.dst_addr);
        out.put(b",\"src_port\":");
        out.put_u64(u64::from(record.src_port));
        out.put(b",\"dst_port\":");
        out.put_u64(u64::from(record.dst_port));

        if let Some(icmp_type) = record.icmp_type {
            out.put(b",\"icmp_type\":");
            out.put_u64(u64::from(icmp_type));
        }
        if let Some(icmp_id) = record.icmp_id {
            out.put(b",\"icmp_id\":");
            out.put_u64(u64::from(icmp_id));
        }

        let times = &mut self.times;
        out.put(b",\"start\":");
        times.put_time(out, record.start);
        out.put(b",\"start_ns\":");
        times.put_ns(out, record.start_ns);
        out.put(b",\"end\":");
        times.put_time(out, record.end);
        out.put(b",\"end_ns\":");
        times.put_ns(out, record.end_ns);
        out.put(b",\"flow_start\":");
        times.put_time(out, record.flow_start);
        out.put(b",\"flow_start_ns\":");
        times.put_ns(out, record.flow_start_ns);
        out.put(b",\"sequence\":");
        out.put_u64(u64::from(record.sequence));

        if let Some(state) = record.tcp_state {
            out.put(b",\"tcp_state\":");
            put_str(out, state);
        }
        out.put(b",\"src_to_dst\":");
        self.put_counters(out, &record.src_to_dst);
        out.put(b",\"dst_to_src\":");
        self.put_counters(out, &record.dst_to_src);

        if let Some(name) = &record.dst_name {
            out.put(b",\"dst_name\":");
            put_str(out, name);
        }
        if let Some(dns) = &record.dns {
            out.put(b",\"dns\":");
            put_dns(out, dns);
        }
        if let Some(http) = &record.http {
            out.put(b",\"http\":");
            put_http(out, http);
        }
        if let Some(tls) = &record.tls {
            out.put(b",\"tls\":");
            put_tls(out, tls);
        }
        out.put_byte(b'}');
    }

    #[inline(always)]
    fn put_counters(&mut self, out: &mut JsonBuf, counters: &DirectionCounters) {
        let times = &mut self.times;
        out.put(b"{\"packets\":");
        out.put_u64(counters.packets);
        out.put(b",\"bytes\":");
        out.put_u64(counters.bytes);
        out.put(b",\"payload_bytes\":");
        out.put_u64(counters.payload_bytes);

        if let Some(first) = counters.first {
            out.put(b",\"first\":");
            times.put_time(out, first);
        }
        if let Some(first_ns) = counters.first_ns {
            out.put(b",\"first_ns\":");
            times.put_ns(out, first_ns);
        }
        if let Some(last) = counters.last {
            out.put(b",\"last\":");
            times.put_time(out, last);
        }
        if let Some(last_ns) = counters.last_ns {
            out.put(b",\"last_ns\":");
            times.put_ns(out, last_ns);
        }

        out.put(b",\"tcp_flags\":");
        out.put_u64(u64::from(counters.tcp_flags));
        out.put(b",\"truncated\":");
        out.put_u64(counters.truncated);
        out.put(b",\"duplicates\":");
        out.put_u64(counters.duplicates);
        out.put_byte(b'}');
    }
}

/// Appends the quoted serde name of `reason` (`rename_all = "snake_case"`).
#[inline(always)]
fn put_reason(out: &mut JsonBuf, reason: EndReason) {
    match reason {
        EndReason::Idle => out.put(b"\"idle\""),
        EndReason::Active => out.put(b"\"active\""),
        EndReason::TcpEnd => out.put(b"\"tcp_end\""),
        EndReason::Evicted => out.put(b"\"evicted\""),
        EndReason::Shutdown => out.put(b"\"shutdown\""),
    }
}

/// Writes an address in its standard text form, quoted. Neither form contains a
/// character that JSON escapes.
#[inline(always)]
fn put_addr(out: &mut JsonBuf, addr: IpAddr) {
    match addr {
        IpAddr::V4(v4) => put_ipv4(out, v4),
        IpAddr::V6(v6) => put_ipv6(out, v6),
    }
}

/// Writes the standard text form of `addr` (`Display`), quoted.
#[inline(always)]
fn put_ipv6(out: &mut JsonBuf, addr: std::net::Ipv6Addr) {
    let (text, len) = quoted_ipv6(addr);
    out.put_prefix(&text, len);
}

/// Room for the quoted IPv6 text: at most 39 characters (eight groups of four
/// hex digits, and `::ffff:` with a dotted quad is shorter), the quotes, and
/// spare bytes.
const QUOTED_IPV6_MAX: usize = 48;

/// Returns the quoted text of `addr` at the start of the array, and its length.
fn quoted_ipv6(addr: std::net::Ipv6Addr) -> ([u8; QUOTED_IPV6_MAX], usize) {
    let mut text = [0u8; QUOTED_IPV6_MAX];
    let mut rest = &mut text[..];
    // The maximum length, 41 bytes with the quotes, fits, so writing to the
    // slice does not fail.
    let _ = write!(rest, "\"{addr}\"");
    let len = QUOTED_IPV6_MAX - rest.len();
    (text, len)
}

/// Writes the dotted quad, quoted.
#[inline(always)]
fn put_ipv4(out: &mut JsonBuf, addr: std::net::Ipv4Addr) {
    let (text, len) = text::dotted_quad(addr);
    out.put(b"\"");
    out.put_prefix(&text, len);
    out.put(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::meta::{DnsMeta, HttpMeta, TlsMeta};
    use crate::flow::{Rfc3339, testing};
    use crate::output::json_buf::written_by;

    fn same_as_serde(record: &FlowRecord) {
        let ours = written_by(|out| RecordJson::default().write(out, record));
        let theirs = serde_json::to_vec(record).expect("serialized");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    fn counters(packets: u64, first_ns: u64) -> DirectionCounters {
        DirectionCounters {
            packets,
            bytes: packets * 1500,
            payload_bytes: u64::MAX,
            tcp_flags: 0x1b,
            truncated: 3,
            duplicates: 1,
            ..Default::default()
        }
        .with_times(first_ns, first_ns + 999_999_999)
    }

    #[test]
    fn bare_record_matches_serde() {
        same_as_serde(&testing::record());
    }

    #[test]
    fn every_optional_field_matches_serde() {
        let reasons = [
            EndReason::Idle,
            EndReason::Active,
            EndReason::TcpEnd,
            EndReason::Evicted,
            EndReason::Shutdown,
        ];
        for (index, reason) in reasons.into_iter().enumerate() {
            let record = FlowRecord {
                reason,
                vni: 16_777_215,
                protocol: 58,
                src_addr: "2001:db8::1".parse().expect("v6"),
                dst_addr: "::ffff:0.0.0.0".parse().expect("mapped"),
                src_port: u16::MAX,
                dst_port: 0,
                icmp_type: Some(128),
                icmp_id: Some(65_535),
                start: Rfc3339(1_740_960_000_070_503_000),
                start_ns: 1_740_960_000_070_503_000,
                end: Rfc3339(u64::MAX),
                end_ns: u64::MAX,
                flow_start: Rfc3339(0),
                flow_start_ns: 0,
                sequence: u32::MAX,
                tcp_state: Some("syn_received"),
                src_to_dst: counters(10, 7),
                dst_to_src: counters(0, 9),
                dst_name: Some("we\"ird\\name\u{1}.example".into()),
                dns: Some(DnsMeta {
                    query: Some("a.example".into()),
                    ..Default::default()
                }),
                http: Some(HttpMeta::default()),
                tls: (index % 2 == 0).then(TlsMeta::default),
                ..testing::record()
            };
            same_as_serde(&record);
        }
    }

    #[test]
    fn records_in_sequence_match_serde() {
        // One writer for all records, so each starts from the times cached by
        // the one before.
        let mut json = RecordJson::default();
        let mut ns = 1_740_960_000_000_000_000u64;
        for step in 0..2_000u64 {
            ns = ns.wrapping_add(step.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 30);
            let later = ns.saturating_add(step % 5 * 300_000_000);
            let record = FlowRecord {
                start: Rfc3339(ns),
                start_ns: ns,
                end: Rfc3339(later),
                // A number that differs from its time, as the type allows.
                end_ns: later + step % 2,
                flow_start: Rfc3339(ns - step % 3 * 86_400_000_000_000),
                flow_start_ns: ns - step % 3 * 86_400_000_000_000,
                src_to_dst: counters(step, later),
                dst_to_src: counters(step % 2, ns),
                ..testing::record()
            };
            let ours = written_by(|out| json.write(out, &record));
            let theirs = serde_json::to_vec(&record).expect("serialized");
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "step {step}"
            );
        }
    }

    #[test]
    fn every_octet_matches_display() {
        for octet in 0..=u8::MAX {
            let addrs = [
                [octet, 0, 0, 0],
                [0, octet, 0, 0],
                [0, 0, octet, 0],
                [255, 255, 255, octet],
            ];
            for octets in addrs {
                let ours = written_by(|out| put_addr(out, IpAddr::from(octets)));
                let expected = format!("\"{}\"", IpAddr::from(octets));
                assert_eq!(String::from_utf8_lossy(&ours), expected);
            }
        }
    }

    #[test]
    fn ipv6_forms_match_serde() {
        let addrs = [
            "::",
            "::1",
            "1::",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "64:ff9b::192.0.2.1",
            "fe80::1:2",
            "2001:db8::",
            "2001:db8:0:0:1:0:0:1",
            "2001:db8:85a3:8d3:1319:8a2e:370:7348",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "1:0:0:2::3",
        ];
        for addr in addrs {
            let record = FlowRecord {
                src_addr: addr.parse().expect("address"),
                dst_addr: addr.parse().expect("address"),
                ..testing::record()
            };
            same_as_serde(&record);
        }
    }

    #[test]
    fn addresses_and_numbers_match_serde() {
        let addrs = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.12.1",
            "::",
            "fe80::1:2",
            "2001:db8:0:0:1:0:0:1",
        ];
        for (index, addr) in addrs.into_iter().enumerate() {
            let value = 10u64.pow(index as u32 * 3) - 1;
            let record = FlowRecord {
                src_addr: addr.parse().expect("address"),
                start_ns: value,
                src_to_dst: counters(value, value),
                ..testing::record()
            };
            same_as_serde(&record);
        }
    }
}
