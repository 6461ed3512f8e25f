//! Query and response matching: a bounded table of pending queries keyed by a caller's
//! scope (a flow key, or `()` for a table per flow) and the transaction id, expiring in
//! packet time. A response becomes a [`DnsExchange`].

use std::collections::VecDeque;

use crate::hash::HashMap;
use std::hash::Hash;

use super::{Answers, DnsMessage, DnsName};

/// Default number of pending queries per table.
pub const DEFAULT_PENDING_QUERIES: usize = 4096;

/// Default time after which an unanswered query is dropped: 10 s, twice the default
/// 5 s per-try timeout of the glibc stub resolver (resolv.conf(5), `timeout`).
pub const DEFAULT_QUERY_TIMEOUT_NS: u64 = 10_000_000_000;

/// A response, with the query it answers when that query was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsExchange {
    /// The queried name: from the matched query, else from the response's question.
    pub query_name: DnsName,
    pub qtype: u16,
    /// The response code (see [`super::rcode`]).
    pub rcode: u8,
    /// The response's answers (see [`DnsMessage::answers`]).
    pub answers: Answers,
    /// ANCOUNT of the response.
    pub answer_count: u16,
    /// The response was cut (see [`DnsMessage::partial`]).
    pub partial: bool,
    /// Packet time from the query to the response, or `None` when no query matched (the
    /// query direction is not mirrored, or the query expired or was evicted).
    pub latency_ns: Option<u64>,
}

/// Counters of a [`DnsTransactions`] table, cumulative since it was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsTransactionCounters {
    pub queries: u64,
    pub responses: u64,
    /// Responses matched to a pending query.
    pub matched: u64,
    /// Responses with no pending query of their id, name and type.
    pub unmatched: u64,
    /// Queries repeated with the same id, name and type while pending; the first send
    /// time is kept.
    pub retransmitted: u64,
    /// Pending queries replaced by a query with the same id but another name or type.
    pub replaced: u64,
    /// Pending queries dropped unanswered after the timeout.
    pub expired: u64,
    /// Pending queries dropped unanswered because the table was full.
    pub evicted: u64,
}

#[derive(Clone, Debug)]
struct Pending {
    name: DnsName,
    qtype: u16,
    sent_ns: u64,
    /// Insertion number, to tell a live entry from a stale one in `order`.
    sequence: u64,
}

/// Pending queries, matched to responses by scope `K` and transaction id, and by name and
/// type when the response carries its question.
///
/// Queries leave in insertion order, on expiry or when the table is full, so the
/// oldest query is dropped first when packet times rise. Each operation is amortised
/// O(1).
///
/// NOTE: expiry walks the insertion order. A query inserted with an older packet time
/// than its predecessors (packets from several queues out of order) expires only after
/// them.
#[derive(Debug)]
pub struct DnsTransactions<K> {
    pending: HashMap<(K, u16), Pending>,
    /// Keys in insertion order with their insertion number; entries whose query was
    /// answered or replaced stay until they reach the front or a compaction.
    order: VecDeque<(K, u16, u64)>,
    capacity: usize,
    timeout_ns: u64,
    next_sequence: u64,
    counters: DnsTransactionCounters,
}

impl<K: Eq + Hash + Copy> DnsTransactions<K> {
    /// Creates a table of at most `capacity` pending queries (at least 1) that drops a
    /// query `timeout_ns` after it was sent.
    pub fn new(capacity: usize, timeout_ns: u64) -> Self {
        let capacity = capacity.max(1);
        DnsTransactions {
            pending: HashMap::with_capacity_and_hasher(capacity, Default::default()),
            order: VecDeque::with_capacity(capacity),
            capacity,
            timeout_ns,
            next_sequence: 0,
            counters: DnsTransactionCounters::default(),
        }
    }

