//! Send single and preview. (Saving templates is an admin use case: [`admin`](super::admin).)

use serde::{Deserialize, Serialize};

use crate::model::{Email, EmailId, EmailStatus, Timestamp};
use crate::template::Mode;

use super::render::empty_record;
use super::worker_step::Outcome;
use super::{Draft, Engine, EngineError};

/// The answer to a single send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SendReport {
    /// The email.
    pub email: EmailId,
    /// What happened, when it went out at once; `None` when the mailbox's spacing or cap made it wait in
    /// the queue (ahead of mailing traffic).
    pub outcome: Option<Outcome>,
    /// When it is expected to go, if it waits.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub expected_at: Option<Timestamp>,
}

/// A preview: exactly what the recipient would get, with tracking marked as preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
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
}
