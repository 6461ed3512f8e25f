//! A bounded cache of [`split_name`] results and registered-domain hashes by query
//! name. Devices ask for the same names again and again, and a hit replaces the
//! Public Suffix List lookup and the SipHash of the registered domain with one
//! foldhash and one comparison of the name.

use std::hash::BuildHasher;

use super::dns_names::{SplitName, name_hash, split_name};

/// Slots of the cache the model uses: 64 KiB on 64-bit targets, plus the names.
pub const SPLIT_CACHE_SLOTS: usize = 1024;

/// The positions of the parts of a split name in the name's text, with the hash of
/// the registered domain.
#[derive(Clone, Copy, Debug)]
struct SplitOffsets {
    /// Start and end of the registered domain.
    registered: (usize, usize),
    /// Length of the registered label, which starts where the registered domain does.
    label_len: usize,
    /// Length of the subdomain, which starts at 0.
    subdomain_len: usize,
    registered_hash: u64,
}

#[derive(Debug)]
struct Slot {
    name: Box<str>,
    /// `None` for a name that [`split_name`] rejects.
    split: Option<SplitOffsets>,
}

/// Direct-mapped cache: each name has one slot, chosen by its hash, and a name that
/// maps to a taken slot replaces the one there.
#[derive(Debug)]
pub struct SplitCache {
    slots: Vec<Option<Slot>>,
    hasher: foldhash::quality::RandomState,
}

impl SplitCache {
    /// Creates a cache of `slots` slots, at least one.
    pub fn new(slots: usize) -> SplitCache {
        SplitCache {
            slots: (0..slots.max(1)).map(|_| None).collect(),
            hasher: foldhash::quality::RandomState::default(),
        }
    }

    /// Returns [`split_name`] of `name` with the [`name_hash`] of its registered domain.
    pub fn split<'a>(&mut self, name: &'a str) -> Option<(SplitName<'a>, u64)> {
        let index = (self.hasher.hash_one(name) % self.slots.len() as u64) as usize;
        let slot = self.slots.get_mut(index)?;
        if let Some(cached) = slot.as_ref().filter(|cached| *cached.name == *name) {
            return parts(name, cached.split?);
        }
        let split = split_name(name).and_then(|split| offsets(name, split));
        *slot = Some(Slot {
            name: name.into(),
            split,
        });
        parts(name, split?)
    }
}

/// Returns where the parts of `split`, which [`split_name`] cut from `name`, lie in
/// `name`. The registered domain ends the name, final dot excluded.
fn offsets(name: &str, split: SplitName) -> Option<SplitOffsets> {
    let end = name.strip_suffix('.').unwrap_or(name).len();
    let start = end.checked_sub(split.registered.len())?;
    Some(SplitOffsets {
        registered: (start, end),
        label_len: split.registered_label.len(),
        subdomain_len: split.subdomain.len(),
        registered_hash: name_hash(split.registered),
    })
}

/// Rebuilds a split of `name` from its offsets.
fn parts(name: &str, offsets: SplitOffsets) -> Option<(SplitName<'_>, u64)> {
    let (start, end) = offsets.registered;
    let registered = name.get(start..end)?;
    let split = SplitName {
        registered,
        registered_label: registered.get(..offsets.label_len)?,
        subdomain: name.get(..offsets.subdomain_len)?,
    };
    Some((split, offsets.registered_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 9] = [
        "www.example.com",
        "a.b.example.co.uk.",
        "example.com.",
        "com",
        "4.3.2.1.in-addr.arpa",
        "printer.local",
        "x7k2m9q4z8.t.evil-tunnel.net",
        "a..example.com",
        "caf\u{e9}.example.org",
    ];

    fn direct(name: &str) -> Option<(SplitName<'_>, u64)> {
        split_name(name).map(|split| (split, name_hash(split.registered)))
    }

    #[test]
    fn split_matches_split_name() {
        let mut cache = SplitCache::new(SPLIT_CACHE_SLOTS);
        for _ in 0..2 {
            for name in NAMES {
                assert_eq!(cache.split(name), direct(name), "{name}");
            }
        }
    }

    #[test]
    fn split_with_one_slot_replaces() {
        let mut cache = SplitCache::new(1);
        for _ in 0..3 {
            for name in NAMES {
                assert_eq!(cache.split(name), direct(name), "{name}");
                assert_eq!(cache.split(name), direct(name), "{name} again");
            }
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn slot_takes_64_bytes() {
        assert_eq!(std::mem::size_of::<Option<Slot>>(), 64);
    }

    #[test]
    fn split_hit_borrows_from_name() {
        let mut cache = SplitCache::new(4);
        let first = String::from("www.example.com");
        cache.split(&first);
        let second = String::from("www.example.com");
        let (split, _) = cache.split(&second).unwrap();
        assert_eq!(split.registered.as_ptr(), second[4..].as_ptr());
    }
}
