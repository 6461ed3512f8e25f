//! Flow record sinks.

pub mod alerts;
mod json_lines;

pub use json_lines::FlowWriter;
