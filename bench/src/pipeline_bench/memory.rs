//! Memory benchmarks: heap bytes per tracked flow in the flow table, heap bytes per
//! device profile in the model, and the process's resident memory with the table full.
//! Heap bytes come from [`super::alloc`], so the binary must install its allocator.

use std::net::Ipv4Addr;

use sensor::decap::Packet;
use sensor::decap::tcp_flags::{ACK, SYN};
use sensor::flow::{Addr, FlowConfig, FlowKey, FlowRecord, FlowTable};
use sensor::model::{Model, ModelConfig};

use super::alloc;

/// Packet time of the first packet: 2024-01-01T00:00:00Z.
const START_NS: u64 = 1_704_067_200_000_000_000;
/// Flow table timeouts far beyond the run, so every flow stays in the table.
const NEVER_NS: u64 = u64::MAX / 4;

/// Heap and resident memory with `flows` flows in a table sized for them.
#[derive(Debug, Clone, Default)]
pub struct FlowMemory {
    pub flows: u64,
    /// Heap bytes of the empty table: reserved for `flows`, mostly not yet touched.
    pub empty_table_bytes: i64,
    /// Heap bytes of the table holding `flows` flows.
    pub full_table_bytes: i64,
    /// Maximum heap bytes while filling (a rehash keeps two index arrays at once).
    pub peak_bytes: i64,
    /// Process resident memory before the table was created, in KiB.
    pub rss_before_kib: u64,
    /// Process resident memory with the empty table, in KiB.
    pub rss_empty_kib: u64,
    /// Process resident memory (VmRSS) with the table full, in KiB.
    pub rss_kib: u64,
    /// Peak process resident memory (VmHWM) so far, in KiB.
    pub hwm_kib: u64,
}

/// Heap bytes of a model that learned `devices` devices with `peers` peers each.
#[derive(Debug, Clone, Default)]
pub struct DeviceMemory {
    pub devices: u64,
    pub peers_per_device: u64,
    /// Heap bytes the model retains after it took every record.
    pub model_bytes: i64,
    /// Devices the model tracks at the end (it may evict beyond its limit).
    pub tracked_devices: u64,
}

/// Fills a flow table with `flows` distinct UDP flows (one packet each) and measures it.
pub fn measure_flows(flows: u32) -> FlowMemory {
    let rss_before_kib = read_status_kib("VmRSS:").unwrap_or(0);
    let before = alloc::current_bytes();
    let mut table = FlowTable::new(FlowConfig {
        capacity: flows as usize,
        idle_timeout_ns: NEVER_NS,
        active_timeout_ns: 0,
    });
    let empty_table_bytes = alloc::current_bytes() - before;
    let rss_empty_kib = read_status_kib("VmRSS:").unwrap_or(0);
    alloc::reset_peak();

    let mut ended = 0u64;
    for index in 0..flows {
        let packet = udp_packet(index, START_NS + u64::from(index));
        table.observe(&packet, &mut |_| ended += 1);
    }
    let full_table_bytes = alloc::current_bytes() - before;
    let peak_bytes = alloc::peak_bytes() - before;
    let result = FlowMemory {
        flows: table.stats().active,
        empty_table_bytes,
        full_table_bytes,
        peak_bytes,
        rss_before_kib,
        rss_empty_kib,
        rss_kib: read_status_kib("VmRSS:").unwrap_or(0),
        hwm_kib: read_status_kib("VmHWM:").unwrap_or(0),
    };
    drop(table);
    result
}

/// Feeds a fresh model one answered TCP flow record for each of `peers` external peers
/// of each of `devices` devices, and measures the heap the model keeps.
pub fn measure_devices(devices: u32, peers: u32) -> DeviceMemory {
    let records = device_records(devices, peers);
    let before = alloc::current_bytes();
    let mut model = Model::new(ModelConfig::default());
    let mut alerts = 0u64;
    for record in &records {
        model.observe(record, &mut |_| alerts += 1);
    }
    let model_bytes = alloc::current_bytes() - before;
    let tracked_devices = model.stats().devices_tracked;
    drop(model);
    DeviceMemory {
        devices: u64::from(devices),
        peers_per_device: u64::from(peers),
        model_bytes,
        tracked_devices,
    }
}

/// Builds the records with a flow table, so they look as the sensor writes them.
fn device_records(devices: u32, peers: u32) -> Vec<FlowRecord> {
    let capacity = devices as usize * peers as usize;
    let mut table = FlowTable::new(FlowConfig {
        capacity,
        idle_timeout_ns: NEVER_NS,
        active_timeout_ns: 0,
    });
    let mut records = Vec::with_capacity(capacity);
    let mut ts_ns = START_NS;
    for device in 0..devices {
        let client = Ipv4Addr::new(10, 2, (device >> 8) as u8, device as u8);
        for peer in 0..peers {
            // Peers spread over 203.0.113.0/24, so the fleet counts many endpoints.
            let server = Ipv4Addr::new(203, 0, 113, ((device + peer * 37) % 254 + 1) as u8);
            let key = FlowKey {
                vni: 7,
                protocol: 6,
                src: Addr::v4(client.octets()),
                dst: Addr::v4(server.octets()),
                sport: 40_000 + peer as u16,
                dport: 443,
            };
            ts_ns += 1_000;
            let syn = tcp_packet(key, SYN, ts_ns);
            ts_ns += 1_000;
            let syn_ack = tcp_packet(key.reversed(), SYN | ACK, ts_ns);
            table.observe(&syn, &mut |record| records.push(record));
            table.observe(&syn_ack, &mut |record| records.push(record));
        }
    }
    table.drain(&mut |record| records.push(record));
    records
}

fn udp_packet(index: u32, ts_ns: u64) -> Packet {
    let key = FlowKey {
        vni: 7,
        protocol: 17,
        src: Addr::v4([10, (index >> 16) as u8, (index >> 8) as u8, index as u8]),
        dst: Addr::v4([198, 51, 100, 1]),
        sport: 40_000,
        dport: 4_000,
    };
    Packet {
        ts_ns,
        key,
        ip_bytes: 100,
        payload_bytes: 72,
        tcp_flags: 0,
        truncated: false,
        fingerprint: u64::from(index),
        tcp_seq: 0,
        payload_offset: 0,
        payload_len: 0,
    }
}

fn tcp_packet(key: FlowKey, flags: u8, ts_ns: u64) -> Packet {
    Packet {
        ts_ns,
        key,
        ip_bytes: 60,
        payload_bytes: 0,
        tcp_flags: flags,
        truncated: false,
        fingerprint: ts_ns,
        tcp_seq: 1,
        payload_offset: 0,
        payload_len: 0,
    }
}

/// Reads a `/proc/self/status` field given in kB, such as `VmRSS:`.
pub fn read_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
