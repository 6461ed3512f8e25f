//! Rejection reasons of the QUIC Initial parser. Each reason has a counter index
//! (`reason as usize`) and a Prometheus label.

/// The reason the parser rejected a UDP datagram as a client Initial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum QuicError {
    #[error("first packet has a short header (form bit 0)")]
    NotLongHeader,
    #[error("quic version is not 1 or 2 (or is 0, version negotiation)")]
    UnsupportedVersion,
    #[error("long header packet type is not initial")]
    NotInitial,
    #[error("long header truncated before the packet number")]
    HeaderTruncated,
    #[error("connection id longer than 20 bytes")]
    InvalidConnectionId,
    #[error("length field beyond the datagram, or too short for a packet number and tag")]
    InvalidLength,
    #[error("payload authentication failed with the initial keys")]
    DecryptFailed,
    #[error("frame type not allowed in an initial packet, or frame malformed")]
    InvalidFrame,
}

impl QuicError {
    /// Number of reasons.
    pub const COUNT: usize = 8;

    /// Every reason, in the order of its counter index.
    pub const ALL: [QuicError; QuicError::COUNT] = [
        QuicError::NotLongHeader,
        QuicError::UnsupportedVersion,
        QuicError::NotInitial,
        QuicError::HeaderTruncated,
        QuicError::InvalidConnectionId,
        QuicError::InvalidLength,
        QuicError::DecryptFailed,
        QuicError::InvalidFrame,
    ];

    /// Returns the snake_case name used as the Prometheus label `reason`.
    pub fn label(self) -> &'static str {
        match self {
            QuicError::NotLongHeader => "not_long_header",
            QuicError::UnsupportedVersion => "unsupported_version",
            QuicError::NotInitial => "not_initial",
            QuicError::HeaderTruncated => "header_truncated",
            QuicError::InvalidConnectionId => "invalid_connection_id",
            QuicError::InvalidLength => "invalid_length",
            QuicError::DecryptFailed => "decrypt_failed",
            QuicError::InvalidFrame => "invalid_frame",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_in_index_order() {
        for (index, reason) in QuicError::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{reason:?}");
        }
    }

    #[test]
    fn labels_unique_snake_case() {
        let mut labels: Vec<&str> = QuicError::ALL.iter().map(|r| r.label()).collect();
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
        assert_eq!(labels.len(), QuicError::COUNT);
    }
}
