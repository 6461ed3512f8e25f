//! Errors of the snapshot store: what went wrong, on which file, and where a rejected
//! file went.

use std::io;
use std::path::PathBuf;

/// The reason a snapshot file was rejected. Each rejected file is moved aside, never loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotProblem {
    #[error("bad magic bytes {found:02x?} (expected \"SNSRSTAT\"): not a sensor snapshot")]
    BadMagic { found: [u8; 8] },
    #[error("truncated: the file has {file_len} bytes, the header needs {expected_len}")]
    Truncated { file_len: u64, expected_len: u64 },
    #[error("{extra} bytes follow the payload length given in the header")]
    TrailingBytes { extra: u64 },
    #[error(
        "checksum mismatch: the header has CRC-32 {stored:#010x}, the payload has {computed:#010x}"
    )]
    ChecksumMismatch { stored: u32, computed: u32 },
    #[error(
        "format version {found} is newer than version {supported}, the newest this sensor \
         reads: it was written by a newer sensor"
    )]
    NewerVersion { found: u32, supported: u32 },
    #[error(
        "format version {found} is older than version {supported} and no migration from it \
         exists"
    )]
    OlderVersion { found: u32, supported: u32 },
    #[error("the payload does not decode as the expected state: {message}")]
    Undecodable { message: String },
    #[error("the state decodes but its owner cannot use it: {message}")]
    Unusable { message: String },
}

/// An error of [`SnapshotStore`](super::SnapshotStore).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("failed to read model snapshot {path}: {source}")]
    Read { path: PathBuf, source: io::Error },

    #[error(
        "failed to write model snapshot {path}: {source}; check that its directory exists \
         and is writable, and that the disk has space"
    )]
    Write { path: PathBuf, source: io::Error },

    #[error("failed to encode the model state for snapshot {path}: {message}")]
    Encode { path: PathBuf, message: String },

    #[error(
        "model snapshot {path} is rejected: {problem}; moved it to {moved_to}, so that the \
         next snapshot does not overwrite it"
    )]
    Rejected {
        path: PathBuf,
        problem: SnapshotProblem,
        moved_to: PathBuf,
    },

    #[error(
        "model snapshot {path} is rejected: {problem}; moving it to {target} failed: \
         {source}; move or delete it by hand before the next start"
    )]
    RejectedNotMoved {
        path: PathBuf,
        problem: SnapshotProblem,
        target: PathBuf,
        source: io::Error,
    },
}

impl SnapshotError {
    /// Returns the reason a file was rejected, or `None` for read, write and encode errors.
    pub fn problem(&self) -> Option<&SnapshotProblem> {
        match self {
            SnapshotError::Rejected { problem, .. }
            | SnapshotError::RejectedNotMoved { problem, .. } => Some(problem),
            _ => None,
        }
    }
}
