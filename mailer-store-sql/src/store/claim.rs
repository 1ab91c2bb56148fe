//! Claims: the database is the queue. One transaction picks the best due email of every mailbox whose
//! spacing and caps allow a send (an even share of the claim from a mailbox whose limits are lifted),
//! leases them, records the sends and moves each mailbox's next free moment, so the limits hold across
//! every process sharing the database. PostgreSQL skips mailboxes another worker is claiming from (`FOR
//! UPDATE SKIP LOCKED`); SQLite takes the write lock up front.
//!
//! On PostgreSQL the transaction is one call of the `mailer_claim` function (one round trip instead of
//! seven), which also leaves out idle mailboxes (no queued or sending email; enqueueing wakes them); the
//! few mailboxes a claim brings to a cap fall back to a transaction of their own here, which computes
//! their next free moment with `queue::next_allowed`.

use std::collections::HashMap;
use std::time::Duration;

use mailer_core::model::{AccountId, Claimed, EmailId, SendingLimits, Timestamp, Timezone, WorkerId};
use mailer_core::queue::next_allowed;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::records::cap_lookback;
use super::{SqlStore, Tx, lease_end};
use crate::error::Error;
use crate::rows;
use crate::time::{from_us, us};

/// Sends older than this are never looked at again (a calendar day plus a rolling day, with margin).
const KEEP_SENDS: chrono::Duration = chrono::Duration::hours(49);
/// How often a mailbox's old sends are pruned.
const PRUNE_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// The call of the PostgreSQL claim function (`migrations/postgres/0006_claim_function.sql`).
#[cfg(feature = "postgres")]
const CLAIM_FUNCTION: &str = "SELECT o_rank, o_slow, o_account, o_mailbox, o_id, o_status, o_attempts, o_due_at, \
     o_sent_at, o_last_error, o_spec FROM mailer_claim($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Wakes the idle mailboxes of newly queued emails (PostgreSQL; a JSON array of mailbox ids), locking every
/// one of their rows in id order until the enqueue commits: see `0006_claim_function.sql` for why no
/// email is lost to a claim marking its mailbox idle at the same time.
#[cfg(feature = "postgres")]
pub(super) const WAKE_MAILBOXES: &str = "WITH locked AS MATERIALIZED (SELECT id FROM mailboxes \
     WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) ORDER BY id FOR UPDATE) \
     UPDATE mailboxes m SET idle = false FROM locked l WHERE m.id = l.id AND m.idle";

/// A mailbox that may send, and the email it would send.
struct Candidate {
    mailbox: i64,
    limits: SendingLimits,
    tz: Timezone,
    pruned_at: i64,
    email: i64,
}

impl Candidate {
    /// From the columns `mailbox, spacing_us, daily_cap, cap_window, per_minute_cap, timezone, pruned_at`.
    fn from_row(row: &AnyRow, email: i64) -> Result<Self, Error> {
        let (limits, tz) = rows::limits(row, 1)?;
        Ok(Self {
            mailbox: row.try_get(0)?,
            limits,
            tz,
            pruned_at: row.try_get(6)?,
            email,
        })
    }
}

