//! Features of a DNS query name for the DNS detectors. The registered domain (eTLD+1)
//! comes from the Public Suffix List compiled into the `psl` crate. The labels left of
//! it have a length and a Shannon entropy, and the registered label a randomness score
//! from vowels, consonant runs and letter-digit mixing. Pure functions of the name.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

/// DNS query types the detectors treat specially.
pub mod qtype {
    pub const NULL: u16 = 10;
    pub const PTR: u16 = 12;
    pub const TXT: u16 = 16;
}

/// DNS response code of a name that does not exist.
pub const NXDOMAIN: u8 = 3;

/// One DNS query of a device, as the DNS detectors read it from a flow record.
#[derive(Clone, Copy, Debug)]
pub struct DnsQuery<'a> {
    /// Query name, lowercase, dotted.
    pub name: &'a str,
    pub split: SplitName<'a>,
    /// [`name_hash`] of the registered domain, which keys the fleet's domain counts.
    pub registered_hash: u64,
    pub qtype: Option<u16>,
    /// Response code; `None` when no response came.
    pub rcode: Option<u8>,
    /// Bytes the resolver sent back in the flow (IP total lengths).
    pub response_bytes: u64,
}

impl DnsQuery<'_> {
    /// Whether the query asked for a TXT or NULL record, the types that carry the most
    /// data per response.
    pub fn asks_payload(&self) -> bool {
        matches!(self.qtype, Some(qtype::TXT | qtype::NULL))
    }
}

/// Labels shorter than this are too short to call random.
const MIN_RANDOM_LABEL: usize = 6;

/// A query name split at its registered domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitName<'a> {
    /// The registered domain: the public suffix and one label more (`example.co.uk`).
    pub registered: &'a str,
    /// The leftmost label of the registered domain (`example`).
    pub registered_label: &'a str,
    /// The labels left of the registered domain, dots included (`a.b` of
    /// `a.b.example.co.uk`); empty when the name is the registered domain.
    pub subdomain: &'a str,
}

/// Splits a lowercase query name (a trailing dot allowed) at its registered domain.
/// Returns `None` for a name that has no registered domain: a public suffix alone, a
/// single label, and the reverse-mapping (`.arpa`) and link-local (`.local`) names
/// that the DNS detectors skip.
pub fn split_name(name: &str) -> Option<SplitName<'_>> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.ends_with(".arpa") || name.ends_with(".local") {
        return None;
    }
    let registered = psl::domain_str(name)?;
    // Byte searches, because a dot is one byte and `str` patterns cost more per call.
    let label_end = registered
        .bytes()
        .position(|byte| byte == b'.')
        .unwrap_or(registered.len());
    let registered_label = registered.get(..label_end).unwrap_or(registered);
    let prefix_len = name.len().checked_sub(registered.len())?;
    let prefix = name.get(..prefix_len)?;
    let subdomain_end = prefix
        .bytes()
        .rposition(|byte| byte != b'.')
        .map_or(0, |last| last + 1);
    let subdomain = prefix.get(..subdomain_end)?;
    Some(SplitName {
        registered,
        registered_label,
        subdomain,
    })
}

/// Shannon entropy of the bytes of `text`, in bits per byte; 0 for an empty text.
/// Dots are skipped, so a multi-label subdomain counts as one string.
///
/// NOTE: names reach the model in their text form, where bytes outside
/// letters, digits and hyphens are escaped (`\DDD`), so a name of raw binary
/// labels is measured longer and with different entropy than its bytes.
pub fn shannon_entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    // One bit per byte value that occurs, so the sum visits only those values, in
    // ascending order, instead of all 256 counts.
    let mut seen = [0u64; 4];
    let mut total = 0u32;
    for byte in text.bytes().filter(|&b| b != b'.') {
        counts[usize::from(byte)] += 1;
        seen[usize::from(byte >> 6)] |= 1 << (byte & 63);
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }

    // The terms of this total, when the table has them.
    let row_start = total as usize * TERM_ROW;
    let terms = if total as usize <= TERM_TABLE_MAX_TOTAL {
        ENTROPY_TERMS.get(row_start..row_start + TERM_ROW)
    } else {
        None
    };
    let total = f64::from(total);
    let mut words = seen.into_iter().enumerate();
    let (mut base, mut bits) = (0usize, 0u64);
    let present = std::iter::from_fn(move || {
        while bits == 0 {
            let (index, word) = words.next()?;
            (base, bits) = (index * 64, word);
        }
        let byte = base + bits.trailing_zeros() as usize;
        bits &= bits - 1;
        Some(byte)
    });

    present
        .map(|byte| {
            let count = counts[byte];
            let from_table = terms.and_then(|row| row.get(count as usize));
            from_table.map_or_else(|| entropy_term(count, total), |term| *term)
        })
        .sum()
}

