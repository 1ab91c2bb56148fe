//! Running triggers: what an occurrence launches, each trigger's action in the CRM, and automatic sends
//! under the loop budget.

use crate::loops::{AutoSend, BudgetDecision, Chain};
use crate::model::{
    Account, AccountId, Action, Email, EmailId, EmailQuery, EntityRecord, EntityRef, EventKind, Mailbox, NewEvent,
    NewTimer, Template, TemplateId, TimerAction, Timestamp, Trigger, TriggerId, User,
};
use crate::ports::{StoreError, StoreExt};
use crate::template::{EmailInfo, RenderContext, render_text};
use crate::trigger::{self, ActionContext, Fired, Occurrence, Resolved, Targets};

use super::enqueue::parse_chain;
use super::render::Parts;
use super::{Draft, Engine, EngineError, Origin};

/// What a send already read: the email, its account and its entity's CRM record. Triggers fired right
/// after the send reuse them instead of reading them again (Kommo allows 7 requests a second per account).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known<'a> {
    pub(crate) email: &'a Email,
    pub(crate) account: &'a Account,
    pub(crate) record: &'a EntityRecord,
}

impl<'a> Known<'a> {
    pub(crate) fn new(email: &'a Email, parts: &'a Parts) -> Self {
        Self {
            email,
            account: &parts.account,
            record: &parts.record,
        }
    }
}

/// The chain an email belongs to: its mailing, or the email that started its automatic chain.
fn chain_of(email: Option<&Email>) -> Chain {
    match email {
        Some(e) => e
            .spec
            .mailing
            .map(Chain::Mailing)
            .or_else(|| e.spec.idempotency_key.as_deref().and_then(parse_chain))
            .unwrap_or(Chain::Email(e.id)),
        None => Chain::Email(EmailId(0)),
    }
}

impl Engine {
    /// Carries out what an occurrence launches: the not-opened timer is set or cancelled, triggers due now
    /// run at once, later ones become timers.
    pub(crate) async fn launch(
        &self,
        account: AccountId,
        occurrence: &Occurrence<'_>,
        at: Timestamp,
        fired: Fired,
        source: Option<&Email>,
        entity: Option<EntityRef>,
    ) -> Result<(), EngineError> {
        self.launch_known(account, occurrence, at, fired, source, entity, None)
            .await
    }

