//! Errors of the alert sinks.

use std::io;
use std::path::PathBuf;

/// An error of an alert sink.
#[derive(Debug, thiserror::Error)]
pub enum AlertSinkError {
    #[error("failed to open alert output {path}: {source}")]
    Open { path: PathBuf, source: io::Error },

    #[error("failed to write an alert to {path}: {source}")]
    Write { path: PathBuf, source: io::Error },

    #[error("failed to encode an alert as JSON: {0}")]
    Encode(serde_json::Error),

    /// The URL itself is left out because its path or query may hold a token.
    #[error("invalid alert webhook URL: {0}")]
    InvalidUrl(String),

    #[error("invalid alert webhook setting: {0}")]
    InvalidConfig(String),

    #[error("failed to start the alert webhook thread: {0}")]
    Spawn(io::Error),
}
