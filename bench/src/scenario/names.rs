//! The DNS names of the benign background, and the resolver's reply to each. They are
//! SaaS sites behind CDN aliases with short TTLs, package mirrors, the partner API,
//! internal names, a file-reputation service with hashed subdomains and mail-policy
//! TXT records. Typos, stale names and search-domain suffixes get NXDOMAIN.
//!
//! The external names are invented brands under ordinary public suffixes (`com`,
//! `co.uk`, `io`, ...), so each service has its own registered domain as the Public
//! Suffix List splits names. They resolve to documentation addresses only.

use std::net::{Ipv4Addr, Ipv6Addr};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::dns::{Rdata, Record, Reply, rcode, rtype};
use super::topology::SAAS_COUNT;

/// One question to the resolver and the reply it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub name: String,
    pub qtype: u16,
    pub reply: Reply,
    /// The name is asked once (a hash, tunnelled data, a generated domain), so the
    /// resolver never has it cached and always forwards it upstream.
    pub unique: bool,
}

/// The SaaS sites that workstations browse, by endpoint index (203.0.113.100 + index),
/// with the CDN name that some of them are an alias of.
const SAAS_SITES: [(&str, Option<&str>); SAAS_COUNT as usize] = [
    ("mail.northwindmail.com", None),
    (
        "outlook.eu.northwindmail.com",
        Some("eu-mail.northwindmail.com.edgefront.net"),
    ),
    ("app.deskflow.io", Some("deskflow-io.b-0004.edgefront.net")),
    ("api.deskflow.io", None),
    (
        "files.cloudvault.net",
        Some("cv-files.fra.cdn.cloudvault.net"),
    ),
    ("meet.callbridge.com", None),
    ("chat.teamloop.io", Some("teamloop-io.b-0011.edgefront.net")),
    ("docs.paperlane.com", None),
    (
        "www.ticketdesk.co.uk",
        Some("ticketdesk-co-uk.b-0002.edgefront.net"),
    ),
    ("login.idgate.com", None),
    ("crm.salesorbit.com", Some("eu2.crm.salesorbit.com")),
    ("static.salesorbit-cdn.net", None),
    ("sheets.paperlane.com", None),
    ("wiki.knowhub.org", None),
    ("git.codeforge.dev", None),
    ("ci.codeforge.dev", Some("runners.eu-west.ci.codeforge.dev")),
    ("hr.peoplepoint.com", None),
    ("pay.expenseio.com", None),
    ("status.callbridge.com", Some("callbridge.statuspages.net")),
    (
        "news.industrywire.com",
        Some("industrywire-com.b-0007.edgefront.net"),
    ),
];

/// TTL of a site's own A record, and of a CDN alias (CNAME) and the CDN's A record.
const SITE_TTL: u32 = 300;
const ALIAS_TTL: u32 = 3600;
const CDN_TTL: u32 = 20;
/// TTL of internal names and of the mirrors' names.
const INTERNAL_TTL: u32 = 3600;
/// Negative-caching TTL in the SOA of an NXDOMAIN answer.
const NEGATIVE_TTL: u32 = 900;
/// The internal zone, which is also the resolver's search domain.
pub const INTERNAL_ZONE: &str = "corp.example.net";

/// Builds the address lookup (`A` or `AAAA`) of `name`, answered with `addr` (mapped
/// into 2001:db8::/32 for AAAA) through the CDN alias `alias` when there is one.
pub fn address(name: &str, qtype: u16, addr: Ipv4Addr, alias: Option<&str>, ttl: u32) -> Lookup {
    let mut answers = Vec::new();
    let mut owner = name.to_owned();
    let mut address_ttl = ttl;
    if let Some(target) = alias {
        answers.push(Record {
            owner,
            ttl: ALIAS_TTL,
            data: Rdata::Cname(target.to_owned()),
        });
        owner = target.to_owned();
        address_ttl = CDN_TTL;
    }
    let data = if qtype == rtype::AAAA {
        let [_, _, c, d] = addr.octets();
        Rdata::Aaaa(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            u16::from(c),
            u16::from(d),
        ))
    } else {
        Rdata::A(addr)
    };
    answers.push(Record {
        owner,
        ttl: address_ttl,
        data,
    });
    Lookup {
        name: name.to_owned(),
        qtype,
        reply: Reply {
            rcode: rcode::NOERROR,
            answers,
            authority: Vec::new(),
        },
        unique: false,
    }
}

