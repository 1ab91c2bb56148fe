//! The worker step: claim due emails, read what they share once (accounts, mailboxes, senders, suppressed
//! recipients: [`StepRecords`]), then for each render, send, copy to Sent, record, run triggers and set the
//! not-opened timer; a failure is retried with backoff or given up (and the failed triggers run).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{
    Claimed, Email, EntityRecord, EventKind, FileId, Mailbox, NewEvent, NewFile, NewTimer, TimerAction,
};
use crate::ports::{Delivery, StoreError, StoreExt};
use crate::queue::RetryDecision;
use crate::template::Mode;
use crate::trigger::{Fired, Occurrence};

use super::automation::Known;
use super::render::{Parts, Problem, all_recipients};
use super::step_records::StepRecords;
use super::{Engine, EngineError};

/// How long an email of an account whose CRM access is revoked waits before it is looked at again.
const HOLD: std::time::Duration = std::time::Duration::from_secs(600);

/// What one worker step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct StepReport {
    /// Emails claimed.
    pub claimed: u32,
    /// Sent.
    pub sent: u32,
    /// Given back for a later try.
    pub retried: u32,
    /// Given up.
    pub failed: u32,
    /// Not sent because every recipient is on the suppression list (ended as cancelled).
    pub skipped: u32,
}

impl StepReport {
    /// Counts one email's outcome.
    pub(crate) fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::Retried => self.retried += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }

    /// Adds what another step did.
    pub(crate) fn add(&mut self, other: StepReport) {
        self.claimed += other.claimed;
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// The emails one claim handed to this worker, with the records they share; each is delivered on its own
/// ([`Engine::deliver_claimed`]).
pub(crate) struct Claim {
    /// What the claim did: the emails claimed, and those given back at once (counted as retried).
    pub(crate) report: StepReport,
    /// The records the emails share, read once.
    pub(crate) known: Arc<StepRecords>,
    /// The emails to deliver, each with its CRM record when it was read ahead.
    pub(crate) emails: Vec<(Claimed, Option<EntityRecord>)>,
}

/// What happened to one email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// Accepted by the server.
    Sent,
    /// Will be tried again.
    Retried,
    /// Given up.
    Failed,
    /// Not sent: every recipient is on the account's suppression list; the email ends as cancelled.
    Skipped,
}

impl Engine {
    /// Claims what is due and sends it; emails of different mailboxes go concurrently.
    ///
    /// # Errors
    /// [`EngineError::Store`] when the claim itself fails; failures of single emails are handled (retried
    /// or failed) and counted in the report.
    pub async fn worker_step(&self) -> Result<StepReport, EngineError> {
        let Claim {
            mut report,
            known,
            emails,
        } = self.claim(self.config.claim_batch).await?;
        let outcomes = futures::future::join_all(
            emails
                .into_iter()
                .map(|(c, record)| self.deliver_known(c, record, Some(&known))),
        )
        .await;
        for outcome in outcomes {
            report.count(outcome?);
        }
        Ok(report)
    }

    /// Claims at most `limit` due emails and reads what they share; emails of an account whose CRM access
    /// is revoked are given back for later (counted as retried in the claim's report).
    ///
    /// # Errors
    /// [`EngineError::Store`] when the claim fails.
    pub(crate) async fn claim(&self, limit: u32) -> Result<Claim, EngineError> {
        let now = self.now();
        let claimed = self
            .ports
            .store
            .claim_due(&self.config.worker, now, limit, self.config.lease)
            .await?;
        let mut report = StepReport {
            claimed: u32::try_from(claimed.len()).unwrap_or(u32::MAX),
            ..StepReport::default()
        };
        let mut held = std::collections::HashMap::new();
        let mut deliverable = Vec::with_capacity(claimed.len());
        for c in claimed {
            let account = c.email.spec.account;
            if self.is_held(&mut held, account).await? {
                self.hold(&c.email, now).await?;
                report.retried += 1;
            } else {
                deliverable.push(c);
            }
        }
        let records = self.records_for(&deliverable).await;
        let known = self.step_records(&deliverable, &records).await;
        Ok(Claim {
            report,
            known: Arc::new(known),
            emails: deliverable.into_iter().zip(records).collect(),
        })
    }

    /// Sends one email of a [`Claim`] and records what happened, with the records the claim read.
    ///
    /// # Errors
    /// As [`Engine::deliver`].
    pub(crate) async fn deliver_claimed(
        &self,
        claimed: Claimed,
        record: Option<EntityRecord>,
        known: Arc<StepRecords>,
    ) -> Result<Outcome, EngineError> {
        self.deliver_known(claimed, record, Some(&known)).await
    }

