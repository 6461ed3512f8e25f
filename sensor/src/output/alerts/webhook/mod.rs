//! The HTTP webhook sink: one JSON POST per alert from its own thread, behind a bounded
//! queue, so a slow or failing receiver never blocks the model.

mod config;
mod retry;
mod worker;

#[cfg(test)]
pub(super) mod test_server;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam::channel::{self, Sender, TrySendError};
use serde::Serialize;
use tracing::{info, warn};

use super::counters::{SinkCounters, SinkCounts};
use super::error::AlertSinkError;
pub use config::WebhookConfig;
use worker::Worker;

/// Sends each alert as `POST <url>` with a JSON body (`content-type: application/json`).
///
/// [`send`](Self::send) only queues: when the queue is full the alert is dropped and
/// counted. The thread retries connection errors, timeouts, 5xx and 429 with exponential
/// backoff (honouring `Retry-After` in seconds) up to `max_attempts`, and gives up at once
/// on other statuses, logging the status. Redirects are not followed.
/// [`shutdown`](Self::shutdown), also run on drop, delivers what is queued until
/// `shutdown_timeout` and drops the rest.
pub struct WebhookSink {
    queue: Option<Sender<Arc<[u8]>>>,
    stop: Option<Sender<()>>,
    deadline: Arc<OnceLock<Instant>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<SinkCounters>,
    target: String,
    config: WebhookConfig,
}

impl WebhookSink {
    /// Checks `config` and starts the delivery thread.
    pub fn start(config: WebhookConfig) -> Result<Self, AlertSinkError> {
        let target = config.validate()?;
        let mut agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("sensor/", env!("CARGO_PKG_VERSION")));
        if !config.use_env_proxy {
            agent_config = agent_config.proxy(None);
        }
        let agent: ureq::Agent = agent_config.build().into();

        let (queue_tx, queue_rx) = channel::bounded(config.queue_capacity);
        let (stop_tx, stop_rx) = channel::bounded(0);
        let deadline = Arc::new(OnceLock::new());
        let counters = Arc::new(SinkCounters::default());
        let worker = Worker {
            agent,
            config: config.clone(),
            target: target.clone(),
            queue: queue_rx,
            stop: stop_rx,
            deadline: Arc::clone(&deadline),
            counters: Arc::clone(&counters),
        };
        let thread = std::thread::Builder::new()
            .name("alert-webhook".to_string())
            .spawn(move || worker.run())
            .map_err(AlertSinkError::Spawn)?;

        info!(
            target = %target,
            queue_capacity = config.queue_capacity,
            max_attempts = config.max_attempts,
            "alert webhook started"
        );
        Ok(WebhookSink {
            queue: Some(queue_tx),
            stop: Some(stop_tx),
            deadline,
            thread: Some(thread),
            counters,
            target,
            config,
        })
    }

    /// Serializes `alert` and queues it. Never blocks; see [`send_json`](Self::send_json).
    pub fn send<T: Serialize>(&self, alert: &T) -> Result<(), AlertSinkError> {
        let json = serde_json::to_vec(alert).map_err(AlertSinkError::Encode)?;
        self.send_json(json.into());
        Ok(())
    }

    /// Queues one alert that is already JSON. Returns false, counting the alert as
    /// dropped, when the queue is full or the sink has stopped.
    pub fn send_json(&self, json: Arc<[u8]>) -> bool {
        let Some(queue) = &self.queue else {
            self.counters.add_dropped(1);
            return false;
        };
        match queue.try_send(json) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.add_dropped(1);
                false
            }
        }
    }

    /// Alerts waiting in the queue.
    pub fn queue_len(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.len())
    }

    /// Counters of this sink.
    pub fn counters(&self) -> Arc<SinkCounters> {
        Arc::clone(&self.counters)
    }

    /// `scheme://host[:port]` of the URL: the part that is safe to log.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Stops accepting alerts, delivers the queued ones until `shutdown_timeout` has
    /// passed, drops the rest, and joins the thread. Requests started after shutdown
    /// begins end by the deadline, but one already in flight may run its full
    /// `request_timeout`, so this returns within `shutdown_timeout + request_timeout`.
    pub fn shutdown(mut self) -> SinkCounts {
        self.stop_and_join();
        self.counters.snapshot()
    }

    fn stop_and_join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let _ = self
            .deadline
            .set(Instant::now() + self.config.shutdown_timeout);
        // Dropping the senders closes the queue (after what it holds) and wakes a backoff.
        self.queue = None;
        self.stop = None;
        if thread.join().is_err() {
            warn!(target = %self.target, "alert webhook thread panicked");
        }
        let counts = self.counters.snapshot();
        info!(
            target = %self.target,
            sent = counts.sent,
            failed = counts.failed,
            retried = counts.retried,
            dropped = counts.dropped,
            "alert webhook stopped"
        );
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
