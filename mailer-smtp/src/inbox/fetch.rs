//! [`ImapInbox`]: the [`Inbox`] port over async-imap.

use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_trait::async_trait;
use futures::TryStreamExt;
use mailer_core::model::{InboxCursor, Mailbox, ServerSettings};
use mailer_core::ports::{Inbox, InboxBatch, InboxMessage, SendError, SendErrorKind, Wake};

use crate::ConfigError;
use crate::error::{invalid, timed_out};
use crate::imap::{Imap, Session, imap_error};
use crate::tls::ExtraRoots;

/// Reads a mailbox's INBOX over IMAP (plain, STARTTLS or TLS as the mailbox says). Each call logs in,
/// does its work and logs out; nothing in the folder is changed (`BODY.PEEK[]` leaves messages unread).
#[derive(Debug, Clone)]
pub struct ImapInbox {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl ImapInbox {
    /// A reader trusting the usual web roots, with `timeout` for each login and fetch.
    ///
    /// # Errors
    /// [`ConfigError::Certificate`] when the TLS configuration cannot be made.
    pub fn new(timeout: Duration) -> Result<Self, ConfigError> {
        Ok(Self::with_tls(ExtraRoots::default().client_config()?, timeout))
    }

    /// A reader with a given TLS configuration (the transport's, with its extra roots).
    pub(crate) fn with_tls(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> Self {
        Self { tls, timeout }
    }

    async fn login(&self, mailbox: &Mailbox) -> Result<Session, SendError> {
        let server: &ServerSettings = mailbox
            .imap
            .as_ref()
            .ok_or_else(|| invalid(SendErrorKind::Other, "no IMAP server is set"))?;
        let imap = tokio::time::timeout(self.timeout, Imap::login(server, mailbox, &self.tls))
            .await
            .map_err(|_| timed_out("IMAP login", self.timeout))??;
        Ok(imap.into_session())
    }
}

/// The UIDs to fetch: those above the cursor under the same UIDVALIDITY, else all; lowest first, at most
/// `limit`.
async fn new_uids(
    session: &mut Session,
    uid_validity: u32,
    after: Option<InboxCursor>,
    limit: u32,
) -> Result<Vec<u32>, SendError> {
    let from = match after {
        Some(c) if c.uid_validity == uid_validity => c.last_uid.saturating_add(1),
        _ => 1,
    };
    let found = session
        .uid_search(format!("UID {from}:*"))
        .await
        .map_err(|e| imap_error(e, "UID SEARCH"))?;
    // `n:*` always matches the last message, even below `n`.
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u >= from).collect();
    uids.sort_unstable();
    uids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(uids)
}

async fn fetch(session: &mut Session, after: Option<InboxCursor>, limit: u32) -> Result<InboxBatch, SendError> {
    let selected = session.select("INBOX").await.map_err(|e| imap_error(e, "SELECT"))?;
    let uid_validity = selected.uid_validity.unwrap_or(0);
    let uids = new_uids(session, uid_validity, after, limit).await?;
    let mut messages = Vec::with_capacity(uids.len());
    if let (Some(first), Some(last)) = (uids.first(), uids.last()) {
        let fetched: Vec<_> = session
            .uid_fetch(format!("{first}:{last}"), "(UID BODY.PEEK[])")
            .await
            .map_err(|e| imap_error(e, "UID FETCH"))?
            .try_collect()
            .await
            .map_err(|e| imap_error(e, "UID FETCH"))?;
        for f in &fetched {
            if let (Some(uid), Some(body)) = (f.uid, f.body())
                && uids.binary_search(&uid).is_ok()
            {
                messages.push(InboxMessage {
                    uid,
                    raw: body.to_vec(),
                });
            }
        }
    }
    messages.sort_by_key(|m| m.uid);
    Ok(InboxBatch { uid_validity, messages })
}

#[async_trait]
impl Inbox for ImapInbox {
    async fn fetch_after(
        &self,
        mailbox: &Mailbox,
        after: Option<InboxCursor>,
        limit: u32,
    ) -> Result<InboxBatch, SendError> {
        let mut session = self.login(mailbox).await?;
        let result = tokio::time::timeout(self.timeout, fetch(&mut session, after, limit))
            .await
            .map_err(|_| timed_out("IMAP fetch", self.timeout));
        let _ = session.logout().await;
        result?
    }

    async fn wait(&self, mailbox: &Mailbox, timeout: Duration) -> Result<Wake, SendError> {
        let mut session = self.login(mailbox).await?;
        let caps = session.capabilities().await.map_err(|e| imap_error(e, "CAPABILITY"))?;
        if !caps.has_str("IDLE") {
            let _ = session.logout().await;
            return Ok(Wake::Unsupported);
        }
        session.select("INBOX").await.map_err(|e| imap_error(e, "SELECT"))?;
        let mut idle = session.idle();
        idle.init().await.map_err(|e| imap_error(e, "IDLE"))?;
        let (waiting, _stop) = idle.wait_with_timeout(timeout);
        // The server's keep-alives restart IDLE's own timer: ours bounds the wait.
        let wake = match tokio::time::timeout(timeout + Duration::from_secs(1), waiting).await {
            Ok(Ok(IdleResponse::NewData(_))) => Wake::Changed,
            Ok(Ok(IdleResponse::Timeout | IdleResponse::ManualInterrupt)) | Err(_) => Wake::TimedOut,
            Ok(Err(e)) => return Err(imap_error(e, "IDLE")),
        };
        if let Ok(mut session) = idle.done().await {
            let _ = session.logout().await;
        }
        Ok(wake)
    }
}
