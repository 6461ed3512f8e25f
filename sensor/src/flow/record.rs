//! Flow records: what a flow did between two reports, as written to JSON lines. The
//! schema is documented in docs/flow-records.md; change both together and bump
//! [`SCHEMA_VERSION`] when a field changes meaning or goes away.

use serde::Serialize;
use std::net::IpAddr;

use super::time::Rfc3339;
use crate::app::meta::{DnsMeta, HttpMeta, TlsMeta};

/// Version of the flow record schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Reason a record was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// No packet for the idle timeout; the flow ended.
    Idle,
    /// The active timeout passed; the flow continues and later records follow.
    Active,
    /// TCP FIN in both directions, or RST, then the linger time; the flow ended.
    TcpEnd,
    /// The table was full and this flow was idle for longest; the flow ended.
    Evicted,
    /// The sensor stopped (or the replay reached the end of its input).
    Shutdown,
}

/// Counters of one direction of a flow within one record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirectionCounters {
    pub packets: u64,
    /// Sum of inner IP lengths (IPv4 total length, IPv6 payload length + 40).
    pub bytes: u64,
    /// Sum of transport payload lengths.
    pub payload_bytes: u64,
    /// Time of the first packet, RFC 3339 UTC with nanoseconds; absent without packets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<Rfc3339>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Rfc3339>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ns: Option<u64>,
    /// OR of the TCP flags of all packets (0 for other protocols).
    pub tcp_flags: u8,
    /// Packets with missing bytes (cut by the mirror session or the capture).
    pub truncated: u64,
    /// Second copies of packets (mirrored at both ends); not in `packets` or `bytes`.
    pub duplicates: u64,
}

impl DirectionCounters {
    pub(crate) fn with_times(mut self, first_ns: u64, last_ns: u64) -> Self {
        if self.packets > 0 {
            self.first = Some(Rfc3339(first_ns));
            self.first_ns = Some(first_ns);
            self.last = Some(Rfc3339(last_ns));
            self.last_ns = Some(last_ns);
        }
        self
    }
}

/// One flow record. `src` is the initiator: the sender of the first packet seen, or of
/// the SYN when the first packet seen was a SYN-ACK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowRecord {
    pub schema_version: u32,
    pub reason: EndReason,
    /// VXLAN or GENEVE network identifier (0 for decapsulated input).
    pub vni: u32,
    /// IP protocol number.
    pub protocol: u8,
    pub src_addr: IpAddr,
    pub dst_addr: IpAddr,
    /// Ports for TCP, UDP, SCTP and UDP-Lite; 0 otherwise.
    pub src_port: u16,
    pub dst_port: u16,
    /// ICMP or ICMPv6 type (of the request, for query messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP or ICMPv6 query identifier (0 for error messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_id: Option<u16>,
    /// Start and end of this record: its first and last packet, RFC 3339 UTC.
    pub start: Rfc3339,
    pub start_ns: u64,
    pub end: Rfc3339,
    pub end_ns: u64,
    /// Time of the flow's first packet (earlier than `start` after an active record).
    pub flow_start: Rfc3339,
    pub flow_start_ns: u64,
    /// 0 for the first record of a flow, then 1, 2, … for each later record.
    pub sequence: u32,
    /// TCP state at the end of the record; absent for other protocols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_state: Option<&'static str>,
    /// From `src` to `dst`.
    pub src_to_dst: DirectionCounters,
    /// From `dst` to `src`.
    pub dst_to_src: DirectionCounters,
    /// A name of `dst_addr` that `src_addr` itself resolved shortly before
    /// (passive DNS from the initiator's own lookups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_name: Option<String>,
    /// DNS query and answer, when the flow carried DNS (UDP or TCP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsMeta>,
    /// The first HTTP/1.x request of the flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpMeta>,
    /// The TLS (or QUIC) ClientHello of the flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsMeta>,
}
