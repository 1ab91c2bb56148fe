//! From a queued email to the exact message sent: live CRM data, recipients, rendering, attachments.
//! The preview uses the same path.

use crate::model::{
    Account, Address, AttachmentRef, CrmId, Email, EmailSpec, Entity, EntityKind, EntityRecord, EntityRef, FileKind,
    Mailbox, User,
};
use crate::ports::{FetchError, OutgoingAttachment, OutgoingMessage, StoreExt};
use crate::template::{EmailInfo, Mode, RenderContext, TokenKind, TrackingToken, render_text};

use super::step_records::StepRecords;
use super::{Engine, EngineError};

/// Why a message could not be made; `temporary` ones are worth another try.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) error: EngineError,
    pub(crate) temporary: bool,
}

impl Problem {
    fn permanent(error: impl Into<EngineError>) -> Self {
        Self {
            error: error.into(),
            temporary: false,
        }
    }
}

impl From<EngineError> for Problem {
    fn from(error: EngineError) -> Self {
        let temporary = match &error {
            EngineError::Crm(e) => e.is_temporary(),
            EngineError::Store(_) => true,
            EngineError::Send(e) => e.is_temporary(),
            _ => false,
        };
        Self { error, temporary }
    }
}

/// The records one email is made from.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) account: Account,
    pub(crate) mailbox: Mailbox,
    pub(crate) sender: User,
    pub(crate) record: EntityRecord,
    /// Recipients on the account's suppression list (lowercase): left out of the message.
    pub(crate) suppressed: Vec<String>,
}

/// An entity to stand for "no entity" in tokens and the template context.
pub(crate) fn no_entity() -> EntityRef {
    EntityRef {
        kind: EntityKind::Contact,
        id: CrmId(0),
    }
}

pub(crate) fn empty_record(name: &str) -> EntityRecord {
    EntityRecord {
        entity: Entity::new(no_entity(), name),
        lead: None,
        contacts: Vec::new(),
        company: None,
        responsible: None,
    }
}

impl Engine {
    /// Loads the account, mailbox, sender and live CRM data of an email.
    pub(crate) async fn parts(&self, email: &Email) -> Result<Parts, EngineError> {
        self.parts_with(email, None, None).await
    }

    /// As [`Engine::parts`], with the entity's CRM record when the caller has just read it, and the
    /// account, mailbox and sender from `known` when the worker step read them.
    pub(crate) async fn parts_with(
        &self,
        email: &Email,
        record: Option<EntityRecord>,
        known: Option<&StepRecords>,
    ) -> Result<Parts, EngineError> {
        let store = &self.ports.store;
        let spec = &email.spec;
        let account = match known.and_then(|k| k.account(spec.account)) {
            Some(account) => account.clone(),
            None => store.get_account(spec.account).await?,
        };
        let mailbox: Mailbox = match known.and_then(|k| k.mailbox(spec.account, spec.mailbox)) {
            Some(mailbox) => mailbox.clone(),
            None => store.get(spec.account, spec.mailbox).await?,
        };
        let sender: User = match known.and_then(|k| k.sender(spec.account, spec.sender)) {
            Some(sender) => sender.clone(),
            None => store.get(spec.account, spec.sender).await?,
        };
        let record = match (spec.entity, record) {
            (Some(entity), Some(record)) if record.entity.entity == entity => record,
            (Some(entity), _) => self.ports.crm.entity(spec.account, entity).await?,
            (None, _) => empty_record(spec.to.first().and_then(|a| a.name.as_deref()).unwrap_or("")),
        };
        Ok(Parts {
            account,
            mailbox,
            sender,
            record,
            suppressed: Vec::new(),
        })
    }

    /// The recipients of an email (To, Cc, Bcc) that are on the account's suppression list, lowercase.
    /// Answered from `known` when the worker step looked every one of them up.
    pub(crate) async fn suppressed_among(
        &self,
        email: &Email,
        parts: &Parts,
        known: Option<&StepRecords>,
    ) -> Result<Vec<String>, EngineError> {
        let addresses: Vec<String> = all_recipients(&email.spec, &parts.record)
            .iter()
            .map(|a| a.email.to_lowercase())
            .collect();
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(found) = known.and_then(|k| k.suppressed(email.spec.account, &addresses)) {
            return Ok(found);
        }
        Ok(self.ports.store.suppressed(email.spec.account, &addresses).await?)
    }

