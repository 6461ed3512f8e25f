//! How the model reads the DNS metadata of a flow record. It decides which queries
//! count as a device's own and runs the DNS tunnelling and DGA checks against what the
//! device knew before the record. Then the device and the fleet learn from the record:
//! query rate, registered domains and passive DNS names.

use std::borrow::Cow;

use super::detect::{Context, Finding, dga, dns_tunnelling};
use super::device::Device;
use super::dns_names::{DnsQuery, name_hash, qtype};
use super::fleet::{Fleet, FleetKey};
use super::flow_view::Role;
use super::services::ServiceKey;
use super::split_cache::SplitCache;
use crate::app::dns::DnsName;
use crate::app::meta::DnsMeta;
use crate::app::passive_dns::PassiveDns;
use crate::flow::Addr;
use crate::text::parse_ip_text;

const TCP: u8 = 6;
const UDP: u8 = 17;
const DNS_PORT: u16 = 53;
const NOERROR: u8 = 0;

/// Returns the device's query in a flow record, for the DNS detectors. Only the first
/// record of a flow counts, and only for a query name with a registered domain. PTR
/// queries are skipped, because reverse lookups name addresses, not services.
pub fn query_of<'a>(ctx: &Context<'a>, names: &mut SplitCache) -> Option<DnsQuery<'a>> {
    let record = ctx.view.record;
    if !ctx.view.opens || ctx.side.role != Role::Client {
        return None;
    }
    let dns = record.dns.as_ref()?;
    if dns.qtype == Some(qtype::PTR) {
        return None;
    }
    let name = dns.query.as_deref()?;
    let (split, registered_hash) = names.split(name)?;
    Some(DnsQuery {
        name,
        split,
        registered_hash,
        qtype: dns.qtype,
        rcode: dns.rcode,
        response_bytes: record.dst_to_src.bytes,
    })
}

/// Whether the device answers DNS for other devices. Its own queries then include the
/// ones it forwards for its clients, which the DNS detectors already saw from those
/// clients, so they are not the device's behaviour.
///
/// NOTE: a resolver is recognised once it answered a monitored client; until then its
/// forwarded queries count as its own.
pub fn serves_dns(device: &Device) -> bool {
    [UDP, TCP].into_iter().any(|protocol| {
        device.services.contains(&ServiceKey {
            protocol,
            port: DNS_PORT,
            role: Role::Server,
        })
    })
}

/// Runs the DNS tunnelling and DGA checks on one query of the device.
pub fn check(
    ctx: &Context,
    query: &DnsQuery,
    device: &mut Device,
    fleet: &Fleet,
) -> [Option<Finding>; 2] {
    let domain = query.split.registered;
    let resolved_here = device.dns.resolved(domain);
    let resolvers = fleet.devices(&query_key(query));
    let others = if resolved_here {
        resolvers.saturating_sub(1)
    } else {
        resolvers
    };
    let known = resolved_here || others > 0;
    let tunnelling =
        dns_tunnelling::check(ctx, query, &mut device.trackers, &mut device.dns, others);
    let dga = dga::check(ctx, query, &mut device.trackers, &mut device.dns, known);
    [tunnelling, dga]
}

/// Counts the query in the device's DNS rate and domain table, and the fleet's count of
/// devices that resolved the domain.
pub fn learn(
    device: &mut Device,
    fleet: &mut Fleet,
    query: &DnsQuery,
    now_ns: u64,
    window_ns: u64,
    max_fleet: usize,
) {
    device.dns.count_query(now_ns, window_ns);
    let resolved = query.rcode == Some(NOERROR);
    let touch = device
        .dns
        .touch_domain(query.split.registered, now_ns, resolved);
    for (evicted, was_resolved) in &touch.evicted {
        if *was_resolved {
            fleet.remove(&domain_key(evicted));
        }
    }
    if touch.newly_resolved {
        fleet.add(query_key(query), now_ns, max_fleet);
    } else if resolved {
        fleet.refresh(&query_key(query), now_ns);
    }
}

