//! Flow records as JSON text, written directly: the same bytes as serde_json
//! gives for `FlowRecord`'s `Serialize` (a test checks), at a fraction of the
//! cost. serde_json scans every key for characters to escape and formats each
//! value through its serializer. Here the keys are constants, and numbers and
//! addresses go straight into the buffer. Only the application metadata
//! (`dns`, `http`, `tls`), present on few records, goes through serde_json.
//! Writing records was the largest cost of the writer thread.

use std::{io::Write, net::IpAddr};

use crate::flow::{DirectionCounters, EndReason, FlowRecord, Rfc3339};

/// Appends `record` as one JSON object, without a line end.
pub fn write_record(out: &mut Vec<u8>, record: &FlowRecord) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"schema_version\":");
    push_u64(out, u64::from(record.schema_version));
    out.extend_from_slice(b",\"reason\":\"");
    out.extend_from_slice(reason_label(record.reason).as_bytes());
    out.extend_from_slice(b"\",\"vni\":");
    push_u64(out, u64::from(record.vni));
    out.extend_from_slice(b",\"protocol\":");
    push_u64(out, u64::from(record.protocol));
    out.extend_from_slice(b",\"src_addr\":");
    push_addr(out, record.src_addr);
    out.extend_from_slice(b",\"dst_addr\":");
    push_addr(out, record.dst_addr);
    out.extend_from_slice(b",\"src_port\":");
    push_u64(out, u64::from(record.src_port));
    out.extend_from_slice(b",\"dst_port\":");
    push_u64(out, u64::from(record.dst_port));

    if let Some(icmp_type) = record.icmp_type {
        out.extend_from_slice(b",\"icmp_type\":");
        push_u64(out, u64::from(icmp_type));
    }
    if let Some(icmp_id) = record.icmp_id {
        out.extend_from_slice(b",\"icmp_id\":");
        push_u64(out, u64::from(icmp_id));
    }

    out.extend_from_slice(b",\"start\":");
    push_time(out, record.start);
    out.extend_from_slice(b",\"start_ns\":");
    push_u64(out, record.start_ns);
    out.extend_from_slice(b",\"end\":");
    push_time(out, record.end);
    out.extend_from_slice(b",\"end_ns\":");
    push_u64(out, record.end_ns);
    out.extend_from_slice(b",\"flow_start\":");
    push_time(out, record.flow_start);
    out.extend_from_slice(b",\"flow_start_ns\":");
    push_u64(out, record.flow_start_ns);
    out.extend_from_slice(b",\"sequence\":");
    push_u64(out, u64::from(record.sequence));

    if let Some(state) = record.tcp_state {
        out.extend_from_slice(b",\"tcp_state\":");
        serde_json::to_writer(&mut *out, state)?;
    }
    out.extend_from_slice(b",\"src_to_dst\":");
    push_counters(out, &record.src_to_dst);
    out.extend_from_slice(b",\"dst_to_src\":");
    push_counters(out, &record.dst_to_src);

    if let Some(name) = &record.dst_name {
        out.extend_from_slice(b",\"dst_name\":");
        serde_json::to_writer(&mut *out, name)?;
    }
    if let Some(dns) = &record.dns {
        out.extend_from_slice(b",\"dns\":");
        serde_json::to_writer(&mut *out, dns)?;
    }
    if let Some(http) = &record.http {
        out.extend_from_slice(b",\"http\":");
        serde_json::to_writer(&mut *out, http)?;
    }
    if let Some(tls) = &record.tls {
        out.extend_from_slice(b",\"tls\":");
        serde_json::to_writer(&mut *out, tls)?;
    }
    out.push(b'}');
    Ok(())
}

fn push_counters(out: &mut Vec<u8>, counters: &DirectionCounters) {
    out.extend_from_slice(b"{\"packets\":");
    push_u64(out, counters.packets);
    out.extend_from_slice(b",\"bytes\":");
    push_u64(out, counters.bytes);
    out.extend_from_slice(b",\"payload_bytes\":");
    push_u64(out, counters.payload_bytes);
    if let Some(first) = counters.first {
        out.extend_from_slice(b",\"first\":");
        push_time(out, first);
    }
    if let Some(first_ns) = counters.first_ns {
        out.extend_from_slice(b",\"first_ns\":");
        push_u64(out, first_ns);
    }
    if let Some(last) = counters.last {
        out.extend_from_slice(b",\"last\":");
        push_time(out, last);
    }
    if let Some(last_ns) = counters.last_ns {
        out.extend_from_slice(b",\"last_ns\":");
        push_u64(out, last_ns);
    }
    out.extend_from_slice(b",\"tcp_flags\":");
    push_u64(out, u64::from(counters.tcp_flags));
    out.extend_from_slice(b",\"truncated\":");
    push_u64(out, counters.truncated);
    out.extend_from_slice(b",\"duplicates\":");
    push_u64(out, counters.duplicates);
    out.push(b'}');
}

/// Returns the serde name of `reason` (`rename_all = "snake_case"`).
fn reason_label(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Idle => "idle",
        EndReason::Active => "active",
        EndReason::TcpEnd => "tcp_end",
        EndReason::Evicted => "evicted",
        EndReason::Shutdown => "shutdown",
    }
}

fn push_time(out: &mut Vec<u8>, time: Rfc3339) {
    out.push(b'"');
    out.extend_from_slice(&time.text());
    out.push(b'"');
}

/// Writes an address in its standard text form, quoted. Neither form contains a
/// character that JSON escapes.
fn push_addr(out: &mut Vec<u8>, addr: IpAddr) {
    out.push(b'"');
    match addr {
        IpAddr::V4(v4) => {
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    out.push(b'.');
                }
                push_u64(out, u64::from(octet));
            }
        }
        // Writing to a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(digit) = digits.get_mut(start) {
            *digit = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or(&[]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::meta::{DnsMeta, HttpMeta, TlsMeta};
    use crate::flow::testing;

    fn same_as_serde(record: &FlowRecord) {
        let mut ours = Vec::new();
        write_record(&mut ours, record).expect("written");
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
