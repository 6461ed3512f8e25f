//! Domain names: decoding from a DNS message with compression pointers (RFC 1035 section
//! 4.1.4), stored uncompressed in a fixed buffer, and written in presentation form.

use std::fmt;

use super::DnsError;

/// Maximum length of a name in wire form, including the length bytes and the root label
/// (RFC 1035 section 2.3.4).
pub const MAX_NAME_BYTES: usize = 255;

/// Maximum length of one label (RFC 1035 section 2.3.4).
pub const MAX_LABEL_BYTES: usize = 63;

/// Stored bytes: the wire form without the root label's zero byte.
const STORED_BYTES: usize = MAX_NAME_BYTES - 1;

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
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > MAX_LABEL_BYTES {
                return None;
            }
            name.push_label(label.as_bytes()).ok()?;
        }
        Some(name)
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
        for (to, from) in data.iter_mut().zip(label) {
            *to = from.to_ascii_lowercase();
        }
        self.len = end as u8;
        Ok(())
    }
}

impl DnsName {
    /// Returns the presentation form, as [`Display`](fmt::Display) writes it. Names of
    /// printable bytes only, nearly all of them, are copied in one pass without the
    /// formatting machinery.
    pub fn text(&self) -> String {
        let wire = self.as_wire();
        let Some((&first_len, rest)) = wire.split_first() else {
            return self.to_string();
        };
        // The wire form less its first length byte, with every later length byte
        // turned into a dot.
        let mut text = rest.to_vec();
        let mut dots = 0;
        let mut at = usize::from(first_len);
        while let Some(&len) = wire.get(at + 1) {
            if let Some(byte) = text.get_mut(at) {
                *byte = b'.';
                dots += 1;
            }
            at += 1 + usize::from(len);
        }
        // Plain when every byte is printable and not `\`, and the only dots are the
        // separators just written. Byte-wide passes without early exit, which the
        // compiler vectorises.
        let unprintable = text.iter().fold(0u8, |bad, &b| {
            bad | u8::from(!matches!(b, 0x21..=0x7e) | (b == b'\\'))
        });
        let all_dots = text.iter().filter(|&&b| b == b'.').count();
        if unprintable != 0 || all_dots != dots {
            return self.to_string();
        }
        String::from_utf8(text).unwrap_or_else(|_| self.to_string())
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
    matches!(byte, 0x21..=0x7e) && byte != b'.' && byte != b'\\'
}

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
/// pointer). On error `name` holds the labels read so far.
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
    let mut pos = start;
    let mut segment_start = start;
    let mut inline_end = None;

    loop {
        let length_byte = *message.get(pos).ok_or(NameError::Truncated)?;
        match length_byte >> 6 {
            0b00 => {
                if length_byte == 0 {
                    return Ok(*inline_end.get_or_insert(pos + 1));
                }
                let len = usize::from(length_byte);
                let label = message
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(NameError::Truncated)?;
                name.push_label(label)?;
                pos += 1 + len;
            }
            0b11 => {
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
            // 0b01 (extended label, RFC 6891 section 5) and 0b10 (reserved): a length
            // byte from 64 to 191, so a label over 63 bytes.
            _ => return Err(DnsError::NameLabelTooLong.into()),
        }
    }
}
