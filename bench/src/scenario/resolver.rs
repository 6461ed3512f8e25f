//! Lookups through the internal resolver: the client's query and response, and on a
//! cache miss the resolver's own query to an upstream resolver, answered before the
//! client's response goes out.

use std::net::Ipv4Addr;

use rand::Rng;

use super::names::Lookup;
use super::plan::Plan;
use super::topology::DNS_UPSTREAMS;

/// Share of repeated names that miss the resolver's cache and go upstream.
const CACHE_MISS_SHARE: f64 = 0.25;
/// Time from the client's query to the resolver's upstream query.
const FORWARD_DELAY_NS: u64 = 100_000;
/// Time the resolver takes to answer from its cache, on top of the client's round trip,
/// and to answer the client after the upstream response.
const ANSWER_DELAY_NS: u64 = 150_000;

/// Adds `lookup` from `client` through the internal resolver at `t`. Returns when the
/// client has the answer, or `None` when the lookup falls outside the scenario.
pub fn resolve(plan: &mut Plan, t: u64, client: Ipv4Addr, lookup: &Lookup) -> Option<u64> {
    let resolver = plan.topology.resolver();
    let forwarded = lookup.unique || plan.rng.random_bool(CACHE_MISS_SHARE);
    let client_rtt = plan.rtt(client, resolver) + ANSWER_DELAY_NS;
    let rtt_ns = if forwarded {
        let upstream = DNS_UPSTREAMS[plan.rng.random_range(0..DNS_UPSTREAMS.len())];
        let upstream_rtt = plan.rtt(resolver, upstream);
        plan.add_dns(
            t + FORWARD_DELAY_NS,
            resolver,
            upstream,
            lookup,
            upstream_rtt,
        )?;
        client_rtt + FORWARD_DELAY_NS + upstream_rtt
    } else {
        client_rtt
    };
    plan.add_dns(t, client, resolver, lookup, rtt_ns)?;
    Some(t + rtt_ns)
}
