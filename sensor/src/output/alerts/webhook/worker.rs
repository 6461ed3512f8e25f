//! The webhook delivery thread: takes alerts off the queue and POSTs them, retrying with
//! backoff, until the queue closes or the shutdown deadline passes.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError};
use tracing::{debug, info, warn};

use super::super::counters::SinkCounters;
use super::config::WebhookConfig;
use super::retry::{Backoff, StatusAction, error_is_retryable, parse_retry_after, status_action};

/// Bytes of a rejected response body that go into the log line.
const LOGGED_BODY_BYTES: usize = 200;
/// Bytes of a response body read so the connection can be reused.
const READ_BODY_LIMIT: u64 = 64 * 1024;

/// The outcome of one POST.
enum Attempt {
    Delivered,
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Reject {
        reason: String,
    },
}

pub(super) struct Worker {
    pub agent: ureq::Agent,
    pub config: WebhookConfig,
    /// `scheme://host[:port]` of the URL, the only part that is logged.
    pub target: String,
    pub queue: Receiver<Arc<[u8]>>,
    /// Never carries a message; its sender is dropped when shutdown begins, which wakes a
    /// backoff wait at once.
    pub stop: Receiver<()>,
    /// Set by shutdown before it drops the senders.
    pub deadline: Arc<OnceLock<Instant>>,
    pub counters: Arc<SinkCounters>,
}

impl Worker {
    pub fn run(self) {
        while let Ok(body) = self.queue.recv() {
            if self.deadline_passed() {
                let left = 1 + self.queue.len() as u64;
                self.counters.add_dropped(left);
                warn!(
                    target = %self.target,
                    alerts = left,
                    timeout_ms = self.config.shutdown_timeout.as_millis() as u64,
                    "alert webhook shutdown timeout reached; dropped the alerts still queued"
                );
                return;
            }
            self.deliver(&body);
        }
    }

    /// Tries to deliver one alert, up to `max_attempts` times.
    fn deliver(&self, body: &[u8]) {
        let mut backoff = Backoff::new(self.config.initial_backoff, self.config.max_backoff);
        let mut attempt = 1u32;
        loop {
            let (reason, retry_after) = match self.post(body) {
                Attempt::Delivered => {
                    self.counters.add_sent();
                    return;
                }
                Attempt::Reject { reason } => {
                    self.counters.add_failed();
                    warn!(
                        target = %self.target,
                        %reason,
                        "alert webhook rejected an alert; not retrying"
                    );
                    return;
                }
                Attempt::Retry {
                    reason,
                    retry_after,
                } => (reason, retry_after),
            };

            if attempt >= self.config.max_attempts {
                self.counters.add_failed();
                warn!(
                    target = %self.target,
                    attempts = attempt,
                    %reason,
                    "alert webhook failed to deliver an alert; giving up"
                );
                return;
            }
            let delay = backoff.next_delay(retry_after);
            if !self.wait(delay) {
                self.counters.add_failed();
                warn!(
                    target = %self.target,
                    attempts = attempt,
                    %reason,
                    "alert webhook failed to deliver an alert before the shutdown timeout"
                );
                return;
            }
            info!(
                target = %self.target,
                attempt = attempt + 1,
                max_attempts = self.config.max_attempts,
                delay_ms = delay.as_millis() as u64,
                %reason,
                "retrying alert webhook delivery"
            );
            self.counters.add_retried();
            attempt += 1;
        }
    }

    fn post(&self, body: &[u8]) -> Attempt {
        let Some(timeout) = self.request_timeout() else {
            return Attempt::Retry {
                reason: "the shutdown timeout ran out".to_string(),
                retry_after: None,
            };
        };
        let result = self
            .agent
            .post(&self.config.url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("content-type", "application/json")
            .send(body);

        let mut response = match result {
            Ok(response) => response,
            Err(error) if error_is_retryable(&error) => {
                return Attempt::Retry {
                    reason: error.to_string(),
                    retry_after: None,
                };
            }
            Err(error) => {
                return Attempt::Reject {
                    reason: error.to_string(),
                };
            }
        };

        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // Reading the body lets the agent reuse the connection; its text explains a
        // rejection better than the status alone.
        let text = response
            .body_mut()
            .with_config()
            .limit(READ_BODY_LIMIT)
            .read_to_vec()
            .unwrap_or_default();
        debug!(target = %self.target, status, "alert webhook response");

        match status_action(status) {
            StatusAction::Delivered => Attempt::Delivered,
            StatusAction::Retry => Attempt::Retry {
                reason: describe_status(status, &text),
                retry_after,
            },
            StatusAction::Reject => Attempt::Reject {
                reason: describe_status(status, &text),
            },
        }
    }

    /// Returns the limit for the next request: the configured one, cut short by the
    /// shutdown deadline. Returns `None` when the deadline has passed.
    fn request_timeout(&self) -> Option<Duration> {
        match self.deadline.get() {
            None => Some(self.config.request_timeout),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.min(self.config.request_timeout))
            }
        }
    }

    fn deadline_passed(&self) -> bool {
        self.deadline
            .get()
            .is_some_and(|deadline| Instant::now() >= *deadline)
    }

    /// Sleeps for `delay`, waking early when shutdown begins. Returns false when the
    /// wait would end after the shutdown deadline, so the caller gives up.
    fn wait(&self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        if self
            .deadline
            .get()
            .is_some_and(|deadline| until > *deadline)
        {
            return false;
        }
        match self.stop.recv_deadline(until) {
            Err(RecvTimeoutError::Timeout) => true,
            // Shutdown began during the wait: finish it only if the deadline allows.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                if self
                    .deadline
                    .get()
                    .is_some_and(|deadline| until > *deadline)
                {
                    return false;
                }
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                true
            }
        }
    }
}

/// `HTTP 400: <start of the body>`, with control characters escaped.
fn describe_status(status: u16, body: &[u8]) -> String {
    let prefix = body.get(..LOGGED_BODY_BYTES).unwrap_or(body);
    let text = String::from_utf8_lossy(prefix);
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", text.escape_debug())
    }
}
