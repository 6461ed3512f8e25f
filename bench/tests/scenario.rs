//! The scenario generator against the sensor's own decoder and DNS parser: output is
//! deterministic per seed, every frame decodes, every DNS payload parses, and each
//! attack in the truth file is in the pcap.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use bench::scenario::{
    ATTACK_KINDS, Attack, HOUR_NS, Scenario, ScenarioConfig, generate, write_files, write_pcap,
};
use sensor::app::dns::{AnswerData, parse_message, rcode, rtype};
use sensor::decap::tcp_flags::{ACK, SYN};
use sensor::decap::{DecapConfig, Decoder, Packet};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PORT_DNS: u16 = 53;
const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// What the sensor's parser read from one DNS payload.
struct DnsSummary {
    response: bool,
    rcode: u8,
    partial: bool,
    /// Query name, dotted; empty when the message has no question.
    name: String,
    qtype: u16,
    /// Types of the parsed answer records, in order.
    answer_types: Vec<u16>,
    /// TXT record data length of the first TXT answer.
    txt_len: Option<u16>,
}

/// One decoded packet with plain addresses.
struct Decoded {
    ts_ns: u64,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
    protocol: u8,
    tcp_flags: u8,
    ip_bytes: u32,
    /// The parse of a UDP port 53 payload; the error's name when it was rejected.
    dns: Option<Result<DnsSummary, String>>,
}

impl Decoded {
    fn syn(&self) -> bool {
        self.protocol == PROTO_TCP && self.tcp_flags & (SYN | ACK) == SYN
    }
}

/// Returns the default scenario of seed 1 and its decoded packets, built once for all
/// tests.
fn scenario() -> &'static (Scenario, Vec<Decoded>) {
    static SCENARIO: OnceLock<(Scenario, Vec<Decoded>)> = OnceLock::new();
    SCENARIO.get_or_init(|| {
        let scenario = generate(&ScenarioConfig::default()).unwrap();
        let mut decoder = Decoder::new(DecapConfig::default());
        let decoded = scenario
            .frames
            .iter()
            .filter_map(|f| {
                let packet = decoder.decode(&f.frame, f.frame.len() as u32, f.ts_ns)?;
                Some(decoded(&packet, &f.frame))
            })
            .collect();
        (scenario, decoded)
    })
}

fn decoded(p: &Packet, frame: &[u8]) -> Decoded {
    let is_dns =
        p.key.protocol == PROTO_UDP && (p.key.sport == PORT_DNS || p.key.dport == PORT_DNS);
    let dns = is_dns.then(|| summarize_dns(p.payload(frame)));
    Decoded {
        ts_ns: p.ts_ns,
        src: p.key.src.to_ip(),
        dst: p.key.dst.to_ip(),
        dport: p.key.dport,
        protocol: p.key.protocol,
        tcp_flags: p.tcp_flags,
        ip_bytes: p.ip_bytes,
        dns,
    }
}

fn summarize_dns(payload: &[u8]) -> Result<DnsSummary, String> {
    let message = parse_message(payload).map_err(|error| format!("{error:?}"))?;
    let answers = message.answers.as_slice();
    let txt_len = answers.iter().find_map(|answer| match answer.data {
        AnswerData::Txt { len } => Some(len),
        _ => None,
    });
    Ok(DnsSummary {
        response: message.is_response(),
        rcode: message.rcode(),
        partial: message.partial,
        name: message
            .question
            .as_ref()
            .map(|q| q.name.to_string())
            .unwrap_or_default(),
        qtype: message.question.as_ref().map_or(0, |q| q.qtype),
        answer_types: answers.iter().map(|answer| answer.rtype).collect(),
        txt_len,
    })
}

/// DNS messages parsed from packets between `client` and the resolver in `packets`.
fn resolver_dns<'a>(
    client: IpAddr,
    packets: impl Iterator<Item = &'a Decoded>,
) -> impl Iterator<Item = &'a DnsSummary> {
    let resolver = ip(RESOLVER);
    packets
        .filter(move |p| {
            (p.src == client && p.dst == resolver) || (p.src == resolver && p.dst == client)
        })
        .filter_map(|p| p.dns.as_ref()?.as_ref().ok())
}

