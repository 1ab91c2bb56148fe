//! Start a mailing: one personalised email per selected entity, queued in batches.

use serde::{Deserialize, Serialize};

use crate::model::{
    AccountId, EntityRef, Mailbox, MailboxId, Mailing, MailingId, MailingStatus, Template, TemplateId, User, UserId,
};
use crate::ports::StoreExt;

use super::{Draft, Engine, EngineError, Origin, rights};

/// How many emails are queued in one store call.
pub const ENQUEUE_BATCH: usize = 500;

/// What a user asks for when starting a mailing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MailingRequest {
    /// The account.
    pub account: AccountId,
    /// The user starting it (their mailbox and signature are used).
    pub sender: UserId,
    /// The mailbox.
    pub mailbox: MailboxId,
    /// The template of every email.
    pub template: TemplateId,
    /// A name for the queue view.
    pub name: String,
}

/// A mailing and how many emails this call queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct StartedMailing {
    /// The mailing.
    pub mailing: Mailing,
    /// Emails queued by this call (0 when a retried call found them all queued already).
    pub queued: u64,
}

impl Engine {
    /// Creates the mailing and queues one email per entity, in batches of [`ENQUEUE_BATCH`], reading the
    /// entities as it goes (a selection of any size never sits in memory at once). Contents are rendered at
    /// send time with live CRM data.
    ///
    /// # Errors
    /// As [`Engine::compose`]; on a store error part of the selection may be queued: call
    /// [`Engine::continue_mailing`] with the same selection, which queues the rest without duplicates.
    pub async fn start_mailing<I>(&self, request: &MailingRequest, entities: I) -> Result<StartedMailing, EngineError>
    where
        I: IntoIterator<Item = EntityRef> + Send,
        I::IntoIter: Send,
    {
        let store = &self.ports.store;
        let user: User = store.get(request.account, request.sender).await?;
        let template: Template = store.get(request.account, request.template).await?;
        if !rights::can_use(&user, &template) {
            return Err(EngineError::Forbidden(format!(
                "template {} is not available to this user",
                template.id
            )));
        }
        let mailbox: Mailbox = store.get(request.account, request.mailbox).await?;
        let mailing = store
            .insert(Mailing {
                id: MailingId(0),
                account: request.account,
                name: request.name.clone(),
                template: template.id,
                mailbox: mailbox.id,
                sender: user.id,
                status: MailingStatus::Running,
                total: 0,
                created_at: self.now(),
            })
            .await?;
        self.continue_mailing(request.account, mailing.id, entities).await
    }

    /// Queues the emails of a mailing for `entities` (its whole selection, in the same order); emails
    /// already queued for an entity are not queued again, so a start that failed half-way can be retried.
    ///
    /// # Errors
    /// As [`Engine::start_mailing`].
    pub async fn continue_mailing<I>(
        &self,
        account: AccountId,
        mailing: MailingId,
        entities: I,
    ) -> Result<StartedMailing, EngineError>
    where
        I: IntoIterator<Item = EntityRef> + Send,
        I::IntoIter: Send,
    {
        let store = &self.ports.store;
        let mut record: Mailing = store.get(account, mailing).await?;
        let user: User = store.get(account, record.sender).await?;
        let template: Template = store.get(account, record.template).await?;
        let mailbox: Mailbox = store.get(account, record.mailbox).await?;
        self.compile(&template.content)?;
        let mut batch = Vec::with_capacity(ENQUEUE_BATCH);
        let mut total: u64 = 0;
        let mut created = 0u64;
        for (seq, entity) in entities.into_iter().enumerate() {
            let draft = Draft {
                account,
                sender: user.id,
                mailbox: mailbox.id,
                entity: Some(entity),
                template: Some(template.id),
                ..Draft::default()
            };
            let seq = i64::try_from(seq).unwrap_or(i64::MAX);
            let origin = Origin::Mailing { mailing, entity };
            batch.push(self.spec_from(&draft, &mailbox, Some(&template), &origin, seq)?);
            total += 1;
            if batch.len() == ENQUEUE_BATCH {
                created += self.enqueue_batch(std::mem::take(&mut batch)).await?;
            }
        }
        if !batch.is_empty() {
            created += self.enqueue_batch(batch).await?;
        }
        record.total = record.total.max(total);
        store.update(&record).await?;
        Ok(StartedMailing {
            mailing: record,
            queued: created,
        })
    }

    /// Queues a batch (through the one enqueue path); answers how many were new.
    async fn enqueue_batch(&self, batch: Vec<crate::model::EmailSpec>) -> Result<u64, EngineError> {
        let answers = self.enqueue(batch).await?;
        Ok(answers.iter().filter(|a| a.created).count() as u64)
    }
}
