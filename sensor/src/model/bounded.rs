//! Eviction of the least recently seen entries of a bounded map, in batches, so the
//! cost of finding them is spread over many inserts. Entries seen at the same time
//! are evicted in key order. The map's iteration order depends on the hasher's
//! random seed, so evicting in that order would make the same input evict other
//! entries, and raise other alerts, from run to run.

use crate::hash::HashMap;
use std::hash::Hash;

/// Removes the least recently seen entries until at most `keep` remain, and returns the
/// removed keys. `last_seen` gives an entry's packet time.
pub fn evict_oldest<K, V>(
    map: &mut HashMap<K, V>,
    keep: usize,
    last_seen: impl Fn(&V) -> u64,
) -> Vec<K>
where
    K: Eq + Hash + Ord + Clone,
{
    let removed = oldest_keys(map, map.len().saturating_sub(keep), last_seen);
    for key in &removed {
        map.remove(key);
    }
    removed
}

/// Returns the keys of the `count` least recently seen entries, oldest first, leaving
/// the map as it is. Of entries seen at the same time, the smaller key counts as older.
pub fn oldest_keys<K, V>(map: &HashMap<K, V>, count: usize, last_seen: impl Fn(&V) -> u64) -> Vec<K>
where
    K: Eq + Hash + Ord + Clone,
{
    if count == 0 {
        return Vec::new();
    }
    let mut ages: Vec<(u64, K)> = map.iter().map(|(k, v)| (last_seen(v), k.clone())).collect();
    if count < ages.len() {
        ages.select_nth_unstable(count - 1);
        ages.truncate(count);
    }
    ages.sort_unstable();
    ages.into_iter().map(|(_, key)| key).collect()
}

/// Makes room for one insert into a map bounded at `max`: when full, evicts the oldest
/// eighth (at least one entry). Returns the removed keys.
pub fn make_room<K, V>(map: &mut HashMap<K, V>, max: usize, last_seen: impl Fn(&V) -> u64) -> Vec<K>
where
    K: Eq + Hash + Ord + Clone,
{
    if map.len() < max.max(1) {
        return Vec::new();
    }
    let keep = max.max(1) - (max / 8).max(1);
    evict_oldest(map, keep, last_seen)
}

/// Makes room for inserting `key` into a map bounded at `max`: when the map is full and
/// lacks the key, evicts as [`make_room`] does. Returns the removed keys. The key is
/// looked up only when the map is full, which saves a lookup per insert or update.
#[inline]
pub fn make_room_for<K, V>(
    map: &mut HashMap<K, V>,
    key: &K,
    max: usize,
    last_seen: impl Fn(&V) -> u64,
) -> Vec<K>
where
    K: Eq + Hash + Ord + Clone,
{
    if map.len() < max.max(1) || map.contains_key(key) {
        return Vec::new();
    }
    make_room(map, max, last_seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evict_oldest_keeps_newest() {
        let mut map: HashMap<u32, u64> = (0..10).map(|i| (i, u64::from(i) * 10)).collect();
        let removed = evict_oldest(&mut map, 7, |v| *v);
        let mut removed_sorted = removed.clone();
        removed_sorted.sort();
        assert_eq!(removed_sorted, vec![0, 1, 2]);
        assert_eq!(map.len(), 7);
    }

    #[test]
    fn make_room_below_max_removes_nothing() {
        let mut map: HashMap<u32, u64> = (0..5).map(|i| (i, 0)).collect();
        assert!(make_room(&mut map, 6, |v| *v).is_empty());
    }

    #[test]
    fn make_room_for_known_key_removes_nothing() {
        let mut map: HashMap<u32, u64> = (0..16).map(|i| (i, u64::from(i))).collect();
        assert!(make_room_for(&mut map, &3, 16, |v| *v).is_empty());
        assert_eq!(map.len(), 16);
    }

    #[test]
    fn make_room_for_new_key_when_full() {
        let mut map: HashMap<u32, u64> = (0..16).map(|i| (i, u64::from(i))).collect();
        let mut removed = make_room_for(&mut map, &99, 16, |v| *v);
        removed.sort();
        assert_eq!(removed, vec![0, 1]);
        assert_eq!(map.len(), 14);
    }

    #[test]
    fn make_room_for_new_key_below_max() {
        let mut map: HashMap<u32, u64> = (0..5).map(|i| (i, 0)).collect();
        assert!(make_room_for(&mut map, &99, 6, |v| *v).is_empty());
    }

    #[test]
    fn make_room_when_full_removes_eighth() {
        let mut map: HashMap<u32, u64> = (0..16).map(|i| (i, u64::from(i))).collect();
        let removed = make_room(&mut map, 16, |v| *v);
        assert_eq!(removed.len(), 2);
        assert_eq!(map.len(), 14);
    }
}
