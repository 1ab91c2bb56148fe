//! Logged-in IMAP sessions kept per mailbox for copies to Sent: made on first use, reused by the next copy,
//! closed when idle, at most a bounded number open per mailbox at once.
//!
//! A session is kept with the Sent folder it found, so a reused session copies with one `APPEND` (no login,
//! no `LIST`). A session that sat idle for a while is checked with `NOOP` first and replaced by a new login
//! when the server has closed it. A session whose copy failed is closed, never pooled: the failure goes back
//! to the caller (the engine keeps the bytes and retries the copy later) and the next copy logs in afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mailer_core::model::{AccountId, Mailbox, MailboxId, Security, ServerSettings};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::imap::{Imap, SentChoice};

/// Which pool a mailbox's copies use: changed IMAP settings, login, password or Sent folder get a new one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ImapKey {
    account: AccountId,
    mailbox: MailboxId,
    host: String,
    port: u16,
    security: u8,
    login: String,
    password: String,
    sent_folder: Option<String>,
}

impl ImapKey {
    pub(crate) fn of(mailbox: &Mailbox, server: &ServerSettings) -> Self {
        Self {
            account: mailbox.account,
            mailbox: mailbox.id,
            host: server.host.clone(),
            port: server.port,
            security: match server.security {
                Security::Tls => 0,
                Security::StartTls => 1,
                Security::Plain => 2,
            },
            login: mailbox.login.clone(),
            password: mailbox.password.expose().to_owned(),
            sent_folder: mailbox.sent_folder.clone(),
        }
    }
}

/// A logged-in session and the Sent folder it copies to.
#[derive(Debug)]
pub(crate) struct SentSession {
    pub(crate) imap: Imap,
    pub(crate) sent: SentChoice,
}

/// A session taken from the pool and how long it sat unused there.
#[derive(Debug)]
pub(crate) struct Reused {
    pub(crate) session: SentSession,
    pub(crate) idle: Duration,
}

/// The right to hold one session of a mailbox; dropping it lets the next copy of that mailbox in.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

#[derive(Debug)]
struct Entry {
    idle: Vec<(SentSession, Instant)>,
    last_used: Instant,
    slots: Arc<Semaphore>,
}

/// The session pools of every mailbox.
#[derive(Debug)]
pub(crate) struct ImapPools {
    max_per_mailbox: usize,
    idle_timeout: Duration,
    entries: Mutex<HashMap<ImapKey, Entry>>,
}

impl ImapPools {
    /// Pools of at most `max_per_mailbox` sessions each (0: no pool, a login per copy).
    pub(crate) fn new(max_per_mailbox: usize, idle_timeout: Duration) -> Self {
        Self {
            max_per_mailbox,
            idle_timeout,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// False when every copy logs in on its own.
    pub(crate) fn enabled(&self) -> bool {
        self.max_per_mailbox > 0
    }

    /// Waits until fewer than the maximum sessions of this mailbox are in use, then answers the slot and
    /// an idle session when one is open. Makes the mailbox's pool on first use and drops every pool (and
    /// session) idle for longer than the idle timeout.
    pub(crate) async fn checkout(&self, key: &ImapKey) -> (Slot, Option<Reused>) {
        let slots = {
            let mut entries = self.lock();
            let now = Instant::now();
            entries.retain(|k, e| k == key || now.duration_since(e.last_used) <= self.idle_timeout);
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
                idle: Vec::new(),
                last_used: now,
                slots: Arc::new(Semaphore::new(self.max_per_mailbox.max(1))),
            });
            entry.last_used = now;
            Arc::clone(&entry.slots)
        };
        // The semaphore is never closed, so acquiring only waits (and never answers an error).
        let permit = slots.acquire_owned().await.ok();
        let now = Instant::now();
        let mut entries = self.lock();
        let reused = entries.get_mut(key).and_then(|entry| {
            entry.last_used = now;
            entry
                .idle
                .retain(|(_, since)| now.duration_since(*since) <= self.idle_timeout);
            entry.idle.pop().map(|(session, since)| Reused {
                session,
                idle: now.duration_since(since),
            })
        });
        (Slot { _permit: permit }, reused)
    }

    /// Gives a session back after a copy that worked; it is closed when the pool is full or gone.
    pub(crate) fn put(&self, key: &ImapKey, session: SentSession) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key)
            && entry.idle.len() < self.max_per_mailbox
        {
            entry.idle.push((session, Instant::now()));
        }
    }

    /// Idle sessions open right now, over every mailbox.
    pub(crate) fn idle_sessions(&self) -> usize {
        self.lock().values().map(|e| e.idle.len()).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ImapKey, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
