//! Flows: the key and its canonical form, the bounded flow table with idle, active and
//! TCP-end timeouts, duplicate detection, and the records it emits.

mod config;
mod duplicates;
mod huge_pages;
pub mod key;
mod list;
mod record;
mod table;
pub(crate) mod time;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

pub use config::{DUPLICATE_WINDOW_NS, FlowConfig, TCP_LINGER_NS};
pub use key::{Addr, Direction, FlowKey};
pub use record::{DirectionCounters, EndReason, FlowRecord, SCHEMA_VERSION};
pub use table::{FlowStats, FlowTable};
pub use time::{Rfc3339, rfc3339_ns};