/// Builds the lookup of the SaaS endpoint `endpoint`: one of the sites above, or a
/// new popular endpoint (203.0.113.150 and up).
pub fn saas(endpoint: Ipv4Addr, qtype: u16) -> Lookup {
    let last = endpoint.octets()[3];
    match SAAS_SITES.get(usize::from(last.wrapping_sub(100))) {
        Some(&(name, alias)) => address(name, qtype, endpoint, alias, SITE_TTL),
        None => {
            let name = format!("eu{}.api.brightdesk.app", last.wrapping_sub(150));
            address(
                &name,
                qtype,
                endpoint,
                Some("brightdesk.edgefront.net"),
                SITE_TTL,
            )
        }
    }
}

/// Builds the lookup of package mirror `index`'s name, answered with `addr`.
pub fn mirror(index: usize, addr: Ipv4Addr) -> Lookup {
    let name = format!("mirror{}.debmirrors.org", index + 1);
    address(&name, rtype::A, addr, None, INTERNAL_TTL)
}

/// Builds the lookup of an internal name under [`INTERNAL_ZONE`].
pub fn internal(host: &str, addr: Ipv4Addr) -> Lookup {
    let name = format!("{host}.{INTERNAL_ZONE}");
    address(&name, rtype::A, addr, None, INTERNAL_TTL)
}

/// Builds an NXDOMAIN answer for `name` from `zone`, the closest zone that exists.
pub fn nxdomain(name: &str, qtype: u16, zone: &str, unique: bool) -> Lookup {
    Lookup {
        name: name.to_owned(),
        qtype,
        reply: Reply {
            rcode: rcode::NXDOMAIN,
            answers: Vec::new(),
            authority: vec![Record {
                owner: zone.to_owned(),
                ttl: NEGATIVE_TTL,
                data: Rdata::Soa {
                    zone: zone.to_owned(),
                    minimum: NEGATIVE_TTL,
                },
            }],
        },
        unique,
    }
}

/// Builds a lookup of `name` with the resolver's search domain appended, as a client
/// with `ndots:5` (the Kubernetes default) sends before the name itself.
pub fn search_suffix(name: &str) -> Lookup {
    let suffixed = format!("{name}.{INTERNAL_ZONE}");
    nxdomain(&suffixed, rtype::A, INTERNAL_ZONE, false)
}

/// Builds a typo of `name`: two neighbouring letters of the label left of its public
/// suffix swapped (or a letter doubled), which the suffix's zone answers with NXDOMAIN.
pub fn typo(rng: &mut ChaCha8Rng, name: &str) -> Lookup {
    let labels: Vec<&str> = name.split('.').collect();
    // NOTE: `co.uk` is the only public suffix of more than one label among the names
    // here; this is not a Public Suffix List lookup.
    let suffix_labels = if name.ends_with(".co.uk") { 2 } else { 1 };
    let target = labels.len().saturating_sub(suffix_labels + 1);
    let mut word: Vec<u8> = labels[target].bytes().collect();
    if word.len() >= 2 {
        let at = rng.random_range(0..word.len() - 1);
        if word[at] == word[at + 1] {
            word.insert(at, word[at]);
        } else {
            word.swap(at, at + 1);
        }
    } else {
        word.push(b'x');
    }
    let mut typed: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
    typed[target] = String::from_utf8_lossy(&word).into_owned();
    let parent = labels[target + 1..].join(".");
    nxdomain(&typed.join("."), rtype::A, &parent, false)
}

