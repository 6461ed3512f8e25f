//! Decimal text of unsigned integers, written two digits at a time from a table
//! of the pairs `00` to `99`. `core::fmt` goes through a `Formatter` with
//! padding and alignment, and a loop that divides once per digit does twice
//! the divisions. Flow records and their times are mostly numbers, so their
//! writers use these functions.
//!
//! Numbers below 10^8 are written as eight zero-padded digits in one `u64`,
//! first digit in the lowest byte. The leading zeros are then the zero digits
//! at the low end, which `trailing_zeros` counts, and a shift drops them.

/// The pairs `00` to `99`, by value, each as a little-endian `u16` (the
/// tens digit in the low byte), so that four of them make an eight-digit
/// word with shifts.
const PAIRS: [u16; 100] = make_pairs();

const fn make_pairs() -> [u16; 100] {
    let mut pairs = [0u16; 100];
    let mut value = 0;
    while value < 100 {
        pairs[value] = u16::from_le_bytes([b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]);
        value += 1;
    }
    pairs
}

/// Maximum digits of a `u64` (`u64::MAX` has 20).
pub const U64_DIGITS: usize = 20;

const TEN_TO_8: u64 = 100_000_000;

/// Eight `b'0'` bytes in one word.
const ZERO_DIGITS: u64 = u64::from_le_bytes([b'0'; 8]);

/// Returns the last two decimal digits of `value`, zero-padded.
#[inline]
pub fn pair(value: u32) -> [u8; 2] {
    pair_word(value).to_le_bytes()
}

#[inline]
fn pair_word(value: u32) -> u16 {
    // The compiler drops the remainder where it can tell that value < 100.
    PAIRS[(value % 100) as usize]
}

/// Returns the last four decimal digits of `value`, zero-padded.
#[inline]
pub fn quad(value: u32) -> [u8; 4] {
    let value = value % 10_000;
    let high = u32::from(pair_word(value / 100));
    let low = u32::from(pair_word(value % 100));
    (high | low << 16).to_le_bytes()
}

/// Returns `value` (below 10^9) as nine digits, zero-padded.
#[inline]
pub fn nine_digits(value: u32) -> [u8; 9] {
    let value = value % 1_000_000_000;
    let [a, b, c, d, e, f, g, h] = eight_digits(value % 100_000_000).to_le_bytes();
    [b'0' + (value / 100_000_000) as u8, a, b, c, d, e, f, g, h]
}

/// Returns the last eight decimal digits of `value`, zero-padded, as a word
/// with the first digit in its lowest byte.
#[inline]
fn eight_digits(value: u32) -> u64 {
    let value = value % 100_000_000;
    let (high, low) = (value / 10_000, value % 10_000);
    let pairs = [high / 100, high % 100, low / 100, low % 100];
    let [a, b, c, d] = pairs.map(|pair| u64::from(pair_word(pair)));
    a | b << 16 | c << 32 | d << 48
}

/// Returns the digits of `value` (below 10^8) without leading zeros, at the
/// start of the array, and their number.
#[inline]
pub fn digits_below_ten_to_8(value: u32) -> ([u8; 8], usize) {
    let word = eight_digits(value);
    // A digit byte minus b'0' is the digit. One digit stays for 0.
    let leading_zeros = ((word - ZERO_DIGITS).trailing_zeros() / 8).min(7);
    let digits = (word >> (8 * leading_zeros)).to_le_bytes();
    (digits, 8 - leading_zeros as usize)
}

