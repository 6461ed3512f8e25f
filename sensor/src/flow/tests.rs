//! Flow table tests, driven by packets decoded from hand-built frames.

use super::*;
use crate::decap::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use crate::decap::{DecapConfig, Decoder, Packet};
use crate::fixture::Frame;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

const CLIENT: [u8; 4] = [10, 0, 0, 9];
const SERVER: [u8; 4] = [10, 0, 0, 1];

fn packet(frame: Frame, ts_ns: u64) -> Packet {
    let mut decoder = Decoder::new(DecapConfig::default());
    decoder
        .decode(&frame.build(), frame.wire_len(), ts_ns)
        .expect("fixture frame decodes")
}

/// Builds a TCP segment from the client (port 40000) to the server (port 22) or back.
fn tcp(from_client: bool, flags: u8, seq: u32, payload: usize, ts_ns: u64) -> Packet {
    let frame = if from_client {
        Frame::vxlan(7)
            .inner_ipv4(CLIENT, SERVER)
            .tcp(40000, 22, flags)
    } else {
        Frame::vxlan(7)
            .inner_ipv4(SERVER, CLIENT)
            .tcp(22, 40000, flags)
    };
    packet(frame.tcp_seq(seq, 0).payload(payload), ts_ns)
}

fn udp(from_client: bool, payload: usize, id: u16, ts_ns: u64) -> Packet {
    let frame = if from_client {
        Frame::vxlan(7)
            .inner_ipv4(CLIENT, SERVER)
            .inner_id(id)
            .udp(5353, 53)
    } else {
        Frame::vxlan(7)
            .inner_ipv4(SERVER, CLIENT)
            .inner_id(id)
            .udp(53, 5353)
    };
    packet(frame.payload(payload), ts_ns)
}

fn config() -> FlowConfig {
    FlowConfig {
        capacity: 16,
        ..FlowConfig::default()
    }
}

fn run(table: &mut FlowTable, packets: &[Packet]) -> Vec<FlowRecord> {
    let mut records = Vec::new();
    for p in packets {
        table.observe(p, &mut |r| records.push(r));
    }
    records
}

#[test]
fn tcp_session_one_record() {
    let mut table = FlowTable::new(config());
    let packets = [
        tcp(true, SYN, 1, 0, T0),
        tcp(false, SYN | ACK, 1, 0, T0 + MS),
        tcp(true, ACK, 2, 0, T0 + 2 * MS),
        tcp(true, ACK | PSH, 2, 100, T0 + 3 * MS),
        tcp(false, ACK | PSH, 2, 300, T0 + 4 * MS),
        tcp(true, FIN | ACK, 102, 0, T0 + 5 * MS),
        tcp(false, FIN | ACK, 302, 0, T0 + 6 * MS),
        tcp(true, ACK, 103, 0, T0 + 7 * MS),
    ];
    assert!(run(&mut table, &packets).is_empty());

    let mut records = Vec::new();
    table.expire(T0 + SEC, &mut |r| records.push(r));
    assert!(records.is_empty(), "linger not over yet");
    table.expire(T0 + 7 * MS + 2 * SEC, &mut |r| records.push(r));

    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.reason, EndReason::TcpEnd);
    assert_eq!(r.src_addr.to_string(), "10.0.0.9");
    assert_eq!((r.src_port, r.dst_port), (40000, 22));
    assert_eq!(r.src_to_dst.packets, 5);
    assert_eq!(r.dst_to_src.packets, 3);
    assert_eq!(r.src_to_dst.bytes, 4 * 40 + 140);
    assert_eq!(r.dst_to_src.bytes, 2 * 40 + 340);
    assert_eq!(r.src_to_dst.payload_bytes, 100);
    assert_eq!(r.dst_to_src.payload_bytes, 300);
    assert_eq!(r.src_to_dst.tcp_flags, SYN | ACK | PSH | FIN);
    assert_eq!(r.tcp_state, Some("closed"));
    assert_eq!(r.start_ns, T0);
    assert_eq!(r.end_ns, T0 + 7 * MS);
    assert_eq!(table.stats().tcp_ended, 1);
    assert_eq!(table.stats().active, 0);
}

