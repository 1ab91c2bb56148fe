//! [`run_readers`]: one reader per mailbox, IDLE where offered, polling otherwise.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mailer_core::engine::{Engine, EngineError};
use mailer_core::model::{AccountId, Mailbox, MailboxId};
use mailer_core::ports::{DynInbox, Wake};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the readers work.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// The pause between reads when the server has no IDLE, and after an error.
    pub poll: Duration,
    /// The longest IDLE before reading again anyway (RFC 2177: servers may drop IDLE after 30 minutes).
    pub idle: Duration,
    /// Messages handled per read; a full batch is followed by another read at once.
    pub batch: u32,
    /// How often the list of mailboxes is looked at again for new ones.
    pub rescan: Duration,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(60),
            idle: Duration::from_secs(25 * 60),
            batch: 100,
            rescan: Duration::from_secs(300),
        }
    }
}

/// Runs a reader for every mailbox whose INBOX is read (see
/// [`reads_inbox`](mailer_core::engine::reads_inbox)) until `shutdown` completes; a reader ends by itself
/// when its mailbox is deleted, loses IMAP or turns gray. A read in progress is finished before the
/// function returns.
pub async fn run_readers(
    engine: Arc<Engine>,
    inbox: Arc<DynInbox>,
    config: ReaderConfig,
    shutdown: impl Future<Output = ()> + Send,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers: JoinSet<()> = JoinSet::new();
    let mut running: HashMap<(AccountId, MailboxId), tokio::task::AbortHandle> = HashMap::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        running.retain(|_, handle| !handle.is_finished());
        match engine.inbox_mailboxes().await {
            Ok(mailboxes) => {
                for mailbox in mailboxes {
                    let key = (mailbox.account, mailbox.id);
                    if running.contains_key(&key) {
                        continue;
                    }
                    tracing::info!(account = %mailbox.account, mailbox = %mailbox.id, "inbox reader started");
                    let task = read_loop(
                        Arc::clone(&engine),
                        Arc::clone(&inbox),
                        mailbox,
                        config.clone(),
                        stop_rx.clone(),
                    );
                    running.insert(key, readers.spawn(task));
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list the mailboxes to read"),
        }
        while readers.try_join_next().is_some() {}
        tokio::select! {
            () = shutdown.as_mut() => break,
            () = tokio::time::sleep(config.rescan) => {}
        }
    }
    let _ = stop_tx.send(true);
    while readers.join_next().await.is_some() {}
}

/// One mailbox: read what is new (batch after batch), then wait for news.
async fn read_loop(
    engine: Arc<Engine>,
    inbox: Arc<DynInbox>,
    mailbox: Mailbox,
    config: ReaderConfig,
    mut stop: watch::Receiver<bool>,
) {
    let (account, id) = (mailbox.account, mailbox.id);
    loop {
        if *stop.borrow() {
            return;
        }
        let mut failed = false;
        loop {
            match engine.read_inbox(inbox.as_ref(), account, id, config.batch).await {
                Ok(report) if report.skipped => {
                    tracing::info!(%account, mailbox = %id, "inbox no longer read (no IMAP, or a gray check)");
                    return;
                }
                Ok(report) => {
                    if report.fetched > 0 {
                        tracing::info!(%account, mailbox = %id, ?report, "inbox read");
                    }
                    if report.fetched < config.batch {
                        break;
                    }
                }
                Err(EngineError::Store(e)) if e.is_not_found() => {
                    tracing::info!(%account, mailbox = %id, "mailbox deleted: inbox reader stopped");
                    return;
                }
                Err(e) => {
                    tracing::warn!(%account, mailbox = %id, error = %e, "inbox read failed; trying again later");
                    failed = true;
                    break;
                }
            }
        }
        let pause = if failed {
            Some(config.poll)
        } else {
            tokio::select! {
                woke = inbox.wait(&mailbox, config.idle) => match woke {
                    Ok(Wake::Changed | Wake::TimedOut) => None,
                    Ok(Wake::Unsupported) => Some(config.poll),
                    Err(e) => {
                        tracing::warn!(%account, mailbox = %id, error = %e, "IMAP IDLE failed; polling");
                        Some(config.poll)
                    }
                },
                _ = stop.changed() => return,
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
