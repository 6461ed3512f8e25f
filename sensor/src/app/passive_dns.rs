//! Passive DNS for one device: the names that the device's own DNS responses gave for
//! each address (A and AAAA answers, through CNAME chains), so alerts and flow records
//! can name the endpoints it talks to. Bounded in addresses and in names per address,
//! expiring by record TTL in packet time.

use crate::hash::HashMap;
use std::collections::hash_map::Entry;

use crate::app::dns::{AnswerData, DnsExchange, DnsName, MAX_ANSWERS, rcode};
use crate::flow::Addr;

const SECOND_NS: u64 = 1_000_000_000;

/// Bounds and TTL limits of a [`PassiveDns`] map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassiveDnsConfig {
    /// Addresses kept (at least 1). When full, the least recently resolved eighth is
    /// evicted.
    pub max_addresses: usize,
    /// Names kept per address (at least 1), most recently resolved first.
    pub max_names_per_address: usize,
    /// Minimum lifetime of a name, whatever its TTL, because connections and alerts
    /// often come later than the short TTLs of CDN records allow.
    pub ttl_floor_ns: u64,
    /// Maximum lifetime of a name, whatever its TTL.
    pub ttl_ceiling_ns: u64,
}

impl Default for PassiveDnsConfig {
    /// 1024 addresses of 4 names, each kept 5 minutes to 24 hours.
    ///
    /// NOTE: a full address takes about 300 bytes (map slot, name list and name text),
    /// so a device at the bound takes about 300 KiB. Both are estimates, not measured.
    fn default() -> Self {
        PassiveDnsConfig {
            max_addresses: 1024,
            max_names_per_address: 4,
            ttl_floor_ns: 300 * SECOND_NS,
            ttl_ceiling_ns: 86_400 * SECOND_NS,
        }
    }
}

/// Counters of a [`PassiveDns`] map, cumulative since it was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassiveDnsCounters {
    /// Addresses added.
    pub added: u64,
    /// Addresses removed because every name expired.
    pub expired: u64,
    /// Addresses evicted, least recently resolved first, because the map was full.
    pub evicted: u64,
    /// Names dropped from a full address list, oldest first.
    pub names_dropped: u64,
}

/// A name and the packet times between which an answer vouched for it.
#[derive(Debug)]
struct NameEntry {
    name: Box<str>,
    /// Time of the answer that started the current validity, and when it ends. An
    /// answer that arrives while the name is still valid extends it. A later one
    /// starts a new validity, and the old one moves to `previous`, so a flow that
    /// started in it and ends after the new answer keeps its name.
    valid_from_ns: u64,
    expires_ns: u64,
    previous: Option<(u64, u64)>,
}

impl NameEntry {
    fn valid_at(&self, at_ns: u64) -> bool {
        let within = |(from, until): (u64, u64)| from <= at_ns && at_ns < until;
        within((self.valid_from_ns, self.expires_ns)) || self.previous.is_some_and(within)
    }
}

#[derive(Debug, Default)]
struct AddressEntry {
    /// Most recently resolved first.
    names: Vec<NameEntry>,
    last_resolved_ns: u64,
}

/// One device's address-to-name map.
///
/// Recency for eviction is the last time a response resolved the address; lookups do
/// not refresh it.
#[derive(Debug)]
pub struct PassiveDns {
    entries: HashMap<Addr, AddressEntry>,
    config: PassiveDnsConfig,
    counters: PassiveDnsCounters,
    /// Latest packet time seen by `insert` or `expire`; `lookup` hides names expired at it.
    now_ns: u64,
    /// Presentation form of the name being inserted (ASCII), reused so refreshing a
    /// known name allocates nothing.
    scratch: Vec<u8>,
}

impl PassiveDns {
    pub fn new(config: PassiveDnsConfig) -> Self {
        let config = PassiveDnsConfig {
            max_addresses: config.max_addresses.max(1),
            max_names_per_address: config.max_names_per_address.max(1),
            ..config
        };
        PassiveDns {
            entries: HashMap::default(),
            config,
            counters: PassiveDnsCounters::default(),
            now_ns: 0,
            scratch: Vec::new(),
        }
    }

