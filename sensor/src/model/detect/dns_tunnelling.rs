//! DNS tunnelling: within the DNS window, a device queries many distinct names under
//! one registered domain, and the names carry data: long or high-entropy subdomains,
//! or TXT and NULL queries with large responses. The count of names is taken above
//! twice the device's own past peak for that domain. Other devices that resolve the
//! domain (a CDN or update service that the whole fleet uses) damp the score, and a
//! DNS rate above the device's baseline raises it.

use crate::hash::HashMap;
use serde::{Deserialize, Serialize};

use super::{
    Context, Finding, FlowRing, MAX_TRACKERS, Scope, Trackers, count_of, format_bytes, saturate,
};
use crate::model::bounded::oldest_keys;
use crate::model::config::duration_ns;
use crate::model::detector::Detector;
use crate::model::dns_names::{DnsQuery, name_hash, shannon_entropy};
use crate::model::dns_profile::DnsProfile;
use crate::model::fleet::rarity;

/// Distinct names kept per burst; the score saturates long before this. With
/// [`MAX_TRACKERS`] bursts a device's name hashes take at most 512 KiB.
const MAX_NAMES: usize = 256;

/// Mean subdomain length, in characters, at which names start to look like data, and
/// the length at which they fully do.
const LENGTH_FLOOR: f64 = 16.0;
const LENGTH_FULL: f64 = 40.0;

/// Mean subdomain entropy, in bits per character, at which names start to look like
/// data, and the entropy at which they fully do. Random base32 labels of 50 characters
/// have about 4.6 bits; words and host names of 20 characters about 3.5.
const ENTROPY_FLOOR: f64 = 3.5;
const ENTROPY_FULL: f64 = 4.5;

/// Mean TXT or NULL response size at which the payload evidence is 63 % of the way to 1.
const PAYLOAD_BYTES_SCALE: f64 = 300.0;

/// Excess distinct names at which the count factor is 63 % of the way to 1.
const NAMES_SCALE: f64 = 40.0;

/// Queries of one device under one registered domain in the current DNS window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NameBurst {
    pub window_start_ns: u64,
    pub last_ns: u64,
    /// Hashes of the distinct query names, sorted.
    pub names: Vec<u64>,
    pub queries: u32,
    /// Sums over the distinct names of the subdomain length (characters, dots
    /// excluded) and entropy (bits per character).
    pub subdomain_chars: u64,
    pub entropy_sum: f64,
    /// TXT and NULL queries, and the bytes of their responses.
    pub payload_queries: u32,
    pub payload_bytes: u64,
    pub flows: FlowRing,
}

impl NameBurst {
    /// Empties the burst for a window that starts at `window_start_ns`, keeping the
    /// capacity of its lists for the next window.
    fn restart(&mut self, window_start_ns: u64) {
        let NameBurst {
            window_start_ns: start,
            last_ns,
            names,
            queries,
            subdomain_chars,
            entropy_sum,
            payload_queries,
            payload_bytes,
            flows,
        } = self;
        *start = window_start_ns;
        *last_ns = 0;
        names.clear();
        *queries = 0;
        *subdomain_chars = 0;
        *entropy_sum = 0.0;
        *payload_queries = 0;
        *payload_bytes = 0;
        flows.clear();
    }
}

