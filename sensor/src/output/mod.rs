//! Flow record sinks.

mod json_lines;

pub use json_lines::FlowWriter;
