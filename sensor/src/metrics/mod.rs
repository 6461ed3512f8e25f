//! Prometheus metrics: what the sensor counts, rendered in the text format at
//! scrape time from the workers' published counters, the XDP program's
//! per-CPU verdict map and the flow writer. Nothing here runs per packet.
//!
//! Every metric is described once, in [`catalog`]; docs/metrics.md is checked
//! against that list by a test.

pub mod catalog;
pub mod render;
pub mod server;

pub use render::{MetricsSources, QueueInfo};
