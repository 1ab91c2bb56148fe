//! Running triggers: what an occurrence launches, each trigger's action in the CRM, and automatic sends
//! under the loop budget.

use crate::loops::{AutoSend, BudgetDecision, Chain};
use crate::model::{
    AccountId, Action, Email, EmailId, EmailQuery, EntityRef, EventKind, Mailbox, NewEvent, NewTimer, Template,
    TemplateId, TimerAction, Timestamp, Trigger, TriggerId, User,
};
use crate::ports::{StoreError, StoreExt};
use crate::template::{EmailInfo, RenderContext, render_text};
use crate::trigger::{self, ActionContext, Fired, Occurrence, Resolved, Targets};

use super::{Draft, Engine, EngineError};

/// The prefix of the idempotency key of automatic emails: `auto:<chain>:t<trigger>:s<source>:<entity>:<at>`.
const AUTO: &str = "auto:";

fn chain_key(chain: Chain) -> String {
    match chain {
        Chain::Mailing(m) => format!("m{m}"),
        Chain::Email(e) => format!("e{e}"),
    }
}

fn parse_chain(key: &str) -> Option<Chain> {
    let rest = key.strip_prefix(AUTO)?;
    let chain = rest.split(':').next()?;
    let (kind, id) = chain.split_at(1);
    let id: i64 = id.parse().ok()?;
    match kind {
        "m" => Some(Chain::Mailing(crate::model::MailingId(id))),
        "e" => Some(Chain::Email(EmailId(id))),
        _ => None,
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
        let store = &self.ports.store;
        let needs_triggers = match occurrence {
            Occurrence::Sent { triggers, .. }
            | Occurrence::Opened { triggers, .. }
            | Occurrence::NotOpened { triggers, .. }
            | Occurrence::Failed { triggers, .. } => !triggers.is_empty(),
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
                self.run_trigger(account, run.trigger, source.map(|e| e.id), entity, run.run_at)
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
        let result = self.try_run_trigger(account, trigger_id, email_id, entity, at).await;
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
    ) -> Result<Option<String>, EngineError> {
        let store = &self.ports.store;
        let trigger: Trigger = store.get(account_id, trigger_id).await?;
        let account = store.get_account(account_id).await?;
        let email = match email_id {
            Some(id) => Some(store.get_email(account_id, id).await?),
            None => None,
        };
        let record = self.ports.crm.entity(account_id, entity).await?;
        let links = self.links(&account)?;
        let now = self.now();
        let base = RenderContext::new(&record, &links, now);
        let subject = match &email {
            Some(e) => Some(render_text(&e.spec.content.subject, &base)?),
            None => None,
        };
        let mut ctx = base.with_email(EmailInfo {
            id: email.as_ref().map(|e| e.id),
            subject: subject.as_deref(),
            sent_at: email.as_ref().and_then(|e| e.sent_at),
        });
        ctx.timezone = account.timezone;
        let fields = match &trigger.action {
            Action::ChangeField { entity: kind, .. } => self.ports.crm.fields(account_id, *kind).await?,
            _ => Vec::new(),
        };
        let actx = ActionContext {
            targets: Targets::from_record(&record),
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
                self.send_automatic(account_id, template, entity, email.as_ref(), trigger_id, at)
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
        let mut spec = self.spec_from(&draft, &mailbox, Some(&template), None)?;
        spec.idempotency_key = Some(format!(
            "{AUTO}{}:t{trigger}:s{}:{:?}{}:{}",
            chain_key(chain),
            source.map_or(0, |e| e.id.0),
            entity.kind,
            entity.id,
            at.timestamp_micros()
        ));
        let answer = store.enqueue(vec![spec]).await?;
        if let Some(queued) = answer.first().filter(|a| a.created) {
            let event = NewEvent {
                account,
                email: Some(queued.id),
                entity: Some(entity),
                at: now,
                kind: EventKind::Queued,
                automated: false,
            };
            store.append_events(vec![event]).await?;
        }
        Ok(None)
    }
}
