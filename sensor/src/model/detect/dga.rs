//! Domain generation algorithm (DGA): within the DNS window, a device gets NXDOMAIN
//! for many distinct registered domains whose names look random (few vowels, long
//! consonant runs, letters mixed with digits) and that neither it nor any other device
//! ever resolved. Malware that tries generated domains until one answers produces such
//! bursts. A typo, a stale record or a retried name adds at most a domain or two, so it
//! stays below the minimum. The count is taken above the device's own past peak.

use serde::{Deserialize, Serialize};

use super::{Context, Finding, FlowRing, Scope, Trackers, saturate};
use crate::model::config::duration_ns;
use crate::model::detector::Detector;
use crate::model::dns_names::{DnsQuery, NXDOMAIN, label_randomness, name_hash};
use crate::model::dns_profile::DnsProfile;

/// Distinct domains kept per burst; the score saturates long before this.
const MAX_DOMAINS: usize = 256;

/// Randomness from which a name counts as generated.
const MIN_RANDOMNESS: f64 = 0.5;

/// Example names an alert quotes.
const MAX_EXAMPLES: usize = 3;

/// Excess domains at which the count factor is 63 % of the way to 1.
const DOMAINS_SCALE: f64 = 10.0;

/// Random-looking NXDOMAIN answers of one device in the current DNS window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NxBurst {
    pub window_start_ns: u64,
    pub last_ns: u64,
    /// Hashes of the distinct registered domains, sorted.
    pub domains: Vec<u64>,
    /// Sum of the randomness of those domains' registered labels.
    pub randomness_sum: f64,
    /// NXDOMAIN answers in the window, random-looking or not.
    pub nxdomains: u32,
    /// The first few names, for the explanation.
    pub examples: Vec<String>,
    pub flows: FlowRing,
}

/// Counts an NXDOMAIN answer in the device's burst and scores the burst. `known` is
/// true when this device or another one resolved a name under the query's registered
/// domain before, so the domain exists and is no generated one.
pub fn check(
    ctx: &Context,
    query: &DnsQuery,
    trackers: &mut Trackers,
    profile: &mut DnsProfile,
    known: bool,
) -> Option<Finding> {
    if query.rcode != Some(NXDOMAIN) {
        return None;
    }
    let window_ns = duration_ns(ctx.config.detectors.dns_window);
    let burst = trackers.nx_burst.get_or_insert_with(NxBurst::default);
    if ctx.now_ns.saturating_sub(burst.window_start_ns) > window_ns {
        let closed = std::mem::take(burst);
        profile
            .nx_peak
            .raise(closed.domains.len() as f64, ctx.now_ns);
        burst.window_start_ns = ctx.view.record.start_ns;
    }
    burst.last_ns = ctx.now_ns;
    burst.nxdomains = burst.nxdomains.saturating_add(1);
    let randomness = label_randomness(query.split.registered_label);
    if known || randomness < MIN_RANDOMNESS {
        return None;
    }
    let hash = name_hash(query.split.registered);
    match burst.domains.binary_search(&hash) {
        Ok(_) => return None,
        Err(_) if burst.domains.len() >= MAX_DOMAINS => {}
        Err(at) => {
            burst.domains.insert(at, hash);
            burst.randomness_sum += randomness;
            if burst.examples.len() < MAX_EXAMPLES {
                burst.examples.push(query.name.to_owned());
            }
        }
    }
    burst.flows.push(ctx.alert_flow());

    let domains = burst.domains.len() as u32;
    let minimum = ctx.config.detectors.dga_min_domains;
    if domains < minimum {
        return None;
    }
    let peak = profile.nx_peak.at(ctx.now_ns);
    let excess = f64::from(domains) - peak;
    if excess < f64::from(minimum) {
        return None;
    }
    let mean_randomness = burst.randomness_sum / f64::from(domains);
    let score = saturate(excess, DOMAINS_SCALE) * (0.5 + 0.5 * mean_randomness);
    let scope = match ctx.admit(Detector::Dga, score, || Scope::dedup("nxdomain")) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let secs = ctx.now_ns.saturating_sub(burst.window_start_ns) as f64 / 1e9;
    let explanation = format!(
        "{} got NXDOMAIN for {domains} distinct random-looking domains that no device had resolved in {secs:.0} s (mean randomness {mean_randomness:.2}, {} NXDOMAIN answers in all, for example {}), against a past peak of {peak:.0} per window.",
        ctx.side.device,
        burst.nxdomains,
        burst.examples.join(", "),
    );
    Some(Finding::alert(
        Detector::Dga,
        score,
        scope,
        explanation,
        burst.flows.to_vec(),
    ))
}

