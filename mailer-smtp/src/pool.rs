//! Open SMTP connections kept per mailbox: made on first use, reused while busy, closed when idle; at most
//! the pool's size of them in use at once per mailbox (a send beyond that waits for a slot), so a worker
//! with many emails of one mailbox in flight never opens more connections to its server than that.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lettre::transport::smtp::client::AsyncSmtpConnection;
use mailer_core::model::{AccountId, Mailbox, MailboxId, Security};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Which pool a mailbox uses: changed settings or a new password get a new pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    account: AccountId,
    mailbox: MailboxId,
    host: String,
    port: u16,
    security: u8,
    login: String,
    password: String,
}

impl PoolKey {
    pub(crate) fn of(mailbox: &Mailbox) -> Self {
        Self {
            account: mailbox.account,
            mailbox: mailbox.id,
            host: mailbox.smtp.host.clone(),
            port: mailbox.smtp.port,
            security: match mailbox.smtp.security {
                Security::Tls => 0,
                Security::StartTls => 1,
                Security::Plain => 2,
            },
            login: mailbox.login.clone(),
            password: mailbox.password.expose().to_owned(),
        }
    }
}

/// A connection taken from the pool, and how long it sat unused there.
pub(crate) struct Reused {
    pub(crate) conn: AsyncSmtpConnection,
    pub(crate) idle: Duration,
}

/// The right to use one of a mailbox's connections, given back when dropped.
pub(crate) type Slot = OwnedSemaphorePermit;

struct Entry {
    idle: Vec<(AsyncSmtpConnection, Instant)>,
    last_used: Instant,
    /// One permit per connection that may be in use at once.
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("idle", &self.idle.len())
            .field("last_used", &self.last_used)
            .finish()
    }
}

impl std::fmt::Debug for Reused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reused")
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

/// The pools of every mailbox.
#[derive(Debug)]
pub(crate) struct Pools {
    max_per_mailbox: usize,
    idle_timeout: Duration,
    entries: Mutex<HashMap<PoolKey, Entry>>,
}

impl Pools {
    pub(crate) fn new(max_per_mailbox: usize, idle_timeout: Duration) -> Self {
        Self {
            max_per_mailbox,
            idle_timeout,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (at most `wait`) until fewer than the pool's size of this mailbox's connections are in use,
    /// then answers the slot and an idle connection when one is open; `None` when no slot came free in
    /// time. Makes the mailbox's pool on first use and drops every pool (and connection) idle for longer
    /// than the idle timeout.
    pub(crate) async fn checkout(&self, key: &PoolKey, wait: Duration) -> Option<(Slot, Option<Reused>)> {
        let slots = {
            let now = Instant::now();
            let mut entries = self.lock();
            entries.retain(|k, e| k == key || now.duration_since(e.last_used) <= self.idle_timeout);
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
                idle: Vec::new(),
                last_used: now,
                slots: Arc::new(Semaphore::new(self.max_per_mailbox.max(1))),
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
            entry.idle.pop().map(|(conn, since)| Reused {
                conn,
                idle: now.duration_since(since),
            })
        });
        Some((slot, reused))
    }

    /// Gives a healthy connection back; it is closed when the pool is full or gone.
    pub(crate) fn put(&self, key: &PoolKey, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key)
            && entry.idle.len() < self.max_per_mailbox
        {
            entry.idle.push((conn, Instant::now()));
        }
    }

    /// How many mailboxes have a pool.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mailer_core::model::{AccountId, MailboxId};

    use super::{PoolKey, Pools};

    fn key(mailbox: i64) -> PoolKey {
        PoolKey {
            account: AccountId(1),
            mailbox: MailboxId(mailbox),
            host: "127.0.0.1".into(),
            port: 25,
            security: 2,
            login: "maria".into(),
            password: "secret".into(),
        }
    }

    #[tokio::test]
    async fn a_mailbox_uses_at_most_the_pools_size_of_connections_at_once() {
        let pools = Pools::new(2, Duration::from_secs(60));
        let wait = Duration::from_millis(50);
        let first = pools.checkout(&key(1), wait).await.expect("a first slot");
        let second = pools.checkout(&key(1), wait).await.expect("a second slot");
        assert!(
            pools.checkout(&key(1), wait).await.is_none(),
            "a third send of the mailbox waits, then gives up"
        );
        assert!(
            pools.checkout(&key(2), wait).await.is_some(),
            "another mailbox has slots of its own"
        );
        drop(first);
        let third = pools.checkout(&key(1), wait).await;
        assert!(third.is_some(), "a slot given back is taken by the next send");
        assert!(
            third.is_some_and(|(_, reused)| reused.is_none()),
            "no connection was put back"
        );
        drop(second);
    }

    #[tokio::test]
    async fn a_waiting_send_gets_the_slot_as_soon_as_it_is_given_back() {
        let pools = std::sync::Arc::new(Pools::new(1, Duration::from_secs(60)));
        let held = pools.checkout(&key(1), Duration::from_secs(1)).await.expect("slot");
        let waiter = tokio::spawn({
            let pools = pools.clone();
            async move { pools.checkout(&key(1), Duration::from_secs(10)).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "the second send waits for the slot");
        drop(held);
        assert!(waiter.await.expect("no panic"), "and gets it once given back");
    }
}