/// Writes `value` into the start of `digits` and returns the number of digits.
pub fn write_u64(digits: &mut [u8; U64_DIGITS], value: u64) -> usize {
    if value < TEN_TO_8 {
        let (head, len) = digits_below_ten_to_8(value as u32);
        put(digits, 0, &head);
        return len;
    }
    let high = value / TEN_TO_8;
    let low = (value % TEN_TO_8) as u32;
    let len;
    if high < 100 {
        // Up to ten digits, as the seconds of a time until the year 2286.
        let [tens, ones] = pair(high as u32);
        len = if high < 10 { 1 } else { 2 };
        let head = if high < 10 { [ones, 0] } else { [tens, ones] };
        if let Some(slot) = digits.first_chunk_mut::<2>() {
            *slot = head;
        }
    } else if high < TEN_TO_8 {
        let (head, head_len) = digits_below_ten_to_8(high as u32);
        put(digits, 0, &head);
        len = head_len;
    } else {
        // u64::MAX / 10^16 is 1844, so the head has at most four digits.
        let (head, head_len) = digits_below_ten_to_8((high / TEN_TO_8) as u32);
        put(digits, 0, &head);
        let middle = eight_digits((high % TEN_TO_8) as u32).to_le_bytes();
        put(digits, head_len, &middle);
        len = head_len + 8;
    }
    put(digits, len, &eight_digits(low).to_le_bytes());
    len + 8
}

/// Returns the decimal digits of `value` at the start of the array, and
/// their number.
pub fn digits_u64(value: u64) -> ([u8; U64_DIGITS], usize) {
    let mut digits = [0u8; U64_DIGITS];
    let len = write_u64(&mut digits, value);
    (digits, len)
}

/// Copies eight digits into `digits` at `at` (at most 12).
fn put(digits: &mut [u8; U64_DIGITS], at: usize, part: &[u8; 8]) {
    if let Some(slot) = digits.get_mut(at..at + 8) {
        slot.copy_from_slice(part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values around every power of ten, and the ends of the range.
    fn edge_values() -> Vec<u64> {
        let mut values = vec![0, 1, u64::MAX, u64::MAX - 1, u64::from(u32::MAX)];
        for power in 1..U64_DIGITS as u32 {
            let ten = 10u64.pow(power);
            values.extend([
                ten - 1,
                ten,
                ten + 1,
                ten.saturating_mul(5).saturating_add(3),
            ]);
        }
        values
    }

    fn written(value: u64) -> String {
        let mut digits = [b'#'; U64_DIGITS];
        let len = write_u64(&mut digits, value);
        String::from_utf8(digits[..len].to_vec()).expect("ASCII")
    }

    #[test]
    fn write_u64_edge_values() {
        for value in edge_values() {
            assert_eq!(written(value), value.to_string(), "{value}");
        }
    }

    #[test]
    fn write_u64_pseudo_random_values() {
        let mut value = 1u64;
        for _ in 0..20_000 {
            value = value
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            // Shifts spread the values over every digit count.
            let shifted = value >> (value % 64);
            assert_eq!(written(shifted), shifted.to_string(), "{shifted}");
        }
    }

    #[test]
    fn write_u64_returns_length() {
        for value in edge_values() {
            let mut digits = [b'#'; U64_DIGITS];
            let len = write_u64(&mut digits, value);
            assert_eq!(len, value.to_string().len(), "{value}");
            assert_eq!(&digits[..len], value.to_string().as_bytes(), "{value}");
        }
    }

    #[test]
    fn digits_below_ten_to_8_every_length() {
        let mut values = vec![0, 1, 9, 10, 99_999_999];
        for power in 1..8 {
            let ten = 10u32.pow(power);
            values.extend([ten - 1, ten, ten + 1, ten * 3 + 7]);
        }
        for value in values {
            let (digits, len) = digits_below_ten_to_8(value);
            assert_eq!(&digits[..len], value.to_string().as_bytes(), "{value}");
        }
    }

    #[test]
    fn pair_and_quad_zero_padded() {
        for value in 0..10_000u32 {
            assert_eq!(quad(value), *format!("{value:04}").as_bytes(), "{value}");
            assert_eq!(pair(value), *format!("{:02}", value % 100).as_bytes());
        }
    }

    #[test]
    fn nine_digits_zero_padded() {
        for value in [0, 1, 9, 10, 99_999, 100_000, 123_456_789, 999_999_999] {
            assert_eq!(nine_digits(value), *format!("{value:09}").as_bytes());
        }
    }
}