    /// Records the addresses of a successful response (rcode NOERROR). An A or AAAA
    /// answer counts when its owner is the query name or is reached from it through the
    /// response's CNAME records; the address then gets every name on that chain, with
    /// the query name first. The lifetime is the smallest TTL on the chain, clamped to
    /// the configured floor and ceiling. Answers for other owners are ignored, because
    /// a resolver would not use them for this query.
    pub fn insert_exchange(&mut self, exchange: &DnsExchange, now_ns: u64) {
        if exchange.rcode != rcode::NOERROR {
            return;
        }
        let answers = exchange.answers.as_slice();

        // chain[i] is a name reached from the query name through i CNAMEs, and ttls[i]
        // the smallest TTL of those CNAMEs.
        let mut chain: [Option<&DnsName>; MAX_ANSWERS + 1] = [None; MAX_ANSWERS + 1];
        let mut ttls = [u32::MAX; MAX_ANSWERS + 1];
        chain[0] = Some(&exchange.query_name);
        let mut chain_len = 1;
        while chain_len < chain.len() {
            let current = chain[chain_len - 1];
            let next = answers.iter().find_map(|answer| match &answer.data {
                AnswerData::Cname(target) if Some(&answer.name) == current => {
                    Some((target, answer.ttl))
                }
                _ => None,
            });
            let Some((target, ttl)) = next else {
                break;
            };
            if chain[..chain_len].contains(&Some(target)) {
                break;
            }
            chain[chain_len] = Some(target);
            ttls[chain_len] = ttls[chain_len - 1].min(ttl);
            chain_len += 1;
        }

        for answer in answers {
            let addr = match answer.data {
                AnswerData::A(ip) => Addr::from(ip),
                AnswerData::Aaaa(ip) => Addr::from(ip),
                _ => continue,
            };
            let Some(depth) = chain[..chain_len]
                .iter()
                .position(|name| *name == Some(&answer.name))
            else {
                continue;
            };
            let ttl = ttls[depth].min(answer.ttl);
            // The deepest name first, so the query name ends at the front of the list.
            for name in chain[..=depth].iter().rev().flatten() {
                self.insert(addr, name, ttl, now_ns);
            }
        }
    }

    /// Records that `name` resolved to `addr` with a TTL of `ttl_s` seconds at packet time
    /// `now_ns`, and makes it the first name of `addr`.
    pub fn insert(&mut self, addr: Addr, name: &DnsName, ttl_s: u32, now_ns: u64) {
        self.scratch.clear();
        name.write_text(&mut self.scratch);
        self.insert_scratch(addr, ttl_s, now_ns);
    }

    /// Records a name as [`PassiveDns::insert`] does, given its presentation
    /// form `text` (the text of `DnsName`'s `Display`).
    pub fn insert_presentation(&mut self, addr: Addr, text: &str, ttl_s: u32, now_ns: u64) {
        self.scratch.clear();
        self.scratch.extend_from_slice(text.as_bytes());
        self.insert_scratch(addr, ttl_s, now_ns);
    }

    /// Inserts the name in `scratch`.
    fn insert_scratch(&mut self, addr: Addr, ttl_s: u32, now_ns: u64) {
        self.now_ns = self.now_ns.max(now_ns);
        let lifetime_ns = (u64::from(ttl_s) * SECOND_NS).clamp(
            self.config.ttl_floor_ns,
            self.config.ttl_ceiling_ns.max(self.config.ttl_floor_ns),
        );
        let expires_ns = now_ns.saturating_add(lifetime_ns);

        // The address is looked up twice only when the map is full.
        if self.entries.len() >= self.config.max_addresses && !self.entries.contains_key(&addr) {
            self.make_room(now_ns);
        }
        let entry = match self.entries.entry(addr) {
            Entry::Occupied(occupied) => occupied.into_mut(),
            Entry::Vacant(vacant) => {
                self.counters.added += 1;
                vacant.insert(AddressEntry::default())
            }
        };
        entry.last_resolved_ns = entry.last_resolved_ns.max(now_ns);

        let known = entry
            .names
            .iter()
            .position(|n| n.name.as_bytes() == self.scratch.as_slice());
        let name_entry = match known {
            Some(index) => {
                let mut known = entry.names.remove(index);
                if known.expires_ns <= now_ns {
                    known.previous = Some((known.valid_from_ns, known.expires_ns));
                    known.valid_from_ns = now_ns;
                }
                known.valid_from_ns = known.valid_from_ns.min(now_ns);
                known.expires_ns = known.expires_ns.max(expires_ns);
                known
            }
            None => NameEntry {
                // The text came from a `&str`, or is ASCII, so the lossy
                // conversion never runs.
                name: std::str::from_utf8(&self.scratch)
                    .map_or_else(|_| String::from_utf8_lossy(&self.scratch).into(), Box::from),
                valid_from_ns: now_ns,
                expires_ns,
                previous: None,
            },
        };
        entry.names.insert(0, name_entry);
        if entry.names.len() > self.config.max_names_per_address {
            entry.names.truncate(self.config.max_names_per_address);
            self.counters.names_dropped += 1;
        }
    }

