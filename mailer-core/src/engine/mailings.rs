//! Pause, resume and cancel a mailing: the mailing's sender or an admin may.

use crate::model::{AccountId, Mailing, MailingId, MailingStatus, Role, User, UserId};
use crate::ports::StoreExt;

use super::{Engine, EngineError, MailingProgress};

impl Engine {
    /// Pauses a running mailing: its queued emails wait (nothing is lost); emails already claimed finish.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`] unless `user` started the mailing or is an admin; [`EngineError::Invalid`]
    /// when the mailing is cancelled; [`EngineError::Store`].
    pub async fn pause_mailing(
        &self,
        account: AccountId,
        user: UserId,
        mailing: MailingId,
    ) -> Result<MailingProgress, EngineError> {
        self.set_mailing(account, user, mailing, MailingStatus::Paused).await
    }

    /// Resumes a paused mailing.
    ///
    /// # Errors
    /// As [`Engine::pause_mailing`].
    pub async fn resume_mailing(
        &self,
        account: AccountId,
        user: UserId,
        mailing: MailingId,
    ) -> Result<MailingProgress, EngineError> {
        self.set_mailing(account, user, mailing, MailingStatus::Running).await
    }

    /// Cancels a mailing: every email of it that is still queued (not claimed by a worker) ends as
    /// `Cancelled`, in one store call; an email already being sent finishes and is not sent again.
    /// Cancelling twice is harmless.
    ///
    /// # Errors
    /// As [`Engine::pause_mailing`].
    pub async fn cancel_mailing(
        &self,
        account: AccountId,
        user: UserId,
        mailing: MailingId,
    ) -> Result<MailingProgress, EngineError> {
        self.set_mailing(account, user, mailing, MailingStatus::Cancelled).await
    }

    async fn set_mailing(
        &self,
        account: AccountId,
        user: UserId,
        mailing: MailingId,
        status: MailingStatus,
    ) -> Result<MailingProgress, EngineError> {
        let store = &self.ports.store;
        let user: User = store.get(account, user).await?;
        let record: Mailing = store.get(account, mailing).await?;
        if user.role != Role::Admin && record.sender != user.id {
            return Err(EngineError::Forbidden(
                "only the mailing's sender or an admin pauses, resumes or cancels it".into(),
            ));
        }
        if record.status == MailingStatus::Cancelled && status != MailingStatus::Cancelled {
            return Err(crate::error::ValidationError::OutOfRange {
                what: "mailing status",
                detail: "a cancelled mailing cannot be resumed or paused".into(),
            }
            .into());
        }
        store.set_mailing_status(account, mailing, status).await?;
        self.mailing_progress(account, mailing).await
    }
}
