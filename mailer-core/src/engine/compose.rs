//! Compose and validate: an editor's draft (or a template) becomes an email ready to queue, or a typed
//! error; nothing is queued until everything checks out.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::model::{
    AccountId, Address, AttachmentRef, Content, EmailSpec, EmailTriggers, EntityRef, Mailbox, MailboxId, Priority,
    RecipientRule, Role, Template, TemplateId, Timestamp, TriggerLink, User, UserId, WebPage,
};
use crate::ports::StoreExt;
use crate::template::{CompileOptions, CompiledTemplate};

use super::{Engine, EngineError, Origin, rights};

/// What the editor sends: a template, or content written by hand, or both (the content overrides).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Draft {
    /// The account.
    pub account: AccountId,
    /// The user sending.
    pub sender: UserId,
    /// The mailbox it goes from (the sender's own).
    pub mailbox: MailboxId,
    /// The CRM entity it is about.
    pub entity: Option<EntityRef>,
    /// The template used, if any.
    pub template: Option<TemplateId>,
    /// Content written or edited by hand; the template's when `None`.
    pub content: Option<Content>,
    /// Send to every contact of the entity with an address; the template's rule when `None`.
    pub to_entity_contacts: Option<bool>,
    /// Addresses typed by hand (`a@b.c` or `Name <a@b.c>`).
    pub to: Vec<String>,
    /// Copy.
    pub cc: Vec<String>,
    /// Hidden copy.
    pub bcc: Vec<String>,
    /// Files attached by hand (stored files).
    pub attachments: Vec<AttachmentRef>,
    /// Triggers; the template's when `None`.
    pub triggers: Option<EmailTriggers>,
    /// Leave the signature out; the template's setting when `None`.
    pub signature_disabled: Option<bool>,
    /// Not before this moment.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub not_before: Option<Timestamp>,
    /// Send even to addresses on the account's suppression list: an explicit choice of the user, for a
    /// single send only (mailings and automatic sends always skip them).
    #[serde(default)]
    pub override_suppression: bool,
}

fn parse_all(list: &[String]) -> Result<Vec<Address>, ValidationError> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| Address::parse(s))
        .collect()
}

/// Checks a not-opened timer: 1 minute to 365 days ([`bounds`](super::admin::bounds)).
pub(crate) fn check_triggers(triggers: &EmailTriggers) -> Result<(), ValidationError> {
    super::admin::bounds::check_email_triggers(triggers)
}

impl Engine {
    /// Turns a draft into an email ready to queue, checking the sender's rights, every address, the sizes
    /// and the triggers.
    ///
    /// # Errors
    /// [`EngineError::Invalid`] for bad input, [`EngineError::Forbidden`] when the user may not use the
    /// mailbox or template, [`EngineError::Store`] when a record is missing.
    pub async fn compose(&self, draft: &Draft) -> Result<EmailSpec, EngineError> {
        let store = &self.ports.store;
        let user: User = store.get(draft.account, draft.sender).await?;
        let mailbox: Mailbox = store.get(draft.account, draft.mailbox).await?;
        if mailbox.owner != user.id && user.role != Role::Admin {
            return Err(EngineError::Forbidden(
                "a user sends from their own mailbox only".into(),
            ));
        }
        let template: Option<Template> = match draft.template {
            Some(id) => {
                let t: Template = store.get(draft.account, id).await?;
                if !rights::can_use(&user, &t) {
                    return Err(EngineError::Forbidden(format!(
                        "template {id} is not available to this user"
                    )));
                }
                Some(t)
            }
            None => None,
        };
        let spec = self.spec_from(draft, &mailbox, template.as_ref(), &Origin::Single, 0)?;
        let links: Vec<TriggerLink> = store.list(draft.account).await?;
        let pages: Vec<WebPage> = store.list(draft.account).await?;
        let opts = CompileOptions::new(links.iter().map(|l| l.id), pages.iter().map(|p| p.id));
        CompiledTemplate::compile(&spec.content, &opts)?;
        Ok(spec)
    }

    /// Builds the email of `draft` from already loaded records and checks its addresses, sizes and triggers;
    /// its idempotency key, priority, mailing and (for a mailing) deterministic Message-ID come from
    /// `origin`, `seq` is its position in a mailing. Compiling the content is the caller's part, once per
    /// content, not once per email.
    pub(crate) fn spec_from(
        &self,
        draft: &Draft,
        mailbox: &Mailbox,
        template: Option<&Template>,
        origin: &Origin,
        seq: i64,
    ) -> Result<EmailSpec, EngineError> {
        origin.check()?;
        let content = draft
            .content
            .clone()
            .or_else(|| template.map(|t| t.content.clone()))
            .ok_or(ValidationError::Missing("content"))?;
        let mut to = parse_all(&draft.to)?;
        let cc = parse_all(&draft.cc)?;
        let bcc = parse_all(&draft.bcc)?;
        let rule_contacts = match template.map(|t| &t.recipients) {
            Some(RecipientRule::Fixed { address }) => {
                to.push(address.clone());
                false
            }
            Some(RecipientRule::EntityContacts) => true,
            None => false,
        };
        let to_entity_contacts = draft.to_entity_contacts.unwrap_or(rule_contacts) && draft.entity.is_some();
        if !to_entity_contacts && to.is_empty() && cc.is_empty() && bcc.is_empty() {
            return Err(ValidationError::NoRecipient.into());
        }
        let limits = &self.config.limits;
        limits.check_recipients(to.len() + cc.len() + bcc.len())?;
        limits.check_body(
            content.subject.len() + content.body.source().len() + content.text.as_ref().map_or(0, String::len),
        )?;
        let manual = limits.check_files(&draft.attachments, limits.manual_attachments)?;
        let template_files = template.map(|t| t.attachments.clone()).unwrap_or_default();
        let from_template = limits.check_files(&template_files, limits.template_attachments)?;
        if manual.saturating_add(from_template) > limits.total {
            return Err(ValidationError::AttachmentsTooLarge {
                limit: limits.total,
                actual: manual + from_template,
            }
            .into());
        }
        let triggers = draft
            .triggers
            .clone()
            .or_else(|| template.map(|t| t.triggers.clone()))
            .unwrap_or_default();
        check_triggers(&triggers)?;
        let now = self.now();
        let domain = mailbox.from.domain().to_owned();
        let message_id = self.message_id(draft.account, &domain, origin.message_key().as_deref());
        let priority = origin.priority();
        let seq = if priority == Priority::Mailing { seq } else { 0 };
        let mut attachments = template_files;
        attachments.extend(draft.attachments.iter().cloned());
        Ok(EmailSpec {
            account: draft.account,
            mailbox: mailbox.id,
            sender: draft.sender,
            entity: draft.entity,
            template: template.map(|t| t.id),
            to_entity_contacts,
            to,
            cc,
            bcc,
            content,
            attachments,
            triggers,
            signature_disabled: draft
                .signature_disabled
                .or_else(|| template.map(|t| t.signature_disabled))
                .unwrap_or(false),
            message_id,
            idempotency_key: origin.idempotency_key(),
            mailing: origin.mailing(),
            priority,
            seq,
            not_before: draft.not_before.unwrap_or(now).max(now),
            override_suppression: draft.override_suppression && *origin == Origin::Single,
            created_at: now,
        })
    }
}