    /// Returns the name most recently resolved to `addr` that has not expired at the
    /// latest packet time given to [`PassiveDns::insert`] or [`PassiveDns::expire`].
    pub fn lookup(&self, addr: Addr) -> Option<&str> {
        self.names(addr).next()
    }

    /// Returns the name most recently resolved to `addr` by an answer that came
    /// at or before packet time `at_ns` and had not expired then. Unlike
    /// [`PassiveDns::lookup`], it does not depend on how recently this client
    /// sent another answer.
    pub fn lookup_at(&self, addr: Addr, at_ns: u64) -> Option<&str> {
        self.entries
            .get(&addr)?
            .names
            .iter()
            .find(|n| n.valid_at(at_ns))
            .map(|n| &*n.name)
    }

    /// Returns the unexpired names of `addr`, most recently resolved first.
    pub fn names(&self, addr: Addr) -> impl Iterator<Item = &str> {
        let now_ns = self.now_ns;
        self.entries
            .get(&addr)
            .into_iter()
            .flat_map(|entry| entry.names.iter())
            .filter(move |n| n.expires_ns > now_ns)
            .map(|n| &*n.name)
    }

    /// Removes the names expired at `now_ns`, and the addresses left without names.
    /// Returns the number of addresses removed. The cost is linear in the map size, so
    /// call it on a timer, not per packet.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        self.now_ns = self.now_ns.max(now_ns);
        let before = self.entries.len();
        self.entries.retain(|_, entry| {
            entry.names.retain(|n| n.expires_ns > now_ns);
            !entry.names.is_empty()
        });
        let removed = before - self.entries.len();
        self.counters.expired += removed as u64;
        removed
    }

    /// Number of addresses held, expired ones included until the next sweep.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn counters(&self) -> &PassiveDnsCounters {
        &self.counters
    }

    /// Makes room for one address: when full, removes expired addresses, then evicts the
    /// least recently resolved ones down to seven eighths of the bound, so the linear
    /// sweep runs at most once per eighth of the bound inserted.
    fn make_room(&mut self, now_ns: u64) {
        let max = self.config.max_addresses;
        if self.entries.len() < max {
            return;
        }
        self.expire(now_ns);
        let keep = max - (max / 8).max(1);
        if self.entries.len() <= keep {
            return;
        }

        let excess = self.entries.len() - keep;
        let mut ages: Vec<(u64, Addr)> = self
            .entries
            .iter()
            .map(|(addr, entry)| (entry.last_resolved_ns, *addr))
            .collect();
        ages.select_nth_unstable(excess - 1);
        for (_, addr) in ages.iter().take(excess) {
            self.entries.remove(addr);
        }
        self.counters.evicted += excess as u64;
    }
}

