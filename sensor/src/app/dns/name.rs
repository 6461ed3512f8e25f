//! Domain names: decoding from a DNS message with compression pointers (RFC 1035 section
//! 4.1.4), stored uncompressed in a fixed buffer, and written in presentation form.

use std::borrow::Cow;
use std::fmt;

use super::DnsError;

/// Maximum length of a name in wire form, including the length bytes and the root label
/// (RFC 1035 section 2.3.4).
pub const MAX_NAME_BYTES: usize = 255;

/// Maximum length of one label (RFC 1035 section 2.3.4).
pub const MAX_LABEL_BYTES: usize = 63;

/// Stored bytes: the wire form without the root label's zero byte.
const STORED_BYTES: usize = MAX_NAME_BYTES - 1;

/// Room for the text of a name without escapes in whole 16-byte blocks: at most
/// `STORED_BYTES - 1` bytes.
const TEXT_BUFFER_BYTES: usize = STORED_BYTES.div_ceil(16) * 16;

/// A domain name in uncompressed wire form (length-prefixed labels, without the root
/// label), with ASCII letters lowercased because DNS compares names case-insensitively
/// (RFC 4343). Other bytes are kept as they are, so labels may hold any byte.
#[derive(Clone)]
pub struct DnsName {
    bytes: [u8; STORED_BYTES],
    len: u8,
}

impl DnsName {
    /// The root name (no labels), written `.`.
    pub const ROOT: DnsName = DnsName {
        bytes: [0; STORED_BYTES],
        len: 0,
    };

