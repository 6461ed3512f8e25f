//! JSON strings with the escapes that serde_json writes (`format_escaped_str`
//! in serde_json 1.0.154): `\"`, `\\`, `\b`, `\t`, `\n`, `\f` and `\r`, and
//! `\u00xx` (lowercase hex) for the other bytes below 0x20. Every other byte,
//! DEL and non-ASCII included, goes out as it is. DNS names, HTTP fields and
//! TLS server names come from the network, so every string is scanned, and
//! runs without escapes are copied whole.

use crate::output::json_buf::JsonBuf;

/// Appends `text` as a quoted JSON string.
#[inline(always)]
pub fn put_str(out: &mut JsonBuf, text: &str) {
    out.put_byte(b'"');
    let mut rest = text.as_bytes();
    while let Some(at) = find_escape(rest) {
        let (run, tail) = rest.split_at(at);
        out.put_slice(run);
        let Some((&byte, tail)) = tail.split_first() else {
            break;
        };
        put_escape(out, byte);
        rest = tail;
    }
    out.put_slice(rest);
    out.put_byte(b'"');
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Returns the index of the first byte to escape. Whole words of eight bytes
/// are tested at once (SWAR), then the word with a hit byte by byte.
fn find_escape(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut clean = 0;
    for word in &mut words {
        let word: [u8; 8] = word.try_into().unwrap_or([0; 8]);
        if word_needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        clean += 8;
    }
    let rest = bytes.get(clean..)?;
    rest.iter()
        .position(|&byte| needs_escape(byte))
        .map(|at| clean + at)
}

/// Returns whether a byte of `word` is below 0x20, a quote or a backslash.
/// `(x - 0x01…01 * n) & !x & 0x80…80` is not zero exactly when some byte of
/// `x` is below `n` (for n up to 0x80). A byte equal to `c` is a zero byte of
/// `x ^ 0x01…01 * c`, so it is found as a byte below 1.
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quotes = word ^ (ONES * u64::from(b'"'));
    let backslashes = word ^ (ONES * u64::from(b'\\'));
    let quote = quotes.wrapping_sub(ONES) & !quotes;
    let backslash = backslashes.wrapping_sub(ONES) & !backslashes;
    (below_space | quote | backslash) & HIGH_BITS != 0
}

#[inline(always)]
fn put_escape(out: &mut JsonBuf, byte: u8) {
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        b'\t' => b't',
        b'\n' => b'n',
        0x0c => b'f',
        b'\r' => b'r',
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let high = HEX[usize::from(byte >> 4)];
            let low = HEX[usize::from(byte & 0x0f)];
            out.put(&[b'\\', b'u', b'0', b'0', high, low]);
            return;
        }
    };
    out.put(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::json_buf::written_by;

    fn ours(text: &str) -> String {
        let out = written_by(|out| put_str(out, text));
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    fn theirs(text: &str) -> String {
        serde_json::to_string(text).expect("serialized")
    }

    #[test]
    fn every_ascii_byte_matches_serde() {
        for byte in 0..0x80u8 {
            let text = char::from(byte).to_string();
            assert_eq!(ours(&text), theirs(&text), "byte {byte:#04x}");
        }
    }

    #[test]
    fn escapes_between_runs_match_serde() {
        let all_ascii: String = (0..0x80u8).map(char::from).collect();
        let cases = [
            "",
            "plain.example",
            "\"",
            "\\",
            "a\"b\\c",
            "\u{0}\u{1f}\u{7f}",
            "end with a newline\n",
            "\ttab first",
            all_ascii.as_str(),
            "www.\\046example\\\\.com",
        ];
        for text in cases {
            assert_eq!(ours(text), theirs(text), "{text:?}");
        }
    }

    #[test]
    fn escape_at_every_word_position() {
        for len in 0..24 {
            for at in 0..len {
                for special in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    let text = String::from_utf8(bytes).expect("ASCII");
                    assert_eq!(find_escape(text.as_bytes()), Some(at), "{text:?}");
                    assert_eq!(ours(&text), theirs(&text), "{text:?}");
                }
            }
            let plain = "é".repeat(len);
            assert_eq!(find_escape(plain.as_bytes()), None, "{plain:?}");
        }
    }

    #[test]
    fn word_test_matches_byte_test() {
        for fill in [b'x', b' ', 0x80, 0xff] {
            for byte in 0..=u8::MAX {
                for at in 0..8 {
                    let mut word = [fill; 8];
                    word[at] = byte;
                    assert_eq!(
                        word_needs_escape(u64::from_le_bytes(word)),
                        needs_escape(byte),
                        "byte {byte:#04x} at {at} among {fill:#04x}"
                    );
                }
            }
        }
    }

    #[test]
    fn non_ascii_matches_serde() {
        let cases = [
            "é",
            "bücher.example",
            "\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
            "\u{2028}\u{2029}",
            "日本語\n\"引用\"",
            "\u{feff}bom",
        ];
        for text in cases {
            assert_eq!(ours(text), theirs(text), "{text:?}");
        }
    }
}
