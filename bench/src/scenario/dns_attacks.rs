//! The DNS attacks. A compromised host tunnels data through the internal resolver in
//! long base32 labels under one registered domain, with TXT answers. Malware with a
//! domain generation algorithm (DGA) tries random-looking names across several
//! top-level domains until a few resolve. The resolver forwards every one of these
//! names upstream because none is cached.

use std::net::Ipv4Addr;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::dns::{Rdata, Record, Reply, rcode, rtype};
use super::flow::Shape;
use super::names::{self, Lookup};
use super::plan::Plan;
use super::resolver::resolve;
use super::time::{MINUTE_NS, SECOND_NS};
use super::topology::PORT_HTTPS;

/// Queries of the tunnel session, and their mean spacing (300 in about 30 minutes).
const TUNNEL_QUERIES: u32 = 300;
const TUNNEL_MEAN_GAP_NS: u64 = 6 * SECOND_NS;
/// The tunnel stops at this long even if queries are left.
const TUNNEL_MAX_NS: u64 = 40 * MINUTE_NS;
/// Bytes of data per query before base32 encoding (112 characters in two labels).
const TUNNEL_UPLOAD_BYTES: usize = 70;
/// Bytes of data per TXT answer before base32 encoding: 120 to 130 bytes give 192 to
/// 208 characters, about 200 bytes of record data.
const TUNNEL_DOWNLOAD_BYTES: (usize, usize) = (120, 131);
/// Registered domains that the attacker's authoritative server answers for.
const TUNNEL_DOMAINS: [&str; 3] = [
    "cdn-metrics-sync.com",
    "telemetry-relay.net",
    "statuscheck-api.org",
];
/// Names the DGA tries, the few of them that the operators registered, and the
/// spacing between tries (80 in about 10 minutes).
const DGA_QUERIES: u32 = 80;
const DGA_REGISTERED: u32 = 4;
const DGA_GAP_NS: (u64, u64) = (3 * SECOND_NS, 12 * SECOND_NS);
/// Top-level domains that the DGA appends.
const DGA_TLDS: [&str; 8] = ["com", "net", "org", "info", "biz", "ru", "top", "xyz"];
/// Letters in a generated second-level label.
const DGA_LABEL_LEN: (usize, usize) = (10, 19);

/// Adds a DNS tunnel from `device`; returns its index and the attack's description.
pub fn dns_tunnelling(plan: &mut Plan, start: u64, device: usize) -> (usize, String) {
    let addr = plan.topology.devices[device].addr;
    let domain = TUNNEL_DOMAINS[plan.rng.random_range(0..TUNNEL_DOMAINS.len())];
    let session: u16 = plan.rng.random();
    let mut t = start;
    let mut sent = 0;
    for sequence in 0..TUNNEL_QUERIES {
        if t >= start + TUNNEL_MAX_NS {
            break;
        }
        let lookup = tunnel_lookup(&mut plan.rng, domain, session, sequence);
        if resolve(plan, t, addr, &lookup).is_some() {
            sent += 1;
        }
        // Exponential gaps: the client sends as data arrives, not on a timer.
        let u: f64 = plan.rng.random();
        let gap = -(1.0 - u).ln() * TUNNEL_MEAN_GAP_NS as f64;
        t += (gap as u64).clamp(200_000_000, 40 * SECOND_NS);
    }
    let description = format!(
        "{} {addr} tunnels data through the resolver: {sent} TXT queries in about 30 \
         minutes with two base32 labels of 112 characters in all under {domain}, each \
         answered with about 200 bytes of TXT data",
        plan.topology.devices[device].role.name()
    );
    (device, description)
}