    /// Builds a name from dotted text without escapes (`www.example.com`, with or without
    /// the final dot). Returns `None` for an empty label, a label over 63 bytes or a name
    /// over 255 bytes.
    pub fn from_dotted(text: &str) -> Option<DnsName> {
        let mut name = DnsName::ROOT;
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Some(name);
        }
        // A byte split: labels are short, and `str::split` calls `memchr` per label.
        for label in trimmed.as_bytes().split(|&byte| byte == b'.') {
            if label.is_empty() || label.len() > MAX_LABEL_BYTES {
                return None;
            }
            name.push_label(label).ok()?;
        }
        Some(name)
    }

    /// Returns the presentation form (the text of `Display`) of
    /// `DnsName::from_dotted(text)` without building the name: the text
    /// lowercased and without its final dot, or `.` for the root. Returns
    /// `None` where `from_dotted` does, and for text with a byte that
    /// `Display` escapes (one outside printable ASCII, or `\`).
    pub fn dotted_presentation(text: &str) -> Option<Cow<'_, str>> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Some(Cow::Borrowed("."));
        }
        // Each dot becomes a length byte and one more comes first.
        if trimmed.len() + 1 > STORED_BYTES {
            return None;
        }

        // One pass over the bytes, with one table load per byte: names are
        // short, and a pass per check costs more than the checks.
        let mut label_len = 0;
        let mut uppercase = false;
        for &byte in trimmed.as_bytes() {
            match DOTTED_CLASS[usize::from(byte)] {
                DottedClass::Plain => label_len += 1,
                DottedClass::Uppercase => {
                    uppercase = true;
                    label_len += 1;
                }
                DottedClass::Dot => {
                    if label_len == 0 || label_len > MAX_LABEL_BYTES {
                        return None;
                    }
                    label_len = 0;
                }
                DottedClass::Escaped => return None,
            }
        }
        if label_len == 0 || label_len > MAX_LABEL_BYTES {
            return None;
        }

        if uppercase {
            return Some(Cow::Owned(trimmed.to_ascii_lowercase()));
        }
        Some(Cow::Borrowed(trimmed))
    }

    /// Returns the uncompressed wire form without the root label's zero byte.
    pub fn as_wire(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Returns whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.len == 0
    }

    /// Returns the labels, leftmost first, without their length bytes.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            rest: self.as_wire(),
        }
    }

    /// Appends the presentation form to `out`: the same text as `Display`,
    /// written without `core::fmt`. Every byte written is ASCII.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        let wire = self.as_wire();
        let Some((&first_len, rest)) = wire.split_first() else {
            out.push(b'.');
            return;
        };

        // Most names are printable: take the wire form less its first length byte, and
        // turn every later length byte into a dot. The copy goes to a buffer of whole
        // 16-byte blocks, padded with a printable letter, so the checks below run over
        // blocks of fixed size, which the compiler turns into vector instructions.
        let mut text = [b'a'; TEXT_BUFFER_BYTES];
        let len = rest.len();
        if let Some(copy) = text.get_mut(..len) {
            copy.copy_from_slice(rest);
        }
        let mut separators = 0;
        let mut at = usize::from(first_len);
        while let Some(&len) = wire.get(at + 1) {
            if let Some(byte) = text.get_mut(at) {
                *byte = b'.';
                separators += 1;
            }
            at += 1 + usize::from(len);
        }

        // The copy is the text when every byte is printable and not `\`, and the only dots
        // are the separators. The passes have no early exit, so they vectorise.
        let (blocks, _) = text.as_chunks::<16>();
        let mut escaped = 0u8;
        let mut dots = 0;
        for block in blocks.iter().take(len.div_ceil(16)) {
            let mut block_dots = 0u8;
            for &byte in block {
                escaped |= u8::from(!matches!(byte, 0x21..=0x7e) | (byte == b'\\'));
                block_dots += u8::from(byte == b'.');
            }
            dots += usize::from(block_dots);
        }
        if escaped == 0 && dots == separators {
            out.extend_from_slice(text.get(..len).unwrap_or_default());
            return;
        }

        self.write_escaped(out);
    }

    /// Appends the presentation form label by label, escaping as `Display` does.
    fn write_escaped(&self, out: &mut Vec<u8>) {
        out.reserve(usize::from(self.len));
        for (index, label) in self.labels().enumerate() {
            if index > 0 {
                out.push(b'.');
            }
            // Runs of printable bytes go out as one copy, as in `Display`.
            let mut rest = label;
            while let Some(at) = rest.iter().position(|&byte| !is_plain(byte)) {
                let (run, tail) = rest.split_at(at);
                out.extend_from_slice(run);
                let Some((&byte, tail)) = tail.split_first() else {
                    break;
                };
                if byte == b'.' || byte == b'\\' {
                    out.extend_from_slice(&[b'\\', byte]);
                } else {
                    out.extend_from_slice(&[
                        b'\\',
                        b'0' + byte / 100,
                        b'0' + byte / 10 % 10,
                        b'0' + byte % 10,
                    ]);
                }
                rest = tail;
            }
            out.extend_from_slice(rest);
        }
    }

    /// Returns the presentation form, as [`Display`](fmt::Display) writes it, through
    /// [`DnsName::write_text`].
    pub fn text(&self) -> String {
        // Without escapes the text is one byte shorter than the wire form, so one
        // allocation of the wire length is nearly always enough. The root is `.`.
        let mut out = Vec::with_capacity(usize::from(self.len).max(1));
        self.write_text(&mut out);
        // `write_text` writes ASCII only.
        String::from_utf8(out).unwrap_or_else(|_| self.to_string())
    }

    /// Appends one label, lowercasing ASCII letters. The caller checks the label length.
    fn push_label(&mut self, label: &[u8]) -> Result<(), DnsError> {
        let start = usize::from(self.len);
        // The new length byte and label, plus the root label's zero byte, must fit in 255.
        let end = start + 1 + label.len();
        let Some(slot) = self.bytes.get_mut(start..end) else {
            return Err(DnsError::NameTooLong);
        };
        let Some((length_byte, data)) = slot.split_first_mut() else {
            return Err(DnsError::NameTooLong);
        };
        *length_byte = label.len() as u8;
        data.copy_from_slice(label);
        data.make_ascii_lowercase();
        self.len = end as u8;
        Ok(())
    }

    /// Appends labels in wire form as they are. The caller checks that they are valid
    /// and fit: labels that do not fit are not appended.
    fn push_labels(&mut self, labels: &[u8]) {
        let start = usize::from(self.len);
        let end = start + labels.len();
        if let Some(slot) = self.bytes.get_mut(start..end) {
            slot.copy_from_slice(labels);
            self.len = end as u8;
        }
    }

    /// Lowercases the ASCII letters of the stored labels. Length bytes (1 to 63) are not
    /// letters, and bytes past the name are unused, so the loop runs over whole 16-byte
    /// blocks of fixed size, which the compiler turns into vector instructions.
    fn lowercase(&mut self) {
        let len = usize::from(self.len);
        let (blocks, tail) = self.bytes.as_chunks_mut::<16>();
        let full_blocks = blocks.len();
        for block in blocks.iter_mut().take(len.div_ceil(16)) {
            for byte in block {
                byte.make_ascii_lowercase();
            }
        }
        if len > full_blocks * 16 {
            tail.make_ascii_lowercase();
        }
    }
}

impl PartialEq for DnsName {
    fn eq(&self, other: &Self) -> bool {
        self.as_wire() == other.as_wire()
    }
}

impl Eq for DnsName {}

impl std::hash::Hash for DnsName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_wire().hash(state);
    }
}

/// Writes the presentation form without the final dot (`www.example.com`; the root is
/// `.`). A `.` or `\` inside a label is escaped with a backslash, and bytes outside
/// printable ASCII as `\DDD` (decimal), as in RFC 1035 section 5.1 master files.
impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (index, label) in self.labels().enumerate() {
            if index > 0 {
                f.write_str(".")?;
            }
            // Runs of printable bytes go out as one string. Names are nearly always
            // one run per label, and writing byte by byte was most of the cost of
            // the DNS findings.
            let mut rest = label;
            while !rest.is_empty() {
                let plain = rest
                    .iter()
                    .position(|&byte| !is_plain(byte))
                    .unwrap_or(rest.len());
                let (run, tail) = rest.split_at(plain);
                f.write_str(std::str::from_utf8(run).map_err(|_| fmt::Error)?)?;
                let Some((&byte, tail)) = tail.split_first() else {
                    break;
                };
                match byte {
                    b'.' | b'\\' => write!(f, "\\{}", byte as char)?,
                    _ => write!(f, "\\{byte:03}")?,
                }
                rest = tail;
            }
        }
        Ok(())
    }
}