impl SqlStore {
    pub(super) async fn claim_due_(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claimed>, Error> {
        #[cfg(feature = "postgres")]
        if self.dialect == crate::config::Dialect::Postgres {
            return self.claim_due_postgres(worker, now, limit, lease).await;
        }
        let mut tx = self.begin().await?;
        let rows = sqlx::query(crate::queries::SQLITE_CLAIM_CANDIDATES)
            .bind(us(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let candidates = rows
            .iter()
            .map(|r| Candidate::from_row(r, r.try_get(7)?))
            .collect::<Result<Vec<_>, Error>>()?;
        let claimed = self.lease(&mut tx, worker, now, lease, candidates).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    pub(super) async fn claim_email_(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<Claimed>, Error> {
        let email = self.get_email_(account, id).await?;
        self.claim_in_mailbox(account, email.spec.mailbox.0, id, worker, now, lease)
            .await
    }

    /// Claims the email `id` of `mailbox` if the mailbox may send at `now` and the email is claimable, in a
    /// transaction that locks the mailbox (waiting for another claim of it to end).
    async fn claim_in_mailbox(
        &self,
        account: AccountId,
        mailbox: i64,
        id: EmailId,
        worker: &WorkerId,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<Claimed>, Error> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(self.q.mailbox_lock)
            .bind(mailbox)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let free_at: Option<i64> = row.try_get(8)?;
        if free_at.is_some_and(|t| t > us(now)) {
            return Ok(None);
        }
        let claimable = sqlx::query(self.q.email_claimable)
            .bind(us(now))
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
        if claimable.is_none() {
            return Ok(None);
        }
        let candidate = Candidate::from_row(&row, id.0)?;
        let mut claimed = self.lease(&mut tx, worker, now, lease, vec![candidate]).await?;
        tx.commit().await?;
        Ok(claimed.pop())
    }

    /// `claim_due` on PostgreSQL: the claim in one call of the `mailer_claim` function (one round trip and
    /// one commit; `migrations/postgres/0006_claim_function.sql`). The mailboxes this send brings to a cap
    /// come back marked slow and are claimed one by one by [`Self::claim_in_mailbox`], which computes
    /// their next free moment with `next_allowed`.
    #[cfg(feature = "postgres")]
    async fn claim_due_postgres(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claimed>, Error> {
        let until = lease_end(now, lease);
        let rows = sqlx::query(CLAIM_FUNCTION)
            .bind(us(now))
            .bind(i64::from(limit))
            .bind(worker.0.as_str())
            .bind(us(until))
            .bind(us(now - chrono::Duration::minutes(1)))
            .bind(us(now - cap_lookback()))
            .bind(PRUNE_EVERY.num_microseconds().unwrap_or(i64::MAX))
            .bind(us(now - KEEP_SENDS))
            .bind(us(Timestamp::MAX_UTC))
            .fetch_all(&self.writer)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let slow: bool = row.try_get(1)?;
            if slow {
                let (account, mailbox, id) = (row.try_get(2)?, row.try_get(3)?, row.try_get(4)?);
                if let Some(c) = self
                    .claim_in_mailbox(AccountId(account), mailbox, EmailId(id), worker, now, lease)
                    .await?
                {
                    claimed.push(c);
                }
            } else {
                claimed.push(Claimed {
                    email: self.email(row, 4, None).await?,
                    lease_until: until,
                });
            }
        }
        Ok(claimed)
    }

    /// Leases the candidates' emails (those still claimable) and counts a send for their mailboxes.
    async fn lease(
        &self,
        tx: &mut Tx,
        worker: &WorkerId,
        now: Timestamp,
        lease: Duration,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<Claimed>, Error> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let until = lease_end(now, lease);
        let ids: Vec<i64> = candidates.iter().map(|c| c.email).collect();
        let rows = sqlx::query(self.q.lease_emails)
            .bind(us(now))
            .bind(worker.0.as_str())
            .bind(us(until))
            .bind(json!(ids).to_string())
            .fetch_all(&mut **tx)
            .await?;
        let mut leased: HashMap<i64, Claimed> = HashMap::with_capacity(rows.len());
        for email in self.emails(&rows, 1, Some(&mut *tx)).await? {
            leased.insert(
                email.id.0,
                Claimed {
                    email,
                    lease_until: until,
                },
            );
        }
        let sent: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| leased.contains_key(&c.email))
            .collect();
        self.record_sends(tx, now, &sent).await?;
        // In the candidates' order (best first); RETURNING has no order.
        Ok(sent.iter().filter_map(|c| leased.remove(&c.email)).collect())
    }

    /// Counts one send at `now` for each mailbox and moves its next free moment past its spacing and caps.
    async fn record_sends(&self, tx: &mut Tx, now: Timestamp, sent: &[Candidate]) -> Result<(), Error> {
        if sent.is_empty() {
            return Ok(());
        }
        let mailboxes = json!(sent.iter().map(|c| c.mailbox).collect::<Vec<_>>()).to_string();
        sqlx::query(self.q.sends_insert)
            .bind(mailboxes)
            .bind(us(now))
            .execute(&mut **tx)
            .await?;
        let since = now - cap_lookback();
        // Only mailboxes a cap may stop are counted: the count costs time growing with the sends kept.
        let capped: Vec<i64> = sent
            .iter()
            .filter(|c| c.limits.caps_sends())
            .map(|c| c.mailbox)
            .collect();
        let counts: HashMap<i64, (i64, i64)> = if capped.is_empty() {
            HashMap::new()
        } else {
            sqlx::query(self.q.sends_counts)
                .bind(json!(capped).to_string())
                .bind(us(now - chrono::Duration::minutes(1)))
                .bind(us(since))
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
                .collect::<Result<_, Error>>()?
        };
        let mut updates = Vec::with_capacity(sent.len());
        let mut prune = Vec::new();
        // A lifted mailbox may have several emails in one claim: its sends are all counted above, and its
        // row is moved once (nothing spaces or caps it, so every send gives it the same free moment).
        let mut moved = std::collections::HashSet::with_capacity(sent.len());
        for c in sent.iter().filter(|c| moved.insert(c.mailbox)) {
            let next_send = crate::time::plus(now, c.limits.spacing);
            let (minute, day) = counts.get(&c.mailbox).copied().unwrap_or((0, 0));
            let capped = day >= i64::from(c.limits.daily_cap)
                || c.limits.per_minute_cap.is_some_and(|cap| minute >= i64::from(cap));
            let free = if capped {
                let sends = self.sends_since(tx, c.mailbox, since).await?;
                next_allowed(&c.limits, c.tz, Some(next_send), &sends, now)
            } else {
                next_send
            };
            let mut pruned_at = c.pruned_at;
            if from_us(c.pruned_at)? < now - PRUNE_EVERY {
                prune.push(c.mailbox);
                pruned_at = us(now);
            }
            updates.push(json!([c.mailbox, us(next_send), us(free), pruned_at]));
        }
        if !prune.is_empty() {
            sqlx::query(self.q.sends_prune)
                .bind(json!(prune).to_string())
                .bind(us(now - KEEP_SENDS))
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query(self.q.mailboxes_after_send)
            .bind(json!(updates).to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
