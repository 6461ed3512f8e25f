//! Flow table settings.

/// Size and timeouts of a flow table. All times are packet time in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowConfig {
    /// Maximum flows in the table. The table reserves memory for this many at
    /// creation: the index is resident at once, the slots are touched as flows
    /// arrive. When it is full, the flow idle for longest is ended with reason
    /// `evicted`.
    pub capacity: usize,
    /// A flow with no packet for this long ends with reason `idle`.
    pub idle_timeout_ns: u64,
    /// A flow older than this emits a record with reason `active` and continues; the
    /// next record counts only what came after. 0 disables active records.
    pub active_timeout_ns: u64,
}

/// A TCP flow that saw FIN in both directions, or RST, ends this long after its last
/// packet with reason `tcp_end`, so late ACKs and retransmissions still count.
pub const TCP_LINGER_NS: u64 = 2_000_000_000;

/// Two packets with the same fingerprint in the same direction within this window are
/// one packet mirrored twice, once from each end. The second counts only as a duplicate.
pub const DUPLICATE_WINDOW_NS: u64 = 50_000_000;

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            capacity: 1_000_000,
            idle_timeout_ns: 60_000_000_000,
            active_timeout_ns: 300_000_000_000,
        }
    }
}
