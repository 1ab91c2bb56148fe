//! Open SMTP connections kept per mailbox: made on first use, reused while busy, closed when idle.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use lettre::transport::smtp::client::AsyncSmtpConnection;
use mailer_core::model::{AccountId, Mailbox, MailboxId, Security};

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

struct Entry {
    idle: Vec<(AsyncSmtpConnection, Instant)>,
    last_used: Instant,
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

    /// An idle connection of this mailbox, if one is open; makes the mailbox's pool on first use and
    /// drops every pool (and connection) idle for longer than the idle timeout.
    pub(crate) fn take(&self, key: &PoolKey) -> Option<Reused> {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|k, e| k == key || now.duration_since(e.last_used) <= self.idle_timeout);
        let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
            idle: Vec::new(),
            last_used: now,
        });
        entry.last_used = now;
        entry
            .idle
            .retain(|(_, since)| now.duration_since(*since) <= self.idle_timeout);
        entry.idle.pop().map(|(conn, since)| Reused {
            conn,
            idle: now.duration_since(since),
        })
    }

    /// Gives a healthy connection back; it is closed when the pool is full or gone.
    pub(crate) fn put(&self, key: &PoolKey, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get_mut(key)
            && entry.idle.len() < self.max_per_mailbox
        {
            entry.idle.push((conn, Instant::now()));
        }
    }

    /// How many mailboxes have a pool.
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
