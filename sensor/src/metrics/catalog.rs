//! The list of every metric the sensor exports: name, type, labels and help.
//! Rendering and docs/metrics.md both follow this list.

/// Prometheus metric type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One exported metric.
#[derive(Clone, Copy, Debug)]
pub struct MetricSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

const fn counter(
    name: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricSpec {
    MetricSpec {
        name,
        kind: Kind::Counter,
        labels,
        help,
    }
}

const fn gauge(
    name: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricSpec {
    MetricSpec {
        name,
        kind: Kind::Gauge,
        labels,
        help,
    }
}

pub const BUILD_INFO: MetricSpec = gauge(
    "sensor_build_info",
    &["version", "mode"],
    "Always 1; labels give the sensor version and whether it runs live or replays files.",
);
pub const UPTIME: MetricSpec = gauge(
    "sensor_uptime_seconds",
    &[],
    "Seconds since the sensor started.",
);
pub const XDP_FRAMES: MetricSpec = counter(
    "sensor_xdp_frames_total",
    &["verdict"],
    "Frames the XDP program saw, by verdict (summed over CPUs).",
);
pub const XSK_BIND_MODE: MetricSpec = gauge(
    "sensor_xsk_bind_mode_info",
    &["queue", "mode"],
    "Always 1; the mode label says whether the queue's AF_XDP socket is zero_copy or copy.",
);
pub const QUEUE_FRAMES: MetricSpec = counter(
    "sensor_queue_frames_total",
    &["queue"],
    "Frames taken from the queue's AF_XDP socket (in replay: read from the files, queue 0).",
);
pub const QUEUE_BYTES: MetricSpec = counter(
    "sensor_queue_bytes_total",
    &["queue"],
    "Bytes of those frames, outer headers included.",
);
pub const RING_DROPS: MetricSpec = counter(
    "sensor_xsk_dropped_frames_total",
    &["queue", "reason"],
    "Frames the kernel dropped on the way to the AF_XDP socket (XDP_STATISTICS): rx_ring_full, fill_ring_empty, other.",
);
pub const RING_INVALID: MetricSpec = counter(
    "sensor_xsk_invalid_descriptors_total",
    &["queue"],
    "RX descriptors the kernel found invalid (XDP_STATISTICS rx_invalid_descs).",
);
pub const DECAP_DECODED: MetricSpec = counter(
    "sensor_decap_decoded_frames_total",
    &[],
    "Frames decapsulated into a packet of a flow.",
);
pub const DECAP_TRUNCATED: MetricSpec = counter(
    "sensor_decap_truncated_frames_total",
    &[],
    "Decoded frames shorter than their headers claim (snap length or mirror session truncation).",
);
pub const DECAP_REJECTED: MetricSpec = counter(
    "sensor_decap_rejected_frames_total",
    &["reason"],
    "Frames the decapsulator rejected, by reason.",
);
pub const FLOWS_ACTIVE: MetricSpec =
    gauge("sensor_flows_active", &[], "Flows in the flow tables now.");
pub const FLOWS_CREATED: MetricSpec = counter("sensor_flows_created_total", &[], "Flows created.");
pub const FLOWS_EXPIRED: MetricSpec = counter(
    "sensor_flows_expired_total",
    &[],
    "Flows that ended by idle timeout, TCP end or shutdown (not eviction).",
);
pub const FLOWS_EVICTED: MetricSpec = counter(
    "sensor_flows_evicted_total",
    &[],
    "Flows ended early because the flow table was full (raise --flow-capacity).",
);
pub const DUPLICATES: MetricSpec = counter(
    "sensor_flow_duplicate_packets_total",
    &[],
    "Packets seen twice (both ends of a conversation mirrored) and counted once.",
);
pub const RECORDS_WRITTEN: MetricSpec = counter(
    "sensor_flow_records_written_total",
    &[],
    "Flow records written to the flow output.",
);
pub const RECORDS_FAILED: MetricSpec = counter(
    "sensor_flow_records_failed_total",
    &[],
    "Flow records lost because the flow output failed (disk full, closed pipe); the log names the error.",
);
pub const MODEL_DEVICES: MetricSpec =
    gauge("sensor_model_devices", &[], "Devices the model tracks now.");
pub const MODEL_DEVICES_EVICTED: MetricSpec = counter(
    "sensor_model_devices_evicted_total",
    &[],
    "Devices the model forgot because it tracked its maximum.",
);
pub const MODEL_PEERS_EVICTED: MetricSpec = counter(
    "sensor_model_peers_evicted_total",
    &[],
    "Peers a device profile forgot because it held its maximum.",
);
pub const MODEL_EVENTS: MetricSpec = counter(
    "sensor_model_events_total",
    &["outcome"],
    "Flow records offered to the model: processed, or dropped because its queue was full.",
);
pub const ALERTS: MetricSpec = counter(
    "sensor_alerts_total",
    &["detector", "severity"],
    "Alerts raised, by detector and severity.",
);
pub const SNAPSHOT_AGE: MetricSpec = gauge(
    "sensor_model_snapshot_age_seconds",
    &[],
    "Seconds since the model state was last saved to --model-state (absent when none was saved).",
);
pub const ALERT_SINK: MetricSpec = counter(
    "sensor_alert_sink_alerts_total",
    &["sink", "outcome"],
    "Alerts per sink by outcome: sent, failed, retried (an attempt repeated), dropped (queue full or shutdown).",
);
pub const APP_PARSED: MetricSpec = counter(
    "sensor_app_messages_total",
    &["protocol"],
    "Application messages parsed into flow metadata: dns, http, tls (ClientHello over TCP), quic (Initial).",
);
pub const APP_REJECTED: MetricSpec = counter(
    "sensor_app_rejected_payloads_total",
    &["protocol", "reason"],
    "Payloads on a DNS, TLS or QUIC path that their parser rejected as malformed.",
);
pub const APP_ABANDONED: MetricSpec = counter(
    "sensor_app_tls_reassembly_abandoned_total",
    &[],
    "ClientHello reassemblies given up: too large, too many gaps, or no room for another flow.",
);
pub const APP_DROPPED: MetricSpec = counter(
    "sensor_app_findings_dropped_total",
    &[],
    "Application findings lost because the queue to the flow writer was full or too many flows waited.",
);
pub const STEERED: MetricSpec = counter(
    "sensor_steered_packets_total",
    &["queue"],
    "Packets a queue's worker handed to the worker that owns their flow.",
);
pub const STEER_WAITS: MetricSpec = counter(
    "sensor_steer_ring_full_total",
    &["queue"],
    "Times a worker found the handoff ring to another worker full and waited.",
);

/// Every metric, in the order they are rendered.
pub const ALL: &[MetricSpec] = &[
    BUILD_INFO,
    UPTIME,
    XDP_FRAMES,
    XSK_BIND_MODE,
    QUEUE_FRAMES,
    QUEUE_BYTES,
    RING_DROPS,
    RING_INVALID,
    DECAP_DECODED,
    DECAP_TRUNCATED,
    DECAP_REJECTED,
    FLOWS_ACTIVE,
    FLOWS_CREATED,
    FLOWS_EXPIRED,
    FLOWS_EVICTED,
    DUPLICATES,
    RECORDS_WRITTEN,
    RECORDS_FAILED,
    MODEL_DEVICES,
    MODEL_DEVICES_EVICTED,
    MODEL_PEERS_EVICTED,
    MODEL_EVENTS,
    ALERTS,
    SNAPSHOT_AGE,
    ALERT_SINK,
    APP_PARSED,
    APP_REJECTED,
    APP_ABANDONED,
    APP_DROPPED,
    STEERED,
    STEER_WAITS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_convention() {
        for spec in ALL {
            assert!(spec.name.starts_with("sensor_"), "{}", spec.name);
            if spec.kind == Kind::Counter {
                assert!(spec.name.ends_with("_total"), "{}", spec.name);
            }
        }
    }

    #[test]
    fn docs_list_every_metric() {
        let docs = include_str!("../../../docs/metrics.md");
        for spec in ALL {
            assert!(
                docs.contains(&format!("`{}`", spec.name)),
                "docs/metrics.md lacks `{}`",
                spec.name
            );
        }
    }
}