/// Returns the last two labels of `name`: its registered domain for the names that
/// the attacks use, none of which is under a multi-label public suffix.
fn last_two_labels(name: &str) -> String {
    let labels: Vec<&str> = name.split('.').collect();
    labels[labels.len().saturating_sub(2)..].join(".")
}

fn pcap_bytes(scenario: &Scenario) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_pcap(scenario, &mut bytes).unwrap();
    bytes
}

fn attack(kind: &str) -> &'static Attack {
    let (scenario, _) = scenario();
    scenario
        .truth
        .attacks
        .iter()
        .find(|a| a.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} attack in the truth file"))
}

/// Packets inside the attack's time range.
fn during<'a>(attack: &Attack, packets: &'a [Decoded]) -> impl Iterator<Item = &'a Decoded> {
    let (start, end) = (attack.start_ns, attack.end_ns);
    packets
        .iter()
        .filter(move |p| (start..=end).contains(&p.ts_ns))
}

fn ip(addr: Ipv4Addr) -> IpAddr {
    IpAddr::V4(addr)
}

#[test]
fn same_seed_same_bytes() {
    let config = ScenarioConfig {
        seed: 5,
        ..ScenarioConfig::default()
    };
    let first = generate(&config).unwrap();
    let second = generate(&config).unwrap();
    assert!(pcap_bytes(&first) == pcap_bytes(&second), "pcaps differ");
    assert_eq!(first.truth.to_json(), second.truth.to_json());
}

#[test]
fn other_seed_other_bytes() {
    let (first, _) = scenario();
    let second = generate(&ScenarioConfig {
        seed: 2,
        ..ScenarioConfig::default()
    })
    .unwrap();
    assert!(pcap_bytes(first) != pcap_bytes(&second), "pcaps equal");
    assert_ne!(first.truth.attacks, second.truth.attacks);
    assert_ne!(first.truth.vni, second.truth.vni);
}

#[test]
fn every_frame_decodes() {
    let (scenario, packets) = scenario();
    assert_eq!(packets.len(), scenario.frames.len());
}

#[test]
fn frames_carry_scenario_vni() {
    let (scenario, _) = scenario();
    let mut decoder = Decoder::new(DecapConfig::default());
    for frame in scenario.frames.iter().step_by(97) {
        let packet = decoder
            .decode(&frame.frame, frame.frame.len() as u32, frame.ts_ns)
            .unwrap();
        assert_eq!(packet.key.vni, scenario.truth.vni);
    }
}

#[test]
fn frames_sorted_in_microseconds() {
    let (scenario, _) = scenario();
    let frames = &scenario.frames;
    assert!(frames.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
    assert!(frames.iter().all(|f| f.ts_ns % 1000 == 0));
    assert!(frames.first().unwrap().ts_ns >= scenario.truth.start_ns);
    assert!(frames.last().unwrap().ts_ns < scenario.truth.end_ns);
}

#[test]
fn frame_count_bounded() {
    let (scenario, _) = scenario();
    let count = scenario.frames.len();
    assert!((100_000..500_000).contains(&count), "{count} frames");
}

#[test]
fn mirror_sources_per_device() {
    let (scenario, _) = scenario();
    // Outer IPv4 source address: Ethernet 14 + 12 bytes into the IPv4 header.
    let sources: BTreeSet<[u8; 4]> = scenario
        .frames
        .iter()
        .map(|f| [f.frame[26], f.frame[27], f.frame[28], f.frame[29]])
        .collect();
    assert!(
        sources.iter().all(|s| s[0] == 172 && s[1] == 31),
        "{sources:?}"
    );
    assert_eq!(sources.len(), scenario.truth.devices.len());
}

#[test]
fn truth_has_every_kind_after_learning() {
    let (scenario, _) = scenario();
    let truth = &scenario.truth;
    let learning_end = truth.start_ns + truth.learning_period_hours * HOUR_NS;
    let kinds: BTreeSet<&str> = truth.attacks.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, ATTACK_KINDS.into_iter().collect());
    for attack in &truth.attacks {
        assert!(
            attack.start_ns >= learning_end,
            "{} starts in learning",
            attack.kind
        );
        assert!(
            attack.end_ns + HOUR_NS <= truth.end_ns,
            "{} ends too late",
            attack.kind
        );
        assert!(
            !attack.detectors.is_empty(),
            "{} has no detector",
            attack.kind
        );
    }
}

