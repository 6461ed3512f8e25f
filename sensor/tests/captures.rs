//! Real captures through PcapReader → Decoder → FlowTable. The captures live outside
//! the repository (see the LICENSE-NOTES.md next to them). A missing capture fails the
//! test when the `CI` environment variable is set, and skips it otherwise.

use std::path::Path;

use sensor::capture::pcap::PcapReader;
use sensor::decap::{DecapConfig, DecapCounters, Decoder};
use sensor::fixture::shared_capture;
use sensor::flow::{FlowConfig, FlowRecord, FlowTable};

/// Replays a capture and returns the decoder counters and every flow record, with
/// records from the end of the file last (drain order).
fn replay(path: &Path) -> (DecapCounters, Vec<FlowRecord>, u64) {
    let mut reader = PcapReader::open(path).expect("capture opens");
    let mut decoder = Decoder::new(DecapConfig::default());
    let mut table = FlowTable::new(FlowConfig::default());
    let mut records = Vec::new();
    while let Some(frame) = reader.next_frame().expect("capture reads") {
        if let Some(packet) =
            decoder.decode_link(frame.link_type, frame.data, frame.wire_len, frame.ts_ns)
        {
            table.observe(&packet, &mut |r| records.push(r));
            table.expire(packet.ts_ns, &mut |r| records.push(r));
        }
    }
    table.drain(&mut |r| records.push(r));
    (
        decoder.counters().clone(),
        records,
        table.stats().duplicates,
    )
}

fn find<'a>(records: &'a [FlowRecord], src: &str, src_port: u16) -> &'a FlowRecord {
    records
        .iter()
        .find(|r| r.src_addr.to_string() == src && r.src_port == src_port)
        .unwrap_or_else(|| panic!("no flow from {src}:{src_port}"))
}

#[test]
fn aws_mirror_flows() {
    let Some(path) = shared_capture("aws-tm-vxlan-ssh-dns-ntp.pcap") else {
        return;
    };
    let (counters, records, duplicates) = replay(&path);
    assert_eq!(counters.frames, 100);
    assert_eq!(counters.decoded, 100);
    assert_eq!(counters.truncated, 0);
    assert_eq!(duplicates, 0);
    assert!(records.iter().all(|r| r.vni == 5_569_041));

    let count = |protocol: u8, port: u16| {
        records
            .iter()
            .filter(|r| r.protocol == protocol && r.dst_port == port)
            .count()
    };
    assert_eq!(count(6, 22), 4);
    assert_eq!(count(17, 53), 8);
    assert_eq!(count(17, 123), 1);
    assert_eq!(records.len(), 13);

    // Expected counts from `tcpdump -r aws-tm-vxlan-ssh-dns-ntp.pcap -nn -v`: the inner
    // IP header line of each packet gives its length, summed per 5-tuple and direction
    // (src = sender of the first packet). Rows: src, src port, packets and bytes from
    // src, packets and bytes to src.
    let expected: [(&str, u16, u64, u64, u64, u64); 13] = [
        ("172.31.0.238", 60631, 1, 76, 1, 76),
        ("18.196.145.224", 37180, 13, 2285, 10, 2313),
        ("18.196.145.224", 37182, 11, 2181, 10, 2313),
        ("18.196.145.224", 37184, 11, 2181, 10, 2313),
        ("18.196.145.224", 37186, 9, 2077, 8, 2125),
        ("172.31.0.238", 47227, 1, 73, 1, 140),
        ("172.31.0.238", 51074, 1, 99, 1, 115),
        ("172.31.0.238", 36901, 1, 73, 1, 140),
        ("172.31.0.238", 55772, 1, 99, 1, 115),
        ("172.31.0.238", 51021, 1, 73, 1, 140),
        ("172.31.0.238", 46556, 1, 99, 1, 115),
        ("172.31.0.238", 48881, 1, 73, 1, 140),
        ("172.31.0.238", 38699, 1, 99, 1, 115),
    ];
    for (src, port, out_packets, out_bytes, back_packets, back_bytes) in expected {
        let r = find(&records, src, port);
        assert_eq!(
            r.src_to_dst.packets, out_packets,
            "{src}:{port} packets out"
        );
        assert_eq!(r.src_to_dst.bytes, out_bytes, "{src}:{port} bytes out");
        assert_eq!(
            r.dst_to_src.packets, back_packets,
            "{src}:{port} packets back"
        );
        assert_eq!(r.dst_to_src.bytes, back_bytes, "{src}:{port} bytes back");
    }
}

