//! What comes back to a mailbox: a received message is classified ([`crate::inbox::classify`]), tied to
//! our email by Message-ID and handled once (keyed by its own Message-ID). A hard bounce ends the email
//! failed (with the remote diagnostic), runs its failed triggers once, stops its not-opened timer and
//! suppresses the address; a soft bounce is recorded; a reply records `Replied`, stops the not-opened
//! timer and runs the reply triggers; an auto-reply is recorded only. Reading a mailbox's INBOX goes
//! through the [`Inbox`](crate::ports::Inbox) port and keeps its cursor (UIDVALIDITY and last UID) in the
//! store, so a message is handled once across restarts.
//!
//! A message is marked handled (one store call) before its effects are carried out: a crash between the
//! two loses that message's effects rather than doubling them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::inbox::{Bounce, Incoming, Received, Severity, classify};
use crate::model::{AccountId, CheckStatus, Email, EventKind, InboxCursor, Mailbox, MailboxId, NewEvent};
use crate::ports::{DynInbox, StoreExt};
use crate::trigger::{Fired, Occurrence, timer_key_not_opened};

use super::{Engine, EngineError};

/// The reason kept on the suppression list for a hard bounce.
pub const BOUNCED: &str = "bounced";

/// What handling one received message did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "handled", rename_all = "snake_case")]
pub enum Handled {
    /// A permanent failure of our email: it is failed now (`failed` is false when it already was).
    HardBounce {
        /// Our email.
        email: crate::model::EmailId,
        /// This bounce ended it (its failed triggers ran).
        failed: bool,
    },
    /// A temporary failure of our email, recorded.
    SoftBounce {
        /// Our email.
        email: crate::model::EmailId,
    },
    /// A person's reply to our email.
    Reply {
        /// Our email.
        email: crate::model::EmailId,
    },
    /// An automatic answer to our email, recorded.
    AutoReply {
        /// Our email.
        email: crate::model::EmailId,
    },
    /// This message was handled before (the same message read again).
    Duplicate,
    /// Not about any email of ours.
    Unrelated,
}

/// What one read of a mailbox's INBOX did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InboxReport {
    /// The mailbox is not read: no IMAP server, or its check is gray.
    pub skipped: bool,
    /// Messages fetched.
    pub fetched: u32,
    /// Hard bounces handled.
    pub hard_bounces: u32,
    /// Soft bounces handled.
    pub soft_bounces: u32,
    /// Replies handled.
    pub replies: u32,
    /// Auto-replies handled.
    pub auto_replies: u32,
    /// Messages handled before.
    pub duplicates: u32,
    /// Messages about no email of ours.
    pub unrelated: u32,
}

impl InboxReport {
    fn count(&mut self, handled: &Handled) {
        match handled {
            Handled::HardBounce { .. } => self.hard_bounces += 1,
            Handled::SoftBounce { .. } => self.soft_bounces += 1,
            Handled::Reply { .. } => self.replies += 1,
            Handled::AutoReply { .. } => self.auto_replies += 1,
            Handled::Duplicate => self.duplicates += 1,
            Handled::Unrelated => self.unrelated += 1,
        }
    }
}

/// True when a mailbox's INBOX is read: it has an IMAP server and its last check was not gray (IMAP did
/// not work).
pub fn reads_inbox(mailbox: &Mailbox) -> bool {
    mailbox.imap.is_some() && mailbox.health.as_ref().is_none_or(|h| h.status != CheckStatus::Gray)
}

impl Engine {
    /// Handles one message received in a mailbox of `account`: classifies it, finds our email it is about and carries
    /// out the effects, once per received message.
    ///
    /// # Errors
    /// [`EngineError::Store`]; a trigger that fails is recorded as `TriggerFailed`, not returned.
    pub async fn handle_received(&self, account: AccountId, raw: &[u8]) -> Result<Handled, EngineError> {
        let received = classify(raw);
        let candidates = match &received.kind {
            Incoming::Bounce(b) => &b.original,
            Incoming::AutoReply { refers_to } | Incoming::Reply { refers_to } => refers_to,
            Incoming::Other => return Ok(Handled::Unrelated),
        };
        let Some(email) = self.find_ours(account, candidates).await? else {
            return Ok(Handled::Unrelated);
        };
        let store = &self.ports.store;
        let now = self.now();
        let this = received
            .message_id
            .clone()
            .unwrap_or_else(|| format!("sha256:{:x}", Sha256::digest(raw)));
        if !store
            .mark_once(account, &format!("received:{}:{this}", email.id), now)
            .await?
        {
            return Ok(Handled::Duplicate);
        }
        match received.kind {
            Incoming::Bounce(bounce) => self.bounced(&email, bounce).await,
            Incoming::Reply { .. } => self.replied(&email, &received).await,
            Incoming::AutoReply { .. } => {
                let kind = EventKind::AutoReplied {
                    message_id: received.message_id,
                    from: received.from,
                };
                self.record(&email, kind).await?;
                Ok(Handled::AutoReply { email: email.id })
            }
            Incoming::Other => Ok(Handled::Unrelated),
        }
    }

