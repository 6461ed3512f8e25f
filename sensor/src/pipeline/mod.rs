//! The data path between frame sources and outputs: worker threads, the
//! rings between them, packet time, and the flow shards (DESIGN.md §4).

mod alert_failures;
pub mod analysis;
pub mod clock;
pub mod enrich;
pub mod item_queue;
pub mod live;
pub mod outbox;
pub mod replay;
pub mod shard;
pub mod stats;
pub mod steer;
pub mod time_guard;
pub mod worker;
pub mod writer;
