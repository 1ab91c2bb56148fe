//! What reading a mailbox's INBOX keeps and counts: the cursor (last UID under a UIDVALIDITY) and the
//! bounce and reply counts of a mailing or a mailbox.

use serde::{Deserialize, Serialize};

use super::{MailboxId, MailingId};

/// How far a mailbox's INBOX has been read: messages with a UID above `last_uid` are new, as long as the
/// server's UIDVALIDITY is still `uid_validity` (a new one means every UID changed: read from the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InboxCursor {
    /// The folder's UIDVALIDITY when it was read.
    pub uid_validity: u32,
    /// The highest UID handled.
    pub last_uid: u32,
}

impl InboxCursor {
    /// The cursor after handling `uid`: never moves back under the same UIDVALIDITY.
    pub fn advanced(self, uid_validity: u32, uid: u32) -> Self {
        if uid_validity == self.uid_validity {
            Self {
                uid_validity,
                last_uid: self.last_uid.max(uid),
            }
        } else {
            Self {
                uid_validity,
                last_uid: uid,
            }
        }
    }
}

/// Which emails a count is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "scope", content = "id", rename_all = "snake_case")]
pub enum ReactionScope {
    /// The emails of one mailing.
    Mailing(MailingId),
    /// The emails sent from one mailbox.
    Mailbox(MailboxId),
}

/// What came back to a set of emails through the mailbox: bounces, replies and auto-replies, one per
/// message received (the same message read twice counts once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReactionCounts {
    /// Permanent failures (5.x.x): the email ended failed.
    pub hard_bounces: u64,
    /// Temporary failures (4.x.x, delays): recorded only.
    pub soft_bounces: u64,
    /// Replies written by a person.
    pub replies: u64,
    /// Automatic answers (out of office, RFC 3834 `Auto-Submitted`).
    pub auto_replies: u64,
}
