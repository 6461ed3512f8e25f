//! The alert: a detector's finding about one device, with the flows behind it.
//! docs/alerts.md documents the JSON schema. Change both together, and bump
//! [`ALERT_SCHEMA_VERSION`] when a field changes meaning or goes away.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::detector::Detector;
use crate::flow::{FlowRecord, rfc3339_ns};

/// Version of the alert schema.
pub const ALERT_SCHEMA_VERSION: u32 = 1;

/// Maximum number of flows an alert carries.
pub const MAX_ALERT_FLOWS: usize = 10;

/// Severity, from the score: `low` < 0.6 ≤ `medium` < 0.8 ≤ `high` < 0.95 ≤ `critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, in the order of [`Severity::index`].
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Maps a score in [0, 1] to its severity.
    pub fn from_score(score: f64) -> Severity {
        if score >= 0.95 {
            Severity::Critical
        } else if score >= 0.8 {
            Severity::High
        } else if score >= 0.6 {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    /// Label, as in the `severity` field and in metric labels.
    pub fn id(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Position in [`Severity::ALL`], for per-severity counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One flow behind an alert: a summary of a flow record. `out` is from `src` (the
/// initiator) to `dst`, `in` the reverse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFlow {
    pub src_addr: IpAddr,
    pub src_port: u16,
    pub dst_addr: IpAddr,
    pub dst_port: u16,
    pub protocol: u8,
    pub start_ns: u64,
    pub end_ns: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub packets_in: u64,
}

impl AlertFlow {
    /// Summarises one flow record.
    pub fn from_record(record: &FlowRecord) -> AlertFlow {
        AlertFlow {
            src_addr: record.src_addr,
            src_port: record.src_port,
            dst_addr: record.dst_addr,
            dst_port: record.dst_port,
            protocol: record.protocol,
            start_ns: record.start_ns,
            end_ns: record.end_ns,
            bytes_out: record.src_to_dst.bytes,
            bytes_in: record.dst_to_src.bytes,
            packets_out: record.src_to_dst.packets,
            packets_in: record.dst_to_src.packets,
        }
    }
}

/// One alert, written as one JSON line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub schema_version: u32,
    /// Packet time of the evidence that completed the alert, RFC 3339 UTC with ns.
    pub time: String,
    pub time_ns: u64,
    /// The monitored device the alert is about.
    pub device: IpAddr,
    /// VXLAN or GENEVE network identifier: the device's address scope.
    pub vni: u32,
    pub detector: Detector,
    /// In [0, 1], rounded to three decimals.
    pub score: f64,
    pub severity: Severity,
    /// MITRE ATT&CK technique id, `null` where none applies.
    pub attack_technique: Option<String>,
    /// The peer (`addr` or `addr:port`, IPv6 in brackets) the alert concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The name that the device's own DNS responses gave for the endpoint's address,
    /// most recent first; absent when it resolved none that is still within its TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_name: Option<String>,
    /// One sentence with the numbers that made the behaviour unusual.
    pub explanation: String,
    /// At most [`MAX_ALERT_FLOWS`] flows behind the alert, oldest first.
    pub flows: Vec<AlertFlow>,
}

impl Alert {
    /// Builds an alert. Clamps the score to [0, 1], rounds it, derives the severity,
    /// and keeps the last [`MAX_ALERT_FLOWS`] flows.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        time_ns: u64,
        device: IpAddr,
        vni: u32,
        detector: Detector,
        score: f64,
        endpoint: Option<String>,
        explanation: String,
        mut flows: Vec<AlertFlow>,
    ) -> Alert {
        let score = if score.is_finite() {
            score.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let score = (score * 1000.0).round() / 1000.0;
        if flows.len() > MAX_ALERT_FLOWS {
            flows.drain(..flows.len() - MAX_ALERT_FLOWS);
        }
        Alert {
            schema_version: ALERT_SCHEMA_VERSION,
            time: rfc3339_ns(time_ns),
            time_ns,
            device,
            vni,
            detector,
            score,
            severity: Severity::from_score(score),
            attack_technique: detector.attack_technique().map(str::to_owned),
            endpoint,
            endpoint_name: None,
            explanation,
            flows,
        }
    }
}

/// Formats an endpoint as `addr:port`, with IPv6 addresses in brackets.
pub fn endpoint_with_port(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// Parses the address of an endpoint written by [`endpoint_with_port`] or as a bare
/// address; `None` for anything else (a domain name).
pub fn endpoint_addr(endpoint: &str) -> Option<IpAddr> {
    if let Ok(addr) = endpoint.parse() {
        return Some(addr);
    }
    if let Some(rest) = endpoint.strip_prefix('[') {
        let (v6, _port) = rest.split_once("]:")?;
        return v6.parse().ok();
    }
    let (v4, _port) = endpoint.rsplit_once(':')?;
    v4.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_boundaries() {
        let cases = [
            (0.0, Severity::Low),
            (0.599, Severity::Low),
            (0.6, Severity::Medium),
            (0.799, Severity::Medium),
            (0.8, Severity::High),
            (0.949, Severity::High),
            (0.95, Severity::Critical),
            (1.0, Severity::Critical),
        ];
        for (score, severity) in cases {
            assert_eq!(Severity::from_score(score), severity, "{score}");
        }
    }

    #[test]
    fn alert_keeps_last_flows() {
        let flow = |port| AlertFlow {
            src_addr: "10.0.0.1".parse().unwrap(),
            src_port: port,
            dst_addr: "10.0.0.2".parse().unwrap(),
            dst_port: 22,
            protocol: 6,
            start_ns: 0,
            end_ns: 0,
            bytes_out: 0,
            bytes_in: 0,
            packets_out: 0,
            packets_in: 0,
        };
        let flows = (0..15).map(flow).collect();
        let device = "10.0.0.1".parse().unwrap();
        let alert = Alert::new(
            0,
            device,
            1,
            Detector::BruteForce,
            0.5,
            None,
            String::new(),
            flows,
        );
        assert_eq!(alert.flows.len(), MAX_ALERT_FLOWS);
        assert_eq!(alert.flows[0].src_port, 5);
    }

    #[test]
    fn alert_score_clamped() {
        let device = "10.0.0.1".parse().unwrap();
        let high = Alert::new(
            0,
            device,
            1,
            Detector::Dga,
            1.7,
            None,
            String::new(),
            vec![],
        );
        let nan = Alert::new(
            0,
            device,
            1,
            Detector::Dga,
            f64::NAN,
            None,
            String::new(),
            vec![],
        );
        assert_eq!(high.score, 1.0);
        assert_eq!(nan.score, 0.0);
    }

    #[test]
    fn alert_json_fields() {
        let device = "10.0.1.5".parse().unwrap();
        let endpoint = Some(endpoint_with_port("203.0.113.9".parse().unwrap(), 443));
        let alert = Alert::new(
            1_561_647_600_000_000_000,
            device,
            7,
            Detector::VerticalScan,
            0.93456,
            endpoint,
            "x".into(),
            vec![],
        );
        let json: serde_json::Value = serde_json::to_value(&alert).unwrap();
        assert_eq!(json["detector"], "vertical_scan");
        assert_eq!(json["severity"], "high");
        assert_eq!(json["score"], 0.935);
        assert_eq!(json["attack_technique"], "T1046");
        assert_eq!(json["endpoint"], "203.0.113.9:443");
        assert_eq!(json["time"], "2019-06-27T15:00:00.000000000Z");
    }

    #[test]
    fn technique_null_when_none() {
        let device = "10.0.1.5".parse().unwrap();
        let alert = Alert::new(
            0,
            device,
            7,
            Detector::UnusualHours,
            0.7,
            None,
            "x".into(),
            vec![],
        );
        let json: serde_json::Value = serde_json::to_value(&alert).unwrap();
        assert!(json["attack_technique"].is_null());
        assert!(json.get("endpoint").is_none());
    }

    #[test]
    fn endpoint_addr_cases() {
        let cases = [
            ("203.0.113.9:443", Some("203.0.113.9")),
            ("203.0.113.9", Some("203.0.113.9")),
            ("[2001:db8::1]:443", Some("2001:db8::1")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("tunnel.example", None),
            ("[2001:db8::1", None),
            ("", None),
        ];
        for (endpoint, addr) in cases {
            let expected = addr.map(|a| a.parse::<IpAddr>().unwrap());
            assert_eq!(endpoint_addr(endpoint), expected, "{endpoint}");
        }
    }

    #[test]
    fn ipv6_endpoint_bracketed() {
        let addr = "2001:db8::1".parse().unwrap();
        assert_eq!(endpoint_with_port(addr, 443), "[2001:db8::1]:443");
    }
}
