//! Flow record sinks.

pub mod alerts;
mod json_buf;
mod json_lines;
mod json_string;
mod meta_json;
mod record_json;
mod time_text;

pub use json_lines::FlowWriter;