    /// Gives a claimed email of an account whose CRM access is revoked back to the queue for later.
    async fn hold(&self, email: &Email, now: crate::model::Timestamp) -> Result<(), EngineError> {
        let at = crate::model::saturating_after(now, HOLD);
        self.ports
            .store
            .retry_at(email.spec.account, email.id, &self.config.worker, at, super::REVOKED)
            .await?;
        Ok(())
    }

    /// Sends one claimed email and records what happened.
    ///
    /// # Errors
    /// [`EngineError::Store`] when the outcome cannot be recorded (the lease then runs out and the email is
    /// claimed again).
    pub async fn deliver(&self, claimed: Claimed) -> Result<Outcome, EngineError> {
        self.deliver_with(claimed, None).await
    }

    /// As [`Engine::deliver`], with the entity's CRM record when the caller has just read it.
    pub(crate) async fn deliver_with(
        &self,
        claimed: Claimed,
        record: Option<EntityRecord>,
    ) -> Result<Outcome, EngineError> {
        self.deliver_known(claimed, record, None).await
    }

    /// As [`Engine::deliver_with`], with the records the worker step read once for all its emails.
    async fn deliver_known(
        &self,
        claimed: Claimed,
        record: Option<EntityRecord>,
        known: Option<&StepRecords>,
    ) -> Result<Outcome, EngineError> {
        let email = claimed.email;
        let mut parts = match self.parts_with(&email, record, known).await {
            Ok(parts) => parts,
            Err(e) => return self.give_back(&email, Problem::from(e)).await,
        };
        if !email.spec.override_suppression {
            match self.suppressed_among(&email, &parts, known).await {
                Ok(list) => parts.suppressed = list,
                Err(e) => return self.give_back(&email, Problem::from(e)).await,
            }
            if !parts.suppressed.is_empty() {
                return self.skip_suppressed(&email, &parts).await;
            }
        }
        self.send_parts(&email, &parts).await
    }

    /// Renders, sends and records an email whose records are loaded.
    async fn send_parts(&self, email: &Email, parts: &Parts) -> Result<Outcome, EngineError> {
        let message = match self.message(email, parts, Mode::Live).await {
            Ok(m) => m,
            Err(problem) => return self.give_back(email, problem).await,
        };
        // Entity contacts are only known now: the recipient cap is checked on the final list too.
        if let Err(e) = self
            .config
            .limits
            .check_recipients(message.envelope_recipients().count())
        {
            return self.give_back(email, Problem::from(EngineError::from(e))).await;
        }
        match self.ports.transport.send(&parts.mailbox, &message).await {
            Ok(delivery) => {
                self.sent(email, parts, &delivery).await?;
                Ok(Outcome::Sent)
            }
            Err(e) => self.give_back(email, Problem::from(EngineError::Send(e))).await,
        }
    }

    async fn sent(&self, email: &Email, parts: &Parts, delivery: &Delivery) -> Result<(), EngineError> {
        let store = &self.ports.store;
        let spec = &email.spec;
        let now = self.now();
        // Recording right after the server's answer keeps the window in which a crash could send twice as
        // small as one store call: the email's status and its `Sent` event, in one write.
        let sent = email_event(email, now, EventKind::Sent);
        store
            .complete_with_events(spec.account, email.id, &self.config.worker, now, vec![sent])
            .await?;
        if self.ports.transport.capabilities().append_sent
            && parts.mailbox.imap.is_some()
            && let Err(e) = self
                .ports
                .transport
                .append_sent(&parts.mailbox, &delivery.message_id, &delivery.raw)
                .await
        {
            let mut reason = e.to_string();
            // The retry appends the very bytes that were sent (signature included), from any worker and
            // after a restart: they are kept in the store, not in this process.
            let kept = store
                .put_file(NewFile {
                    account: spec.account,
                    name: format!("{}.eml", delivery.message_id),
                    content_type: "message/rfc822".into(),
                    bytes: delivery.raw.clone(),
                })
                .await;
            // The email was delivered: from here on nothing is an error of the send. A copy that cannot be
            // kept or rescheduled is recorded in the event's reason (and so in the history), not returned.
            match kept {
                Ok(file) => {
                    let due_at = crate::model::saturating_after(now, self.config.sent_copy_retry);
                    let scheduled = store
                        .schedule_timer(NewTimer {
                            account: spec.account,
                            key: format!("sent-copy:{}", email.id),
                            due_at,
                            action: TimerAction::SentCopy {
                                email: email.id,
                                file: Some(file),
                            },
                        })
                        .await;
                    if let Err(e) = scheduled {
                        reason = format!("{reason}; no retry, it could not be scheduled: {e}");
                    }
                }
                Err(kept) => reason = format!("{reason}; no retry, the sent message could not be kept: {kept}"),
            }
            store
                .append_events(vec![email_event(email, now, EventKind::SentCopyFailed { reason })])
                .await?;
        }
        let occurrence = Occurrence::Sent {
            email: email.id,
            triggers: &spec.triggers,
        };
        let known = Known::new(email, parts);
        self.launch_known(
            spec.account,
            &occurrence,
            now,
            Fired::NOTHING,
            Some(email),
            spec.entity,
            Some(known),
        )
        .await
    }