#[test]
fn syn_ack_first_sets_initiator() {
    let mut table = FlowTable::new(config());
    run(
        &mut table,
        &[
            tcp(false, SYN | ACK, 1, 0, T0),
            tcp(true, ACK, 2, 0, T0 + MS),
        ],
    );
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    assert_eq!(records[0].src_addr.to_string(), "10.0.0.9");
    assert_eq!(records[0].src_to_dst.packets, 1);
    assert_eq!(records[0].dst_to_src.tcp_flags, SYN | ACK);
    assert_eq!(records[0].tcp_state, Some("syn_received"));
}

#[test]
fn first_packet_sets_initiator() {
    let mut table = FlowTable::new(config());
    run(
        &mut table,
        &[udp(false, 10, 1, T0), udp(true, 10, 2, T0 + MS)],
    );
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    assert_eq!(records[0].src_addr.to_string(), "10.0.0.1");
    assert_eq!(records[0].src_port, 53);
    assert_eq!(records[0].reason, EndReason::Shutdown);
    assert_eq!(records[0].tcp_state, None);
}

#[test]
fn earlier_packet_arriving_late_sets_initiator() {
    // The response's queue delivered it first, but the query is older.
    let mut table = FlowTable::new(config());
    run(
        &mut table,
        &[udp(false, 10, 1, T0 + MS), udp(true, 10, 2, T0)],
    );
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    assert_eq!(records[0].src_addr.to_string(), "10.0.0.9");
    assert_eq!(records[0].flow_start_ns, T0);
}

#[test]
fn late_packet_keeps_syn_initiator() {
    let mut table = FlowTable::new(config());
    run(
        &mut table,
        &[tcp(true, SYN, 1, 0, T0 + MS), tcp(false, ACK, 1, 0, T0)],
    );
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    assert_eq!(records[0].src_addr.to_string(), "10.0.0.9");
}

#[test]
fn rst_ends_after_linger() {
    let mut table = FlowTable::new(config());
    run(
        &mut table,
        &[
            tcp(true, SYN, 1, 0, T0),
            tcp(false, RST | ACK, 0, 0, T0 + MS),
        ],
    );
    let mut records = Vec::new();
    table.expire(T0 + MS + 2 * SEC, &mut |r| records.push(r));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].tcp_state, Some("reset"));
    assert_eq!(records[0].reason, EndReason::TcpEnd);
}

#[test]
fn syn_after_end_starts_new_flow() {
    let mut table = FlowTable::new(config());
    let records = run(
        &mut table,
        &[
            tcp(true, SYN, 1, 0, T0),
            tcp(false, RST, 0, 0, T0 + MS),
            tcp(true, SYN, 9, 0, T0 + 2 * MS),
        ],
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].reason, EndReason::TcpEnd);
    assert_eq!(table.stats().created, 2);
    assert_eq!(table.stats().active, 1);
}

#[test]
fn idle_timeout_ends_flow() {
    let mut table = FlowTable::new(config());
    run(
        &mut table,
        &[udp(true, 10, 1, T0), udp(false, 20, 2, T0 + SEC)],
    );
    let mut records = Vec::new();
    table.expire(T0 + 60 * SEC, &mut |r| records.push(r));
    assert!(records.is_empty());
    table.expire(T0 + 61 * SEC, &mut |r| records.push(r));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].reason, EndReason::Idle);
    assert_eq!(table.stats().expired, 1);
}

#[test]
fn idle_order_follows_last_packet() {
    let mut table = FlowTable::new(config());
    let other = packet(Frame::vxlan(7).udp(1, 2), T0);
    run(
        &mut table,
        &[udp(true, 10, 1, T0), other, udp(true, 10, 2, T0 + 30 * SEC)],
    );
    let mut records = Vec::new();
    table.expire(T0 + 61 * SEC, &mut |r| records.push(r));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].src_port, 1);
}

