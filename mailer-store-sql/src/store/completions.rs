//! Group commit of sent emails on SQLite: the [`Store::complete_with_events`] calls that arrive while one
//! transaction is being written share the next one.
//!
//! A worker step sends its emails concurrently, so their completions arrive together. SQLite has one
//! writer, so they queued for it anyway, each in a transaction of its own (`BEGIN`, the lease's `UPDATE`,
//! the events' `INSERT`, `COMMIT`: four round trips to the connection's thread). Here the first caller
//! writes alone; the calls that arrive meanwhile wait for its commit and are then written by one of them
//! in one transaction: one `UPDATE` for all their rows, one `INSERT` for all their events, one `COMMIT`.
//! The writer opens its transaction before it takes the group, so the completions that arrive while it
//! waits for the connection (a claim holds it) join the group: each group rewrites about one page of the
//! queue's index per mailbox it touches, so fewer, larger groups write less.
//!
//! Nothing is weaker: every caller still returns only after its own row and events are committed (or with
//! its own error), an email whose lease is lost gets [`StoreError::LeaseLost`] and appends nothing, and
//! when the shared transaction fails each completion is written again in a transaction of its own, so one
//! bad completion cannot fail the others. A caller that is dropped while it waits leaves its completion
//! queued, and the next writer commits it. PostgreSQL does not use this: its writes go over many
//! connections at once.
//!
//! [`Store::complete_with_events`]: mailer_core::ports::Store::complete_with_events
//! [`StoreError::LeaseLost`]: mailer_core::ports::StoreError::LeaseLost

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use mailer_core::model::{AccountId, EmailId, NewEvent, Timestamp, WorkerId};
use tokio::sync::oneshot;

use super::queue::Finish;
use super::{SqlStore, Tx};
use crate::error::Error;
use crate::time::us;

/// A leased email to mark sent, with the events to append in the same transaction.
#[derive(Debug, Clone)]
pub(super) struct Completion {
    pub(super) account: AccountId,
    pub(super) id: EmailId,
    pub(super) worker: WorkerId,
    pub(super) sent_at: Timestamp,
    pub(super) events: Vec<NewEvent>,
}

/// A queued completion and where its result goes.
#[derive(Debug)]
struct Waiting {
    completion: Completion,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The completions waiting for the next transaction, and the turn to write one.
#[derive(Debug, Default)]
pub(super) struct Completions {
    queue: Mutex<Vec<Waiting>>,
    turn: tokio::sync::Mutex<()>,
}

impl Completions {
    fn push(&self, waiting: Waiting) {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).push(waiting);
    }

