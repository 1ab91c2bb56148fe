//! The digital pipeline: a lead created in or moved into a stage sends the rule's template, optionally
//! after a delay, when the lead passes the rule's filter.

use serde::{Deserialize, Serialize};

pub use crate::model::StageChange;
use crate::model::{
    AccountId, EmailId, EntityRef, LeadFilter, Mailbox, NewTimer, PipelineId, PipelineRule, PipelineRuleId, StageEvent,
    StageId, Template, TimerAction,
};
use crate::ports::StoreExt;

use super::{Draft, Engine, EngineError, Origin};

/// A lead arrived in a stage, or its responsible user or tags changed there (from a CRM webhook or the
/// digital-pipeline hook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PipelineEvent {
    /// The CRM event's own id (for Kommo's digital-pipeline hook: account, lead, stage, event type and the
    /// event's time as Kommo sent them). A redelivered event carries the same id and queues nothing new;
    /// it must never be a time taken on arrival.
    pub event_id: String,
    /// The account.
    pub account: AccountId,
    /// The lead.
    pub lead: EntityRef,
    /// Its pipeline.
    pub pipeline: PipelineId,
    /// Its new stage.
    pub stage: StageId,
    /// Created, moved, responsible or tags changed.
    pub change: StageChange,
}

fn fires_on(on: StageEvent, change: StageChange) -> bool {
    matches!(
        (on, change),
        (StageEvent::CreatedOrMovedIn | StageEvent::Created, StageChange::Created)
            | (StageEvent::CreatedOrMovedIn | StageEvent::MovedIn, StageChange::Moved)
            | (StageEvent::ResponsibleChanged, StageChange::ResponsibleChanged)
            | (StageEvent::TagsChanged, StageChange::TagsChanged)
    )
}

/// True when a lead with `tags` passes the filter.
pub fn passes(filter: &LeadFilter, tags: &[String]) -> bool {
    let has = |t: &String| tags.iter().any(|x| x.eq_ignore_ascii_case(t));
    filter.tags_all.iter().all(has) && !filter.tags_none.iter().any(has)
}

impl Engine {
    /// Handles a stage event: every matching rule sends its template now or schedules it after its delay.
    /// Answers the emails queued now.
    ///
    /// # Errors
    /// [`EngineError::Store`], [`EngineError::Crm`] (reading the lead), or compose errors.
    pub async fn pipeline_event(&self, event: &PipelineEvent) -> Result<Vec<EmailId>, EngineError> {
        let check = Origin::Pipeline {
            rule: PipelineRuleId(0),
            event: event.event_id.clone(),
        };
        check.check()?;
        let rules: Vec<PipelineRule> = self.ports.store.list(event.account).await?;
        let matching: Vec<&PipelineRule> = rules
            .iter()
            .filter(|r| r.pipeline == event.pipeline && r.stage == event.stage && fires_on(r.on, event.change))
            .collect();
        let mut queued = Vec::new();
        if matching.is_empty() {
            return Ok(queued);
        }
        let now = self.now();
        for rule in matching {
            if rule.delay.is_zero() {
                queued.extend(
                    self.pipeline_send(event.account, rule.id, event.lead, &event.event_id)
                        .await?,
                );
            } else {
                let due_at = crate::trigger::after(now, rule.delay)?;
                let key = format!("pipeline:{}:{}", rule.id, event.event_id);
                let action = TimerAction::PipelineSend {
                    rule: rule.id,
                    lead: event.lead,
                    event: event.event_id.clone(),
                };
                self.ports
                    .store
                    .schedule_timer(NewTimer {
                        account: event.account,
                        key,
                        due_at,
                        action,
                    })
                    .await?;
            }
        }
        Ok(queued)
    }

    /// Accepts a stage event that arrived by a CRM hook, to be handled by the next worker that runs due
    /// timers: one store write, so the hook can be answered at once and a crash after the answer loses
    /// nothing. A redelivered event (same [`PipelineEvent::event_id`]) replaces the waiting one, and its
    /// emails are queued once per rule and event however often it is handled.
    ///
    /// # Errors
    /// [`EngineError::Invalid`] for an event id that is too long; [`EngineError::Store`].
    pub async fn accept_pipeline_event(&self, event: &PipelineEvent) -> Result<(), EngineError> {
        Origin::Pipeline {
            rule: PipelineRuleId(0),
            event: event.event_id.clone(),
        }
        .check()?;
        let action = TimerAction::StageEvent {
            event: event.event_id.clone(),
            lead: event.lead,
            pipeline: event.pipeline,
            stage: event.stage,
            created: event.change == StageChange::Created,
            change: Some(event.change),
        };
        self.ports
            .store
            .schedule_timer(NewTimer {
                account: event.account,
                key: format!("hook:{}", event.event_id),
                due_at: self.now(),
                action,
            })
            .await?;
        Ok(())
    }

    /// Sends a rule's template to a lead if the lead (read now) passes the rule's filter and is still in
    /// the rule's stage; once per rule and CRM event (`event`).
    pub(crate) async fn pipeline_send(
        &self,
        account: AccountId,
        rule: PipelineRuleId,
        lead: EntityRef,
        event: &str,
    ) -> Result<Option<EmailId>, EngineError> {
        let store = &self.ports.store;
        let rule: PipelineRule = store.get(account, rule).await?;
        let record = self.ports.crm.entity(account, lead).await?;
        if !passes(&rule.filter, &record.entity.tags) {
            return Ok(None);
        }
        // After a delay, a lead that has moved on no longer gets the stage's email.
        if let Some(current) = record.entity.stage
            && current != (rule.pipeline, rule.stage)
            && !rule.delay.is_zero()
        {
            return Ok(None);
        }
        let template: Template = store.get(account, rule.template).await?;
        let mailbox: Mailbox = store.get(account, rule.mailbox).await?;
        let draft = Draft {
            account,
            sender: mailbox.owner,
            mailbox: mailbox.id,
            entity: Some(lead),
            template: Some(template.id),
            ..Draft::default()
        };
        self.compile(&template.content)?;
        let origin = Origin::Pipeline {
            rule: rule.id,
            event: event.to_owned(),
        };
        let spec = self.spec_from(&draft, &mailbox, Some(&template), &origin, 0)?;
        Ok(Some(self.enqueue_one(spec).await?.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_tags() {
        let f = LeadFilter {
            tags_all: vec!["newsletter".into()],
            tags_none: vec!["unsubscribed".into()],
        };
        assert!(passes(&f, &["Newsletter".into(), "vip".into()]));
        assert!(!passes(&f, &["vip".into()]));
        assert!(!passes(&f, &["newsletter".into(), "unsubscribed".into()]));
        assert!(passes(&LeadFilter::default(), &[]));
    }

    #[test]
    fn rules_fire_on_their_event() {
        assert!(fires_on(StageEvent::Created, StageChange::Created));
        assert!(!fires_on(StageEvent::Created, StageChange::Moved));
        assert!(fires_on(StageEvent::MovedIn, StageChange::Moved));
        assert!(fires_on(StageEvent::CreatedOrMovedIn, StageChange::Created));
        assert!(!fires_on(StageEvent::CreatedOrMovedIn, StageChange::TagsChanged));
        assert!(!fires_on(StageEvent::MovedIn, StageChange::ResponsibleChanged));
        assert!(fires_on(
            StageEvent::ResponsibleChanged,
            StageChange::ResponsibleChanged
        ));
        assert!(!fires_on(StageEvent::ResponsibleChanged, StageChange::TagsChanged));
        assert!(fires_on(StageEvent::TagsChanged, StageChange::TagsChanged));
    }
}