#[test]
fn truth_json_fields() {
    let (scenario, _) = scenario();
    let json = scenario.truth.to_json();
    for field in ["seed", "vni", "start_ns", "end_ns", "learning_period_hours"] {
        assert!(json[field].is_u64(), "field {field}");
    }
    assert_eq!(json["devices"].as_array().map(Vec::len), Some(14));
    assert_eq!(
        json["attacks"].as_array().map(Vec::len),
        Some(ATTACK_KINDS.len())
    );
    for attack in json["attacks"].as_array().unwrap() {
        assert!(attack["detectors"].is_array(), "{attack}");
        assert!(attack["related_detectors"].is_array(), "{attack}");
        assert!(attack["related_devices"].is_array(), "{attack}");
    }
}

#[test]
fn port_scan_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("port_scan");
    let mut ports_by_victim: BTreeMap<IpAddr, BTreeSet<u16>> = BTreeMap::new();
    for p in during(attack, packets).filter(|p| p.syn() && p.src == ip(attack.device)) {
        ports_by_victim.entry(p.dst).or_default().insert(p.dport);
    }
    let max_ports = ports_by_victim
        .values()
        .map(BTreeSet::len)
        .max()
        .unwrap_or(0);
    assert!(max_ports >= 200, "{max_ports} ports probed on one host");
}

#[test]
fn host_sweep_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("host_sweep");
    let mut hosts_by_port: BTreeMap<u16, BTreeSet<IpAddr>> = BTreeMap::new();
    for p in during(attack, packets).filter(|p| p.syn() && p.src == ip(attack.device)) {
        hosts_by_port.entry(p.dport).or_default().insert(p.dst);
    }
    let max_hosts = hosts_by_port.values().map(BTreeSet::len).max().unwrap_or(0);
    assert!(max_hosts >= 60, "{max_hosts} hosts probed on one port");
}

#[test]
fn ssh_brute_force_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("ssh_brute_force");
    let mut sessions_by_source: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for p in
        during(attack, packets).filter(|p| p.syn() && p.dst == ip(attack.device) && p.dport == 22)
    {
        *sessions_by_source.entry(p.src).or_default() += 1;
    }
    let max_sessions = sessions_by_source.values().copied().max().unwrap_or(0);
    assert!(
        max_sessions >= 100,
        "{max_sessions} SSH sessions from one source"
    );
}

#[test]
fn exfiltration_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("exfiltration");
    let mut bytes_by_peer: BTreeMap<IpAddr, u64> = BTreeMap::new();
    for p in during(attack, packets).filter(|p| p.src == ip(attack.device)) {
        *bytes_by_peer.entry(p.dst).or_default() += u64::from(p.ip_bytes);
    }
    let (peer, bytes) = bytes_by_peer.into_iter().max_by_key(|&(_, b)| b).unwrap();
    assert!(bytes >= 8_000_000, "{bytes} bytes to {peer}");
    let seen_before = packets
        .iter()
        .any(|p| p.ts_ns < attack.start_ns && (p.src == peer || p.dst == peer));
    assert!(!seen_before, "{peer} seen before the exfiltration");
    assert!(attack.end_ns - attack.start_ns <= HOUR_NS);
}

#[test]
fn beaconing_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("beaconing");
    let mut syns_by_peer: BTreeMap<IpAddr, Vec<u64>> = BTreeMap::new();
    for p in during(attack, packets).filter(|p| p.syn() && p.src == ip(attack.device)) {
        syns_by_peer.entry(p.dst).or_default().push(p.ts_ns);
    }
    let times = syns_by_peer.into_values().max_by_key(Vec::len).unwrap();
    assert!(times.len() >= 100, "{} beacons", times.len());
    for gap in times.windows(2).map(|w| w[1] - w[0]) {
        assert!(
            (54_000_000_000..=66_000_000_000).contains(&gap),
            "gap {gap} ns"
        );
    }
}