#[test]
fn active_timeout_emits_and_resets() {
    let cfg = FlowConfig {
        active_timeout_ns: 10 * SEC,
        ..config()
    };
    let mut table = FlowTable::new(cfg);
    let mut records = Vec::new();
    for i in 0..25u64 {
        let p = udp(true, 10, i as u16, T0 + i * SEC);
        table.observe(&p, &mut |r| records.push(r));
        table.expire(p.ts_ns, &mut |r| records.push(r));
    }
    table.drain(&mut |r| records.push(r));
    let reasons: Vec<EndReason> = records.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [EndReason::Active, EndReason::Active, EndReason::Shutdown]
    );
    let sequences: Vec<u32> = records.iter().map(|r| r.sequence).collect();
    assert_eq!(sequences, [0, 1, 2]);
    let packets: u64 = records.iter().map(|r| r.src_to_dst.packets).sum();
    assert_eq!(packets, 25);
    // Packets at 0..=10 s: the expiry after the packet at 10 s emits them.
    assert_eq!(records[0].src_to_dst.packets, 11);
    assert_eq!(records[2].flow_start_ns, T0);
    assert_eq!(table.stats().active_records, 2);
}

#[test]
fn full_table_evicts_oldest() {
    let cfg = FlowConfig {
        capacity: 2,
        ..config()
    };
    let mut table = FlowTable::new(cfg);
    let flows: Vec<Packet> = (0..3u16)
        .map(|i| packet(Frame::vxlan(7).udp(1000 + i, 53), T0 + u64::from(i) * SEC))
        .collect();
    let records = run(&mut table, &flows);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].reason, EndReason::Evicted);
    assert_eq!(records[0].src_port, 1000);
    assert_eq!(table.stats().evicted, 1);
    assert_eq!(table.stats().active, 2);
}

#[test]
fn slots_reused_after_end() {
    let cfg = FlowConfig {
        capacity: 3,
        ..config()
    };
    let mut table = FlowTable::new(cfg);
    let mut records = 0;
    for i in 0..1000u16 {
        let p = packet(Frame::vxlan(7).udp(i, 53), T0 + u64::from(i) * SEC);
        table.observe(&p, &mut |_| records += 1);
    }
    table.drain(&mut |_| records += 1);
    assert_eq!(records, 1000);
    assert_eq!(table.stats().evicted, 997);
    assert_eq!(table.stats().drained, 3);
}

#[test]
fn duplicate_within_window_counted_once() {
    let mut table = FlowTable::new(config());
    let p = udp(true, 10, 1, T0);
    let copy = Packet {
        ts_ns: T0 + 10 * MS,
        ..p
    };
    let late = Packet {
        ts_ns: T0 + 100 * MS,
        ..p
    };
    run(&mut table, &[p, copy, late]);
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    assert_eq!(records[0].src_to_dst.packets, 2);
    assert_eq!(records[0].src_to_dst.duplicates, 1);
    assert_eq!(table.stats().duplicates, 1);
}

#[test]
fn reused_slot_starts_without_fingerprints() {
    // One slot: each new key evicts the other and takes the same slot back.
    let mut table = FlowTable::new(FlowConfig {
        capacity: 1,
        ..FlowConfig::default()
    });
    let first = udp(true, 10, 1, T0);
    let other = Packet {
        ts_ns: T0 + MS,
        ..udp(false, 10, 2, T0)
    };
    let other_key = Packet {
        key: FlowKey {
            sport: 9999,
            ..other.key
        },
        ..other
    };
    let again = Packet {
        ts_ns: T0 + 2 * MS,
        ..first
    };
    let records = run(&mut table, &[first, other_key, again]);
    assert_eq!(records.len(), 2, "two evictions");
    assert_eq!(table.stats().duplicates, 0);
}