    /// Records a query, or matches a response. Returns the exchange for a response with
    /// a known query name (from a matched query or from its own question), else `None`.
    pub fn observe(&mut self, scope: K, message: &DnsMessage, now_ns: u64) -> Option<DnsExchange> {
        self.expire(now_ns);
        if message.is_response() {
            self.counters.responses += 1;
            self.match_response(scope, message, now_ns)
        } else {
            self.counters.queries += 1;
            self.insert_query(scope, message, now_ns);
            None
        }
    }

    /// Drops the queries sent `timeout_ns` or longer before `now_ns`, and returns how many
    /// it dropped.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        let mut dropped = 0;
        while let Some(&(scope, id, sequence)) = self.order.front() {
            let key = (scope, id);
            match self.pending.get(&key) {
                Some(entry) if entry.sequence == sequence => {
                    if now_ns.saturating_sub(entry.sent_ns) < self.timeout_ns {
                        break;
                    }
                    self.pending.remove(&key);
                    dropped += 1;
                }
                _ => {}
            }
            self.order.pop_front();
        }
        self.counters.expired += dropped as u64;
        dropped
    }

    /// Number of pending queries.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Returns whether no query is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn counters(&self) -> &DnsTransactionCounters {
        &self.counters
    }

    /// Length of the insertion order, stale entries included.
    #[cfg(test)]
    pub(super) fn order_len(&self) -> usize {
        self.order.len()
    }

    fn insert_query(&mut self, scope: K, message: &DnsMessage, now_ns: u64) {
        let Some(question) = &message.question else {
            return;
        };
        let key = (scope, message.id);
        if let Some(entry) = self.pending.get(&key) {
            if entry.name == question.name && entry.qtype == question.qtype {
                self.counters.retransmitted += 1;
                return;
            }
            self.counters.replaced += 1;
        } else {
            while self.pending.len() >= self.capacity {
                self.evict_oldest();
            }
        }

        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let entry = Pending {
            name: question.name.clone(),
            qtype: question.qtype,
            sent_ns: now_ns,
            sequence,
        };
        self.pending.insert(key, entry);
        self.order.push_back((scope, message.id, sequence));
        self.compact_order();
    }

    fn match_response(
        &mut self,
        scope: K,
        message: &DnsMessage,
        now_ns: u64,
    ) -> Option<DnsExchange> {
        let key = (scope, message.id);
        let matches = self.pending.get(&key).is_some_and(|entry| {
            message
                .question
                .as_ref()
                .is_none_or(|q| q.name == entry.name && q.qtype == entry.qtype)
        });

        // A pending query for another name or type keeps waiting for its own response.
        let query = if matches {
            self.pending.remove(&key)
        } else {
            None
        };
        let (query_name, qtype, latency_ns) = match query {
            Some(entry) => {
                self.counters.matched += 1;
                let latency = now_ns.saturating_sub(entry.sent_ns);
                (entry.name, entry.qtype, Some(latency))
            }
            None => {
                self.counters.unmatched += 1;
                let question = message.question.as_ref()?;
                (question.name.clone(), question.qtype, None)
            }
        };
        Some(DnsExchange {
            query_name,
            qtype,
            rcode: message.rcode(),
            answers: message.answers.clone(),
            answer_count: message.answer_count,
            partial: message.partial,
            latency_ns,
        })
    }

    /// Drops the oldest live pending query.
    fn evict_oldest(&mut self) {
        while let Some((scope, id, sequence)) = self.order.pop_front() {
            let key = (scope, id);
            if self
                .pending
                .get(&key)
                .is_some_and(|e| e.sequence == sequence)
            {
                self.pending.remove(&key);
                self.counters.evicted += 1;
                return;
            }
        }
        // `order` lists every live entry, so it empties only with `pending`.
        self.pending.clear();
    }

    /// Removes stale entries from `order` once its length reaches twice the capacity, so
    /// it stays bounded when responses arrive out of query order.
    fn compact_order(&mut self) {
        if self.order.len() <= self.capacity * 2 {
            return;
        }
        let pending = &self.pending;
        self.order.retain(|(scope, id, sequence)| {
            pending
                .get(&(*scope, *id))
                .is_some_and(|e| e.sequence == *sequence)
        });
    }
}
