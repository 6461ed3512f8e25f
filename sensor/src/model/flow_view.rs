//! How the model reads one flow record: whether it opens a connection, whether the
//! connection was answered, and each monitored end's view of it (role, peer, service
//! port, bytes sent and received).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::flow::{EndReason, FlowRecord};

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// Whether the responder answered the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// TCP SYN-ACK seen, or any answer for UDP and ICMP.
    Answered,
    /// TCP SYN without SYN-ACK (refused with RST or unanswered), or no answer at all.
    Failed,
    /// The handshake was not seen (capture started mid-flow).
    Unknown,
}

/// The role of a device in a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The device initiated the flow.
    Client,
    /// The device accepted the flow.
    Server,
}

/// A flow record with the facts the detectors use.
#[derive(Clone, Copy, Debug)]
pub struct FlowView<'a> {
    pub record: &'a FlowRecord,
    /// First record of the flow (sequence 0): a new connection.
    pub opens: bool,
    /// The flow ended with this record.
    pub ended: bool,
    pub outcome: Outcome,
    /// From the flow's first packet to this record's last, ns.
    pub duration_ns: u64,
    /// Server port, or the ICMP type for ICMP (0 for other protocols).
    pub service_port: u16,
}

impl<'a> FlowView<'a> {
    pub fn new(record: &'a FlowRecord) -> Self {
        let service_port = match record.protocol {
            ICMP | ICMPV6 => u16::from(record.icmp_type.unwrap_or(0)),
            _ => record.dst_port,
        };
        FlowView {
            record,
            opens: record.sequence == 0,
            ended: record.reason != EndReason::Active,
            outcome: outcome(record),
            duration_ns: record.end_ns.saturating_sub(record.flow_start_ns),
            service_port,
        }
    }

    /// Whether ports identify a service: TCP or UDP.
    pub fn has_ports(&self) -> bool {
        matches!(self.record.protocol, TCP | UDP)
    }

    /// Whether the initiator is known: TCP with the handshake seen, or any other protocol.
    pub fn initiator_known(&self) -> bool {
        self.record.protocol != TCP || self.outcome != Outcome::Unknown
    }

    /// Returns the view of the source end (`source` true) or of the destination end.
    pub fn side(&self, source: bool) -> Side {
        let r = self.record;
        if source {
            Side {
                device: r.src_addr,
                peer: r.dst_addr,
                role: Role::Client,
                bytes_out: r.src_to_dst.bytes,
                bytes_in: r.dst_to_src.bytes,
            }
        } else {
            Side {
                device: r.dst_addr,
                peer: r.src_addr,
                role: Role::Server,
                bytes_out: r.dst_to_src.bytes,
                bytes_in: r.src_to_dst.bytes,
            }
        }
    }
}

/// One monitored end of a flow.
#[derive(Clone, Copy, Debug)]
pub struct Side {
    pub device: IpAddr,
    pub peer: IpAddr,
    pub role: Role,
    /// Bytes the device sent in this record.
    pub bytes_out: u64,
    /// Bytes the device received in this record.
    pub bytes_in: u64,
}

fn outcome(record: &FlowRecord) -> Outcome {
    let reply = &record.dst_to_src;
    if record.protocol != TCP {
        return if reply.packets > 0 {
            Outcome::Answered
        } else {
            Outcome::Failed
        };
    }
    if record.src_to_dst.tcp_flags & SYN == 0 {
        return Outcome::Unknown;
    }
    if reply.tcp_flags & (SYN | ACK) == SYN | ACK {
        Outcome::Answered
    } else {
        Outcome::Failed
    }
}

/// Whether `addr` is a multicast, broadcast or unspecified address, which no scan,
/// edge or endpoint statistic should count.
pub fn is_group_or_unspecified(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_multicast() || v6.is_unspecified(),
    }
}