/// Builds a file-reputation lookup: the SHA-1 of a file in hex as a label under the
/// antivirus vendor's zone, answered with a verdict address in 127.0.0.0/8. Every
/// device's antivirus sends these, so the zone has many hashed-looking subdomains.
pub fn reputation(rng: &mut ChaCha8Rng) -> Lookup {
    let hash: String = (0..20)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect();
    let name = format!("{hash}.v3.filerep.shieldav.net");
    let verdict = Ipv4Addr::new(127, 0, 0, if rng.random_bool(0.98) { 1 } else { 2 });
    let mut lookup = address(&name, rtype::A, verdict, None, 600);
    lookup.unique = true;
    lookup
}

/// Domains whose mail policy the application servers check before sending to them.
const MAIL_DOMAINS: [&str; 8] = [
    "northwindmail.com",
    "paperlane.com",
    "ticketdesk.co.uk",
    "salesorbit.com",
    "peoplepoint.com",
    "harbourfreight-logistics.com",
    "greenleaf-foods.de",
    "ostrava-steel.cz",
];

/// Builds a TXT lookup of a mail domain's policy: its SPF record with site
/// verification strings (about 150 to 250 bytes), its DMARC policy, or its MTA-STS
/// record.
pub fn mail_policy(rng: &mut ChaCha8Rng) -> Lookup {
    let domain = MAIL_DOMAINS[rng.random_range(0..MAIL_DOMAINS.len())];
    let (name, text) = match rng.random_range(0..3) {
        0 => {
            let token: String = (0..22)
                .map(|_| format!("{:02x}", rng.random::<u8>()))
                .collect();
            let text = format!(
                "v=spf1 include:_spf.northwindmail.com include:mailgun-relay.net \
                 ip4:192.0.2.0/26 -all deskflow-verification={token}"
            );
            (domain.to_owned(), text)
        }
        1 => (
            format!("_dmarc.{domain}"),
            format!("v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{domain}; pct=100"),
        ),
        _ => (
            format!("_mta-sts.{domain}"),
            "v=STSv1; id=20250114T093000;".to_owned(),
        ),
    };
    Lookup {
        reply: Reply {
            rcode: rcode::NOERROR,
            answers: vec![Record {
                owner: name.clone(),
                ttl: INTERNAL_TTL,
                data: Rdata::Txt(text),
            }],
            authority: Vec::new(),
        },
        name,
        qtype: rtype::TXT,
        unique: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn saas_answers_endpoint() {
        let lookup = saas(Ipv4Addr::new(203, 0, 113, 102), rtype::A);
        let last = lookup.reply.answers.last().unwrap();
        assert_eq!(lookup.name, "app.deskflow.io");
        assert_eq!(last.data, Rdata::A(Ipv4Addr::new(203, 0, 113, 102)));
        assert_eq!(last.ttl, CDN_TTL);
    }

    #[test]
    fn saas_new_endpoint_named() {
        let lookup = saas(Ipv4Addr::new(203, 0, 113, 152), rtype::AAAA);
        assert_eq!(lookup.name, "eu2.api.brightdesk.app");
        assert_eq!(lookup.reply.answers.len(), 2);
    }

    #[test]
    fn typo_is_nxdomain_under_parent() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let lookup = typo(&mut rng, "www.ticketdesk.co.uk");
        assert_ne!(lookup.name, "www.ticketdesk.co.uk");
        assert!(lookup.name.ends_with(".co.uk"), "{}", lookup.name);
        assert_eq!(lookup.reply.rcode, rcode::NXDOMAIN);
    }

    #[test]
    fn reputation_names_unique() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let first = reputation(&mut rng);
        let second = reputation(&mut rng);
        assert_ne!(first.name, second.name);
        assert!(first.unique);
        assert_eq!(first.name.split('.').next().map(str::len), Some(40));
    }
}