#[test]
fn lateral_movement_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("lateral_movement");
    let device = ip(attack.device);
    let admin_ports = [22, 445, 3389];
    let targets: BTreeSet<IpAddr> = during(attack, packets)
        .filter(|p| p.syn() && p.src == device && admin_ports.contains(&p.dport))
        .map(|p| p.dst)
        .collect();
    assert!(targets.len() >= 2, "{} targets", targets.len());
    let earlier = packets.iter().any(|p| {
        p.ts_ns < attack.start_ns
            && ((p.src == device && targets.contains(&p.dst))
                || (p.dst == device && targets.contains(&p.src)))
    });
    assert!(!earlier, "the workstation talked to a target before");
}

#[test]
fn unusual_hours_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("unusual_hours");
    let device = ip(attack.device);
    let night = |t: u64| (HOUR_NS..5 * HOUR_NS).contains(&(t % (24 * HOUR_NS)));
    let (inside, outside): (Vec<&Decoded>, Vec<&Decoded>) = packets
        .iter()
        .filter(|p| (p.src == device || p.dst == device) && night(p.ts_ns))
        .partition(|p| (attack.start_ns..=attack.end_ns).contains(&p.ts_ns));
    assert!(inside.len() >= 20, "{} packets at night", inside.len());
    assert_eq!(outside.len(), 0, "packets at night outside the attack");
}

#[test]
fn three_days_places_every_attack() {
    let scenario = generate(&ScenarioConfig {
        seed: 9,
        devices: 12,
        days: 3,
    })
    .unwrap();
    assert_eq!(scenario.truth.attacks.len(), ATTACK_KINDS.len());
}

#[test]
fn generate_rejects_bad_config() {
    let cases = [(11, 3), (201, 3), (14, 2), (14, 8)];
    for (devices, days) in cases {
        let config = ScenarioConfig {
            seed: 1,
            devices,
            days,
        };
        assert!(generate(&config).is_err(), "{devices} devices, {days} days");
    }
}

#[test]
fn write_files_names() {
    let (scenario, _) = scenario();
    let dir = std::env::temp_dir().join(format!("scenario-test-{}", std::process::id()));
    let paths = write_files(scenario, &dir).unwrap();
    assert!(paths.pcap.ends_with("scenario-1.pcap"));
    assert!(paths.truth.ends_with("scenario-1.truth.json"));
    let written = std::fs::read(&paths.pcap).unwrap();
    let text = std::fs::read_to_string(&paths.truth).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(written == pcap_bytes(scenario), "written pcap differs");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["seed"], 1);
}

#[test]
fn attack_windows_disjoint() {
    let (scenario, _) = scenario();
    let mut windows: Vec<(u64, u64, &str)> = scenario
        .truth
        .attacks
        .iter()
        .map(|a| (a.start_ns, a.end_ns + HOUR_NS, a.kind))
        .collect();
    windows.sort_unstable();
    for pair in windows.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "{} overlaps {}",
            pair[0].2,
            pair[1].2
        );
    }
}

#[test]
fn dns_payloads_parse() {
    let (_, packets) = scenario();
    let mut parsed = 0;
    for p in packets {
        match &p.dns {
            Some(Ok(summary)) => {
                assert!(!summary.partial, "partial message for {}", summary.name);
                assert!(!summary.name.is_empty(), "message without a question");
                parsed += 1;
            }
            Some(Err(error)) => panic!("DNS payload rejected: {error}"),
            None => {}
        }
    }
    assert!(parsed >= 10_000, "{parsed} DNS messages");
}

#[test]
fn benign_dns_variety() {
    let (scenario, packets) = scenario();
    let learning_end = scenario.truth.start_ns + scenario.truth.learning_period_hours * HOUR_NS;
    let responses: Vec<&DnsSummary> = packets
        .iter()
        .filter(|p| p.ts_ns < learning_end)
        .filter_map(|p| p.dns.as_ref()?.as_ref().ok())
        .filter(|summary| summary.response)
        .collect();
    let count = |test: &dyn Fn(&DnsSummary) -> bool| responses.iter().filter(|s| test(s)).count();
    let cname = count(&|s| s.answer_types.contains(&rtype::CNAME));
    let aaaa = count(&|s| s.answer_types.contains(&rtype::AAAA));
    let txt = count(&|s| s.qtype == rtype::TXT);
    let nxdomain = count(&|s| s.rcode == rcode::NXDOMAIN);
    assert!(cname >= 20, "{cname} CNAME answers");
    assert!(aaaa >= 20, "{aaaa} AAAA answers");
    assert!(txt >= 5, "{txt} TXT answers");
    assert!(nxdomain >= 5, "{nxdomain} NXDOMAIN answers");
    assert!(
        nxdomain * 50 < responses.len(),
        "{nxdomain} of {} NXDOMAIN",
        responses.len()
    );
}

