//! The hash map of the crate: std's `HashMap` with foldhash and a per-process
//! random seed instead of SipHash. Keys on the packet and record paths come
//! from mirrored traffic, so the seed matters: it keeps a sender from crafting
//! keys that collide. foldhash costs a fraction of SipHash per lookup, and the
//! lookups of the flow table, the application parsers and the model add up to
//! a large share of the sensor's work.

/// A `HashMap` with the crate's hasher. Build it with `default()` or
/// `with_capacity_and_hasher(n, Default::default())`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::quality::RandomState>;