/// Builds tunnel query `sequence`: the session, sequence number and data in base32,
/// split into labels of at most 63 characters.
fn tunnel_lookup(rng: &mut ChaCha8Rng, domain: &str, session: u16, sequence: u32) -> Lookup {
    let mut upload = Vec::with_capacity(TUNNEL_UPLOAD_BYTES);
    upload.extend_from_slice(&session.to_be_bytes());
    upload.extend_from_slice(&sequence.to_be_bytes());
    while upload.len() < TUNNEL_UPLOAD_BYTES {
        upload.push(rng.random());
    }
    let encoded = base32(&upload);
    let (first, second) = encoded.split_at(encoded.len().min(63));
    let name = format!("{first}.{second}.{domain}");

    let download: Vec<u8> = (0..rng.random_range(TUNNEL_DOWNLOAD_BYTES.0..TUNNEL_DOWNLOAD_BYTES.1))
        .map(|_| rng.random())
        .collect();
    Lookup {
        reply: Reply {
            rcode: rcode::NOERROR,
            answers: vec![Record {
                owner: name.clone(),
                // Tunnels answer with TTL 0 so that no resolver caches the data.
                ttl: 0,
                data: Rdata::Txt(base32(&download)),
            }],
            authority: Vec::new(),
        },
        name,
        qtype: rtype::TXT,
        unique: true,
    }
}

/// Adds a DGA burst from `device`; returns its index and the attack's description.
pub fn dga(plan: &mut Plan, start: u64, device: usize) -> (usize, String) {
    let addr = plan.topology.devices[device].addr;
    let command_server = Ipv4Addr::new(192, 0, 2, plan.rng.random_range(180..190));
    let mut registered: Vec<u32> = Vec::new();
    while registered.len() < DGA_REGISTERED as usize {
        let index = plan.rng.random_range(0..DGA_QUERIES);
        if !registered.contains(&index) {
            registered.push(index);
        }
    }
    let mut t = start;
    let mut tlds = Vec::new();
    for index in 0..DGA_QUERIES {
        let tld = DGA_TLDS[plan.rng.random_range(0..DGA_TLDS.len())];
        if !tlds.contains(&tld) {
            tlds.push(tld);
        }
        let length = plan.rng.random_range(DGA_LABEL_LEN.0..DGA_LABEL_LEN.1);
        let label: String = (0..length)
            .map(|_| char::from(b'a' + plan.rng.random_range(0..26u8)))
            .collect();
        let name = format!("{label}.{tld}");
        let lookup = if registered.contains(&index) {
            let mut lookup = names::address(&name, rtype::A, command_server, None, 300);
            lookup.unique = true;
            lookup
        } else {
            names::nxdomain(&name, rtype::A, tld, true)
        };
        let answered = resolve(plan, t, addr, &lookup);
        if let (true, Some(at)) = (registered.contains(&index), answered) {
            // The malware checks in with its command server once the name resolves.
            let shape = Shape::TcpSession {
                rounds: 1,
                request: plan.rng.random_range(300..600),
                response: plan.rng.random_range(200..2000),
                gap_ns: 0,
            };
            plan.add(at + 5_000_000, addr, command_server, PORT_HTTPS, shape);
        }
        t += plan.rng.random_range(DGA_GAP_NS.0..DGA_GAP_NS.1);
    }
    let description = format!(
        "workstation {addr} looks up {DGA_QUERIES} generated names under {} top-level \
         domains in about 10 minutes; {} get NXDOMAIN and {DGA_REGISTERED} resolve to \
         {command_server}, which it then connects to on port 443",
        tlds.len(),
        DGA_QUERIES - DGA_REGISTERED
    );
    (device, description)
}

/// Encodes `data` in base32 (RFC 4648 alphabet in lowercase, no padding).
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in data {
        buffer = buffer << 8 | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[(buffer >> bits & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[(buffer << (5 - bits) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn base32_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ];
        for (input, expected) in cases {
            assert_eq!(base32(input.as_bytes()), expected, "input {input:?}");
        }
    }

    #[test]
    fn tunnel_lookup_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let lookup = tunnel_lookup(&mut rng, "cdn-metrics-sync.com", 7, 42);
        let labels: Vec<&str> = lookup.name.split('.').collect();
        assert_eq!(labels.len(), 4);
        assert_eq!(labels[0].len(), 63);
        assert_eq!(labels[1].len(), 112 - 63);
        assert_eq!(lookup.qtype, rtype::TXT);
        assert!(lookup.unique);
    }

    #[test]
    fn tunnel_names_differ_by_sequence() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let first = tunnel_lookup(&mut rng, "cdn-metrics-sync.com", 7, 1);
        let second = tunnel_lookup(&mut rng, "cdn-metrics-sync.com", 7, 2);
        assert_ne!(first.name, second.name);
    }
}
