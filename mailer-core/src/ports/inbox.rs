//! The inbox port: read new messages from a mailbox's INBOX (IMAP in `mailer-smtp`), and wait for more.

use std::time::Duration;

use async_trait::async_trait;

use crate::model::{InboxCursor, Mailbox};

use super::SendError;

/// One message of the INBOX, as the server stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    /// Its UID in the folder.
    pub uid: u32,
    /// The whole message (RFC 5322 bytes).
    pub raw: Vec<u8>,
}

/// New messages of the INBOX, in UID order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxBatch {
    /// The folder's UIDVALIDITY now.
    pub uid_validity: u32,
    /// Messages after the cursor (all of them when the UIDVALIDITY changed), lowest UID first.
    pub messages: Vec<InboxMessage>,
}

/// How a wait for new mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server said something changed (IMAP IDLE): read now.
    Changed,
    /// The time was up without news.
    TimedOut,
    /// The server cannot push news (no IDLE): the caller polls at its own pace.
    Unsupported,
}

/// Reads a mailbox's INBOX.
///
/// # Contract
/// - [`Inbox::fetch_after`] returns the messages with a UID above `after.last_uid` when `after` has the
///   folder's current UIDVALIDITY, else from the first message; at most `limit`, lowest UID first.
/// - It never changes the folder (no flags, no deletes): what to do with a message is the engine's call.
#[async_trait]
pub trait Inbox: Send + Sync + std::fmt::Debug {
    /// New messages of the mailbox's INBOX.
    ///
    /// # Errors
    /// [`SendError`] classified as for sending: auth, temporary (network, timeouts), other.
    async fn fetch_after(
        &self,
        mailbox: &Mailbox,
        after: Option<InboxCursor>,
        limit: u32,
    ) -> Result<InboxBatch, SendError>;

    /// Waits until the server reports a change in the INBOX or `timeout` passes; answers at once with
    /// [`Wake::Unsupported`] when the server cannot report changes.
    ///
    /// # Errors
    /// [`SendError`] as for [`Inbox::fetch_after`].
    async fn wait(&self, mailbox: &Mailbox, timeout: Duration) -> Result<Wake, SendError>;
}

/// An inbox behind a pointer.
pub type DynInbox = dyn Inbox;
