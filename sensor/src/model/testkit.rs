//! Test helpers: a builder of flow records and a harness that feeds them to a model
//! and collects its alerts. Times are seconds after [`BASE_SECS`], a Monday 00:00 UTC.

use std::net::IpAddr;

use super::alert::Alert;
use super::config::ModelConfig;
use super::detector::Detector;
use super::engine::Model;
use crate::app::meta::DnsMeta;
use crate::flow::{DirectionCounters, EndReason, FlowRecord, Rfc3339};

/// 2026-01-05T00:00:00Z, a Monday.
pub const BASE_SECS: u64 = 1_767_571_200;

/// The default learning period, in seconds.
pub const LEARNING_SECS: u64 = 24 * 3600;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// A flow record under construction. By default: an answered TCP connection of one
/// second, 1000 bytes out and 2000 bytes in, closed with FIN, VNI 7.
#[derive(Clone, Debug)]
pub struct Flow {
    record: FlowRecord,
    duration_ns: u64,
}

impl Flow {
    pub fn tcp(src: [u8; 4], dst: [u8; 4], dst_port: u16) -> Flow {
        Flow::new(6, IpAddr::from(src), IpAddr::from(dst), dst_port)
    }

    pub fn udp(src: [u8; 4], dst: [u8; 4], dst_port: u16) -> Flow {
        Flow::new(17, IpAddr::from(src), IpAddr::from(dst), dst_port)
    }

    pub fn icmp_echo(src: [u8; 4], dst: [u8; 4]) -> Flow {
        let mut flow = Flow::new(1, IpAddr::from(src), IpAddr::from(dst), 0);
        flow.record.src_port = 0;
        flow.record.icmp_type = Some(8);
        flow.record.icmp_id = Some(1);
        flow.record.tcp_state = None;
        flow.record.src_to_dst.tcp_flags = 0;
        flow.record.dst_to_src.tcp_flags = 0;
        flow
    }

    /// A DNS lookup over UDP from `src` to the resolver `dst`: an A query for `name`,
    /// answered NOERROR with no answers, one packet of 80 bytes each way.
    pub fn dns(src: [u8; 4], dst: [u8; 4], name: &str) -> Flow {
        let mut flow = Flow::udp(src, dst, 53).bytes(80, 80);
        flow.record.src_to_dst.packets = 1;
        flow.record.dst_to_src.packets = 1;
        flow.record.dns = Some(DnsMeta {
            id: 1,
            query: Some(name.to_owned()),
            qtype: Some(1),
            rcode: Some(0),
            ..Default::default()
        });
        flow.duration_ns = 20_000_000;
        flow
    }

    /// Sets the DNS query type (16 TXT, 10 NULL).
    pub fn qtype(mut self, qtype: u16) -> Flow {
        if let Some(dns) = self.record.dns.as_mut() {
            dns.qtype = Some(qtype);
        }
        self
    }

    /// Sets the DNS response code (3 NXDOMAIN).
    pub fn rcode(mut self, rcode: u8) -> Flow {
        if let Some(dns) = self.record.dns.as_mut() {
            dns.rcode = Some(rcode);
        }
        self
    }

    /// Adds an address answer with a TTL in seconds.
    pub fn answer(mut self, addr: [u8; 4], ttl: u32) -> Flow {
        if let Some(dns) = self.record.dns.as_mut() {
            dns.answers.push(IpAddr::from(addr).to_string());
            dns.min_ttl = Some(dns.min_ttl.map_or(ttl, |min| min.min(ttl)));
        }
        self
    }

    fn new(protocol: u8, src: IpAddr, dst: IpAddr, dst_port: u16) -> Flow {
        let tcp = protocol == 6;
        let flags = if tcp { SYN | ACK | PSH | FIN } else { 0 };
        let counters = |packets, bytes, tcp_flags| DirectionCounters {
            packets,
            bytes,
            payload_bytes: bytes,
            tcp_flags,
            ..Default::default()
        };
        Flow {
            record: FlowRecord {
                reason: if tcp {
                    EndReason::TcpEnd
                } else {
                    EndReason::Idle
                },
                vni: 7,
                protocol,
                src_addr: src,
                dst_addr: dst,
                src_port: 40_000,
                dst_port,
                tcp_state: tcp.then_some("closed"),
                src_to_dst: counters(10, 1000, flags),
                dst_to_src: counters(10, 2000, flags),
                ..crate::flow::testing::record()
            },
            duration_ns: 1_000_000_000,
        }
    }

