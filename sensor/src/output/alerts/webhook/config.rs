//! Settings of the webhook sink and the checks on its URL.

use std::time::Duration;

use ureq::http::Uri;

use super::super::error::AlertSinkError;

/// Settings of a [`WebhookSink`](super::WebhookSink).
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// `http://host[:port]/path` that receives one POST per alert. `https://` is
    /// rejected because this build has no TLS.
    pub url: String,
    /// Alerts waiting for delivery; when full, new alerts are dropped and counted.
    pub queue_capacity: usize,
    /// Limit on one request: connect, send and receive the response.
    pub request_timeout: Duration,
    /// Tries per alert, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; each further retry doubles it up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Upper limit of the wait between tries, `Retry-After` included.
    pub max_backoff: Duration,
    /// How long shutdown keeps delivering queued alerts before it drops the rest.
    pub shutdown_timeout: Duration,
    /// Send through the proxy named by `ALL_PROXY`/`HTTP_PROXY` (and honour `NO_PROXY`).
    /// Off by default, so alerts go only to the host in `url`.
    pub use_env_proxy: bool,
}

impl WebhookConfig {
    /// Defaults: 1024 queued alerts, 10 s per request, 5 tries, backoff from 0.5 s
    /// doubling to 30 s, 5 s to drain at shutdown, no proxy.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookConfig {
            url: url.into(),
            queue_capacity: 1024,
            request_timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
            use_env_proxy: false,
        }
    }

    /// Checks every setting; returns the URL's `scheme://host[:port]`, which is safe to log
    /// because the path, query and user info (where tokens live) are left out.
    pub(super) fn validate(&self) -> Result<String, AlertSinkError> {
        if self.queue_capacity == 0 {
            return Err(AlertSinkError::InvalidConfig(
                "the queue capacity is 0; it must be at least 1 alert".to_string(),
            ));
        }
        if self.max_attempts == 0 {
            return Err(AlertSinkError::InvalidConfig(
                "max attempts is 0; it must be at least 1".to_string(),
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(AlertSinkError::InvalidConfig(
                "the request timeout is 0; give it at least 1 ms".to_string(),
            ));
        }
        loggable_target(&self.url)
    }
}

/// Parses `url` and returns its `scheme://host[:port]`.
pub(super) fn loggable_target(url: &str) -> Result<String, AlertSinkError> {
    let uri: Uri = url.parse().map_err(|e| {
        AlertSinkError::InvalidUrl(format!("{e}; expected http://host[:port]/path"))
    })?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(AlertSinkError::InvalidUrl(
                "https is not supported because this build has no TLS; use an http:// URL, \
                 for example a relay on the same host"
                    .to_string(),
            ));
        }
        Some(other) => {
            return Err(AlertSinkError::InvalidUrl(format!(
                "scheme {other:?} is not supported; use http://"
            )));
        }
        None => {
            return Err(AlertSinkError::InvalidUrl(
                "the scheme is missing; expected http://host[:port]/path".to_string(),
            ));
        }
    }
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return Err(AlertSinkError::InvalidUrl(
            "the host is missing; expected http://host[:port]/path".to_string(),
        ));
    };
    Ok(match uri.port_u16() {
        Some(port) => format!("http://{host}:{port}"),
        None => format!("http://{host}"),
    })
}
