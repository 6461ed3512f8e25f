//! The batches one packet thread sends to the writer thread: application
//! findings and finished flow records, in the order the thread made them. One
//! channel message per batch instead of per item spares a wake-up of the
//! writer for every record, and the queue still counts items (see `item_queue`).
//!
//! Order matters: a DNS answer must reach the writer's passive DNS before the
//! records of the flows that follow it, and no later findings before them.

use crate::{app::meta::AppEvent, flow::FlowRecord, pipeline::item_queue::ItemSender};

/// Maximum items in one batch: an outbox sends a batch as soon as it has this
/// many. Live workers also flush once per poll of their socket, whatever the
/// count, and replay flushes at the end. With 256, replay woke the writer four
/// times as often, and each wake-up costs a futex call and a context switch.
pub const BATCH_ITEMS: usize = 1024;

/// One item for the writer thread.
// Boxing the record would shrink the findings' slots, at the cost of an allocation
// and a free in another thread for every record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Output {
    App(AppEvent),
    Record(FlowRecord),
}

/// Pending items of one thread.
pub struct Outbox {
    sender: ItemSender<Output>,
    pending: Vec<Output>,
    /// Findings dropped by flushes since [`Outbox::flush`] last returned.
    dropped: u64,
    /// Live capture drops findings when the queue is full (metadata is lost,
    /// packets and records never are); replay waits.
    drop_app_when_full: bool,
}

impl Outbox {
    pub fn new(sender: ItemSender<Output>, drop_app_when_full: bool) -> Self {
        Outbox {
            sender,
            pending: Vec::new(),
            dropped: 0,
            drop_app_when_full,
        }
    }

    pub fn record(&mut self, record: FlowRecord) {
        self.push(Output::Record(record));
    }

    pub fn app_event(&mut self, event: AppEvent) {
        self.push(Output::App(event));
    }

    /// Queues `item`, sending a full batch at once: an expiry sweep or the
    /// final drain ends many flows in one call, and their records must not pile
    /// up here beyond the queue's bound.
    fn push(&mut self, item: Output) {
        self.pending.push(item);
        if self.pending.len() >= BATCH_ITEMS {
            let spare = self.sender.spare_batch(BATCH_ITEMS);
            let batch = std::mem::replace(&mut self.pending, spare);
            self.dropped += self.send(batch);
        }
    }

    /// Items waiting for the next flush.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sends the pending items (never more than [`BATCH_ITEMS`]). Records always
    /// go through: a full queue makes this thread wait, after a live outbox has
    /// dropped the batch's findings. Returns how many findings were dropped
    /// since the last call, here or by a full batch sent on the way.
    pub fn flush(&mut self) -> u64 {
        if !self.pending.is_empty() {
            // The next flush will likely be as large as this one: reserving that
            // much spares the copies of growing it item by item.
            let spare = self.sender.spare_batch(self.pending.len());
            let batch = std::mem::replace(&mut self.pending, spare);
            self.dropped += self.send(batch);
        }
        std::mem::take(&mut self.dropped)
    }

    /// Sends one batch; returns the findings dropped.
    fn send(&self, batch: Vec<Output>) -> u64 {
        let mut dropped = 0;
        let batch = if self.drop_app_when_full {
            match self.sender.try_send(batch) {
                Ok(()) => return 0,
                Err(mut batch) => {
                    let before = batch.len();
                    batch.retain(|item| matches!(item, Output::Record(_)));
                    dropped = (before - batch.len()) as u64;
                    if batch.is_empty() {
                        return dropped;
                    }
                    batch
                }
            }
        } else {
            batch
        };
        let count = batch.len();
        // The writer thread only stops after every packet thread is gone, so a
        // send fails only if it died. Its own error is reported when it is
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
    use crate::pipeline::item_queue::item_queue;

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
    fn flush_keeps_item_order() {
        let (sender, receiver) = item_queue(16);
        let mut outbox = Outbox::new(sender, false);
        assert_eq!(outbox.flush(), 0);
        assert!(receiver.is_empty());

        outbox.app_event(event());
        outbox.record(crate::flow::testing::record());
        outbox.app_event(event());
        assert_eq!(outbox.pending(), 3);
        assert_eq!(outbox.flush(), 0);
        assert_eq!(outbox.pending(), 0);
        let batch = receiver.recv().expect("one batch");
        assert_eq!(kinds(&batch), "ara");
    }

    #[test]
    fn outbox_sends_full_batches_as_backlog_grows() {
        let (sender, receiver) = item_queue(4 * BATCH_ITEMS);
        let mut outbox = Outbox::new(sender, false);
        for _ in 0..(2 * BATCH_ITEMS + 1) {
            outbox.record(crate::flow::testing::record());
        }
        assert_eq!(outbox.pending(), 1, "two full batches already went out");
        outbox.flush();
        drop(outbox);
        let sizes: Vec<usize> =
            std::iter::from_fn(|| receiver.recv().map(|batch| batch.len())).collect();
        assert_eq!(sizes, vec![BATCH_ITEMS, BATCH_ITEMS, 1]);
    }

    #[test]
    fn live_outbox_drops_only_findings() {
        let (sender, receiver) = item_queue(1);
        let mut outbox = Outbox::new(sender, true);
        outbox.app_event(event());
        assert_eq!(outbox.flush(), 0);

        outbox.app_event(event());
        outbox.app_event(event());
        assert_eq!(outbox.flush(), 2, "the queue holds one item");
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
