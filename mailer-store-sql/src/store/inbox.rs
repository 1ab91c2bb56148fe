//! What reading the mailboxes' INBOX needs: our email by Message-ID, a bounce ending a sent email, the
//! INBOX cursors, the bounce and reply counts, and every mailbox to read.

use mailer_core::model::{AccountId, Email, EmailId, InboxCursor, MailboxId, ReactionCounts, ReactionScope};
use mailer_core::ports::StoreError;
use sqlx::Row;

use super::SqlStore;
use crate::error::Error;

impl SqlStore {
    pub(super) async fn find_email_by_message_id_(
        &self,
        account: AccountId,
        message_id: &str,
    ) -> Result<Option<Email>, Error> {
        let row = sqlx::query(self.q.email_by_message_id)
            .bind(account.0)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.email(&row, 0, None).await?)),
            None => Ok(None),
        }
    }

    pub(super) async fn bounce_email_(&self, account: AccountId, id: EmailId, reason: &str) -> Result<bool, Error> {
        let done = sqlx::query(self.q.email_bounce)
            .bind(id.0)
            .bind(account.0)
            .bind(reason)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let exists: i64 = sqlx::query_scalar(self.q.email_exists)
            .bind(id.0)
            .bind(account.0)
            .fetch_one(&self.pool)
            .await?;
        if exists == 0 {
            return Err(StoreError::not_found("email", id).into());
        }
        Ok(false)
    }

    pub(super) async fn inbox_cursor_(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<Option<InboxCursor>, Error> {
        let row = sqlx::query(self.q.inbox_cursor_get)
            .bind(account.0)
            .bind(mailbox.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let uid = |i: usize| -> Result<u32, Error> {
            let v: i64 = row.try_get(i)?;
            u32::try_from(v).map_err(|_| Error::corrupt(format!("inbox cursor value {v} is not a UID")))
        };
        Ok(Some(InboxCursor {
            uid_validity: uid(0)?,
            last_uid: uid(1)?,
        }))
    }

    pub(super) async fn save_inbox_cursor_(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        cursor: InboxCursor,
    ) -> Result<(), Error> {
        sqlx::query(self.q.inbox_cursor_save)
            .bind(account.0)
            .bind(mailbox.0)
            .bind(i64::from(cursor.uid_validity))
            .bind(i64::from(cursor.last_uid))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn reaction_counts_(
        &self,
        account: AccountId,
        scope: ReactionScope,
    ) -> Result<ReactionCounts, Error> {
        let (mailing, mailbox) = match scope {
            ReactionScope::Mailing(m) => (Some(m.0), None),
            ReactionScope::Mailbox(m) => (None, Some(m.0)),
        };
        let rows = sqlx::query(self.q.reaction_counts)
            .bind(account.0)
            .bind(mailing)
            .bind(mailbox)
            .fetch_all(&self.pool)
            .await?;
        let mut counts = ReactionCounts::default();
        for row in rows {
            let n = u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0);
            match row.try_get::<String, _>(0)?.as_str() {
                "bounced" => counts.hard_bounces = n,
                "soft_bounced" => counts.soft_bounces = n,
                "replied" => counts.replies = n,
                "auto_replied" => counts.auto_replies = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    pub(super) async fn all_mailboxes_(&self) -> Result<Vec<(AccountId, MailboxId)>, Error> {
        let rows = sqlx::query(self.q.mailboxes_all).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((AccountId(r.try_get(0)?), MailboxId(r.try_get(1)?))))
            .collect()
    }
}