/// Printable ASCII that a name writes as it is: all of it but `.` and `\`.
fn is_plain(byte: u8) -> bool {
    // One table load per byte instead of four comparisons.
    PLAIN[usize::from(byte)]
}

/// The kind of a byte of dotted text, for [`DnsName::dotted_presentation`].
#[derive(Clone, Copy)]
enum DottedClass {
    /// Written as it is: [`is_plain`] and not an uppercase letter.
    Plain,
    /// An ASCII uppercase letter, written lowercased.
    Uppercase,
    /// A label separator.
    Dot,
    /// A byte that `Display` writes as an escape.
    Escaped,
}

/// The [`DottedClass`] of every byte value.
const DOTTED_CLASS: [DottedClass; 256] = {
    let mut classes = [DottedClass::Escaped; 256];
    let mut byte = 0;
    while byte < 256 {
        classes[byte] = if byte == b'.' as usize {
            DottedClass::Dot
        } else if !PLAIN[byte] {
            DottedClass::Escaped
        } else if (byte as u8).is_ascii_uppercase() {
            DottedClass::Uppercase
        } else {
            DottedClass::Plain
        };
        byte += 1;
    }
    classes
};

/// [`is_plain`] of every byte value.
const PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut byte = 0x21;
    while byte <= 0x7e {
        plain[byte] = byte != b'.' as usize && byte != b'\\' as usize;
        byte += 1;
    }
    plain
};

impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DnsName({self})")
    }
}

/// Iterator over the labels of a [`DnsName`].
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        let label = tail.get(..usize::from(len))?;
        self.rest = tail.get(usize::from(len)..).unwrap_or(&[]);
        Some(label)
    }
}

/// The reason a name could not be read: the message ended inside it, or it is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NameError {
    Truncated,
    Invalid(DnsError),
}

impl From<DnsError> for NameError {
    fn from(error: DnsError) -> Self {
        NameError::Invalid(error)
    }
}

/// Reads the name that starts at `start` in `message` into `name`, which is cleared
/// first, so that parsing a message writes each name once, in place. Returns the offset
/// after the name's inline part (after the zero byte, or after the first compression
/// pointer). On error `name` contains the labels read so far.
///
/// Every pointer must target an offset before the start of the labels being read at
/// that moment. Pointer targets therefore strictly decrease, and the walk ends after at
/// most `start` jumps. A pointer to its own offset or later, past the end included, is
/// [`DnsError::NamePointerForward`]. A pointer back into the labels already followed is
/// [`DnsError::NamePointerLoop`].
///
/// NOTE: every encoder that writes names in order passes this check. A pointer back into
/// the labels already followed is rejected as a loop even in the contrived case where a
/// misaligned read from its target would end.
pub(super) fn read_name_into(
    message: &[u8],
    start: usize,
    name: &mut DnsName,
) -> Result<usize, NameError> {
    name.len = 0;
    let result = read_labels(message, start, name);
    name.lowercase();
    result
}

/// Does the work of [`read_name_into`] without lowercasing. Labels are stored as the
/// message has them, so each run of labels up to a zero byte or pointer is checked
/// label by label and then copied at once.
fn read_labels(message: &[u8], start: usize, name: &mut DnsName) -> Result<usize, NameError> {
    let mut pos = start;
    let mut segment_start = start;
    let mut inline_end = None;

    loop {
        let run_start = pos;
        let mut stored = usize::from(name.len);
        // The byte that ends the run of labels, or the error at the first bad label.
        let run_end = loop {
            let Some(&length_byte) = message.get(pos) else {
                break Err(NameError::Truncated);
            };
            if length_byte == 0 || length_byte >> 6 == 0b11 {
                break Ok(length_byte);
            }
            if length_byte >> 6 != 0b00 {
                // 0b01 (extended label, RFC 6891 section 5) and 0b10 (reserved): a
                // length byte from 64 to 191, so a label over 63 bytes.
                break Err(DnsError::NameLabelTooLong.into());
            }
            let label_end = pos + 1 + usize::from(length_byte);
            if label_end > message.len() {
                break Err(NameError::Truncated);
            }
            // The new length byte and label, plus the root label's zero byte, must fit
            // in 255.
            stored += 1 + usize::from(length_byte);
            if stored > STORED_BYTES {
                break Err(DnsError::NameTooLong.into());
            }
            pos = label_end;
        };
        // The labels before an error are kept too, as `read_name_into` documents.
        name.push_labels(message.get(run_start..pos).unwrap_or_default());

        let length_byte = run_end?;
        if length_byte == 0 {
            return Ok(*inline_end.get_or_insert(pos + 1));
        }
        let low = *message.get(pos + 1).ok_or(NameError::Truncated)?;
        let target = usize::from(length_byte & 0x3f) << 8 | usize::from(low);
        if target >= pos {
            return Err(DnsError::NamePointerForward.into());
        }
        if target >= segment_start {
            return Err(DnsError::NamePointerLoop.into());
        }
        inline_end.get_or_insert(pos + 2);
        pos = target;
        segment_start = target;
    }
}
