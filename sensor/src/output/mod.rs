//! Flow record and alert sinks.

pub mod alerts;
mod file_cut;
mod json_buf;
mod json_lines;
mod json_string;
mod meta_json;
mod record_json;
mod stdout_file;
mod time_text;
mod write_advice;

pub(crate) use file_cut::cut_if_longer;
pub use json_lines::FlowWriter;
pub use stdout_file::stdout_file;
pub use write_advice::write_advice;
