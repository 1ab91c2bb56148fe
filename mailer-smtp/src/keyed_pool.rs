//! Things kept open per key, for a mailbox's SMTP connections (`pool.rs`) and its IMAP sessions for copies
//! to Sent (`imap_pool.rs`): made on first use, reused by the next caller, closed when idle, and at most a
//! bounded number in use at once per key (a caller beyond that waits for a slot).

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The right to use one of a key's items, given back when dropped.
pub(crate) type Slot = OwnedSemaphorePermit;

/// An item taken from the pool, and how long it sat unused there.
pub(crate) struct Reused<T> {
    pub(crate) item: T,
    pub(crate) idle: Duration,
}

struct Entry<T> {
    idle: Vec<(T, Instant)>,
    last_used: Instant,
    /// One permit per item that may be in use at once.
    slots: Arc<Semaphore>,
}

/// The pools of every key.
pub(crate) struct KeyedPool<K, T> {
    max: usize,
    idle_timeout: Duration,
    entries: Mutex<HashMap<K, Entry<T>>>,
}

impl<K, T> fmt::Debug for KeyedPool<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedPool")
            .field("max", &self.max)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl<K: Clone + Eq + Hash, T> KeyedPool<K, T> {
    /// Pools that keep at most `max` idle items per key and let at most `max` (at least one) be in use at
    /// once; items and whole pools unused for `idle_timeout` are closed.
    pub(crate) fn new(max: usize, idle_timeout: Duration) -> Self {
        Self {
            max,
            idle_timeout,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How many items a key keeps at most (0: none is kept).
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<T>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (at most `wait`) until fewer than the maximum items of `key` are in use, then answers the slot
    /// and an idle item when one is kept; `None` when no slot came free in time. Makes the key's pool on
    /// first use and drops every pool (and item) idle for longer than the idle timeout.
    pub(crate) async fn checkout(&self, key: &K, wait: Duration) -> Option<(Slot, Option<Reused<T>>)> {
        let slots = {
            let now = Instant::now();
            let mut entries = self.lock();
            entries.retain(|k, e| k == key || now.duration_since(e.last_used) <= self.idle_timeout);
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
                idle: Vec::new(),
                last_used: now,
                slots: Arc::new(Semaphore::new(self.max.max(1))),
            });
            entry.last_used = now;
            Arc::clone(&entry.slots)
        };
        // The semaphore is never closed: acquiring only waits.
        let slot = tokio::time::timeout(wait, slots.acquire_owned()).await.ok()?.ok()?;
        let now = Instant::now();
        let mut entries = self.lock();
        let reused = entries.get_mut(key).and_then(|entry| {
            entry.last_used = now;
            entry
                .idle
                .retain(|(_, since)| now.duration_since(*since) <= self.idle_timeout);
            entry.idle.pop().map(|(item, since)| Reused {
                item,
                idle: now.duration_since(since),
            })
        });
        Some((slot, reused))
    }

    /// Gives an item back for the next caller; it is dropped (closed) when the key's pool is full or gone.
    pub(crate) fn put(&self, key: &K, item: T) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key)
            && entry.idle.len() < self.max
        {
            entry.idle.push((item, Instant::now()));
        }
    }

    /// How many keys have a pool.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Idle items kept right now, over every key.
    pub(crate) fn idle(&self) -> usize {
        self.lock().values().map(|e| e.idle.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::KeyedPool;

    #[tokio::test]
    async fn a_key_uses_at_most_the_pools_size_at_once() {
        let pools: KeyedPool<u8, &str> = KeyedPool::new(2, Duration::from_secs(60));
        let wait = Duration::from_millis(50);
        let first = pools.checkout(&1, wait).await.expect("a first slot");
        let second = pools.checkout(&1, wait).await.expect("a second slot");
        assert!(
            pools.checkout(&1, wait).await.is_none(),
            "a third caller of the key waits, then gives up"
        );
        assert!(
            pools.checkout(&2, wait).await.is_some(),
            "another key has slots of its own"
        );
        drop(first);
        pools.put(&1, "connection");
        let third = pools
            .checkout(&1, wait)
            .await
            .expect("a slot given back is taken by the next caller");
        let reused = third.1.expect("the item put back is reused");
        assert_eq!(reused.item, "connection");
        drop(second);
        assert_eq!((pools.len(), pools.idle()), (2, 0));
    }

    #[tokio::test]
    async fn a_waiting_caller_gets_the_slot_as_soon_as_it_is_given_back() {
        let pools: Arc<KeyedPool<u8, ()>> = Arc::new(KeyedPool::new(1, Duration::from_secs(60)));
        let held = pools.checkout(&1, Duration::from_secs(1)).await.expect("slot");
        let waiter = tokio::spawn({
            let pools = pools.clone();
            async move { pools.checkout(&1, Duration::from_secs(10)).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "the second caller waits for the slot");
        drop(held);
        assert!(waiter.await.expect("no panic"), "and gets it once given back");
    }

    #[tokio::test]
    async fn a_full_pool_drops_what_is_given_back() {
        let pools: KeyedPool<u8, u32> = KeyedPool::new(1, Duration::from_secs(60));
        let wait = Duration::from_millis(50);
        let slot = pools.checkout(&1, wait).await.expect("slot");
        pools.put(&1, 1);
        pools.put(&1, 2);
        assert_eq!(pools.idle(), 1, "one item kept at most");
        drop(slot);
        let unpooled: KeyedPool<u8, u32> = KeyedPool::new(0, Duration::from_secs(60));
        let _slot = unpooled.checkout(&1, wait).await.expect("a slot even with no pooling");
        unpooled.put(&1, 1);
        assert_eq!(unpooled.idle(), 0, "a pool of size 0 keeps nothing");
    }
}