/// Counts one query of the device in its burst under the query's registered domain,
/// and scores the burst. `fleet_others` counts the other devices that resolved a name
/// under the domain.
pub fn check(
    ctx: &Context,
    query: &DnsQuery,
    trackers: &mut Trackers,
    profile: &mut DnsProfile,
    fleet_others: u32,
) -> Option<Finding> {
    let domain = query.split.registered;
    let window_ns = duration_ns(ctx.config.detectors.dns_window);
    // Looked up by `&str` first, so a query under a known domain copies no name.
    if !trackers.dns_names.contains_key(domain) {
        for (stale_domain, stale) in evict_oldest(&mut trackers.dns_names) {
            close(profile, &stale_domain, &stale, ctx.now_ns);
        }
        trackers
            .dns_names
            .insert(domain.to_owned(), NameBurst::default());
    }
    let burst = trackers.dns_names.get_mut(domain)?;
    if ctx.now_ns.saturating_sub(burst.window_start_ns) > window_ns {
        close(profile, domain, burst, ctx.now_ns);
        burst.restart(ctx.view.record.start_ns);
    }
    burst.last_ns = ctx.now_ns;
    burst.queries = burst.queries.saturating_add(1);
    let hash = name_hash(query.name);
    if let Err(at) = burst.names.binary_search(&hash)
        && burst.names.len() < MAX_NAMES
    {
        burst.names.insert(at, hash);
        let chars = query.split.subdomain.bytes().filter(|&b| b != b'.').count();
        burst.subdomain_chars = burst.subdomain_chars.saturating_add(chars as u64);
        burst.entropy_sum += shannon_entropy(query.split.subdomain);
    }
    if query.asks_payload() {
        burst.payload_queries = burst.payload_queries.saturating_add(1);
        burst.payload_bytes = burst.payload_bytes.saturating_add(query.response_bytes);
    }
    burst.flows.push(ctx.alert_flow());

    let names = burst.names.len() as u32;
    if names < ctx.config.detectors.dns_tunnel_min_names {
        return None;
    }
    let peak = profile
        .domains
        .get(domain)
        .map_or(0.0, |d| d.peak_names.at(ctx.now_ns));
    let excess = f64::from(names) - 2.0 * peak;
    if excess < f64::from(ctx.config.detectors.dns_tunnel_min_names) {
        return None;
    }

    let distinct = f64::from(names);
    let mean_length = burst.subdomain_chars as f64 / distinct;
    let mean_entropy = burst.entropy_sum / distinct;
    let payload_share = f64::from(burst.payload_queries) / f64::from(burst.queries.max(1));
    let mean_payload = burst.payload_bytes as f64 / f64::from(burst.payload_queries.max(1));
    let shape = NameShape {
        length: ramp(mean_length, LENGTH_FLOOR, LENGTH_FULL),
        entropy: ramp(mean_entropy, ENTROPY_FLOOR, ENTROPY_FULL),
        payload: payload_share * saturate(mean_payload, PAYLOAD_BYTES_SCALE),
    };
    // The device's queries in this window count the one being checked, which the
    // profile adds only after the detectors ran.
    let rate_now = f64::from(profile.current_queries) + 1.0;
    let rate_level = profile.rate_level();
    let rate_factor = 0.7 + 0.3 * ((rate_now - rate_level) / rate_level).clamp(0.0, 1.0);
    let score =
        saturate(excess, NAMES_SCALE) * shape.content() * rarity(fleet_others) * rate_factor;

    let scope = match ctx.admit(Detector::DnsTunnelling, score, || {
        Scope::endpoint(domain.to_owned())
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let secs = ctx.now_ns.saturating_sub(burst.window_start_ns) as f64 / 1e9;
    let explanation = format!(
        "{} queried {} distinct names under {domain} in {secs:.0} s ({} queries), against a past peak of {peak:.0} per window; their subdomains average {mean_length:.0} characters and {mean_entropy:.1} bits of entropy per character, {} asked for TXT or NULL records with responses of {} on average, {} resolve the domain, and the device sent {rate_now:.0} DNS queries this window against a usual level of {rate_level:.0}.",
        ctx.side.device,
        names,
        burst.queries,
        burst.payload_queries,
        format_bytes(mean_payload),
        count_of(fleet_others, "other device"),
    );
    Some(Finding::alert(
        Detector::DnsTunnelling,
        score,
        scope,
        explanation,
        burst.flows.to_vec(),
    ))
}

/// Closes the bursts that ended before `now_ns` less the DNS window, raising each
/// domain's peak of distinct names. Called from the model's maintenance.
pub fn close_stale(trackers: &mut Trackers, profile: &mut DnsProfile, now_ns: u64, window_ns: u64) {
    trackers.dns_names.retain(|domain, burst| {
        let stale = now_ns.saturating_sub(burst.window_start_ns) > window_ns;
        if stale {
            close(profile, domain, burst, now_ns);
        }
        !stale
    });
}

/// How much the names look like data, each in [0, 1].
struct NameShape {
    length: f64,
    entropy: f64,
    payload: f64,
}

impl NameShape {
    fn content(&self) -> f64 {
        self.length.max(self.entropy).max(self.payload)
    }
}

/// Raises the domain's peak of distinct names with a closed burst.
fn close(profile: &mut DnsProfile, domain: &str, burst: &NameBurst, now_ns: u64) {
    if let Some(stats) = profile.domains.get_mut(domain) {
        stats.peak_names.raise(burst.names.len() as f64, now_ns);
    }
}

/// Evicts the least recently active eighth of the bursts when the map is full, and
/// returns them so their counts still raise the domains' peaks.
fn evict_oldest(bursts: &mut HashMap<String, NameBurst>) -> Vec<(String, NameBurst)> {
    if bursts.len() < MAX_TRACKERS {
        return Vec::new();
    }
    let count = (MAX_TRACKERS / 8).max(1);
    oldest_keys(bursts, count, |burst| burst.last_ns)
        .into_iter()
        .filter_map(|domain| bursts.remove(&domain).map(|burst| (domain, burst)))
        .collect()
}

/// 0 at or below `floor`, 1 at or above `full`, linear between.
fn ramp(x: f64, floor: f64, full: f64) -> f64 {
    if !x.is_finite() || full <= floor {
        return 0.0;
    }
    ((x - floor) / (full - floor)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness, LEARNING_SECS};

    const DEVICE: [u8; 4] = [10, 0, 1, 5];
    const OTHERS: [[u8; 4]; 4] = [[10, 0, 1, 6], [10, 0, 1, 7], [10, 0, 1, 8], [10, 0, 1, 9]];
    const RESOLVER: [u8; 4] = [10, 0, 0, 2];
    const UPSTREAM: [u8; 4] = [198, 51, 100, 53];
    const ATTACK_SECS: u64 = LEARNING_SECS + 7200;

    /// Base32-like text of `len` characters from a seed, as a tunnel encodes data.
    fn encoded(seed: u64, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(ALPHABET[(state >> 59) as usize])
            })
            .collect()
    }

    /// Feeds a lookup of one ordinary name per device every 10 minutes, through the
    /// learning period and two hours beyond.
    fn learn(harness: &mut Harness) {
        for step in 0..(ATTACK_SECS / 600) {
            for (index, device) in std::iter::once(DEVICE).chain(OTHERS).enumerate() {
                let t = step * 600 + index as u64;
                let port = 20_000 + (step % 40_000) as u16;
                harness.observe(
                    Flow::dns(device, RESOLVER, "www.example.com")
                        .answer([93, 184, 215, 14], 300)
                        .src_port(port)
                        .at_secs(t),
                );
            }
        }
    }

    fn tunnel_query(seq: u64) -> String {
        format!(
            "{}.{}.t.evil-tunnel.net",
            encoded(seq, 50),
            encoded(seq + 7, 20)
        )
    }

    #[test]
    fn tunnel_after_learning_alerts() {
        let mut harness = Harness::new();
        learn(&mut harness);
        for seq in 0..200u64 {
            harness.observe(
                Flow::dns(DEVICE, RESOLVER, &tunnel_query(seq))
                    .qtype(16)
                    .bytes(150, 400)
                    .src_port(30_000 + seq as u16)
                    .at_secs(ATTACK_SECS + seq),
            );
        }
        let alerts = harness.alerts_of(Detector::DnsTunnelling);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].endpoint.as_deref(), Some("evil-tunnel.net"));
        assert!(alerts[0].score >= 0.6, "{}", alerts[0].explanation);
    }

    #[test]
    fn tunnel_in_learning_does_not_alert() {
        let mut harness = Harness::new();
        for seq in 0..200u64 {
            harness.observe(
                Flow::dns(DEVICE, RESOLVER, &tunnel_query(seq))
                    .qtype(16)
                    .src_port(30_000 + seq as u16)
                    .at_secs(600 + seq),
            );
        }
        assert!(harness.alerts_of(Detector::DnsTunnelling).is_empty());
        assert!(harness.model.stats().alerts_suppressed_learning > 0);
    }

    #[test]
    fn short_names_do_not_alert() {
        // Many distinct but short host names under one domain: a directory of hosts.
        let mut harness = Harness::new();
        learn(&mut harness);
        for seq in 0..200u64 {
            harness.observe(
                Flow::dns(DEVICE, RESOLVER, &format!("host{seq}.corp-example.com"))
                    .src_port(30_000 + seq as u16)
                    .at_secs(ATTACK_SECS + seq),
            );
        }
        assert!(harness.alerts_of(Detector::DnsTunnelling).is_empty());
    }

    #[test]
    fn popular_cdn_does_not_alert() {
        // Hashed object names under a CDN domain that every device resolves.
        let mut harness = Harness::new();
        learn(&mut harness);
        for seq in 0..120u64 {
            for (index, device) in std::iter::once(DEVICE).chain(OTHERS).enumerate() {
                let name = format!("{}.cdn-provider.net", encoded(seq * 10 + index as u64, 32));
                harness.observe(
                    Flow::dns(device, RESOLVER, &name)
                        .answer([198, 51, 100, 77], 60)
                        .src_port(30_000 + seq as u16)
                        .at_secs(ATTACK_SECS + seq * 2 + index as u64),
                );
            }
        }
        assert!(harness.alerts_of(Detector::DnsTunnelling).is_empty());
    }

    #[test]
    fn resolver_forwarding_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        for seq in 0..200u64 {
            let name = tunnel_query(seq);
            let port = 30_000 + seq as u16;
            harness.observe(
                Flow::dns(DEVICE, RESOLVER, &name)
                    .qtype(16)
                    .src_port(port)
                    .at_secs(ATTACK_SECS + seq),
            );
            harness.observe(
                Flow::dns(RESOLVER, UPSTREAM, &name)
                    .qtype(16)
                    .src_port(port)
                    .at_secs(ATTACK_SECS + seq),
            );
        }
        let alerts = harness.alerts_of(Detector::DnsTunnelling);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].device, std::net::IpAddr::from(DEVICE));
    }
}
