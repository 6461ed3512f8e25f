//! A channel of batches bounded by the items in them, not by the number of
//! batches. Packet threads send whatever a poll produced, one record or a few
//! hundred. A bound in batches would therefore allow anything from a few
//! thousand to a million items, which is too little when the writer pauses for
//! a moment and too much memory when it stops. Counting items keeps the bound
//! the per-item channels had, while one message still carries many items.
//!
//! The receiver hands emptied batches back (`recycle`) and senders take them
//! (`spare_batch`). A steady stream then reuses a few allocations. Without
//! that, every batch was allocated in one thread and freed in another, and
//! the allocator kept returning the memory to the kernel and faulting it in
//! again.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use crossbeam::{
    channel::{Receiver, RecvTimeoutError, Sender, unbounded},
    queue::ArrayQueue,
};

/// How long a sender waiting for room sleeps between two looks.
const ROOM_POLL: Duration = Duration::from_millis(1);

/// Most emptied batches kept for reuse.
const SPARE_BATCHES: usize = 4;

/// A batch with room for more items than this is freed instead of kept, so
/// the spares stay small whatever one batch held.
const MAX_SPARE_CAPACITY: usize = 4096;

struct Shared {
    /// Items sent and not yet received.
    queued: AtomicUsize,
    capacity: usize,
    receiver_alive: AtomicBool,
}

/// The sending end; clone it for each sending thread.
pub struct ItemSender<T> {
    sender: Sender<Vec<T>>,
    shared: Arc<Shared>,
    spares: Arc<ArrayQueue<Vec<T>>>,
}

impl<T> Clone for ItemSender<T> {
    fn clone(&self) -> Self {
        ItemSender {
            sender: self.sender.clone(),
            shared: Arc::clone(&self.shared),
            spares: Arc::clone(&self.spares),
        }
    }
}

/// The receiving end.
pub struct ItemReceiver<T> {
    receiver: Receiver<Vec<T>>,
    shared: Arc<Shared>,
    spares: Arc<ArrayQueue<Vec<T>>>,
}

/// Creates a queue of at most `capacity` items. An empty queue also takes one
/// batch of any size, so a batch larger than the capacity still passes.
pub fn item_queue<T>(capacity: usize) -> (ItemSender<T>, ItemReceiver<T>) {
    let (sender, receiver) = unbounded();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        capacity,
        receiver_alive: AtomicBool::new(true),
    });
    let spares = Arc::new(ArrayQueue::new(SPARE_BATCHES));
    (
        ItemSender {
            sender,
            shared: Arc::clone(&shared),
            spares: Arc::clone(&spares),
        },
        ItemReceiver {
            receiver,
            shared,
            spares,
        },
    )
}

impl<T> ItemSender<T> {
    /// Returns an empty batch with room for at least `capacity` items: an
    /// emptied one that the receiver gave back, or a new one.
    pub fn spare_batch(&self, capacity: usize) -> Vec<T> {
        match self.spares.pop() {
            Some(mut batch) => {
                batch.reserve(capacity);
                batch
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Sends `batch` if the queue has room for it; gives it back otherwise, or
    /// when the receiver is gone.
    pub fn try_send(&self, batch: Vec<T>) -> Result<(), Vec<T>> {
        let items = batch.len();
        let reserved =
            self.shared
                .queued
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                    (queued == 0 || queued + items <= self.shared.capacity)
                        .then_some(queued + items)
                });
        if reserved.is_err() {
            return Err(batch);
        }
        self.sender.send(batch).map_err(|failed| {
            self.shared.queued.fetch_sub(items, Ordering::AcqRel);
            failed.into_inner()
        })
    }

    /// Sends `batch`, waiting for room. Gives it back only when the receiver is
    /// gone, so a sender never waits for a thread that stopped.
    pub fn send(&self, mut batch: Vec<T>) -> Result<(), Vec<T>> {
        loop {
            match self.try_send(batch) {
                Ok(()) => return Ok(()),
                Err(back) => batch = back,
            }
            if !self.shared.receiver_alive.load(Ordering::Acquire) {
                return Err(batch);
            }
            std::thread::sleep(ROOM_POLL);
        }
    }
}

impl<T> ItemReceiver<T> {
    /// Waits for the next batch; `None` once every sender is gone and the queue
    /// is empty.
    pub fn recv(&self) -> Option<Vec<T>> {
        let batch = self.receiver.recv().ok()?;
        self.taken(&batch);
        Some(batch)
    }