/// Character counts up to which [`shannon_entropy`] takes its terms from a table.
const TERM_TABLE_MAX_TOTAL: usize = 64;

/// Length of a row of [`ENTROPY_TERMS`]: counts 0 to the maximum total.
const TERM_ROW: usize = TERM_TABLE_MAX_TOTAL + 1;

/// [`entropy_term`] of every count and total up to [`TERM_TABLE_MAX_TOTAL`], at
/// `total * TERM_ROW + count`. The same expression gives the same bits, and the
/// logarithm was most of the cost of the entropy of a query name.
static ENTROPY_TERMS: LazyLock<Box<[f64]>> = LazyLock::new(|| {
    let mut terms = vec![0.0; TERM_ROW * TERM_ROW];
    for total in 1..=TERM_TABLE_MAX_TOTAL as u32 {
        for count in 1..=total {
            if let Some(term) = terms.get_mut(total as usize * TERM_ROW + count as usize) {
                *term = entropy_term(count, f64::from(total));
            }
        }
    }
    terms.into_boxed_slice()
});

/// Computes one term of the entropy sum: −p × log2(p) for p = `count` / `total`.
fn entropy_term(count: u32, total: f64) -> f64 {
    let p = f64::from(count) / total;
    -p * p.log2()
}

/// Scores how random one label looks, in [0, 1]. Letters score by a low share of vowels (about
/// 0.4 in English words, 0.19 in uniformly random letters) and long consonant runs, with
/// a little weight on entropy. Labels that mix letters and digits score by how often they
/// switch between the two, times their entropy, which catches hex. Labels shorter than
/// six characters score 0.
///
/// NOTE: generators that join dictionary words (`blueforesthouse`) look like English and
/// score low.
pub fn label_randomness(label: &str) -> f64 {
    let bytes = label.as_bytes();
    if bytes.len() < MIN_RANDOM_LABEL {
        return 0.0;
    }
    let mut letters = 0u32;
    let mut vowels = 0u32;
    let mut run = 0u32;
    let mut max_run = 0u32;
    let mut switches = 0u32;
    let mut previous_digit: Option<bool> = None;

    for &byte in bytes {
        let digit = byte.is_ascii_digit();
        if byte.is_ascii_alphabetic() {
            letters += 1;
            if matches!(byte.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u') {
                vowels += 1;
                run = 0;
            } else {
                run += 1;
                max_run = max_run.max(run);
            }
        } else {
            run = 0;
        }
        if byte.is_ascii_alphanumeric() {
            if previous_digit.is_some_and(|was_digit| was_digit != digit) {
                switches += 1;
            }
            previous_digit = Some(digit);
        }
    }

    let entropy = clamp01((shannon_entropy(label) - 2.5) / 1.0);
    let vowel_share = f64::from(vowels) / f64::from(letters.max(1));
    let vowel = if letters >= MIN_RANDOM_LABEL as u32 {
        clamp01((0.38 - vowel_share) / 0.2)
    } else {
        0.0
    };
    let consonants = clamp01((f64::from(max_run) - 2.0) / 3.0);
    let letter_score = 0.4 * vowel + 0.4 * consonants + 0.2 * entropy;
    let mix_score = clamp01((f64::from(switches) - 1.0) / 3.0) * entropy;
    letter_score.max(mix_score)
}

/// 64-bit hash of a name, for distinct-name counts and fleet keys.
///
/// NOTE: `DefaultHasher::new` has fixed keys, so a sender can craft colliding names; a
/// collision only makes two names count as one.
pub fn name_hash(name: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    hasher.finish()
}