    /// Renders an email into the message to send, reading attachments and downloading link attachments.
    pub(crate) async fn message(&self, email: &Email, parts: &Parts, mode: Mode) -> Result<OutgoingMessage, Problem> {
        let spec = &email.spec;
        let kept = |a: &Address| !parts.suppressed.contains(&a.email.to_lowercase());
        let mut to = recipients(spec, &parts.record);
        to.retain(kept);
        let cc: Vec<Address> = spec.cc.iter().filter(|a| kept(a)).cloned().collect();
        let bcc: Vec<Address> = spec.bcc.iter().filter(|a| kept(a)).cloned().collect();
        if to.is_empty() && cc.is_empty() && bcc.is_empty() {
            return Err(Problem::permanent(crate::error::ValidationError::NoRecipient));
        }
        let links = self.links(&parts.account).map_err(Problem::permanent)?;
        let now = self.now();
        let sent_at = email.sent_at.unwrap_or(now);
        let ctx = email_context(email, parts, &links, now, mode, to.first());
        let compiled = self.compile(&spec.content).map_err(Problem::permanent)?;
        let rendered = compiled.render(&ctx).map_err(Problem::permanent)?;
        let attachments = self.attachments(email, &ctx).await?;
        let entity = spec.entity.unwrap_or_else(no_entity);
        let unsubscribe_url = spec.mailing.map(|_| {
            links.url(&TrackingToken {
                kind: TokenKind::Unsubscribe,
                account: spec.account,
                email: Some(email.id),
                recipient: to.first().map(|a| a.email.clone()).unwrap_or_default(),
                entity,
                preview: mode == Mode::Preview,
                issued_at: now,
            })
        });
        Ok(OutgoingMessage {
            message_id: spec.message_id.clone(),
            date: sent_at,
            from: parts.mailbox.from.clone(),
            reply_to: None,
            to,
            cc,
            bcc,
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            attachments,
            unsubscribe_url,
        })
    }

    async fn attachments(&self, email: &Email, ctx: &RenderContext<'_>) -> Result<Vec<OutgoingAttachment>, Problem> {
        let limits = &self.config.limits;
        let mut total: u64 = 0;
        let mut out = Vec::with_capacity(email.spec.attachments.len());
        for attachment in &email.spec.attachments {
            match attachment {
                AttachmentRef::Stored {
                    file,
                    name,
                    content_type,
                    kind,
                    ..
                } => {
                    let stored = self
                        .ports
                        .store
                        .get_file(email.spec.account, *file)
                        .await
                        .map_err(|e| Problem::from(EngineError::from(e)))?;
                    total = total.saturating_add(stored.file.bytes.len() as u64);
                    out.push(OutgoingAttachment {
                        name: name.clone(),
                        content_type: content_type.clone(),
                        bytes: stored.file.bytes,
                        content_id: (*kind == FileKind::InlineImage).then(|| format!("f{file}@mailer")),
                    });
                }
                AttachmentRef::Link { url, name } => {
                    let url = render_text(url, ctx).map_err(Problem::permanent)?;
                    let url = url.trim();
                    if url.is_empty() {
                        continue;
                    }
                    let room = limits.total.saturating_sub(total);
                    let fetched = self.ports.fetcher.fetch(url, room).await.map_err(fetch_problem)?;
                    total = total.saturating_add(fetched.bytes.len() as u64);
                    out.push(OutgoingAttachment {
                        name: name.clone().unwrap_or(fetched.name),
                        content_type: fetched.content_type,
                        bytes: fetched.bytes,
                        content_id: None,
                    });
                }
            }
            if total > limits.total {
                return Err(Problem::permanent(crate::error::ValidationError::AttachmentsTooLarge {
                    limit: limits.total,
                    actual: total,
                }));
            }
        }
        Ok(out)
    }
}

/// The render context of an email for `recipient`: its CRM record, sender, signature, id, subject and
/// send time, in the account's timezone.
pub(crate) fn email_context<'a>(
    email: &'a Email,
    parts: &'a Parts,
    links: &'a crate::template::LinkBuilder,
    now: crate::model::Timestamp,
    mode: Mode,
    recipient: Option<&'a Address>,
) -> RenderContext<'a> {
    let spec = &email.spec;
    let signature = (!spec.signature_disabled).then_some(parts.sender.signature_html.as_str());
    let mut ctx = RenderContext::new(&parts.record, links, now)
        .with_sender(&parts.sender.name, &parts.mailbox.from.email)
        .with_signature(signature)
        .with_email(EmailInfo {
            id: Some(email.id),
            subject: Some(spec.content.subject.as_str()),
            sent_at: Some(email.sent_at.unwrap_or(now)),
        })
        .with_timezone(parts.account.timezone)
        .with_mode(mode);
    if let Some(recipient) = recipient {
        ctx = ctx.with_recipient(recipient);
    }
    ctx
}

fn fetch_problem(error: FetchError) -> Problem {
    let temporary = match &error {
        FetchError::Backend(_) => true,
        FetchError::Status { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    };
    Problem {
        error: EngineError::Fetch(error),
        temporary,
    }
}

/// To: the addresses written by hand, then every contact's address when the email goes to the entity's
/// contacts, without duplicates (case-insensitive); a contact address that is not valid is left out.
pub(crate) fn recipients(spec: &EmailSpec, record: &EntityRecord) -> Vec<Address> {
    let mut to: Vec<Address> = spec.to.clone();
    if spec.to_entity_contacts {
        for contact in &record.contacts {
            for raw in &contact.emails {
                if let Ok(mut address) = Address::new(raw) {
                    address.name = Some(crate::model::DisplayName::new(&contact.name)).filter(|n| !n.is_empty());
                    to.push(address);
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    to.retain(|a| seen.insert(a.email.to_lowercase()));
    to
}

/// Every recipient of an email: To (as [`recipients`]), then Cc and Bcc.
pub(crate) fn all_recipients(spec: &EmailSpec, record: &EntityRecord) -> Vec<Address> {
    let mut all = recipients(spec, record);
    all.extend(spec.cc.iter().cloned());
    all.extend(spec.bcc.iter().cloned());
    all
}