    /// As [`Engine::launch`], reusing what a send already read for the triggers that run at once.
    #[allow(clippy::too_many_arguments)] // the occurrence's parts, as the launch rules take them
    pub(crate) async fn launch_known(
        &self,
        account: AccountId,
        occurrence: &Occurrence<'_>,
        at: Timestamp,
        fired: Fired,
        source: Option<&Email>,
        entity: Option<EntityRef>,
        known: Option<Known<'_>>,
    ) -> Result<(), EngineError> {
        let store = &self.ports.store;
        let needs_triggers = match occurrence {
            Occurrence::Sent { triggers, .. }
            | Occurrence::Opened { triggers, .. }
            | Occurrence::NotOpened { triggers, .. }
            | Occurrence::Failed { triggers, .. }
            | Occurrence::Replied { triggers, .. } => !triggers.is_empty(),
            _ => true,
        };
        if !needs_triggers {
            return Ok(());
        }
        let triggers: Vec<Trigger> = store.list(account).await?;
        let plan = trigger::launch(account, occurrence, at, fired, &triggers)?;
        if let Some(timer) = plan.set_timer {
            store.schedule_timer(timer).await?;
        }
        if let Some(key) = plan.cancel_timer {
            store.cancel_timer(account, &key).await?;
        }
        let Some(entity) = entity else { return Ok(()) };
        let now = self.now();
        for run in plan.run {
            if run.run_at <= now {
                self.run_trigger_known(account, run.trigger, source.map(|e| e.id), entity, run.run_at, known)
                    .await?;
            } else {
                let key = format!(
                    "run:t{}:e{}:{:?}{}:{}:{}",
                    run.trigger,
                    source.map_or(0, |e| e.id.0),
                    entity.kind,
                    entity.id,
                    run.run_at.timestamp_micros(),
                    run.position
                );
                let action = TimerAction::RunTrigger {
                    trigger: run.trigger,
                    email: source.map(|e| e.id),
                    entity,
                };
                store
                    .schedule_timer(NewTimer {
                        account,
                        key,
                        due_at: run.run_at,
                        action,
                    })
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs one trigger's action for `entity` (scheduled for `at`), recording whether it worked.
    ///
    /// # Errors
    /// [`EngineError::Store`] only: a failed action is recorded as a `TriggerFailed` event.
    pub async fn run_trigger(
        &self,
        account: AccountId,
        trigger_id: TriggerId,
        email_id: Option<EmailId>,
        entity: EntityRef,
        at: Timestamp,
    ) -> Result<(), EngineError> {
        self.run_trigger_known(account, trigger_id, email_id, entity, at, None)
            .await
    }

    async fn run_trigger_known(
        &self,
        account: AccountId,
        trigger_id: TriggerId,
        email_id: Option<EmailId>,
        entity: EntityRef,
        at: Timestamp,
        known: Option<Known<'_>>,
    ) -> Result<(), EngineError> {
        let result = self
            .try_run_trigger(account, trigger_id, email_id, entity, at, known)
            .await;
        let kind = match result {
            Ok(None) => EventKind::TriggerFired { trigger: trigger_id },
            Ok(Some(skipped)) => EventKind::SendSkipped { reason: skipped },
            Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
            Err(e) => EventKind::TriggerFailed {
                trigger: trigger_id,
                reason: e.to_string(),
            },
        };
        let event = NewEvent {
            account,
            email: email_id,
            entity: Some(entity),
            at: self.now(),
            kind,
            automated: false,
        };
        self.ports.store.append_events(vec![event]).await?;
        Ok(())
    }

    /// Runs the trigger; `Ok(Some(reason))` when an automatic send was skipped.
    async fn try_run_trigger(
        &self,
        account_id: AccountId,
        trigger_id: TriggerId,
        email_id: Option<EmailId>,
        entity: EntityRef,
        at: Timestamp,
        known: Option<Known<'_>>,
    ) -> Result<Option<String>, EngineError> {
        let store = &self.ports.store;
        let trigger: Trigger = store.get(account_id, trigger_id).await?;
        let (loaded_account, loaded_email, loaded_record);
        let known = known.filter(|k| k.record.entity.entity == entity && Some(k.email.id) == email_id);
        let (account, email, record): (&Account, Option<&Email>, &EntityRecord) = match known {
            Some(k) => (k.account, Some(k.email), k.record),
            None => {
                loaded_account = store.get_account(account_id).await?;
                loaded_email = match email_id {
                    Some(id) => Some(store.get_email(account_id, id).await?),
                    None => None,
                };
                loaded_record = self.ports.crm.entity(account_id, entity).await?;
                (&loaded_account, loaded_email.as_ref(), &loaded_record)
            }
        };
        let links = self.links(account)?;
        let now = self.now();
        let base = RenderContext::new(record, &links, now);
        let subject = match email {
            Some(e) => Some(render_text(&e.spec.content.subject, &base)?),
            None => None,
        };
        let mut ctx = base.with_email(EmailInfo {
            id: email.map(|e| e.id),
            subject: subject.as_deref(),
            sent_at: email.and_then(|e| e.sent_at),
        });
        ctx.timezone = account.timezone;
        let fields = match &trigger.action {
            Action::ChangeField { entity: kind, .. } => self.ports.crm.fields(account_id, *kind).await?,
            _ => Vec::new(),
        };
        let actx = ActionContext {
            targets: Targets::from_record(record),
            fields: &fields,
            timezone: account.timezone,
            now,
        };
        match trigger::resolve(&trigger.action, &actx, |s: &str| render_text(s, &ctx))? {
            Resolved::Crm(action) => {
                self.ports.crm.apply(account_id, &action).await?;
                Ok(None)
            }
            Resolved::SendTemplate(template) => {
                self.send_automatic(account_id, template, entity, email, trigger_id, at)
                    .await
            }
        }
    }

    /// Queues a template for `entity` as an automatic send, within the loop budget of its chain.
    async fn send_automatic(
        &self,
        account: AccountId,
        template_id: TemplateId,
        entity: EntityRef,
        source: Option<&Email>,
        trigger: TriggerId,
        at: Timestamp,
    ) -> Result<Option<String>, EngineError> {
        let store = &self.ports.store;
        let now = self.now();
        let chain = chain_of(source);
        let mut query = EmailQuery::account(account, u32::MAX);
        query.entity = Some(entity);
        let recent: Vec<AutoSend> = store
            .list_emails(&query)
            .await?
            .iter()
            .filter_map(|e| {
                let chain = parse_chain(e.spec.idempotency_key.as_deref()?)?;
                Some(AutoSend {
                    entity,
                    chain,
                    at: e.spec.created_at,
                })
            })
            .collect();
        if let BudgetDecision::OverBudget(over) = self.config.budget.check(entity, chain, now, &recent) {
            return Ok(Some(over.to_string()));
        }
        let template: Template = store.get(account, template_id).await?;
        let (sender, mailbox) = match source {
            Some(e) => (e.spec.sender, e.spec.mailbox),
            None => {
                let owner: User = store.get(account, template.owner).await?;
                let mailboxes: Vec<Mailbox> = store.list(account).await?;
                let mailbox = mailboxes
                    .iter()
                    .find(|m| m.owner == owner.id)
                    .ok_or_else(|| StoreError::not_found("mailbox of user", owner.id))?;
                (owner.id, mailbox.id)
            }
        };
        let mailbox: Mailbox = store.get(account, mailbox).await?;
        let draft = Draft {
            account,
            sender,
            mailbox: mailbox.id,
            entity: Some(entity),
            template: Some(template_id),
            ..Draft::default()
        };
        self.compile(&template.content)?;
        let origin = Origin::Automatic {
            chain,
            trigger,
            source: source.map(|e| e.id),
            entity,
            at,
        };
        let spec = self.spec_from(&draft, &mailbox, Some(&template), &origin, 0)?;
        self.enqueue_one(spec).await?;
        Ok(None)
    }
}
