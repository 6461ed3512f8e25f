//! RFC 3339 timestamps with nanoseconds, from nanoseconds since the Unix epoch (UTC).

use std::fmt;

use serde::{Serialize, Serializer};

use crate::decimal;

/// A time in nanoseconds since the Unix epoch, written (and serialized) as RFC 3339
/// text, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`. Records carry up to seven times. Keeping
/// them as numbers until they are written spares the packet thread seven formatted
/// strings per record, which took a quarter of its time in replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rfc3339(pub u64);

impl Rfc3339 {
    /// Returns the text as ASCII bytes.
    pub(crate) fn text(self) -> [u8; 30] {
        let secs = self.0 / NS_PER_SECOND;
        let nanos = (self.0 % NS_PER_SECOND) as u32;
        let mut text = *b"0000-00-00T00:00:00.000000000Z";
        put(&mut text, 0, &date_text(secs / SECONDS_PER_DAY));
        put(&mut text, 11, &clock_text((secs % SECONDS_PER_DAY) as u32));
        put(&mut text, 20, &decimal::nine_digits(nanos));
        text
    }
}

pub(crate) const NS_PER_SECOND: u64 = 1_000_000_000;
pub(crate) const SECONDS_PER_DAY: u64 = 86_400;

/// Returns `YYYY-MM-DD` of `days` since 1970-01-01.
pub(crate) fn date_text(days: u64) -> [u8; 10] {
    let (year, month, day) = civil_from_days(days);
    // The year of u64::MAX nanoseconds is 2554, so four digits always suffice.
    let [y1, y2, y3, y4] = decimal::quad(year as u32);
    let [m1, m2] = decimal::pair(month as u32);
    let [d1, d2] = decimal::pair(day as u32);
    [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2]
}

/// Returns `HH:MM:SS` of `seconds` since midnight (below 86,400).
pub(crate) fn clock_text(seconds: u32) -> [u8; 8] {
    let [h1, h2] = decimal::pair(seconds / 3600);
    let [m1, m2] = decimal::pair(seconds % 3600 / 60);
    let [s1, s2] = decimal::pair(seconds % 60);
    [h1, h2, b':', m1, m2, b':', s1, s2]
}

/// Copies `part` into `text` at `at`.
pub(crate) fn put(text: &mut [u8], at: usize, part: &[u8]) {
    if let Some(slot) = text.get_mut(at..at + part.len()) {
        slot.copy_from_slice(part);
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only ASCII digits and separators were written, so this never fails.
        f.write_str(std::str::from_utf8(&self.text()).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Formats `ns` as RFC 3339 text (see [`Rfc3339`]).
pub fn rfc3339_ns(ns: u64) -> String {
    Rfc3339(ns).to_string()
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day), with
/// Howard Hinnant's `civil_from_days` algorithm (eras of 400 years).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_times() {
        let cases = [
            (0, "1970-01-01T00:00:00.000000000Z"),
            (951_782_400_000_000_001, "2000-02-29T00:00:00.000000001Z"),
            (1_561_647_600_123_456_789, "2019-06-27T15:00:00.123456789Z"),
            (4_102_444_799_999_999_999, "2099-12-31T23:59:59.999999999Z"),
        ];
        for (ns, text) in cases {
            assert_eq!(rfc3339_ns(ns), text, "{ns}");
        }
    }

    #[test]
    fn rfc3339_matches_format_over_the_range() {
        let mut ns = 0u64;
        for step in 0..20_000u64 {
            ns = ns.wrapping_add(step.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 4);
            let secs = ns / 1_000_000_000;
            let (year, month, day) = civil_from_days(secs / 86_400);
            let rem = secs % 86_400;
            let expected = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                ns % 1_000_000_000
            );
            assert_eq!(rfc3339_ns(ns), expected, "{ns}");
        }
        assert_eq!(rfc3339_ns(u64::MAX), "2554-07-21T23:34:33.709551615Z");
    }

    /// Returns the text as the digit-by-digit writer wrote it before the pair table.
    fn reference_text(ns: u64) -> String {
        fn put_digits(text: &mut [u8], range: std::ops::Range<usize>, mut value: u64) {
            for digit in text[range].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        let secs = ns / 1_000_000_000;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(secs / 86_400);
        let mut text = *b"0000-00-00T00:00:00.000000000Z";
        put_digits(&mut text, 0..4, year);
        put_digits(&mut text, 5..7, month);
        put_digits(&mut text, 8..10, day);
        put_digits(&mut text, 11..13, rem / 3600);
        put_digits(&mut text, 14..16, rem % 3600 / 60);
        put_digits(&mut text, 17..19, rem % 60);
        put_digits(&mut text, 20..29, ns % 1_000_000_000);
        String::from_utf8(text.to_vec()).expect("ASCII")
    }

    #[test]
    fn rfc3339_matches_reference_at_edges() {
        const DAY_NS: u64 = 86_400 * 1_000_000_000;
        let mut times = vec![0, 1, 999_999_999, 1_000_000_000, u64::MAX, u64::MAX - 1];
        // Days since 1970 around year ends and February: 1972, 2000 and 2024
        // are leap years, 2100 is not (a century not divisible by 400), and
        // day 213,503 (2554) contains u64::MAX.
        let days = [
            0, 59, 730, 789, 790, 10_956, 11_016, 11_017, 19_782, 19_783, 20_088, 20_089, 47_540,
            47_541, 213_503,
        ];
        for day in days {
            let start = day * DAY_NS;
            times.extend([
                start.saturating_sub(1),
                start,
                start.saturating_add(999_999_999),
                start.saturating_add(3_599_999_999_999),
                start.saturating_add(DAY_NS - 1),
            ]);
        }
        for ns in times {
            assert_eq!(rfc3339_ns(ns), reference_text(ns), "{ns}");
        }
    }
}
