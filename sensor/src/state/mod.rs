//! Model state snapshots: a versioned, checksummed file format, atomic saves, checked
//! loads that move rejected files aside, and a periodic snapshotter for the model thread.

mod error;
mod format;
mod snapshotter;
mod store;

#[cfg(test)]
mod tests;

pub use error::{SnapshotError, SnapshotProblem};
pub use format::{FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use snapshotter::Snapshotter;
pub use store::SnapshotStore;
