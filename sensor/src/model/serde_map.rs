//! Serde helpers that write a `HashMap` as a sequence of `[key, value]` pairs, because
//! JSON object keys must be strings and the model's keys are structs and addresses.

use crate::hash::HashMap;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};
use std::hash::Hash;

pub fn serialize<K, V, S>(map: &HashMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
where
    K: Serialize,
    V: Serialize,
    S: Serializer,
{
    serializer.collect_seq(map.iter())
}

pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<HashMap<K, V>, D::Error>
where
    K: Deserialize<'de> + Eq + Hash,
    V: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let pairs: Vec<(K, V)> = Vec::deserialize(deserializer)?;
    Ok(pairs.into_iter().collect())
}