#[test]
fn record_start_is_earliest_packet() {
    let mut table = FlowTable::new(config());
    let late = udp(true, 10, 1, T0 + 70 * SEC);
    let early = udp(true, 10, 2, T0);
    run(&mut table, &[late, early]);
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.start_ns, T0, "start");
    assert_eq!(record.flow_start_ns, T0, "flow_start");
    assert_eq!(record.src_to_dst.first_ns, Some(T0), "first");
    assert_eq!(record.src_to_dst.last_ns, Some(T0 + 70 * SEC), "last");
}

#[test]
fn late_packet_counts_at_next_record_start() {
    let mut table = FlowTable::new(FlowConfig {
        capacity: 16,
        idle_timeout_ns: 60 * SEC,
        active_timeout_ns: 5 * SEC,
    });
    let mut records = Vec::new();
    table.observe(&udp(true, 10, 1, T0 + SEC), &mut |r| records.push(r));
    table.observe(&udp(true, 10, 2, T0 + 6 * SEC), &mut |r| records.push(r));
    table.expire(T0 + 6 * SEC, &mut |r| records.push(r));
    assert_eq!(records.len(), 1, "interim record");
    // A packet stamped before the interim record's end arrives after it.
    table.observe(&udp(false, 10, 3, T0 + 2 * SEC), &mut |r| records.push(r));
    table.drain(&mut |r| records.push(r));
    assert_eq!(records.len(), 2);
    let next = &records[1];
    assert_eq!(next.sequence, 1);
    assert_eq!(next.flow_start_ns, T0 + SEC);
    assert!(next.start_ns >= records[0].end_ns, "records overlap");
    assert_eq!(next.dst_to_src.first_ns, Some(T0 + 6 * SEC));
}

#[test]
fn duplicate_needs_same_fingerprint() {
    let mut table = FlowTable::new(config());
    run(
        &mut table,
        &[udp(true, 10, 1, T0), udp(true, 10, 2, T0 + MS)],
    );
    assert_eq!(table.stats().duplicates, 0);
}

#[test]
fn icmp_echo_one_flow() {
    let mut table = FlowTable::new(config());
    let request = packet(
        Frame::vxlan(7)
            .inner_ipv4(CLIENT, SERVER)
            .icmp_echo(99, 1)
            .payload(56),
        T0,
    );
    let reply = packet(
        Frame::vxlan(7)
            .inner_ipv4(SERVER, CLIENT)
            .icmp_echo_reply(99, 1)
            .payload(56),
        T0 + MS,
    );
    run(&mut table, &[request, reply]);
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].icmp_type, Some(8));
    assert_eq!(records[0].icmp_id, Some(99));
    assert_eq!(records[0].src_addr.to_string(), "10.0.0.9");
    assert_eq!(records[0].dst_to_src.packets, 1);
}

#[test]
fn vni_separates_flows() {
    let mut table = FlowTable::new(config());
    let a = packet(Frame::vxlan(1).udp(1, 2), T0);
    let b = packet(Frame::vxlan(2).udp(1, 2), T0);
    run(&mut table, &[a, b]);
    assert_eq!(table.stats().active, 2);
}

#[test]
fn record_json_fields() {
    let mut table = FlowTable::new(config());
    run(&mut table, &[tcp(true, SYN, 1, 0, T0)]);
    let mut records = Vec::new();
    table.drain(&mut |r| records.push(r));
    let json = serde_json::to_value(&records[0]).expect("serializes");
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["reason"], "shutdown");
    assert_eq!(json["src_addr"], "10.0.0.9");
    assert_eq!(json["start"], "2023-11-14T22:13:20.000000000Z");
    assert_eq!(json["tcp_state"], "syn_sent");
    assert_eq!(json["src_to_dst"]["packets"], 1);
    assert!(json["dst_to_src"].get("first").is_none());
    assert!(json.get("icmp_type").is_none());
}
