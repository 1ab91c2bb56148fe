//! The one way into the queue. Every email is queued with its typed [`Origin`]; the idempotency key is
//! made from the origin here and nowhere else, and a `Queued` event is recorded only for an email this
//! call created (a repeated call finds the first email and records nothing).

use crate::error::ValidationError;
use crate::loops::Chain;
use crate::model::{
    EmailId, EmailSpec, Enqueued, EntityRef, EventKind, MailingId, NewEvent, PipelineRuleId, Priority, Timestamp,
    TriggerId,
};

use super::{Engine, EngineError};

/// The prefix of the idempotency key of automatic emails: `auto:<chain>:t<trigger>:s<source>:<entity>:<at>`.
const AUTO: &str = "auto:";

/// The longest CRM event id accepted in a pipeline origin.
pub const MAX_EVENT_ID: usize = 200;

/// Why an email is queued; what makes two requests the same email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A single email a user sends: every send is a new email.
    Single,
    /// One entity's email of a mass mailing: once per mailing and entity.
    Mailing {
        /// The mailing.
        mailing: MailingId,
        /// The entity.
        entity: EntityRef,
    },
    /// A trigger's "send email" action: once per chain, trigger, source email, entity and the moment the
    /// trigger was due (a timer run again after a crash has the same moment, so it queues nothing new; two
    /// separate clicks are two moments).
    Automatic {
        /// The mailing or the first email of the automatic chain, for the loop budget.
        chain: Chain,
        /// The trigger.
        trigger: TriggerId,
        /// The email whose event fired it, if any.
        source: Option<EmailId>,
        /// The entity.
        entity: EntityRef,
        /// When the trigger was due.
        at: Timestamp,
    },
    /// A digital-pipeline rule: once per rule and CRM event. The event id is the CRM's own (a redelivered
    /// webhook carries the same one), never a time taken on arrival.
    Pipeline {
        /// The rule.
        rule: PipelineRuleId,
        /// The CRM event's id.
        event: String,
    },
}

fn chain_key(chain: Chain) -> String {
    match chain {
        Chain::Mailing(m) => format!("m{m}"),
        Chain::Email(e) => format!("e{e}"),
    }
}

/// The chain of an automatic email, read back from its idempotency key.
pub(crate) fn parse_chain(key: &str) -> Option<Chain> {
    let rest = key.strip_prefix(AUTO)?;
    let chain = rest.split(':').next()?;
    let (kind, id) = chain.split_at(1);
    let id: i64 = id.parse().ok()?;
    match kind {
        "m" => Some(Chain::Mailing(MailingId(id))),
        "e" => Some(Chain::Email(EmailId(id))),
        _ => None,
    }
}

impl Origin {
    /// The idempotency key of emails of this origin; `None` for single emails.
    pub fn idempotency_key(&self) -> Option<String> {
        match self {
            Self::Single => None,
            Self::Mailing { mailing, entity } => {
                Some(format!("mailing:{mailing}:{:?}:{}", entity.kind, entity.id).to_ascii_lowercase())
            }
            Self::Automatic {
                chain,
                trigger,
                source,
                entity,
                at,
            } => Some(format!(
                "{AUTO}{}:t{trigger}:s{}:{:?}{}:{}",
                chain_key(*chain),
                source.map_or(0, |e| e.0),
                entity.kind,
                entity.id,
                at.timestamp_micros()
            )),
            Self::Pipeline { rule, event } => Some(format!("pipeline:{rule}:{event}")),
        }
    }

    /// The stable part of a Message-ID for origins whose email must keep one id across repeated starts.
    pub(crate) fn message_key(&self) -> Option<String> {
        match self {
            Self::Mailing { mailing, entity } => {
                Some(format!("m{mailing}.{:?}{}", entity.kind, entity.id).to_ascii_lowercase())
            }
            _ => None,
        }
    }

    /// Mailing traffic goes after single and automatic emails.
    pub(crate) fn priority(&self) -> Priority {
        match self {
            Self::Mailing { .. } => Priority::Mailing,
            _ => Priority::Single,
        }
    }

    /// The mailing an email of this origin belongs to.
    pub(crate) fn mailing(&self) -> Option<MailingId> {
        match self {
            Self::Mailing { mailing, .. } => Some(*mailing),
            _ => None,
        }
    }

    /// Checks what comes from outside (the CRM event id).
    pub(crate) fn check(&self) -> Result<(), ValidationError> {
        match self {
            Self::Pipeline { event, .. } if event.trim().is_empty() => Err(ValidationError::Missing("CRM event id")),
            Self::Pipeline { event, .. } if event.len() > MAX_EVENT_ID => Err(ValidationError::OutOfRange {
                what: "CRM event id",
                detail: format!("{} bytes, at most {MAX_EVENT_ID}", event.len()),
            }),
            _ => Ok(()),
        }
    }
}

impl Engine {
    /// Queues emails built by [`Engine::spec_from`] (which takes their keys from their origins) and records
    /// `Queued` for each newly created one; answers the store's answers in order.
    pub(crate) async fn enqueue(&self, specs: Vec<EmailSpec>) -> Result<Vec<Enqueued>, EngineError> {
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let store = &self.ports.store;
        let heads: Vec<_> = specs.iter().map(|s| (s.account, s.entity)).collect();
        let answers = store.enqueue(specs).await?;
        let now = self.now();
        let events: Vec<NewEvent> = answers
            .iter()
            .zip(heads)
            .filter(|(a, _)| a.created)
            .map(|(a, (account, entity))| NewEvent {
                account,
                email: Some(a.id),
                entity,
                at: now,
                kind: EventKind::Queued,
                automated: false,
            })
            .collect();
        if !events.is_empty() {
            store.append_events(events).await?;
        }
        Ok(answers)
    }

    /// Queues one email; see [`Engine::enqueue`].
    pub(crate) async fn enqueue_one(&self, spec: EmailSpec) -> Result<Enqueued, EngineError> {
        self.enqueue(vec![spec])
            .await?
            .pop()
            .ok_or_else(|| crate::ports::StoreError::Backend("enqueue returned no answer".into()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_origin_and_read_back() {
        let lead = EntityRef::lead(7);
        assert_eq!(Origin::Single.idempotency_key(), None);
        let m = Origin::Mailing {
            mailing: MailingId(3),
            entity: lead,
        };
        assert_eq!(m.idempotency_key().as_deref(), Some("mailing:3:lead:7"));
        let auto = Origin::Automatic {
            chain: Chain::Mailing(MailingId(3)),
            trigger: TriggerId(5),
            source: Some(EmailId(9)),
            entity: lead,
            at: chrono::DateTime::from_timestamp(1, 0).unwrap_or_default(),
        };
        let key = auto.idempotency_key().unwrap_or_default();
        assert_eq!(parse_chain(&key), Some(Chain::Mailing(MailingId(3))));
        let p = Origin::Pipeline {
            rule: PipelineRuleId(2),
            event: "dp:1:2:3".into(),
        };
        assert_eq!(p.idempotency_key().as_deref(), Some("pipeline:2:dp:1:2:3"));
        assert!(p.check().is_ok());
        let empty = Origin::Pipeline {
            rule: PipelineRuleId(2),
            event: " ".into(),
        };
        assert!(empty.check().is_err());
    }
}