    fn is_empty(&self) -> bool {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    fn take(&self) -> Vec<Waiting> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SqlStore {
    /// Writes `completion` together with the others that are waiting, and returns its own result.
    pub(super) async fn complete_grouped(&self, completion: Completion) -> Result<(), Error> {
        loop {
            let (done, result) = oneshot::channel();
            self.completions.push(Waiting {
                completion: completion.clone(),
                done,
            });
            {
                let _turn = self.completions.turn.lock().await;
                // Nothing to write when an earlier writer took this completion (and all the others).
                if !self.completions.is_empty() {
                    // The transaction is opened before the group is taken: the completions that arrive while
                    // it opens (often while a claim holds the one writer connection) are written with it.
                    let tx = self.begin().await;
                    let group = self.completions.take();
                    self.write_group(tx, group).await;
                }
            }
            match result.await {
                Ok(result) => return result,
                // The writer that took it was dropped before it answered (its transaction rolled back):
                // queue it again.
                Err(_) => continue,
            }
        }
    }

    /// Writes `group` in `tx` (opened for it); when that fails, each completion in a transaction of its own.
    async fn write_group(&self, tx: Result<Tx, Error>, group: Vec<Waiting>) {
        let completions: Vec<&Completion> = group.iter().map(|w| &w.completion).collect();
        // One email twice in a group (not made by the engine) is written one by one: the second then finds
        // the lease gone, as it would have alone.
        let ids: HashSet<EmailId> = completions.iter().map(|c| c.id).collect();
        let together = match tx {
            Ok(tx) if ids.len() == completions.len() => self.try_group(tx, &completions).await,
            Ok(_) => Err(Error::corrupt("one email twice in a group of completions")),
            Err(e) => Err(e),
        };
        match together {
            Ok(finished) => {
                for (waiting, finished) in group.into_iter().zip(finished) {
                    let c = &waiting.completion;
                    let result = if finished {
                        Ok(())
                    } else {
                        Err(self.not_finished(c.account, c.id).await)
                    };
                    // A caller that stopped waiting does not need its answer: the row is written.
                    let _ = waiting.done.send(result);
                }
            }
            Err(_) => {
                for waiting in group {
                    let result = self.complete_alone(&waiting.completion).await;
                    let _ = waiting.done.send(result);
                }
            }
        }
    }

    /// One transaction for every completion in `group`: one `UPDATE` for all their rows, one `INSERT` for
    /// the events of those whose lease was held, one commit. Answers, in order, whether each one's lease was
    /// still held (and so its row marked sent and its events appended).
    async fn try_group(&self, mut tx: Tx, group: &[&Completion]) -> Result<Vec<bool>, Error> {
        let rows: Vec<serde_json::Value> = group
            .iter()
            .map(|c| serde_json::json!([c.id.0, c.account.0, c.worker.0, us(c.sent_at)]))
            .collect();
        let changed: HashSet<i64> = sqlx::query_scalar(crate::queries::SQLITE_COMPLETE_MANY)
            .bind(serde_json::Value::Array(rows).to_string())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let finished: Vec<bool> = group.iter().map(|c| changed.contains(&c.id.0)).collect();
        let events: Vec<NewEvent> = group
            .iter()
            .zip(&finished)
            .filter(|(_, done)| **done)
            .flat_map(|(c, _)| c.events.iter().cloned())
            .collect();
        self.insert_events(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(finished)
    }

    /// `completion` in a transaction of its own.
    pub(super) async fn complete_alone(&self, c: &Completion) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        let finished = self
            .finish_query(c.id, c.account, &c.worker, Finish::Sent(c.sent_at))
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !finished {
            tx.rollback().await?;
            return Err(self.not_finished(c.account, c.id).await);
        }
        self.insert_events(&mut tx, &c.events).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::time::Duration;

    use mailer_core::model::{EventKind, EventQuery, SendingLimits};
    use mailer_core::ports::{DynStore, Store};
    use mailer_core::testkit::StoreFixture;

    use super::*;
    use crate::{SecretKey, SqlConfig};

    /// The shared transaction itself works (a failure would be hidden by the one-by-one fallback): one
    /// statement marks the held rows sent, skips the row whose lease another worker holds, and only the
    /// held rows' events are appended.
    #[tokio::test]
    async fn one_update_marks_the_held_leases_and_skips_the_lost_one() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("group.db").display());
        let store = SqlStore::connect(&SqlConfig::new(url, SecretKey::generate()))
            .await
            .expect("connect");
        let dynamic: &DynStore = &store;
        let fx = StoreFixture::new(dynamic).await;
        let mailbox = fx
            .add_mailbox(SendingLimits {
                spacing: Duration::ZERO,
                ..SendingLimits::default()
            })
            .await;
        let (w1, w2) = (StoreFixture::worker(1), StoreFixture::worker(2));
        let mut group = Vec::new();
        for n in 0..3 {
            let id = fx.claimed_email(&mailbox, &format!("g{n}@example.com"), &w1).await;
            group.push(Completion {
                account: fx.account.id,
                id,
                worker: if n == 1 { w2.clone() } else { w1.clone() },
                sent_at: fx.now,
                events: vec![NewEvent {
                    account: fx.account.id,
                    email: Some(id),
                    entity: None,
                    at: fx.now,
                    kind: EventKind::Opened,
                    automated: false,
                }],
            });
        }
        let refs: Vec<&Completion> = group.iter().collect();
        let tx = store.begin().await.expect("begin");
        let finished = store.try_group(tx, &refs).await.expect("one transaction");
        assert_eq!(finished, [true, false, true]);
        for (c, done) in group.iter().zip(finished) {
            let email = store.get_email(c.account, c.id).await.expect("get");
            assert_eq!(email.sent_at.is_some(), done, "email {}", c.id);
            let q = EventQuery {
                account: c.account,
                email: Some(c.id),
                entity: None,
                since: None,
                limit: 10,
            };
            assert_eq!(store.list_events(&q).await.expect("events").len(), usize::from(done));
        }
    }
}