fn clamp01(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_name_cases() {
        let cases = [
            ("www.example.com", Some(("example.com", "example", "www"))),
            (
                "a.b.example.co.uk",
                Some(("example.co.uk", "example", "a.b")),
            ),
            ("example.com.", Some(("example.com", "example", ""))),
            (
                "d1x.cloudfront.net",
                Some(("d1x.cloudfront.net", "d1x", "")),
            ),
            (
                "host.corp.internal",
                Some(("corp.internal", "corp", "host")),
            ),
            ("com", None),
            ("co.uk", None),
            ("", None),
            ("4.3.2.1.in-addr.arpa", None),
            ("printer.local", None),
        ];
        for (name, expected) in cases {
            let got = split_name(name).map(|s| (s.registered, s.registered_label, s.subdomain));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn split_name_matches_str_patterns() {
        /// Splits the label and subdomain with `str` patterns.
        fn reference(name: &str) -> Option<(&str, &str, &str)> {
            let name = name.strip_suffix('.').unwrap_or(name);
            let registered = psl::domain_str(name)?;
            let label = registered.split('.').next().unwrap_or(registered);
            let prefix_len = name.len().checked_sub(registered.len())?;
            let subdomain = name.get(..prefix_len)?.trim_end_matches('.');
            Some((registered, label, subdomain))
        }
        let names = [
            "www.example.com",
            "a..example.com",
            "..example.com",
            ".example.com",
            "x.y.z.example.co.uk.",
            "caf\u{e9}.example.org",
            "xn--caf-dma.example",
            "a.b.c.d.e.f.g.example.com",
        ];
        for name in names {
            let got = split_name(name).map(|s| (s.registered, s.registered_label, s.subdomain));
            assert_eq!(got, reference(name), "{name}");
        }
    }

    #[test]
    fn entropy_values() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!((shannon_entropy("ab.cd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn entropy_matches_full_scan() {
        let reference = |text: &str| -> f64 {
            let mut counts = [0u32; 256];
            let mut total = 0u32;
            for byte in text.bytes().filter(|&b| b != b'.') {
                counts[usize::from(byte)] += 1;
                total += 1;
            }
            if total == 0 {
                return 0.0;
            }
            let total = f64::from(total);
            counts
                .iter()
                .filter(|&&count| count > 0)
                .map(|&count| {
                    let p = f64::from(count) / total;
                    -p * p.log2()
                })
                .sum()
        };
        let all_bytes: String = (0u8..=127).map(char::from).collect();
        let cases = [
            "",
            ".",
            "a",
            "zzzz",
            "abc.def",
            "x7k2m9q4z8.a3f9c2e1b7d4e8f0",
            "?@AZ[`az{~\u{7f}",
            "caf\u{e9}-\u{1f600}",
            all_bytes.as_str(),
        ];
        for text in cases {
            assert_eq!(
                shannon_entropy(text).to_bits(),
                reference(text).to_bits(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn entropy_terms_match_direct() {
        for total in 1..=TERM_TABLE_MAX_TOTAL as u32 {
            for count in 1..=total {
                let index = total as usize * TERM_ROW + count as usize;
                assert_eq!(
                    ENTROPY_TERMS[index].to_bits(),
                    entropy_term(count, f64::from(total)).to_bits(),
                    "{count}/{total}"
                );
            }
        }
    }

    #[test]
    fn entropy_around_table_edge() {
        for len in [63, 64, 65, 66] {
            let text: String = (0..len).map(|i| char::from(b'a' + (i % 7) as u8)).collect();
            let mut counts = [0u32; 256];
            for byte in text.bytes() {
                counts[usize::from(byte)] += 1;
            }
            let total = f64::from(len as u32);
            let expected: f64 = counts
                .iter()
                .filter(|&&count| count > 0)
                .map(|&count| entropy_term(count, total))
                .sum();
            assert_eq!(
                shannon_entropy(&text).to_bits(),
                expected.to_bits(),
                "{len}"
            );
        }
    }

    #[test]
    fn randomness_cases() {
        let random = [
            "xjwkqtrzpl",
            "qzxvbnmkwt",
            "a3f9c2e1b7d4e8f0",
            "k7x2m9q4z8",
            "tbxnqzhrkw",
        ];
        let words = [
            "google",
            "gooogle",
            "amazno",
            "mircosoft",
            "stackoverflow",
            "server2024",
            "example",
            "update-check",
            "cdn",
        ];
        for label in random {
            assert!(
                label_randomness(label) >= 0.5,
                "{label}: {}",
                label_randomness(label)
            );
        }
        for label in words {
            assert!(
                label_randomness(label) < 0.5,
                "{label}: {}",
                label_randomness(label)
            );
        }
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(name_hash("a.example"), name_hash("a.example"));
        assert_ne!(name_hash("a.example"), name_hash("b.example"));
    }
}