#[test]
fn hashed_names_fleet_wide() {
    let (_, packets) = scenario();
    let resolver = ip(RESOLVER);
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut clients: BTreeSet<IpAddr> = BTreeSet::new();
    for p in packets.iter().filter(|p| p.dst == resolver) {
        let Some(Ok(summary)) = &p.dns else { continue };
        if last_two_labels(&summary.name) == "shieldav.net" {
            names.insert(&summary.name);
            clients.insert(p.src);
        }
    }
    assert!(names.len() >= 1000, "{} hashed names", names.len());
    assert!(clients.len() >= 10, "{} devices", clients.len());
}

#[test]
fn dns_tunnelling_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("dns_tunnelling");
    let device = ip(attack.device);
    let mut names_by_domain: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut txt_lens = Vec::new();
    for summary in resolver_dns(device, during(attack, packets)) {
        if summary.qtype != rtype::TXT {
            continue;
        }
        if summary.response {
            txt_lens.extend(summary.txt_len);
        } else {
            names_by_domain
                .entry(last_two_labels(&summary.name))
                .or_default()
                .insert(&summary.name);
        }
    }
    let (domain, names) = names_by_domain
        .into_iter()
        .max_by_key(|(_, names)| names.len())
        .unwrap();
    assert!(names.len() >= 250, "{} names under {domain}", names.len());

    let base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
    for name in &names {
        let first = name.split('.').next().unwrap_or("");
        assert!(first.len() >= 50, "short label in {name}");
        assert!(first.chars().all(base32), "label not base32 in {name}");
    }

    assert!(txt_lens.len() >= 250, "{} TXT answers", txt_lens.len());
    assert!(
        txt_lens.iter().all(|len| (180..=230).contains(len)),
        "TXT lengths {txt_lens:?}"
    );

    let minutes = (attack.end_ns - attack.start_ns) / (60 * 1_000_000_000);
    assert!((20..=40).contains(&minutes), "{minutes} minutes");
}

#[test]
fn dga_in_pcap() {
    let (_, packets) = scenario();
    let attack = attack("dga");
    let device = ip(attack.device);
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut tlds: BTreeSet<&str> = BTreeSet::new();
    let (mut answers, mut nxdomain) = (0, 0);
    for summary in resolver_dns(device, during(attack, packets)) {
        let Some(tld) = summary.name.rsplit('.').next() else {
            continue;
        };
        if summary.response {
            answers += 1;
            if summary.rcode == rcode::NXDOMAIN {
                nxdomain += 1;
                names.insert(&summary.name);
                tlds.insert(tld);
            }
        }
    }
    assert!(names.len() >= 70, "{} NXDOMAIN names", names.len());
    assert!(tlds.len() >= 4, "{} top-level domains", tlds.len());
    assert!(
        nxdomain * 100 >= answers * 90,
        "{nxdomain} of {answers} NXDOMAIN"
    );
    let minutes = (attack.end_ns - attack.start_ns) / (60 * 1_000_000_000);
    assert!((5..=15).contains(&minutes), "{minutes} minutes");
}

#[test]
fn dns_attacks_forwarded() {
    let (_, packets) = scenario();
    let resolver = ip(RESOLVER);
    for kind in ["dns_tunnelling", "dga"] {
        let attack = attack(kind);
        assert_eq!(attack.related_devices, vec![RESOLVER], "{kind}");
        let upstream = during(attack, packets)
            .filter(|p| p.src == resolver && p.dport == PORT_DNS)
            .count();
        assert!(upstream >= 70, "{kind}: {upstream} upstream queries");
    }
}
