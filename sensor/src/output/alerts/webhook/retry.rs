//! Retry rules of the webhook sink: the classification of outcomes and the backoff.

use std::time::Duration;

/// The sink's next step after one response status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusAction {
    /// 2xx: the alert is delivered.
    Delivered,
    /// 5xx and 429: the receiver is overloaded or failing, so try again later.
    Retry,
    /// Any other status (1xx, 3xx, 4xx): the request itself is wrong and a retry would
    /// get the same response. Redirects are not followed, so 3xx lands here too.
    Reject,
}

/// Classifies one response status.
pub fn status_action(status: u16) -> StatusAction {
    match status {
        200..=299 => StatusAction::Delivered,
        429 | 500..=599 => StatusAction::Retry,
        _ => StatusAction::Reject,
    }
}

/// Tells whether a transport error (no response) is worth another try. Connection, name
/// lookup, timeout and I/O errors are. Errors in the request or the client settings are
/// not, because they would repeat.
pub fn error_is_retryable(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}

/// Exponential backoff: `initial`, then doubling, never above `max`.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            next: initial.min(max),
            max,
        }
    }

    /// Returns the wait before the next try and doubles the one after it. A `Retry-After`
    /// from the receiver lengthens the wait, but never past `max`.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let base = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        match retry_after {
            Some(asked) => asked.max(base).min(self.max),
            None => base,
        }
    }
}

/// Parses a `Retry-After` value given in seconds.
///
/// NOTE: the HTTP-date form of `Retry-After` is not parsed; such a value is ignored and
/// the plain backoff applies.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
