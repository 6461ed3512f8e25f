//! Rejection reasons of the ClientHello parser and of the per-flow reassembly buffer.
//! Each reason has a counter index (`reason as usize`) and a Prometheus label.

/// The reason the parser rejected a TLS record stream or ClientHello message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TlsError {
    #[error("record content type is not handshake (22) or record version major is not 3")]
    NotHandshakeRecord,
    #[error("tls record length above 16384 bytes")]
    RecordTooLong,
    #[error("handshake message type is not client_hello (1)")]
    NotClientHello,
    #[error("clienthello length above the reassembly limit")]
    HelloTooLong,
    #[error("clienthello truncated before the end of the cipher suites")]
    Truncated,
    #[error("clienthello session id longer than 32 bytes")]
    InvalidSessionId,
    #[error("clienthello cipher suite list empty or of odd length")]
    InvalidCipherSuites,
    #[error("clienthello compression method list empty")]
    InvalidCompression,
    #[error("clienthello extension block or extension length overruns the message")]
    InvalidExtensions,
    #[error("server_name extension malformed")]
    InvalidServerName,
    #[error("application_layer_protocol_negotiation extension malformed")]
    InvalidAlpn,
    #[error("supported_versions, signature_algorithms or supported_groups extension malformed")]
    InvalidExtensionList,
}

impl TlsError {
    /// Number of reasons.
    pub const COUNT: usize = 12;

    /// Every reason, in the order of its counter index.
    pub const ALL: [TlsError; TlsError::COUNT] = [
        TlsError::NotHandshakeRecord,
        TlsError::RecordTooLong,
        TlsError::NotClientHello,
        TlsError::HelloTooLong,
        TlsError::Truncated,
        TlsError::InvalidSessionId,
        TlsError::InvalidCipherSuites,
        TlsError::InvalidCompression,
        TlsError::InvalidExtensions,
        TlsError::InvalidServerName,
        TlsError::InvalidAlpn,
        TlsError::InvalidExtensionList,
    ];

    /// Returns the snake_case name used as the Prometheus label `reason`.
    pub fn label(self) -> &'static str {
        match self {
            TlsError::NotHandshakeRecord => "not_handshake_record",
            TlsError::RecordTooLong => "record_too_long",
            TlsError::NotClientHello => "not_client_hello",
            TlsError::HelloTooLong => "hello_too_long",
            TlsError::Truncated => "truncated",
            TlsError::InvalidSessionId => "invalid_session_id",
            TlsError::InvalidCipherSuites => "invalid_cipher_suites",
            TlsError::InvalidCompression => "invalid_compression",
            TlsError::InvalidExtensions => "invalid_extensions",
            TlsError::InvalidServerName => "invalid_server_name",
            TlsError::InvalidAlpn => "invalid_alpn",
            TlsError::InvalidExtensionList => "invalid_extension_list",
        }
    }
}

/// The reason a [`HelloBuffer`](super::HelloBuffer) stopped collecting a flow's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum GiveUpReason {
    #[error("first client bytes are not a tls handshake record")]
    NotTls,
    #[error("records before the end of the clienthello are not valid handshake records")]
    InvalidRecords,
    #[error("clienthello larger than the reassembly buffer")]
    Overflow,
    #[error("segment starts beyond the out-of-order window")]
    OutOfWindow,
    #[error("more holes between received segments than the buffer tracks")]
    TooManyGaps,
}

impl GiveUpReason {
    /// Number of reasons.
    pub const COUNT: usize = 5;

    /// Every reason, in the order of its counter index.
    pub const ALL: [GiveUpReason; GiveUpReason::COUNT] = [
        GiveUpReason::NotTls,
        GiveUpReason::InvalidRecords,
        GiveUpReason::Overflow,
        GiveUpReason::OutOfWindow,
        GiveUpReason::TooManyGaps,
    ];

    /// Returns the snake_case name used as the Prometheus label `reason`.
    pub fn label(self) -> &'static str {
        match self {
            GiveUpReason::NotTls => "not_tls",
            GiveUpReason::InvalidRecords => "invalid_records",
            GiveUpReason::Overflow => "overflow",
            GiveUpReason::OutOfWindow => "out_of_window",
            GiveUpReason::TooManyGaps => "too_many_gaps",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_snake_case_unique(labels: &[&str], count: usize) {
        for label in labels {
            assert!(
                label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{label}"
            );
        }
        let mut sorted = labels.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), count);
    }

    #[test]
    fn tls_all_in_index_order() {
        for (index, reason) in TlsError::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{reason:?}");
        }
    }

    #[test]
    fn tls_labels_unique_snake_case() {
        let labels: Vec<&str> = TlsError::ALL.iter().map(|r| r.label()).collect();
        assert_snake_case_unique(&labels, TlsError::COUNT);
    }

    #[test]
    fn give_up_all_in_index_order() {
        for (index, reason) in GiveUpReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{reason:?}");
        }
    }

    #[test]
    fn give_up_labels_unique_snake_case() {
        let labels: Vec<&str> = GiveUpReason::ALL.iter().map(|r| r.label()).collect();
        assert_snake_case_unique(&labels, GiveUpReason::COUNT);
    }
}
