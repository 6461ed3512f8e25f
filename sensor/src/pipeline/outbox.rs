//! What one packet thread sends to the writer thread, in batches: application
//! findings and finished flow records, in the order the thread made them. One
//! channel message per batch instead of per item spares a wake-up of the
//! writer for every record, and lets the channel hold a few thousand small
//! slots instead of tens of thousands of whole records.
//!
//! Order matters: a DNS answer must reach the writer's passive DNS before the
//! records of the flows that follow it, and no later findings before them.

use crossbeam::channel::{Sender, TrySendError};

use crate::{app::meta::AppEvent, flow::FlowRecord};

/// Items a replay collects before it flushes. Live workers flush once per poll
/// of their socket, whatever the count.
pub const BATCH_ITEMS: usize = 256;

/// One item for the writer thread.
#[derive(Debug)]
pub enum Output {
    App(AppEvent),
    Record(FlowRecord),
}

/// Pending items of one thread.
pub struct Outbox {
    sender: Sender<Vec<Output>>,
    pending: Vec<Output>,
    /// Live capture drops findings when the channel is full (metadata is lost,
    /// packets and records never are); replay waits.
    drop_app_when_full: bool,
}

impl Outbox {
    pub fn new(sender: Sender<Vec<Output>>, drop_app_when_full: bool) -> Self {
        Outbox {
            sender,
            pending: Vec::new(),
            drop_app_when_full,
        }
    }

    pub fn record(&mut self, record: FlowRecord) {
        self.pending.push(Output::Record(record));
    }

    pub fn app_event(&mut self, event: AppEvent) {
        self.pending.push(Output::App(event));
    }

    /// Items waiting for the next flush.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sends the pending items. Records always go through: a full channel
    /// makes this thread wait, after a live outbox has dropped the batch's
    /// findings. Returns how many findings were dropped.
    pub fn flush(&mut self) -> u64 {
        if self.pending.is_empty() {
            return 0;
        }
        // The next batch will likely be as large as this one: reserving that
        // much spares the copies of growing it item by item.
        let capacity = self.pending.len();
        let mut batch = std::mem::replace(&mut self.pending, Vec::with_capacity(capacity));
        let mut dropped = 0;
        if self.drop_app_when_full {
            batch = match self.sender.try_send(batch) {
                Ok(()) => return 0,
                Err(TrySendError::Full(mut batch)) => {
                    let before = batch.len();
                    batch.retain(|item| matches!(item, Output::Record(_)));
                    dropped = (before - batch.len()) as u64;
                    batch
                }
                Err(TrySendError::Disconnected(batch)) => batch,
            };
            if batch.is_empty() {
                return dropped;
            }
        }
        let count = batch.len();
        // The writer thread only stops after every packet thread is gone, so a
        // send fails only if it died; its own error is reported when it is
        // joined.
        if self.sender.send(batch).is_err() {
            tracing::error!(
                items = count,
                "flow records dropped: the writer thread has stopped"
            );
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::meta::{AppFinding, HttpMeta};
    use crate::flow::FlowKey;
    use crossbeam::channel::bounded;

    fn event() -> AppEvent {
        AppEvent {
            key: FlowKey::default(),
            receiver: std::net::Ipv4Addr::LOCALHOST.into(),
            ts_ns: 1,
            finding: AppFinding::Http(HttpMeta::default()),
        }
    }

    fn kinds(batch: &[Output]) -> String {
        batch
            .iter()
            .map(|item| match item {
                Output::App(_) => 'a',
                Output::Record(_) => 'r',
            })
            .collect()
    }

    #[test]
    fn flush_keeps_the_order_and_sends_nothing_when_empty() {
        let (sender, receiver) = bounded(4);
        let mut outbox = Outbox::new(sender, false);
        assert_eq!(outbox.flush(), 0);
        assert!(receiver.is_empty());

        outbox.app_event(event());
        outbox.record(crate::flow::testing::record());
        outbox.app_event(event());
        assert_eq!(outbox.pending(), 3);
        assert_eq!(outbox.flush(), 0);
        assert_eq!(outbox.pending(), 0);
        let batch = receiver.try_recv().expect("one batch");
        assert_eq!(kinds(&batch), "ara");
    }

    #[test]
    fn live_outbox_drops_only_findings_when_the_channel_is_full() {
        let (sender, receiver) = bounded(1);
        let mut outbox = Outbox::new(sender, true);
        outbox.app_event(event());
        assert_eq!(outbox.flush(), 0);

        outbox.app_event(event());
        outbox.app_event(event());
        assert_eq!(outbox.flush(), 2, "the channel holds one batch");
        assert_eq!(receiver.len(), 1);
        assert_eq!(outbox.pending(), 0, "dropped findings do not pile up");

        // A record waits for room instead of being dropped.
        outbox.app_event(event());
        outbox.record(crate::flow::testing::record());
        let taker = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let first = receiver.recv().expect("first batch");
            let second = receiver.recv().expect("second batch");
            (kinds(&first), kinds(&second))
        });
        assert_eq!(outbox.flush(), 1);
        assert_eq!(
            taker.join().expect("taker"),
            ("a".to_string(), "r".to_string())
        );
    }
}
