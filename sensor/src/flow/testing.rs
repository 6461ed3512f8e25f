//! A flow record for tests elsewhere in the crate: an idle-ended TCP flow from
//! 10.0.0.1:1 to 10.0.0.2:2 with no packets and no metadata. Tests change the
//! fields they need with struct update syntax, so a new record field is added
//! here once.

use super::record::{DirectionCounters, EndReason, FlowRecord, SCHEMA_VERSION};
use super::time::Rfc3339;

pub(crate) fn record() -> FlowRecord {
    FlowRecord {
        schema_version: SCHEMA_VERSION,
        reason: EndReason::Idle,
        vni: 1,
        protocol: 6,
        src_addr: [10, 0, 0, 1].into(),
        dst_addr: [10, 0, 0, 2].into(),
        src_port: 1,
        dst_port: 2,
        icmp_type: None,
        icmp_id: None,
        start: Rfc3339(0),
        start_ns: 0,
        end: Rfc3339(0),
        end_ns: 0,
        flow_start: Rfc3339(0),
        flow_start_ns: 0,
        sequence: 0,
        tcp_state: None,
        src_to_dst: DirectionCounters::default(),
        dst_to_src: DirectionCounters::default(),
        dst_name: None,
        dns: None,
        http: None,
        tls: None,
    }
}
