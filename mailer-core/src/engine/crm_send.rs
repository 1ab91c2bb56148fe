//! A send the CRM asks for (a Salesbot step): an account's template to an entity's contacts, from the
//! template owner's mailbox, through the one send path.

use crate::model::{AccountId, EntityRef, Mailbox, MailboxId, Template, TemplateId};
use crate::ports::StoreExt;

use super::{Draft, Engine, EngineError, SendReport};

impl Engine {
    /// Sends `template` to `entity`'s contacts at the CRM's request: from `mailbox`, or else the template
    /// owner's first mailbox, as that mailbox's owner (so the usual rights and suppression checks apply).
    ///
    /// # Errors
    /// [`EngineError::Store`] (not found) for an unknown template or mailbox, [`EngineError::Invalid`]
    /// when the owner has no mailbox, and as [`Engine::send_single`].
    pub async fn send_template_to(
        &self,
        account: AccountId,
        template: TemplateId,
        mailbox: Option<MailboxId>,
        entity: EntityRef,
    ) -> Result<SendReport, EngineError> {
        let store = &self.ports.store;
        let template: Template = store.get(account, template).await?;
        let mailbox: Mailbox = match mailbox {
            Some(id) => store.get(account, id).await?,
            None => store
                .list::<Mailbox>(account)
                .await?
                .into_iter()
                .find(|m| m.owner == template.owner)
                .ok_or_else(|| crate::error::ValidationError::Malformed {
                    field: "mailbox",
                    reason: format!("the owner of template {} has no mailbox", template.id),
                })?,
        };
        let draft = Draft {
            account,
            sender: mailbox.owner,
            mailbox: mailbox.id,
            entity: Some(entity),
            template: Some(template.id),
            ..Draft::default()
        };
        self.send_single(&draft).await
    }
}