/// Records the addresses of a NOERROR response under the query name. The flow record
/// keeps answers as text and drops the CNAME chain's structure, so every address gets
/// the query name with the smallest TTL of the answers.
pub fn feed_passive_dns(names: &mut PassiveDns, dns: &DnsMeta, now_ns: u64) {
    if dns.rcode != Some(NOERROR) {
        return;
    }
    let Some(text) = dns.query.as_deref() else {
        return;
    };
    let ttl = dns.min_ttl.unwrap_or(0);
    // The name is checked at the first address, so a response without one costs
    // nothing more.
    let mut name = None;
    for answer in &dns.answers {
        if let Some(addr) = parse_ip_text(answer) {
            let Some(name) = name.get_or_insert_with(|| presentation_of(text)) else {
                return;
            };
            names.insert_presentation(Addr::from(addr), name, ttl, now_ns);
        }
    }
}

/// Returns the presentation form of a query name from a flow record, as
/// [`DnsName::from_dotted`] and the name's `Display` give it. Returns `None` where
/// `from_dotted` rejects the text, and for text with escapes (`\.`, `\DDD`), whose
/// bytes the text form cannot carry back into a `DnsName`. Query names are nearly
/// always in presentation form already, and then `text` comes back as it is.
fn presentation_of(text: &str) -> Option<Cow<'_, str>> {
    if let Some(presentation) = DnsName::dotted_presentation(text) {
        return Some(presentation);
    }
    if text.contains('\\') {
        return None;
    }
    DnsName::from_dotted(text).map(|name| Cow::Owned(name.to_string()))
}

/// Fleet key of a registered domain.
pub fn domain_key(domain: &str) -> FleetKey {
    FleetKey::Domain {
        hash: name_hash(domain),
    }
}

