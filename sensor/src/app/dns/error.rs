//! Rejection reasons of the DNS message parser. Each reason has a counter index
//! (`reason as usize`) and a Prometheus label.

/// The reason the parser rejected a DNS message.
///
/// A message cut short is not rejected: it gives the sections read so far, marked
/// `partial`. These reasons are for bytes that no valid message contains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DnsError {
    #[error("dns message shorter than its 12-byte header")]
    HeaderShort,
    #[error("dns name compression pointer targets its own offset or a later one")]
    NamePointerForward,
    #[error("dns name compression pointer targets labels already read (a loop)")]
    NamePointerLoop,
    #[error("dns label length byte above 63 (label types 0x40 and 0x80 are not supported)")]
    NameLabelTooLong,
    #[error("dns name longer than 255 bytes")]
    NameTooLong,
    #[error(
        "dns record data does not match its type or length (a not 4 bytes, aaaa not 16, a name past the data)"
    )]
    RdataInvalid,
}

impl DnsError {
    /// Number of reasons.
    pub const COUNT: usize = 6;

    /// Every reason, in the order of its counter index.
    pub const ALL: [DnsError; DnsError::COUNT] = [
        DnsError::HeaderShort,
        DnsError::NamePointerForward,
        DnsError::NamePointerLoop,
        DnsError::NameLabelTooLong,
        DnsError::NameTooLong,
        DnsError::RdataInvalid,
    ];

    /// Returns the snake_case name used as the Prometheus label `reason`.
    pub fn label(self) -> &'static str {
        match self {
            DnsError::HeaderShort => "header_short",
            DnsError::NamePointerForward => "name_pointer_forward",
            DnsError::NamePointerLoop => "name_pointer_loop",
            DnsError::NameLabelTooLong => "name_label_too_long",
            DnsError::NameTooLong => "name_too_long",
            DnsError::RdataInvalid => "rdata_invalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_in_index_order() {
        for (index, reason) in DnsError::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{reason:?}");
        }
    }

    #[test]
    fn labels_unique_snake_case() {
        let mut labels: Vec<&str> = DnsError::ALL.iter().map(|r| r.label()).collect();
        for label in &labels {
            assert!(
                label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{label}"
            );
        }
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), DnsError::COUNT);
    }
}
