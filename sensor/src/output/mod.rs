//! Flow record sinks.

pub mod alerts;
mod json_lines;
mod record_json;

pub use json_lines::FlowWriter;