impl Default for PassiveDns {
    fn default() -> Self {
        PassiveDns::new(PassiveDnsConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::dns::{Answer, Answers, rtype};
    use std::net::{Ipv4Addr, Ipv6Addr};

    const S: u64 = SECOND_NS;

    fn name(text: &str) -> DnsName {
        DnsName::from_dotted(text).expect("valid name")
    }

    fn v4(last: u8) -> Addr {
        Addr::from(Ipv4Addr::new(192, 0, 2, last))
    }

    fn a(owner: &str, last: u8, ttl: u32) -> Answer {
        Answer {
            name: name(owner),
            rtype: rtype::A,
            class: 1,
            ttl,
            data: AnswerData::A(Ipv4Addr::new(192, 0, 2, last)),
        }
    }

    fn cname(owner: &str, target: &str, ttl: u32) -> Answer {
        Answer {
            name: name(owner),
            rtype: rtype::CNAME,
            class: 1,
            ttl,
            data: AnswerData::Cname(name(target)),
        }
    }

    fn exchange(query: &str, answers: Vec<Answer>) -> DnsExchange {
        let mut list = Answers::new();
        for answer in answers {
            assert!(list.push(answer));
        }
        DnsExchange {
            query_name: name(query),
            qtype: rtype::A,
            rcode: rcode::NOERROR,
            answer_count: list.as_slice().len() as u16,
            answers: list,
            partial: false,
            latency_ns: None,
        }
    }

    fn config(max_addresses: usize, max_names: usize) -> PassiveDnsConfig {
        PassiveDnsConfig {
            max_addresses,
            max_names_per_address: max_names,
            ttl_floor_ns: 10 * S,
            ttl_ceiling_ns: 1_000 * S,
        }
    }

    fn names(map: &PassiveDns, addr: Addr) -> Vec<&str> {
        map.names(addr).collect()
    }

    #[test]
    fn lookup_at_needs_answer_valid_then() {
        let mut map = PassiveDns::new(config(16, 4));
        map.insert(v4(1), &name("early.example"), 3600, 100 * S);
        assert_eq!(map.lookup_at(v4(1), 50 * S), None, "before the answer");
        assert_eq!(map.lookup_at(v4(1), 150 * S), Some("early.example"));
        assert_eq!(map.lookup_at(v4(1), 1_200 * S), None, "past the ceiling");
    }

    #[test]
    fn lookup_at_sees_gap_between_answers() {
        let mut map = PassiveDns::new(config(16, 4));
        // 5 s is raised to the 10 s floor: valid from 100 s to 110 s.
        map.insert(v4(1), &name("short.example"), 5, 100 * S);
        map.insert(v4(1), &name("short.example"), 5, 200 * S);
        assert_eq!(
            map.lookup_at(v4(1), 105 * S),
            Some("short.example"),
            "in the first answer's validity"
        );
        assert_eq!(map.lookup_at(v4(1), 150 * S), None, "in the gap");
        assert_eq!(map.lookup_at(v4(1), 205 * S), Some("short.example"));
    }

    #[test]
    fn lookup_at_keeps_start_of_renewed_answer() {
        let mut map = PassiveDns::new(config(16, 4));
        map.insert(v4(1), &name("steady.example"), 60, 100 * S);
        map.insert(v4(1), &name("steady.example"), 60, 140 * S);
        assert_eq!(map.lookup_at(v4(1), 120 * S), Some("steady.example"));
        assert_eq!(map.lookup_at(v4(1), 190 * S), Some("steady.example"));
        assert_eq!(map.lookup_at(v4(1), 200 * S), None);
    }

    #[test]
    fn a_answer_names_address() {
        let mut map = PassiveDns::new(config(16, 4));
        map.insert_exchange(&exchange("api.example", vec![a("api.example", 1, 60)]), 0);
        assert_eq!(map.lookup(v4(1)), Some("api.example"));
        assert_eq!(map.lookup(v4(2)), None);
    }

    #[test]
    fn aaaa_answer_names_address() {
        let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5);
        let answer = Answer {
            name: name("v6.example"),
            rtype: rtype::AAAA,
            class: 1,
            ttl: 60,
            data: AnswerData::Aaaa(v6),
        };
        let mut map = PassiveDns::new(config(16, 4));
        map.insert_exchange(&exchange("v6.example", vec![answer]), 0);
        assert_eq!(map.lookup(Addr::from(v6)), Some("v6.example"));
    }

    #[test]
    fn cname_chain_query_name_first() {
        // Answers out of order: the chain is followed by owner, not by position.
        let answers = vec![
            a("edge.cdn.example", 1, 60),
            cname("cdn.example", "edge.cdn.example", 30),
            cname("www.example", "cdn.example", 300),
        ];
        let mut map = PassiveDns::new(config(16, 4));
        map.insert_exchange(&exchange("www.example", answers), 0);
        assert_eq!(
            names(&map, v4(1)),
            ["www.example", "cdn.example", "edge.cdn.example"]
        );
    }

    #[test]
    fn chain_ttl_is_smallest() {
        let answers = vec![
            cname("www.example", "edge.example", 15),
            a("edge.example", 1, 600),
        ];
        let mut map = PassiveDns::new(config(16, 4));
        map.insert_exchange(&exchange("www.example", answers), 0);
        map.expire(14 * S);
        assert_eq!(map.lookup(v4(1)), Some("www.example"));
        map.expire(15 * S);
        assert_eq!(map.lookup(v4(1)), None);
    }

    #[test]
    fn unrelated_owner_ignored() {
        let answers = vec![a("www.example", 1, 60), a("bank.example", 2, 60)];
        let mut map = PassiveDns::new(config(16, 4));
        map.insert_exchange(&exchange("www.example", answers), 0);
        assert_eq!(map.lookup(v4(2)), None);
    }

    #[test]
    fn cname_loop_ends() {
        let answers = vec![
            cname("a.example", "b.example", 60),
            cname("b.example", "a.example", 60),
            a("b.example", 1, 60),
        ];
        let mut map = PassiveDns::new(config(16, 4));
        map.insert_exchange(&exchange("a.example", answers), 0);
        assert_eq!(names(&map, v4(1)), ["a.example", "b.example"]);
    }

    #[test]
    fn nxdomain_ignored() {
        let mut response = exchange("gone.example", vec![a("gone.example", 1, 60)]);
        response.rcode = rcode::NXDOMAIN;
        let mut map = PassiveDns::new(config(16, 4));
        map.insert_exchange(&response, 0);
        assert!(map.is_empty());
    }

    #[test]
    fn ttl_floor_and_ceiling() {
        let cases = [
            ("zero ttl lives to the floor", 0, 9 * S, true),
            ("zero ttl expires at the floor", 0, 10 * S, false),
            ("ttl inside limits", 100, 99 * S, true),
            ("ttl inside limits expires", 100, 100 * S, false),
            ("huge ttl lives to the ceiling", u32::MAX, 999 * S, true),
            (
                "huge ttl expires at the ceiling",
                u32::MAX,
                1_000 * S,
                false,
            ),
        ];
        for (case, ttl, at, alive) in cases {
            let mut map = PassiveDns::new(config(16, 4));
            map.insert(v4(1), &name("t.example"), ttl, 0);
            map.expire(at);
            assert_eq!(map.lookup(v4(1)).is_some(), alive, "{case}");
        }
    }

    #[test]
    fn lookup_hides_expired_before_sweep() {
        let mut map = PassiveDns::new(config(16, 4));
        map.insert(v4(1), &name("old.example"), 10, 0);
        map.insert(v4(2), &name("new.example"), 10, 20 * S);
        assert_eq!(map.lookup(v4(1)), None);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn names_bounded_per_address() {
        let mut map = PassiveDns::new(config(16, 2));
        for text in ["a.example", "b.example", "c.example"] {
            map.insert(v4(1), &name(text), 60, 0);
        }
        assert_eq!(names(&map, v4(1)), ["c.example", "b.example"]);
        assert_eq!(map.counters().names_dropped, 1);
    }

    #[test]
    fn refresh_moves_name_first() {
        let mut map = PassiveDns::new(config(16, 4));
        map.insert(v4(1), &name("a.example"), 60, 0);
        map.insert(v4(1), &name("b.example"), 60, S);
        map.insert(v4(1), &name("A.example"), 60, 2 * S);
        assert_eq!(names(&map, v4(1)), ["a.example", "b.example"]);
    }

    #[test]
    fn full_map_evicts_least_recent() {
        let mut map = PassiveDns::new(config(8, 4));
        for last in 0..8u8 {
            map.insert(v4(last), &name("x.example"), 600, u64::from(last) * S);
        }
        // Resolving address 0 again makes address 1 the least recent.
        map.insert(v4(0), &name("x.example"), 600, 8 * S);
        map.insert(v4(100), &name("y.example"), 600, 9 * S);
        assert_eq!(map.len(), 8);
        assert_eq!(map.counters().evicted, 1);
        assert_eq!(map.lookup(v4(1)), None);
        assert_eq!(map.lookup(v4(0)), Some("x.example"));
        assert_eq!(map.lookup(v4(100)), Some("y.example"));
    }

    #[test]
    fn full_map_drops_expired_first() {
        let mut map = PassiveDns::new(config(8, 4));
        map.insert(v4(0), &name("short.example"), 10, 0);
        for last in 1..8u8 {
            map.insert(v4(last), &name("x.example"), 600, S);
        }
        map.insert(v4(100), &name("y.example"), 600, 20 * S);
        assert_eq!(map.counters().expired, 1);
        assert_eq!(map.counters().evicted, 0);
        assert_eq!(map.len(), 8);
    }

    #[test]
    fn size_stays_bounded() {
        let mut map = PassiveDns::new(config(64, 4));
        for index in 0..10_000u32 {
            let addr = Addr::from(Ipv4Addr::from(0x0a00_0000 + index));
            map.insert(addr, &name("bulk.example"), 600, u64::from(index));
            assert!(map.len() <= 64);
        }
        assert_eq!(map.counters().added, 10_000);
        assert_eq!(map.counters().evicted, 10_000 - map.len() as u64);
    }
}
