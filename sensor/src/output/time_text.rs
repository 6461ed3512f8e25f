//! Record times as JSON text: each time as a quoted RFC 3339 string, and the
//! same nanoseconds as a number. The text of the two latest times is kept. A
//! record writes each time twice (`start` and `start_ns`), and its times
//! repeat (`flow_start` is often `start`, and a direction's `last` is often
//! `end`), so most times cost a copy. A new time in the second of the latest
//! one only gets its nine fraction digits written, and the calendar date is
//! computed again only when the day changes.

use crate::decimal::{self, U64_DIGITS};
use crate::flow::Rfc3339;
use crate::flow::time::{NS_PER_SECOND, SECONDS_PER_DAY, clock_text, date_text, put};
use crate::output::json_buf::JsonBuf;

/// Cached text of the latest times written. Create one per output stream.
#[derive(Clone, Debug, Default)]
pub struct TimeText {
    entries: [Entry; 2],
    /// Index of the entry used last.
    recent: usize,
}

/// The text of one time.
#[derive(Clone, Debug)]
struct Entry {
    /// Nanoseconds since the epoch that the other fields are for.
    ns: u64,
    /// Seconds since the epoch that `quoted` and `second_digits` are for.
    second: u64,
    /// The time in quotes, `"YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"`.
    quoted: [u8; 32],
    /// `second` in decimal, left-aligned, and its number of digits.
    second_digits: [u8; U64_DIGITS],
    second_len: usize,
}

impl Default for Entry {
    /// Returns the text of time 0.
    fn default() -> Self {
        let mut second_digits = [0; U64_DIGITS];
        second_digits[0] = b'0';
        Entry {
            ns: 0,
            second: 0,
            quoted: *b"\"1970-01-01T00:00:00.000000000Z\"",
            second_digits,
            second_len: 1,
        }
    }
}

impl TimeText {
    /// Appends `time` as a quoted RFC 3339 string (the same text as its
    /// `Display`).
    #[inline(always)]
    pub fn put_time(&mut self, out: &mut JsonBuf, time: Rfc3339) {
        out.put(&self.entry(time.0).quoted);
    }

    /// Appends `ns` in decimal.
    #[inline(always)]
    pub fn put_ns(&mut self, out: &mut JsonBuf, ns: u64) {
        if ns < NS_PER_SECOND {
            // The fraction is not zero-padded when no seconds precede it.
            out.put_u64(ns);
            return;
        }
        let entry = self.entry(ns);
        out.put_prefix(&entry.second_digits, entry.second_len);
        let fraction: &[u8; 9] = entry.quoted[21..30].try_into().unwrap_or(&[b'0'; 9]);
        out.put(fraction);
    }

    /// Returns the entry of `ns`. When neither entry is for `ns`, the older
    /// one becomes a copy of the newer and is then changed to `ns`, so a time
    /// in the same second only needs its fraction written.
    #[inline(always)]
    fn entry(&mut self, ns: u64) -> &Entry {
        let recent = self.recent % 2;
        let other = 1 - recent;
        if self.entries[recent].ns != ns {
            if self.entries[other].ns != ns {
                self.entries[other] = self.entries[recent].clone();
                self.entries[other].set(ns);
            }
            self.recent = other;
            return &self.entries[other];
        }
        &self.entries[recent]
    }
}

impl Entry {
    #[inline(never)]
    fn set(&mut self, ns: u64) {
        let second = ns / NS_PER_SECOND;
        if second != self.second {
            let day = second / SECONDS_PER_DAY;
            if day != self.second / SECONDS_PER_DAY {
                put(&mut self.quoted, 1, &date_text(day));
            }
            let clock = clock_text((second % SECONDS_PER_DAY) as u32);
            put(&mut self.quoted, 12, &clock);
            self.second_len = decimal::write_u64(&mut self.second_digits, second);
            self.second = second;
        }
        let nanos = (ns % NS_PER_SECOND) as u32;
        put(&mut self.quoted, 21, &decimal::nine_digits(nanos));
        self.ns = ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::json_buf::written_by;

    const DAY_NS: u64 = SECONDS_PER_DAY * NS_PER_SECOND;

    /// Times at year ends, leap days, second and day boundaries, fractions of
    /// 0 and 999,999,999, and the ends of the range.
    fn edge_times() -> Vec<u64> {
        let mut times = vec![0, 1, 999_999_999, NS_PER_SECOND, u64::MAX, u64::MAX - 1];
        // 1970-01-01, 1972-02-29 (leap), 2000-02-29, 2024-12-31, 2100-03-01
        // (2100 is no leap year), and the days around each.
        for day in [0u64, 789, 11_016, 20_088, 47_541] {
            for around in [day.saturating_sub(1), day, day + 1] {
                let start = around * DAY_NS;
                times.extend([
                    start,
                    start + 999_999_999,
                    start + DAY_NS - 1,
                    start + 43_200 * NS_PER_SECOND + 70_503_000,
                ]);
            }
        }
        times
    }

    fn via_cache(cache: &mut TimeText, ns: u64) -> (String, String) {
        let time = written_by(|out| cache.put_time(out, Rfc3339(ns)));
        let number = written_by(|out| cache.put_ns(out, ns));
        (
            String::from_utf8(time).expect("ASCII"),
            String::from_utf8(number).expect("ASCII"),
        )
    }

    fn check(cache: &mut TimeText, ns: u64) {
        let (time, number) = via_cache(cache, ns);
        assert_eq!(time, format!("\"{}\"", Rfc3339(ns)), "{ns}");
        assert_eq!(number, ns.to_string(), "{ns}");
    }

    #[test]
    fn cached_text_edge_times_in_order() {
        let mut cache = TimeText::default();
        for ns in edge_times() {
            check(&mut cache, ns);
        }
    }

    #[test]
    fn cached_text_edge_times_reversed() {
        let mut cache = TimeText::default();
        for ns in edge_times().into_iter().rev() {
            check(&mut cache, ns);
        }
    }

    #[test]
    fn cached_text_repeats_and_neighbours() {
        let mut cache = TimeText::default();
        let base = 1_740_960_003_071_385_000u64;
        for step in [0, 0, 1, 1_000, NS_PER_SECOND, 0, DAY_NS, 59 * NS_PER_SECOND] {
            check(&mut cache, base + step);
            check(&mut cache, base + step);
        }
    }

    #[test]
    fn number_without_time_matches_display() {
        let mut cache = TimeText::default();
        for ns in edge_times() {
            let number = written_by(|out| cache.put_ns(out, ns));
            assert_eq!(number, ns.to_string().into_bytes(), "{ns}");
        }
    }

    #[test]
    fn cached_text_pseudo_random_times() {
        let mut cache = TimeText::default();
        let mut ns = 0u64;
        for step in 0..20_000u64 {
            ns = ns.wrapping_add(step.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 4);
            check(&mut cache, ns);
            // A close time, as the times of one record are.
            check(&mut cache, ns.saturating_add(step % 3 * 400_000_000));
        }
    }
}
