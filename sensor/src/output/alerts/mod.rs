//! Alert sinks: JSON lines to a file or stdout, and an HTTP webhook with a bounded
//! queue and retries. Sinks take any `Serialize` alert, so they do not depend on the
//! model's alert type.

mod counters;
mod error;
mod fan_out;
mod json_lines;
mod webhook;

#[cfg(test)]
mod tests;

pub use counters::{SinkCounters, SinkCounts};
pub use error::AlertSinkError;
pub use fan_out::{AlertSink, AlertSinks};
pub use json_lines::JsonLinesSink;
pub use webhook::{WebhookConfig, WebhookSink};