#[test]
fn vxlan_reserved_bits_decode() {
    let Some(path) = shared_capture("vxlan-reserved-bits-set-http.pcap") else {
        return;
    };
    let (counters, records, _) = replay(&path);
    assert_eq!(counters.frames, 10);
    assert_eq!(counters.decoded, 10);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].vni, 11);
    assert_eq!(records[0].dst_port, 80);
}

#[test]
fn vxlan_jumbo_http() {
    let Some(path) = shared_capture("vxlan-http-get.pcap") else {
        return;
    };
    let mut reader = PcapReader::open(&path).expect("capture opens");
    let mut largest = 0;
    while let Some(frame) = reader.next_frame().expect("capture reads") {
        largest = largest.max(frame.data.len());
    }
    assert_eq!(largest, 9100);

    let (counters, records, _) = replay(&path);
    assert_eq!(counters.frames, 12);
    assert_eq!(counters.decoded, 12);
    assert_eq!(counters.truncated, 0);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.vni, 1);
    assert_eq!(r.dst_addr.to_string(), "54.86.237.188");
    assert_eq!(r.dst_port, 80);
    // From `tcpdump -r vxlan-http-get.pcap -nn -v`: inner IP lengths summed per
    // direction. The server's 9036-byte packet is the 9100-byte frame (outer headers
    // 50 bytes, inner Ethernet 14).
    assert_eq!(r.src_to_dst.packets, 7);
    assert_eq!(r.src_to_dst.bytes, 459);
    assert_eq!(r.dst_to_src.packets, 5);
    assert_eq!(r.dst_to_src.bytes, 9480);
}

#[test]
fn geneve_vxlan_truncated_dns() {
    let Some(path) = shared_capture("geneve-ipv4-vxlan-dns-snaplen-truncated.pcap") else {
        return;
    };
    let (counters, records, _) = replay(&path);
    assert_eq!(counters.frames, 2);
    assert_eq!(counters.decoded, 2);
    assert_eq!(counters.truncated, 2);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.vni, 4242);
    assert_eq!(r.src_addr.to_string(), "172.16.11.201");
    assert_eq!((r.src_port, r.dst_port), (36872, 53));
    assert_eq!(r.src_to_dst.packets, 1);
    assert_eq!(r.dst_to_src.packets, 1);
    assert_eq!(r.src_to_dst.truncated, 1);
    assert_eq!(r.dst_to_src.truncated, 1);
    // The query's IP length (82) comes from its header, not from the 176 captured bytes.
    assert_eq!(r.src_to_dst.bytes, 82);
}

#[test]
fn geneve_unknown_option_class() {
    let Some(path) = shared_capture("geneve-ipv4-3tlv-gcp-tcp.pcap") else {
        return;
    };
    let (counters, records, _) = replay(&path);
    assert_eq!(counters.decoded, 1);
    let r = &records[0];
    assert_eq!(r.vni, 0);
    assert_eq!(r.protocol, 6);
    assert_eq!(r.src_addr.to_string(), "192.168.100.2");
    assert_eq!((r.src_port, r.dst_port), (2905, 8080));
    assert_eq!(r.src_to_dst.tcp_flags, 0);
}

#[test]
fn vxlan_gso_superpacket() {
    let Some(path) = shared_capture("vxlan-gso-7092B-tcp-partial-csum.pcap") else {
        return;
    };
    let (counters, records, _) = replay(&path);
    assert_eq!(counters.decoded, 1);
    assert_eq!(counters.truncated, 0);
    let r = &records[0];
    assert_eq!(r.vni, 5001);
    // 6990 bytes of payload, 20 IP, 32 TCP with timestamps.
    assert_eq!(r.src_to_dst.bytes, 7042);
    assert_eq!(r.src_to_dst.payload_bytes, 6990);
}