    /// Records a `Suppressed` event for each suppressed recipient; when nobody is left, ends the email as
    /// cancelled and answers [`Outcome::Skipped`], else sends it to the others.
    async fn skip_suppressed(&self, email: &Email, parts: &Parts) -> Result<Outcome, EngineError> {
        let spec = &email.spec;
        let now = self.now();
        let events = parts
            .suppressed
            .iter()
            .map(|address| {
                let kind = EventKind::Suppressed {
                    address: address.clone(),
                };
                email_event(email, now, kind)
            })
            .collect();
        self.ports.store.append_events(events).await?;
        let left = all_recipients(&email.spec, &parts.record)
            .iter()
            .any(|a| !parts.suppressed.contains(&a.email.to_lowercase()));
        if left {
            return self.send_parts(email, parts).await;
        }
        lease_ok(
            self.ports
                .store
                .cancel_claimed(
                    spec.account,
                    email.id,
                    &self.config.worker,
                    "every recipient is suppressed",
                )
                .await,
        )?;
        Ok(Outcome::Skipped)
    }

    /// Retries or fails an email after `problem`; a failed email runs its failed triggers.
    async fn give_back(&self, email: &Email, problem: Problem) -> Result<Outcome, EngineError> {
        let store = &self.ports.store;
        let spec = &email.spec;
        let now = self.now();
        let reason = problem.error.to_string();
        let decision = self
            .config
            .retry
            .after_failure(problem.temporary, email.id, email.attempts, now);
        let (kind, outcome) = match decision {
            RetryDecision::RetryAt(at) => {
                lease_ok(
                    store
                        .retry_at(spec.account, email.id, &self.config.worker, at, &reason)
                        .await,
                )?;
                (EventKind::Retried { reason: reason.clone() }, Outcome::Retried)
            }
            RetryDecision::Fail => {
                lease_ok(store.fail(spec.account, email.id, &self.config.worker, &reason).await)?;
                (EventKind::Failed { reason: reason.clone() }, Outcome::Failed)
            }
        };
        store.append_events(vec![email_event(email, now, kind)]).await?;
        if outcome == Outcome::Failed {
            let occurrence = Occurrence::Failed {
                email: email.id,
                triggers: &spec.triggers,
                reason: &reason,
            };
            self.launch(spec.account, &occurrence, now, Fired::NOTHING, Some(email), spec.entity)
                .await?;
        }
        Ok(outcome)
    }

    /// Puts a copy of a sent email in Sent again (after a failed first try): the bytes that were sent,
    /// kept in the store as `file`, never a new rendering (no CRM read either).
    pub(crate) async fn retry_sent_copy(&self, email: &Email, file: Option<FileId>) -> Result<(), EngineError> {
        let account = email.spec.account;
        let file = file.ok_or_else(|| StoreError::not_found("sent message bytes", email.id))?;
        let raw = self.ports.store.get_file(account, file).await?;
        let mailbox: Mailbox = self.ports.store.get(account, email.spec.mailbox).await?;
        self.ports
            .transport
            .append_sent(&mailbox, &email.spec.message_id, &raw.file.bytes)
            .await?;
        Ok(())
    }
}

/// A lost lease means another worker has the email now: nothing to record here.
fn lease_ok(result: Result<(), StoreError>) -> Result<(), EngineError> {
    match result {
        Ok(()) | Err(StoreError::LeaseLost { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An event of `email` (its account and entity) at `at`: what the worker records of a send.
fn email_event(email: &Email, at: crate::model::Timestamp, kind: EventKind) -> NewEvent {
    NewEvent {
        account: email.spec.account,
        email: Some(email.id),
        entity: email.spec.entity,
        at,
        kind,
        automated: false,
    }
}
