//! Sending mailboxes as a [`Resource`](super::Resource): the password goes in and never comes out.

use async_trait::async_trait;
use mailer_core::engine::{Engine, EngineError, MailboxView};
use mailer_core::model::{Mailbox, MailboxId};
use serde_json::Value;

use super::{Caller, Resource};

/// Sending mailboxes: a user sees and edits their own, an admin all of the account's. The engine answers
/// a [`MailboxView`] (no password, `has_password` instead); an empty password on a replace keeps the stored one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mailboxes;

#[async_trait]
impl Resource for Mailboxes {
    type Record = Mailbox;
    type Item = MailboxView;
    const PATH: &'static str = "mailboxes";
    const NOUN: &'static str = "mailbox";

    /// The caller owns a new mailbox unless an admin names another `owner`; no password keeps the stored one.
    fn defaults(caller: &Caller) -> Vec<(&'static str, Value)> {
        vec![("owner", caller.user.0.into()), ("password", "".into())]
    }

    fn id(item: &MailboxView) -> i64 {
        item.id.0
    }

    async fn list(engine: &Engine, caller: &Caller) -> Result<Vec<MailboxView>, EngineError> {
        engine.mailboxes_for(caller.account, caller.user).await
    }

    async fn get(engine: &Engine, caller: &Caller, id: i64) -> Result<MailboxView, EngineError> {
        engine.mailbox_view(caller.account, caller.user, MailboxId(id)).await
    }

    async fn save(engine: &Engine, caller: &Caller, record: Mailbox) -> Result<MailboxView, EngineError> {
        engine.save_mailbox(caller.user, record).await
    }

    async fn delete(engine: &Engine, caller: &Caller, id: i64) -> Result<(), EngineError> {
        engine.delete_mailbox(caller.account, caller.user, MailboxId(id)).await
    }
}
