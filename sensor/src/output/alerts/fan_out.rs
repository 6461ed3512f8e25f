//! The configured alert sinks, fed one alert at a time.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;

use super::counters::SinkCounts;
use super::error::AlertSinkError;
use super::json_lines::JsonLinesSink;
use super::webhook::WebhookSink;

/// One configured sink.
pub enum AlertSink {
    JsonLines(JsonLinesSink),
    Webhook(WebhookSink),
}

impl From<JsonLinesSink> for AlertSink {
    fn from(sink: JsonLinesSink) -> Self {
        AlertSink::JsonLines(sink)
    }
}

impl From<WebhookSink> for AlertSink {
    fn from(sink: WebhookSink) -> Self {
        AlertSink::Webhook(sink)
    }
}

impl AlertSink {
    /// `json-lines` or `webhook`: a bounded value for a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            AlertSink::JsonLines(_) => "json-lines",
            AlertSink::Webhook(_) => "webhook",
        }
    }

    /// Returns the counters of this sink.
    pub fn counters(&self) -> Arc<super::SinkCounters> {
        match self {
            AlertSink::JsonLines(sink) => sink.counters(),
            AlertSink::Webhook(sink) => sink.counters(),
        }
    }
}

/// Every configured sink for alerts of type `T`. Each alert is serialized once and
/// handed to every sink. Writing to a file blocks the caller for one write and flush;
/// a webhook only queues.
pub struct AlertSinks<T> {
    sinks: Vec<AlertSink>,
    alert: PhantomData<fn(&T)>,
}

impl<T: Serialize> Default for AlertSinks<T> {
    fn default() -> Self {
        AlertSinks {
            sinks: Vec::new(),
            alert: PhantomData,
        }
    }
}

impl<T: Serialize> AlertSinks<T> {
    /// No sinks: alerts are counted by the caller and go nowhere.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, sink: impl Into<AlertSink>) {
        self.sinks.push(sink.into());
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Returns the configured sinks, to read their kinds and counters.
    pub fn sinks(&self) -> &[AlertSink] {
        &self.sinks
    }

    /// Hands `alert` to every sink. A sink that fails does not stop the others; the
    /// first error is returned for the caller to log.
    pub fn send(&mut self, alert: &T) -> Result<(), AlertSinkError> {
        if self.sinks.is_empty() {
            return Ok(());
        }
        let json: Arc<[u8]> = serde_json::to_vec(alert)
            .map_err(AlertSinkError::Encode)?
            .into();

        let mut first_error = None;
        for sink in &mut self.sinks {
            match sink {
                AlertSink::JsonLines(lines) => {
                    if let Err(e) = lines.send_json(&json) {
                        first_error.get_or_insert(e);
                    }
                }
                AlertSink::Webhook(webhook) => {
                    webhook.send_json(Arc::clone(&json));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops every sink: webhooks deliver what they hold within their shutdown timeout.
    /// Returns each sink's kind and final counts.
    pub fn shutdown(self) -> Vec<(&'static str, SinkCounts)> {
        self.sinks
            .into_iter()
            .map(|sink| {
                let kind = sink.kind();
                let counts = match sink {
                    AlertSink::JsonLines(lines) => lines.counters().snapshot(),
                    AlertSink::Webhook(webhook) => webhook.shutdown(),
                };
                (kind, counts)
            })
            .collect()
    }
}
