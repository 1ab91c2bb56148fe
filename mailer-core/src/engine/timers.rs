//! Running due timers: not-opened timers, delayed trigger actions, retried copies to Sent, stored form
//! submissions and delayed pipeline sends.

use crate::model::{Timer, TimerAction};
use crate::trigger::{Fired, Occurrence};

use super::tracking::Submission;
use super::{Engine, EngineError};

impl Engine {
    /// Runs every timer due now (up to the claim batch) and answers how many ran.
    ///
    /// # Errors
    /// [`EngineError::Store`]; a timer whose work fails otherwise is recorded and finished.
    pub async fn run_due_timers(&self) -> Result<u32, EngineError> {
        let store = &self.ports.store;
        let now = self.now();
        let timers = store
            .claim_due_timers(&self.config.worker, now, self.config.claim_batch, self.config.lease)
            .await?;
        let mut ran = 0;
        let mut held = std::collections::HashMap::new();
        for timer in timers {
            // An account whose CRM access is revoked keeps its timers: they come back when the lease ends.
            if self.is_held(&mut held, timer.timer.account).await? {
                continue;
            }
            let replaced = self.run_timer(&timer).await?;
            if !replaced {
                store
                    .finish_timer(timer.timer.account, timer.id, &self.config.worker)
                    .await?;
            }
            ran += 1;
        }
        Ok(ran)
    }

    /// Runs one timer; true when it was replaced by a new timer of the same key (already gone).
    async fn run_timer(&self, timer: &Timer) -> Result<bool, EngineError> {
        let account = timer.timer.account;
        if let TimerAction::FormWrite {
            email,
            entity,
            answers,
            attempt,
        } = &timer.timer.action
        {
            let submission = Submission {
                account,
                email: *email,
                entity: *entity,
                answers,
            };
            return self.retry_form(&submission, *attempt).await;
        }
        self.run_other_timer(timer).await.map(|()| false)
    }

    async fn run_other_timer(&self, timer: &Timer) -> Result<(), EngineError> {
        let account = timer.timer.account;
        let at = timer.timer.due_at;
        match &timer.timer.action {
            TimerAction::FormWrite { .. } => Ok(()),
            TimerAction::NotOpened { email } => {
                let email = self.ports.store.get_email(account, *email).await?;
                let occurrence = Occurrence::NotOpened {
                    email: email.id,
                    triggers: &email.spec.triggers,
                };
                self.launch(
                    account,
                    &occurrence,
                    at,
                    Fired::NOTHING,
                    Some(&email),
                    email.spec.entity,
                )
                .await
            }
            TimerAction::RunTrigger { trigger, email, entity } => {
                self.run_trigger(account, *trigger, *email, *entity, at).await
            }
            TimerAction::SentCopy { email, file } => {
                let email = self.ports.store.get_email(account, *email).await?;
                if let Err(e) = self.retry_sent_copy(&email, *file).await {
                    let event = crate::model::NewEvent {
                        account,
                        email: Some(email.id),
                        entity: email.spec.entity,
                        at: self.now(),
                        kind: crate::model::EventKind::SentCopyFailed { reason: e.to_string() },
                        automated: false,
                    };
                    self.ports.store.append_events(vec![event]).await?;
                }
                Ok(())
            }
            TimerAction::StageEvent {
                event,
                lead,
                pipeline,
                stage,
                created,
                change,
            } => {
                let event = super::PipelineEvent {
                    event_id: event.clone(),
                    account,
                    lead: *lead,
                    pipeline: *pipeline,
                    stage: *stage,
                    change: change.unwrap_or(if *created {
                        super::StageChange::Created
                    } else {
                        super::StageChange::Moved
                    }),
                };
                self.pipeline_event(&event).await.map(drop)
            }
            TimerAction::PipelineSend { rule, lead, event } => {
                // A timer from before CRM event ids were kept is keyed by its own id.
                let event = if event.is_empty() {
                    format!("timer{}", timer.id)
                } else {
                    event.clone()
                };
                self.pipeline_send(account, *rule, *lead, &event).await.map(drop)
            }
        }
    }
}