    /// The responder refused the connection: SYN answered by RST.
    pub fn refused(mut self) -> Flow {
        self.record.reason = EndReason::TcpEnd;
        self.record.tcp_state = Some("reset");
        self.record.src_to_dst = DirectionCounters {
            packets: 1,
            bytes: 60,
            tcp_flags: SYN,
            ..Default::default()
        };
        self.record.dst_to_src = DirectionCounters {
            packets: 1,
            bytes: 40,
            tcp_flags: RST | ACK,
            ..Default::default()
        };
        self.duration_ns = 1_000_000;
        self
    }

    /// Nothing answered: a lone SYN (or request) that timed out.
    pub fn unanswered(mut self) -> Flow {
        self.record.reason = EndReason::Idle;
        if self.record.protocol == 6 {
            self.record.tcp_state = Some("syn_sent");
        }
        let flags = if self.record.protocol == 6 { SYN } else { 0 };
        self.record.src_to_dst = DirectionCounters {
            packets: 1,
            bytes: 60,
            tcp_flags: flags,
            ..Default::default()
        };
        self.record.dst_to_src = DirectionCounters::default();
        self.duration_ns = 0;
        self
    }

    /// Bytes sent by the source (`out`) and by the destination (`in`).
    pub fn bytes(mut self, out: u64, back: u64) -> Flow {
        self.record.src_to_dst.bytes = out;
        self.record.dst_to_src.bytes = back;
        self
    }

    pub fn lasting_secs(mut self, secs: u64) -> Flow {
        self.duration_ns = secs * 1_000_000_000;
        self
    }

    pub fn src_port(mut self, port: u16) -> Flow {
        self.record.src_port = port;
        self
    }

    pub fn vni(mut self, vni: u32) -> Flow {
        self.record.vni = vni;
        self
    }

    /// Makes the record an interim one (active timeout) with this sequence number.
    pub fn interim(mut self, sequence: u32) -> Flow {
        self.record.reason = EndReason::Active;
        self.record.sequence = sequence;
        self
    }

    /// Sets the flow start to `secs` after [`BASE_SECS`] and builds the record.
    pub fn at_secs(self, secs: u64) -> FlowRecord {
        self.at_ns((BASE_SECS + secs) * 1_000_000_000)
    }

    pub fn at_ns(mut self, start_ns: u64) -> FlowRecord {
        let end_ns = start_ns + self.duration_ns;
        let record = &mut self.record;
        record.start_ns = start_ns;
        record.flow_start_ns = start_ns;
        record.end_ns = end_ns;
        record.start = Rfc3339(start_ns);
        record.flow_start = record.start;
        record.end = Rfc3339(end_ns);
        self.record
    }
}

/// A model and the alerts it raised.
pub struct Harness {
    pub model: Model,
    pub alerts: Vec<Alert>,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(ModelConfig::default())
    }

    pub fn with_config(config: ModelConfig) -> Harness {
        Harness {
            model: Model::new(config),
            alerts: Vec::new(),
        }
    }

    pub fn observe(&mut self, record: FlowRecord) {
        let alerts = &mut self.alerts;
        self.model.observe(&record, &mut |alert| alerts.push(alert));
    }

    pub fn tick_secs(&mut self, secs: u64) {
        let alerts = &mut self.alerts;
        self.model
            .tick((BASE_SECS + secs) * 1_000_000_000, &mut |alert| {
                alerts.push(alert)
            });
    }

    pub fn alerts_of(&self, detector: Detector) -> Vec<&Alert> {
        self.alerts
            .iter()
            .filter(|a| a.detector == detector)
            .collect()
    }
}