    /// Waits up to `timeout` for the next batch.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Vec<T>, RecvTimeoutError> {
        let batch = self.receiver.recv_timeout(timeout)?;
        self.taken(&batch);
        Ok(batch)
    }

    /// Empties `batch` and keeps its allocation for [`ItemSender::spare_batch`],
    /// unless enough spares wait or it is larger than a spare may be.
    pub fn recycle(&self, mut batch: Vec<T>) {
        if batch.capacity() == 0 || batch.capacity() > MAX_SPARE_CAPACITY {
            return;
        }
        batch.clear();
        // A full pool drops the batch here.
        let _ = self.spares.push(batch);
    }

    /// Returns whether no batch waits.
    pub fn is_empty(&self) -> bool {
        self.receiver.is_empty()
    }

    fn taken(&self, batch: &[T]) {
        self.shared.queued.fetch_sub(batch.len(), Ordering::AcqRel);
    }
}

impl<T> Drop for ItemReceiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_alive.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_counts_items_not_batches() {
        let (sender, receiver) = item_queue::<u32>(10);
        assert!(sender.try_send(vec![1; 6]).is_ok());
        assert!(sender.try_send(vec![2; 4]).is_ok());
        assert_eq!(sender.try_send(vec![3]), Err(vec![3]), "10 items queued");
        assert_eq!(receiver.recv(), Some(vec![1; 6]));
        assert!(sender.try_send(vec![3; 6]).is_ok(), "room for 6 again");
        assert_eq!(sender.try_send(vec![4]), Err(vec![4]));
    }

    #[test]
    fn queue_takes_oversized_batch_when_empty() {
        let (sender, receiver) = item_queue::<u32>(4);
        assert!(sender.try_send(vec![0; 100]).is_ok());
        assert_eq!(sender.try_send(vec![1]), Err(vec![1]));
        assert_eq!(receiver.recv().map(|batch| batch.len()), Some(100));
        assert!(sender.try_send(vec![1]).is_ok());
    }

    #[test]
    fn send_waits_for_room_then_delivers_in_order() {
        let (sender, receiver) = item_queue::<u32>(2);
        sender.send(vec![1, 2]).expect("room");
        let taker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            let first = receiver.recv();
            let second = receiver.recv();
            (first, second)
        });
        sender.send(vec![3]).expect("room after the taker");
        drop(sender);
        assert_eq!(
            taker.join().expect("taker"),
            (Some(vec![1, 2]), Some(vec![3]))
        );
    }

    #[test]
    fn send_fails_when_receiver_is_gone() {
        let (sender, receiver) = item_queue::<u32>(1);
        sender.send(vec![1]).expect("room");
        drop(receiver);
        assert_eq!(sender.send(vec![2]), Err(vec![2]), "full, and nobody takes");
        assert_eq!(sender.try_send(vec![3]), Err(vec![3]));
    }

    #[test]
    fn recycled_batch_is_reused_empty() {
        let (sender, receiver) = item_queue::<u32>(8);
        let mut batch = sender.spare_batch(16);
        batch.extend([1, 2, 3]);
        let allocation = batch.as_ptr();
        sender.send(batch).expect("room");
        let received = receiver.recv().expect("a batch");
        receiver.recycle(received);

        let reused = sender.spare_batch(4);
        assert!(reused.is_empty());
        assert_eq!(reused.as_ptr(), allocation, "the same allocation came back");
        assert!(reused.capacity() >= 16);
        let fresh = sender.spare_batch(4);
        assert_ne!(fresh.as_ptr(), allocation, "only one spare was given back");
    }

    #[test]
    fn spares_are_bounded() {
        let (sender, receiver) = item_queue::<u32>(8);
        receiver.recycle(Vec::with_capacity(MAX_SPARE_CAPACITY + 1));
        assert_eq!(
            sender.spare_batch(1).capacity(),
            1,
            "an oversized batch is freed"
        );
        for _ in 0..SPARE_BATCHES + 2 {
            receiver.recycle(Vec::with_capacity(32));
        }
        for _ in 0..SPARE_BATCHES {
            assert!(sender.spare_batch(1).capacity() >= 32);
        }
        assert_eq!(
            sender.spare_batch(1).capacity(),
            1,
            "at most SPARE_BATCHES are kept"
        );
    }

    #[test]
    fn recv_ends_when_senders_are_gone() {
        let (sender, receiver) = item_queue::<u32>(8);
        sender.send(vec![7]).expect("room");
        drop(sender);
        assert_eq!(receiver.recv(), Some(vec![7]));
        assert_eq!(receiver.recv(), None);
    }
}