/// Fleet key of the query's registered domain: [`domain_key`] without hashing again.
fn query_key(query: &DnsQuery) -> FleetKey {
    FleetKey::Domain {
        hash: query.registered_hash,
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness, LEARNING_SECS};

    const DEVICE: [u8; 4] = [10, 0, 1, 5];
    const OTHER: [u8; 4] = [10, 0, 1, 6];
    const RESOLVER: [u8; 4] = [10, 0, 0, 2];
    const DROP: [u8; 4] = [203, 0, 113, 9];
    const AFTER_SECS: u64 = LEARNING_SECS + 7200;

    fn learn(harness: &mut Harness) {
        for hour in 0..=(LEARNING_SECS / 3600 + 1) {
            harness.observe(Flow::tcp(DEVICE, [198, 51, 100, 10], 443).at_secs(hour * 3600));
            harness.observe(Flow::tcp(OTHER, [198, 51, 100, 11], 443).at_secs(hour * 3600 + 5));
        }
    }

    fn upload() -> crate::flow::FlowRecord {
        Flow::tcp(DEVICE, DROP, 8443)
            .bytes(5_000_000, 1000)
            .at_secs(AFTER_SECS + 10)
    }

    #[test]
    fn alert_names_resolved_endpoint() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(
            Flow::dns(DEVICE, RESOLVER, "files.example.net")
                .answer(DROP, 30)
                .at_secs(AFTER_SECS),
        );
        harness.observe(upload());
        let alerts = harness.alerts_of(Detector::RareEndpoint);
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            alerts[0].endpoint_name.as_deref(),
            Some("files.example.net")
        );
    }

    #[test]
    fn alert_unnamed_without_lookup() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(
            Flow::dns(OTHER, RESOLVER, "files.example.net")
                .answer(DROP, 30)
                .at_secs(AFTER_SECS),
        );
        harness.observe(upload());
        let alerts = harness.alerts_of(Detector::RareEndpoint);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].endpoint_name, None);
    }

    #[test]
    fn alert_json_has_endpoint_name() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(
            Flow::dns(DEVICE, RESOLVER, "files.example.net")
                .answer(DROP, 30)
                .at_secs(AFTER_SECS),
        );
        harness.observe(upload());
        let alerts = harness.alerts_of(Detector::RareEndpoint);
        let json = serde_json::to_value(alerts[0]).unwrap();
        assert_eq!(json["endpoint_name"], "files.example.net");
    }

    #[test]
    fn passive_dns_cases() {
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        let meta = |rcode, answers: &[&str]| DnsMeta {
            query: Some("www.example.com".into()),
            qtype: Some(1),
            rcode: Some(rcode),
            answers: answers.iter().map(|a| a.to_string()).collect(),
            min_ttl: Some(60),
            ..Default::default()
        };
        let cases = [
            (
                "address answer",
                meta(0, &["192.0.2.1"]),
                Some("www.example.com"),
            ),
            (
                "after a cname",
                meta(0, &["edge.example.net", "192.0.2.1"]),
                Some("www.example.com"),
            ),
            ("nxdomain", meta(3, &["192.0.2.1"]), None),
            ("names only", meta(0, &["edge.example.net"]), None),
        ];
        for (case, dns, expected) in cases {
            let mut names = PassiveDns::default();
            feed_passive_dns(&mut names, &dns, 0);
            assert_eq!(names.lookup(addr.into()), expected, "{case}");
        }
    }

    #[test]
    fn presentation_matches_dns_name() {
        let label_63 = "a".repeat(63);
        let label_64 = "a".repeat(64);
        // 4 labels of 63 and dots: 255 bytes of text, 256 in wire form.
        let long = [label_63.as_str(); 4].join(".");
        let cases = [
            "www.example.com".to_owned(),
            "www.example.com.".to_owned(),
            "WWW.Example.COM".to_owned(),
            "a".to_owned(),
            ".".to_owned(),
            String::new(),
            "..".to_owned(),
            "a..b".to_owned(),
            ".a".to_owned(),
            "a.b..".to_owned(),
            "under_score.example".to_owned(),
            "sp ace.example".to_owned(),
            "tab\t.example".to_owned(),
            "caf\u{e9}.example".to_owned(),
            "del\u{7f}.example".to_owned(),
            "!~.example".to_owned(),
            "back\\slash.example".to_owned(),
            "esc\\.aped.example".to_owned(),
            "dec\\032imal.example".to_owned(),
            format!("{label_63}.example"),
            format!("{label_64}.example"),
            long[..253].to_owned(),
            format!("{}.", &long[..253]),
            long[..254].to_owned(),
            long[..252].to_owned() + ".",
        ];
        for text in &cases {
            let expected = DnsName::from_dotted(text)
                .filter(|_| !text.contains('\\'))
                .map(|name| name.to_string());
            let got = presentation_of(text).map(Cow::into_owned);
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn presentation_matches_dns_name_for_ascii() {
        for byte in 0u8..=0x7f {
            let text = format!("a{}b.example", char::from(byte));
            let expected = DnsName::from_dotted(&text)
                .filter(|_| !text.contains('\\'))
                .map(|name| name.to_string());
            let got = presentation_of(&text).map(Cow::into_owned);
            assert_eq!(got, expected, "byte {byte:#04x}");
        }
    }

    #[test]
    fn presentation_keeps_plain_text() {
        assert!(matches!(
            presentation_of("www.example.com."),
            Some(Cow::Borrowed("www.example.com"))
        ));
    }

    #[test]
    fn state_keeps_dns_baseline() {
        let mut harness = Harness::new();
        harness.observe(
            Flow::dns(DEVICE, RESOLVER, "files.example.net")
                .answer(DROP, 30)
                .at_secs(0),
        );
        let state = harness.model.state();
        let restored = crate::model::Model::restore(Default::default(), state.clone()).unwrap();
        assert_eq!(restored.state(), state);
    }
}