    /// Reads what is new in a mailbox's INBOX (up to `limit` messages) and handles each, moving the
    /// stored cursor past each message once it is handled. A gray or IMAP-less mailbox is skipped.
    ///
    /// # Errors
    /// [`EngineError::Send`] when the server cannot be read; [`EngineError::Store`].
    pub async fn read_inbox(
        &self,
        inbox: &DynInbox,
        account: AccountId,
        mailbox: MailboxId,
        limit: u32,
    ) -> Result<InboxReport, EngineError> {
        let store = &self.ports.store;
        let record: Mailbox = store.get(account, mailbox).await?;
        if !reads_inbox(&record) {
            return Ok(InboxReport {
                skipped: true,
                ..InboxReport::default()
            });
        }
        let cursor = store.inbox_cursor(account, mailbox).await?;
        let batch = inbox.fetch_after(&record, cursor, limit).await?;
        let mut report = InboxReport {
            fetched: u32::try_from(batch.messages.len()).unwrap_or(u32::MAX),
            ..InboxReport::default()
        };
        for message in &batch.messages {
            let handled = self.handle_received(account, &message.raw).await?;
            report.count(&handled);
            let next = InboxCursor {
                uid_validity: batch.uid_validity,
                last_uid: message.uid,
            };
            store.save_inbox_cursor(account, mailbox, next).await?;
        }
        Ok(report)
    }

    /// Every mailbox whose INBOX a host should read, by account (see [`reads_inbox`]).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn inbox_mailboxes(&self) -> Result<Vec<Mailbox>, EngineError> {
        let store = &self.ports.store;
        let mut out = Vec::new();
        for (account, id) in store.all_mailboxes().await? {
            match store.get::<Mailbox>(account, id).await {
                Ok(m) if reads_inbox(&m) => out.push(m),
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// The first candidate Message-ID that is an email of ours sent from this account (any of its
    /// mailboxes: a reply may land in another one).
    async fn find_ours(&self, account: AccountId, candidates: &[String]) -> Result<Option<Email>, EngineError> {
        for id in candidates {
            if let Some(email) = self.ports.store.find_email_by_message_id(account, id).await? {
                return Ok(Some(email));
            }
        }
        Ok(None)
    }

    async fn bounced(&self, email: &Email, bounce: Bounce) -> Result<Handled, EngineError> {
        let store = &self.ports.store;
        let spec = &email.spec;
        let now = self.now();
        let Bounce {
            severity,
            status,
            recipient,
            diagnostic,
            ..
        } = bounce;
        if severity == Severity::Soft {
            let kind = EventKind::SoftBounced {
                recipient,
                status,
                diagnostic,
            };
            self.record(email, kind).await?;
            return Ok(Handled::SoftBounce { email: email.id });
        }
        let reason = match &status {
            Some(s) if !diagnostic.contains(s.as_str()) => format!("bounced: {s} {diagnostic}"),
            _ => format!("bounced: {diagnostic}"),
        };
        let failed = store.bounce_email(spec.account, email.id, &reason).await?;
        // The address is the one the report names, or the only one the email went to.
        let address = recipient
            .clone()
            .or_else(|| match (spec.to.as_slice(), spec.to_entity_contacts) {
                ([only], false) if spec.cc.is_empty() && spec.bcc.is_empty() => Some(only.email.to_lowercase()),
                _ => None,
            });
        if let Some(address) = &address {
            store.suppress(spec.account, address, BOUNCED, now).await?;
        }
        let mut events = vec![NewEvent {
            account: spec.account,
            email: Some(email.id),
            entity: spec.entity,
            at: now,
            kind: EventKind::Bounced {
                recipient: address,
                status,
                diagnostic,
            },
            automated: false,
        }];
        if failed {
            events.push(NewEvent {
                account: spec.account,
                email: Some(email.id),
                entity: spec.entity,
                at: now,
                kind: EventKind::Failed { reason: reason.clone() },
                automated: false,
            });
        }
        store.append_events(events).await?;
        if failed {
            // It never arrived: no "not opened" reminder for it.
            store
                .cancel_timer(spec.account, &timer_key_not_opened(email.id))
                .await?;
            let occurrence = Occurrence::Failed {
                email: email.id,
                triggers: &spec.triggers,
                reason: &reason,
            };
            self.launch(spec.account, &occurrence, now, Fired::NOTHING, Some(email), spec.entity)
                .await?;
        }
        Ok(Handled::HardBounce {
            email: email.id,
            failed,
        })
    }

    async fn replied(&self, email: &Email, received: &Received) -> Result<Handled, EngineError> {
        let spec = &email.spec;
        let now = self.now();
        let kind = EventKind::Replied {
            message_id: received.message_id.clone(),
            from: received.from.clone(),
        };
        self.record(email, kind).await?;
        let occurrence = Occurrence::Replied {
            email: email.id,
            triggers: &spec.triggers,
        };
        self.launch(spec.account, &occurrence, now, Fired::NOTHING, Some(email), spec.entity)
            .await?;
        Ok(Handled::Reply { email: email.id })
    }

    async fn record(&self, email: &Email, kind: EventKind) -> Result<(), EngineError> {
        let event = NewEvent {
            account: email.spec.account,
            email: Some(email.id),
            entity: email.spec.entity,
            at: self.now(),
            kind,
            automated: false,
        };
        Ok(self.ports.store.append_events(vec![event]).await?)
    }
}