/// Closes the device's burst when it ended before `now_ns` less the DNS window,
/// raising its NXDOMAIN peak. Called from the model's maintenance.
pub fn close_stale(trackers: &mut Trackers, profile: &mut DnsProfile, now_ns: u64, window_ns: u64) {
    let stale = trackers
        .nx_burst
        .as_ref()
        .is_some_and(|burst| now_ns.saturating_sub(burst.window_start_ns) > window_ns);
    if stale && let Some(burst) = trackers.nx_burst.take() {
        profile.nx_peak.raise(burst.domains.len() as f64, now_ns);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness, LEARNING_SECS};

    const DEVICE: [u8; 4] = [10, 0, 1, 5];
    const OTHER: [u8; 4] = [10, 0, 1, 6];
    const RESOLVER: [u8; 4] = [10, 0, 0, 2];
    const ATTACK_SECS: u64 = LEARNING_SECS + 7200;

    /// Twelve random letters from a seed, as a DGA generates a second-level label.
    fn generated(seed: u64) -> String {
        let mut state = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        (0..12)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    }

    fn learn(harness: &mut Harness) {
        for step in 0..(ATTACK_SECS / 600) {
            for (index, device) in [DEVICE, OTHER].into_iter().enumerate() {
                harness.observe(
                    Flow::dns(device, RESOLVER, "api.example.com")
                        .answer([93, 184, 215, 14], 300)
                        .src_port(20_000 + (step % 40_000) as u16)
                        .at_secs(step * 600 + index as u64),
                );
            }
        }
    }

    fn nxdomain(name: &str, port: u16, secs: u64) -> crate::flow::FlowRecord {
        Flow::dns(DEVICE, RESOLVER, name)
            .rcode(3)
            .src_port(port)
            .at_secs(secs)
    }

    #[test]
    fn nxdomain_burst_alerts() {
        let mut harness = Harness::new();
        learn(&mut harness);
        for seq in 0..30u64 {
            let name = format!("{}.com", generated(seq));
            harness.observe(nxdomain(&name, 30_000 + seq as u16, ATTACK_SECS + seq * 2));
        }
        let alerts = harness.alerts_of(Detector::Dga);
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].score >= 0.6, "{}", alerts[0].explanation);
        assert!(alerts[0].endpoint.is_none());
    }

    #[test]
    fn typos_and_stale_name_do_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        let typos = ["gooogle.com", "amazno.com", "mircosoft.com", "exmaple.org"];
        for (seq, name) in typos.iter().enumerate() {
            harness.observe(nxdomain(
                name,
                30_000 + seq as u16,
                ATTACK_SECS + seq as u64,
            ));
        }
        for seq in 0..40u64 {
            let port = 31_000 + seq as u16;
            harness.observe(nxdomain(
                "old-db.corp-example.com",
                port,
                ATTACK_SECS + 10 + seq,
            ));
        }
        assert!(harness.alerts_of(Detector::Dga).is_empty());
    }

    #[test]
    fn few_random_names_do_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        for seq in 0..5u64 {
            let name = format!("{}.net", generated(seq));
            harness.observe(nxdomain(&name, 30_000 + seq as u16, ATTACK_SECS + seq));
        }
        assert!(harness.alerts_of(Detector::Dga).is_empty());
    }

    #[test]
    fn dga_in_learning_does_not_alert() {
        let mut harness = Harness::new();
        for seq in 0..30u64 {
            let name = format!("{}.com", generated(seq));
            harness.observe(nxdomain(&name, 30_000 + seq as u16, 600 + seq));
        }
        assert!(harness.alerts_of(Detector::Dga).is_empty());
        assert!(harness.model.stats().alerts_suppressed_learning > 0);
    }

    #[test]
    fn random_labels_under_known_domain_do_not_alert() {
        // Random host labels under a domain the fleet resolves: a registered label
        // that is no generated one.
        let mut harness = Harness::new();
        learn(&mut harness);
        for seq in 0..30u64 {
            let name = format!("{}.example.com", generated(seq));
            harness.observe(nxdomain(&name, 30_000 + seq as u16, ATTACK_SECS + seq));
        }
        assert!(harness.alerts_of(Detector::Dga).is_empty());
    }
}
