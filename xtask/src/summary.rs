//! The demo's summary: flow totals by protocol from the sensor's flow file (JSON lines)
//! and the data-path counters from its Prometheus metrics page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Flows, packets and bytes of one protocol.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolTotals {
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
}

/// Flow-file totals by protocol name, plus the count of lines that are not JSON objects.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FlowSummary {
    pub by_protocol: BTreeMap<String, ProtocolTotals>,
    pub invalid_lines: u64,
}

/// Sums a flow file (the sensor's flow records, schema version 1) by protocol.
///
/// Packets and bytes add up over both directions (`src_to_dst`, `dst_to_src`) of every
/// record. A flow that outlives the active timeout has several records, so only its
/// first (`sequence` 0) counts as a flow.
pub fn summarize_flows(jsonl: &str) -> FlowSummary {
    let mut summary = FlowSummary::default();
    for line in jsonl.lines().filter(|line| !line.trim().is_empty()) {
        let Ok(record @ Value::Object(_)) = serde_json::from_str::<Value>(line) else {
            summary.invalid_lines += 1;
            continue;
        };
        let totals = summary
            .by_protocol
            .entry(protocol_name(&record))
            .or_default();
        if record.get("sequence").and_then(Value::as_u64).unwrap_or(0) == 0 {
            totals.flows += 1;
        }
        for direction in ["src_to_dst", "dst_to_src"] {
            let counter = |name: &str| record.get(direction)?.get(name)?.as_u64();
            totals.packets += counter("packets").unwrap_or(0);
            totals.bytes += counter("bytes").unwrap_or(0);
        }
    }
    summary
}

/// Names the IP protocol number in the record's `protocol` field.
fn protocol_name(record: &Value) -> String {
    match record.get("protocol").and_then(Value::as_u64) {
        Some(1) => "icmp".to_string(),
        Some(6) => "tcp".to_string(),
        Some(17) => "udp".to_string(),
        Some(58) => "icmpv6".to_string(),
        Some(number) => format!("ip-proto-{number}"),
        None => "unknown".to_string(),
    }
}

/// One Prometheus text-format sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    /// The label set as written, braces included, or empty.
    pub labels: String,
    pub value: f64,
}

/// Parses the sample lines of a Prometheus text-format page; comments and lines that do
/// not parse are skipped.
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_sample).collect()
}

