//! Send single, preview, and saving templates (with every check the widget makes on save).

use serde::{Deserialize, Serialize};

use crate::model::{
    AccountId, Email, EmailId, EmailStatus, PipelineRule, Template, TemplateId, Timestamp, Trigger, TriggerLink, User,
    UserId, WebPage,
};
use crate::ports::StoreExt;
use crate::template::{CompileOptions, CompiledTemplate, Mode};
use crate::trigger;

use super::compose::check_triggers;
use super::render::empty_record;
use super::worker_step::Outcome;
use super::{Draft, Engine, EngineError, rights};

/// The answer to a single send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReport {
    /// The email.
    pub email: EmailId,
    /// What happened, when it went out at once; `None` when the mailbox's spacing or cap made it wait in
    /// the queue (ahead of mailing traffic).
    pub outcome: Option<Outcome>,
    /// When it is expected to go, if it waits.
    pub expected_at: Option<Timestamp>,
}

/// A preview: exactly what the recipient would get, with tracking marked as preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// Subject.
    pub subject: String,
    /// HTML body (signature and pixel included).
    pub html: String,
    /// Text part.
    pub text: String,
    /// The To addresses.
    pub to: Vec<String>,
}

impl Engine {
    /// Sends one email at once, ahead of the queue: it is queued as a single email and claimed right away
    /// if the mailbox's spacing and caps allow; otherwise it waits at the head of the mailbox's queue.
    ///
    /// A recipient on the account's suppression list refuses the send unless the draft overrides it
    /// ([`Draft::override_suppression`]).
    ///
    /// # Errors
    /// As [`Engine::compose`]; [`EngineError::Suppressed`] naming the first suppressed address;
    /// [`EngineError::Crm`] reading the entity's contacts; [`EngineError::Store`].
    pub async fn send_single(&self, draft: &Draft) -> Result<SendReport, EngineError> {
        let spec = self.compose(draft).await?;
        let (account, mailbox) = (spec.account, spec.mailbox);
        // The entity's contacts are read once, for the suppression check and the send that follows.
        let record = match spec.entity {
            Some(entity) if spec.to_entity_contacts && !spec.override_suppression => {
                Some(self.ports.crm.entity(account, entity).await?)
            }
            _ => None,
        };
        match &record {
            Some(record) => self.check_single_suppression(&spec, record).await?,
            None => self.check_single_suppression(&spec, &empty_record("")).await?,
        }
        let id = self.enqueue_one(spec).await?.id;
        let now = self.now();
        let claimed = self
            .ports
            .store
            .claim_email(account, id, &self.config.worker, now, self.config.lease)
            .await?;
        match claimed {
            Some(c) => Ok(SendReport {
                email: id,
                outcome: Some(self.deliver_with(c, record).await?),
                expected_at: None,
            }),
            None => {
                let expected_at = self
                    .queue_view(account, mailbox, u32::MAX)
                    .await?
                    .into_iter()
                    .find(|q| q.email.id == id)
                    .and_then(|q| q.expected_at);
                Ok(SendReport {
                    email: id,
                    outcome: None,
                    expected_at,
                })
            }
        }
    }

    /// Renders a draft exactly as it would be sent, for its entity, with preview tracking (opening a
    /// preview records nothing).
    ///
    /// # Errors
    /// As [`Engine::compose`], [`EngineError::Crm`], [`EngineError::Template`] (strict: unknown variables are
    /// listed).
    pub async fn preview(&self, draft: &Draft) -> Result<Preview, EngineError> {
        let spec = self.compose(draft).await?;
        let now = self.now();
        let email = Email {
            id: EmailId(0),
            status: EmailStatus::Queued,
            attempts: 0,
            due_at: now,
            sent_at: None,
            last_error: None,
            spec,
        };
        let parts = self.parts(&email).await?;
        let message = self.message(&email, &parts, Mode::Preview).await.map_err(|p| p.error)?;
        Ok(Preview {
            subject: message.subject,
            html: message.html,
            text: message.text,
            to: message.to.iter().map(ToString::to_string).collect(),
        })
    }

    /// Saves a template for `user` (new when its id is 0): checks rights, compiles it against the account's
    /// trigger links and web pages (unknown `{triggerlink:N}` / `{web:N}` are refused with line and
    /// column), validates its triggers, and refuses it when it would close an automation loop that runs
    /// without the recipient.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Template`], [`EngineError::Trigger`], [`EngineError::Loop`].
    pub async fn save_template(&self, user: UserId, template: Template) -> Result<Template, EngineError> {
        let store = &self.ports.store;
        let account = template.account;
        let user: User = store.get(account, user).await?;
        let old: Option<Template> = if template.id.0 == 0 {
            None
        } else {
            Some(store.get(account, template.id).await?)
        };
        rights::check_save(&user, old.as_ref(), &template)?;
        let links: Vec<TriggerLink> = store.list(account).await?;
        let pages: Vec<WebPage> = store.list(account).await?;
        let opts = CompileOptions::new(links.iter().map(|l| l.id), pages.iter().map(|p| p.id));
        CompiledTemplate::compile(&template.content, &opts)?;
        check_triggers(&template.triggers)?;
        trigger::validate_email_triggers(&template.triggers)?;
        let mut templates: Vec<Template> = store.list(account).await?;
        templates.retain(|t| t.id != template.id);
        templates.push(template.clone());
        let triggers: Vec<Trigger> = store.list(account).await?;
        let rules: Vec<PipelineRule> = store.list(account).await?;
        crate::loops::check(&crate::loops::Automation {
            templates: &templates,
            triggers: &triggers,
            links: &links,
            pages: &pages,
            rules: &rules,
        })?;
        if old.is_some() {
            store.update(&template).await?;
            Ok(template)
        } else {
            Ok(store.insert(template).await?)
        }
    }

    /// Saves a composed email, with its attachments and triggers, as a new template of the sender.
    ///
    /// # Errors
    /// As [`Engine::compose`] and [`Engine::save_template`].
    pub async fn save_as_template(&self, draft: &Draft, name: &str) -> Result<Template, EngineError> {
        let spec = self.compose(draft).await?;
        let template = Template {
            id: TemplateId(0),
            account: draft.account,
            name: name.to_owned(),
            recipients: if spec.to_entity_contacts || spec.to.is_empty() {
                crate::model::RecipientRule::EntityContacts
            } else {
                crate::model::RecipientRule::Fixed {
                    address: spec.to[0].clone(),
                }
            },
            content: spec.content,
            attachments: spec.attachments,
            triggers: spec.triggers,
            owner: draft.sender,
            public: false,
            signature_disabled: spec.signature_disabled,
        };
        self.save_template(draft.sender, template).await
    }

    /// The templates `user` may see and use: their own and public ones (all of the account's for an admin).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn templates_for(&self, account: AccountId, user: UserId) -> Result<Vec<Template>, EngineError> {
        let user: User = self.ports.store.get(account, user).await?;
        let all: Vec<Template> = self.ports.store.list(account).await?;
        Ok(all.into_iter().filter(|t| rights::can_use(&user, t)).collect())
    }
}