fn parse_sample(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (series, rest) = match line.find('}') {
        Some(end) => (line.get(..=end)?, line.get(end + 1..)?),
        None => line.split_once(' ')?,
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    let (name, labels) = match series.find('{') {
        Some(start) => (series.get(..start)?, series.get(start..)?),
        None => (series, ""),
    };
    Some(Sample {
        name: name.to_string(),
        labels: labels.to_string(),
        value,
    })
}

/// The metrics the demo prints, in this order: what XDP saw, what each queue took,
/// what was dropped on the way, and what the decoder made of it.
pub const SUMMARY_METRICS: &[&str] = &[
    "sensor_xdp_frames_total",
    "sensor_queue_frames_total",
    "sensor_xsk_dropped_frames_total",
    "sensor_xsk_invalid_descriptors_total",
    "sensor_steer_ring_full_total",
    "sensor_decap_decoded_frames_total",
    "sensor_decap_truncated_frames_total",
    "sensor_decap_rejected_frames_total",
    "sensor_flow_records_written_total",
];

/// Renders the demo summary as text. Each metric gets its total over all label sets,
/// followed by the label sets whose value is not zero.
pub fn render(flows: &FlowSummary, samples: &[Sample]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flows by protocol:");
    if flows.by_protocol.is_empty() {
        let _ = writeln!(out, "  (no flow records)");
    }
    for (protocol, totals) in &flows.by_protocol {
        let _ = writeln!(
            out,
            "  {protocol:<8} {:>6} flows {:>9} packets {:>12} bytes",
            totals.flows, totals.packets, totals.bytes
        );
    }
    if flows.invalid_lines > 0 {
        let _ = writeln!(
            out,
            "  ({} lines were not JSON objects)",
            flows.invalid_lines
        );
    }

    let _ = writeln!(out, "sensor metrics:");
    for name in SUMMARY_METRICS {
        let matching: Vec<&Sample> = samples
            .iter()
            .filter(|sample| sample.name == *name)
            .collect();
        if matching.is_empty() {
            let _ = writeln!(out, "  {name} (not exported)");
            continue;
        }
        let total: f64 = matching.iter().map(|sample| sample.value).sum();
        let _ = writeln!(out, "  {name} {total}");
        for sample in matching
            .iter()
            .filter(|sample| !sample.labels.is_empty() && sample.value != 0.0)
        {
            let _ = writeln!(out, "    {} {}", sample.labels, sample.value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_sum_both_directions() {
        let jsonl = r#"{"protocol":6,"sequence":0,"src_to_dst":{"packets":3,"bytes":300},"dst_to_src":{"packets":2,"bytes":100}}
{"protocol":6,"sequence":0,"src_to_dst":{"packets":1,"bytes":60},"dst_to_src":{"packets":0,"bytes":0}}
{"protocol":17,"sequence":0,"src_to_dst":{"packets":1,"bytes":70},"dst_to_src":{"packets":1,"bytes":90}}"#;
        let summary = summarize_flows(jsonl);
        let tcp = summary.by_protocol["tcp"];
        assert_eq!(
            tcp,
            ProtocolTotals {
                flows: 2,
                packets: 6,
                bytes: 460
            }
        );
        assert_eq!(summary.by_protocol["udp"].bytes, 160);
    }

    #[test]
    fn flows_later_records_not_counted() {
        let jsonl = r#"{"protocol":6,"sequence":0,"src_to_dst":{"packets":5,"bytes":500}}
{"protocol":6,"sequence":1,"src_to_dst":{"packets":4,"bytes":400}}"#;
        let tcp = summarize_flows(jsonl).by_protocol["tcp"];
        assert_eq!(tcp.flows, 1);
        assert_eq!(tcp.packets, 9);
    }

    #[test]
    fn flows_protocol_number_names() {
        let cases = [
            (1, "icmp"),
            (6, "tcp"),
            (17, "udp"),
            (58, "icmpv6"),
            (47, "ip-proto-47"),
        ];
        for (number, name) in cases {
            let jsonl = format!(r#"{{"protocol":{number}}}"#);
            let summary = summarize_flows(&jsonl);
            assert!(summary.by_protocol.contains_key(name), "protocol {number}");
        }
    }

    #[test]
    fn flows_invalid_lines_counted() {
        let summary = summarize_flows("not json\n[1]\n\n{\"protocol\":17}\n");
        assert_eq!(summary.invalid_lines, 2);
        assert_eq!(summary.by_protocol["udp"].flows, 1);
    }

    #[test]
    fn metrics_sample_cases() {
        let cases = [
            (
                "sensor_xdp_frames_total{verdict=\"redirect\"} 42",
                Some(("sensor_xdp_frames_total", "{verdict=\"redirect\"}", 42.0)),
            ),
            ("sensor_up 1", Some(("sensor_up", "", 1.0))),
            (
                "sensor_x{a=\"b c\"} 3 1700000000000",
                Some(("sensor_x", "{a=\"b c\"}", 3.0)),
            ),
            ("# TYPE sensor_up gauge", None),
            ("sensor_bad{a=\"b\"}", None),
            ("", None),
        ];
        for (line, expected) in cases {
            let parsed = parse_sample(line);
            let parsed = parsed
                .as_ref()
                .map(|s| (s.name.as_str(), s.labels.as_str(), s.value));
            assert_eq!(parsed, expected, "line {line:?}");
        }
    }

    #[test]
    fn render_totals_and_nonzero_labels() {
        let samples = parse_metrics(
            "sensor_xdp_frames_total{verdict=\"redirected\"} 40\n\
             sensor_xdp_frames_total{verdict=\"passed_not_mirror\"} 2\n\
             sensor_xdp_frames_total{verdict=\"dropped_no_socket\"} 0\n",
        );
        let text = render(&FlowSummary::default(), &samples);
        assert!(text.contains("  sensor_xdp_frames_total 42\n"), "{text}");
        assert!(text.contains("{verdict=\"redirected\"} 40"), "{text}");
        assert!(!text.contains("dropped_no_socket"), "{text}");
    }

    #[test]
    fn render_mentions_missing_data() {
        let text = render(&FlowSummary::default(), &[]);
        assert!(text.contains("no flow records"), "{text}");
        assert!(
            text.contains("sensor_queue_frames_total (not exported)"),
            "{text}"
        );
    }
}
