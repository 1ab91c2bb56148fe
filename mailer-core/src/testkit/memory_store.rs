//! An in-memory [`Store`]: the reference implementation of the store contract.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::model::{
    Account, AccountId, Claimed, CrmLink, Email, EmailId, EmailQuery, EmailSpec, EmailStatus, Enqueued, Event, EventId,
    EventKind, EventQuery, FileId, InboxCursor, Mailbox, MailboxId, MailboxState, MailingId, MailingStatus, NewAccount,
    NewEvent, NewFile, NewTimer, Priority, ReactionCounts, ReactionScope, RecordKind, SendingLimits, StatusCounts,
    StoredFile, Suppression, Timer, TimerId, Timestamp, Timezone, WorkerId,
};
use crate::ports::{Store, StoreError};
use crate::queue::{next_allowed, sends_in_window};

/// A [`Store`] in memory, for tests, examples and the simulation. It keeps everything behind one mutex and
/// indexes the queue per mailbox, so claims stay fast with many mailboxes and emails.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    account_reads: AtomicU64,
    failing_timers: AtomicU64,
    failing_files: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many times [`Store::get_account`] was called: each token verification reads the account once,
    /// so tests count verifications with it.
    pub fn account_reads(&self) -> u64 {
        self.account_reads.load(Ordering::Relaxed)
    }

    /// Makes the next `n` [`Store::schedule_timer`] calls fail with [`StoreError::Backend`].
    pub fn fail_timers(&self, n: u64) {
        self.failing_timers.store(n, Ordering::Relaxed);
    }

    /// Makes the next `n` [`Store::put_file`] calls fail with [`StoreError::Backend`].
    pub fn fail_files(&self, n: u64) {
        self.failing_files.store(n, Ordering::Relaxed);
    }
}

/// Takes one failure off `counter`; true when this call is to fail.
fn injected(counter: &AtomicU64, what: &str) -> Result<(), StoreError> {
    let failing = counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return Err(StoreError::Backend(format!("injected failure: {what}").into()));
    }
    Ok(())
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

type QueueKey = (Priority, i64, EmailId);

#[derive(Debug, Default)]
struct State {
    next_id: i64,
    accounts: HashMap<AccountId, Account>,
    records: BTreeMap<(AccountId, RecordKind, i64), Value>,
    mailboxes: HashMap<MailboxId, MailboxRow>,
    mailings: HashMap<MailingId, (AccountId, MailingStatus)>,
    emails: HashMap<EmailId, EmailRow>,
    idempotency: HashMap<(AccountId, String), EmailId>,
    events: Vec<Event>,
    events_by_email: HashMap<EmailId, Vec<usize>>,
    once: HashSet<(AccountId, String)>,
    timers: HashMap<TimerId, TimerRow>,
    timer_keys: HashMap<(AccountId, String), TimerId>,
    timers_due: BTreeSet<(Timestamp, TimerId)>,
    files: HashMap<FileId, StoredFile>,
    suppressions: BTreeMap<(AccountId, String), Suppression>,
    crm_links: BTreeMap<AccountId, CrmLink>,
    spent_token_ids: HashMap<(AccountId, String), Timestamp>,
    inbox_cursors: HashMap<(AccountId, MailboxId), InboxCursor>,
}

#[derive(Debug)]
struct MailboxRow {
    account: AccountId,
    limits: SendingLimits,
    timezone: Timezone,
    next_send_at: Option<Timestamp>,
    sends: Vec<Timestamp>,
    waiting: BTreeSet<QueueKey>,
}

impl MailboxRow {
    fn new(account: AccountId) -> Self {
        Self {
            account,
            limits: SendingLimits::default(),
            timezone: Timezone::UTC,
            next_send_at: None,
            sends: Vec::new(),
            waiting: BTreeSet::new(),
        }
    }

    fn sent_in_window(&self, now: Timestamp) -> u32 {
        sends_in_window(&self.limits, self.timezone, &self.sends, now)
    }

    fn may_send(&self, now: Timestamp) -> bool {
        next_allowed(&self.limits, self.timezone, self.next_send_at, &self.sends, now) <= now
    }

    fn record_send(&mut self, now: Timestamp) {
        self.next_send_at = Some(crate::model::saturating_after(now, self.limits.spacing));
        self.sends.push(now);
        let horizon = crate::model::saturating_before(now, chrono::Duration::hours(49));
        if self.sends.first().is_some_and(|t| *t < horizon) {
            self.sends.retain(|t| *t >= horizon);
        }
    }
}

#[derive(Debug)]
struct EmailRow {
    email: Email,
    lease: Option<(WorkerId, Timestamp)>,
}

impl EmailRow {
    fn key(&self) -> QueueKey {
        (self.email.spec.priority, self.email.spec.seq, self.email.id)
    }

    /// Claimable at `now`: queued and due, or leased with the lease run out.
    fn claimable(&self, now: Timestamp) -> bool {
        match self.email.status {
            EmailStatus::Queued => self.email.due_at <= now,
            EmailStatus::Sending => self.lease.as_ref().is_some_and(|(_, until)| *until <= now),
            _ => false,
        }
    }
}

#[derive(Debug)]
struct TimerRow {
    timer: Timer,
    lease: Option<(WorkerId, Timestamp)>,
}

impl TimerRow {
    fn due_key(&self) -> (Timestamp, TimerId) {
        let at = self.lease.as_ref().map_or(self.timer.timer.due_at, |(_, until)| *until);
        (at, self.timer.id)
    }
}

fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    crate::model::saturating_after(now, lease)
}

impl State {
    fn next(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn check_account(&self, account: AccountId) -> Result<(), StoreError> {
        if self.accounts.contains_key(&account) {
            Ok(())
        } else {
            Err(StoreError::not_found("account", account))
        }
    }

    fn email_mut(&mut self, account: AccountId, id: EmailId) -> Result<&mut EmailRow, StoreError> {
        match self.emails.get_mut(&id) {
            Some(row) if row.email.spec.account == account => Ok(row),
            _ => Err(StoreError::not_found("email", id)),
        }
    }

    fn leased_email(
        &mut self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
    ) -> Result<&mut EmailRow, StoreError> {
        let row = self.email_mut(account, id)?;
        match &row.lease {
            Some((holder, _)) if holder == worker && row.email.status == EmailStatus::Sending => Ok(row),
            _ => Err(StoreError::LeaseLost {
                what: "email",
                id: id.0,
            }),
        }
    }

    /// Keeps the typed mirror of mailboxes and mailings the queue needs in step with their records.
    fn mirror_record(&mut self, account: AccountId, kind: RecordKind, id: i64, body: &Value) -> Result<(), StoreError> {
        match kind {
            RecordKind::Mailbox => {
                let mailbox: Mailbox =
                    serde_json::from_value(body.clone()).map_err(|e| StoreError::Backend(Box::new(e)))?;
                let row = self
                    .mailboxes
                    .entry(MailboxId(id))
                    .or_insert_with(|| MailboxRow::new(account));
                row.limits = mailbox.limits;
                row.timezone = mailbox.timezone;
            }
            RecordKind::Mailing => {
                let status = body
                    .get("status")
                    .cloned()
                    .map(serde_json::from_value::<MailingStatus>)
                    .transpose()
                    .map_err(|e| StoreError::Backend(Box::new(e)))?
                    .unwrap_or(MailingStatus::Running);
                self.mailings.insert(MailingId(id), (account, status));
            }
            _ => {}
        }
        Ok(())
    }

    fn mailing_runs(&self, mailing: Option<MailingId>) -> bool {
        mailing.is_none_or(|m| self.mailings.get(&m).is_none_or(|(_, s)| *s == MailingStatus::Running))
    }

    /// Up to `most` claimable emails of `mailbox`, best first, dropping index entries of emails that left
    /// the queue.
    fn claimable(&mut self, mailbox: MailboxId, now: Timestamp, most: usize) -> Vec<EmailId> {
        let mut stale = Vec::new();
        let mut found = Vec::new();
        let Some(mb) = self.mailboxes.get(&mailbox) else {
            return found;
        };
        for key in &mb.waiting {
            if found.len() >= most {
                break;
            }
            match self.emails.get(&key.2) {
                Some(row) if !row.email.status.is_final() => {
                    if row.claimable(now) && self.mailing_runs(row.email.spec.mailing) {
                        found.push(key.2);
                    }
                }
                _ => stale.push(*key),
            }
        }
        if let Some(mb) = self.mailboxes.get_mut(&mailbox) {
            for key in stale {
                mb.waiting.remove(&key);
            }
        }
        found
    }

    fn lease_email(&mut self, id: EmailId, worker: &WorkerId, now: Timestamp, lease: Duration) -> Option<Claimed> {
        let row = self.emails.get_mut(&id)?;
        let until = lease_end(now, lease);
        row.email.status = EmailStatus::Sending;
        row.email.attempts += 1;
        row.lease = Some((worker.clone(), until));
        let claimed = Claimed {
            email: row.email.clone(),
            lease_until: until,
        };
        let mailbox = row.email.spec.mailbox;
        if let Some(mb) = self.mailboxes.get_mut(&mailbox) {
            mb.record_send(now);
        }
        Some(claimed)
    }

    fn finish_email(&mut self, id: EmailId) {
        let Some(row) = self.emails.get(&id) else { return };
        let (mailbox, key) = (row.email.spec.mailbox, row.key());
        if let Some(mb) = self.mailboxes.get_mut(&mailbox) {
            mb.waiting.remove(&key);
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_account(&self, account: NewAccount) -> Result<Account, StoreError> {
        let mut s = self.lock();
        let id = AccountId(s.next());
        let account = Account {
            id,
            name: account.name,
            timezone: account.timezone,
            signing_key_ref: account.signing_key_ref,
        };
        s.accounts.insert(id, account.clone());
        Ok(account)
    }

    async fn get_account(&self, id: AccountId) -> Result<Account, StoreError> {
        self.account_reads.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .accounts
            .get(&id)
            .cloned()
            .ok_or_else(|| StoreError::not_found("account", id))
    }

    async fn insert_record(&self, account: AccountId, kind: RecordKind, mut body: Value) -> Result<i64, StoreError> {
        let mut s = self.lock();
        s.check_account(account)?;
        let id = s.next();
        set_keys(&mut body, account, id)?;
        s.mirror_record(account, kind, id, &body)?;
        s.records.insert((account, kind, id), body);
        Ok(id)
    }

    async fn update_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
        mut body: Value,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        if !s.records.contains_key(&(account, kind, id)) {
            return Err(StoreError::not_found(kind_name(kind), id));
        }
        set_keys(&mut body, account, id)?;
        s.mirror_record(account, kind, id, &body)?;
        s.records.insert((account, kind, id), body);
        Ok(())
    }

    async fn get_record(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<Value, StoreError> {
        self.lock()
            .records
            .get(&(account, kind, id))
            .cloned()
            .ok_or_else(|| StoreError::not_found(kind_name(kind), id))
    }

    async fn delete_record(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<(), StoreError> {
        self.lock()
            .records
            .remove(&(account, kind, id))
            .map(drop)
            .ok_or_else(|| StoreError::not_found(kind_name(kind), id))
    }

    async fn list_records(&self, account: AccountId, kind: RecordKind) -> Result<Vec<Value>, StoreError> {
        let s = self.lock();
        Ok(s.records
            .range((account, kind, i64::MIN)..=(account, kind, i64::MAX))
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn enqueue(&self, emails: Vec<EmailSpec>) -> Result<Vec<Enqueued>, StoreError> {
        let mut s = self.lock();
        for spec in &emails {
            if !s
                .records
                .contains_key(&(spec.account, RecordKind::Mailbox, spec.mailbox.0))
            {
                return Err(StoreError::not_found("mailbox", spec.mailbox));
            }
        }
        let mut answers = Vec::with_capacity(emails.len());
        for spec in emails {
            if let Some(key) = &spec.idempotency_key
                && let Some(id) = s.idempotency.get(&(spec.account, key.clone()))
            {
                answers.push(Enqueued {
                    id: *id,
                    created: false,
                });
                continue;
            }
            let id = EmailId(s.next());
            if let Some(key) = &spec.idempotency_key {
                s.idempotency.insert((spec.account, key.clone()), id);
            }
            let row = EmailRow {
                email: Email {
                    id,
                    status: EmailStatus::Queued,
                    attempts: 0,
                    due_at: spec.not_before,
                    sent_at: None,
                    last_error: None,
                    spec,
                },
                lease: None,
            };
            let (mailbox, account, key) = (row.email.spec.mailbox, row.email.spec.account, row.key());
            s.mailboxes
                .entry(mailbox)
                .or_insert_with(|| MailboxRow::new(account))
                .waiting
                .insert(key);
            s.emails.insert(id, row);
            answers.push(Enqueued { id, created: true });
        }
        Ok(answers)
    }

    async fn claim_due(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut s = self.lock();
        let ready: Vec<(MailboxId, bool)> = s
            .mailboxes
            .iter()
            .filter(|(_, mb)| !mb.waiting.is_empty() && mb.may_send(now))
            .map(|(id, mb)| (*id, mb.limits.lifted()))
            .collect();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // A lifted mailbox gives its share of the claim; any other one email.
        let lifted = ready.iter().filter(|(_, lifted)| *lifted).count().max(1);
        let share = limit.div_ceil(lifted);
        let mut candidates = Vec::new();
        for (mailbox, lifted) in ready {
            let ids = s.claimable(mailbox, now, if lifted { share } else { 1 });
            for (turn, id) in ids.into_iter().enumerate() {
                if let Some(row) = s.emails.get(&id) {
                    candidates.push((turn, row.key(), id));
                }
            }
        }
        candidates.sort_unstable();
        let mut claimed = Vec::new();
        for (_, _, id) in candidates.into_iter().take(limit) {
            if let Some(c) = s.lease_email(id, worker, now, lease) {
                claimed.push(c);
            }
        }
        Ok(claimed)
    }

    async fn claim_email(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        let mut s = self.lock();
        let row = s.email_mut(account, id)?;
        if !row.claimable(now) {
            return Ok(None);
        }
        let (mailbox, mailing) = (row.email.spec.mailbox, row.email.spec.mailing);
        if !s.mailing_runs(mailing) || !s.mailboxes.get(&mailbox).is_some_and(|mb| mb.may_send(now)) {
            return Ok(None);
        }
        Ok(s.lease_email(id, worker, now, lease))
    }

    async fn complete(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        sent_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        let row = s.leased_email(account, id, worker)?;
        row.email.status = EmailStatus::Sent;
        row.email.sent_at = Some(sent_at);
        row.lease = None;
        s.finish_email(id);
        Ok(())
    }

    async fn retry_at(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        at: Timestamp,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        let row = s.leased_email(account, id, worker)?;
        row.email.status = EmailStatus::Queued;
        row.email.due_at = at;
        row.email.last_error = Some(reason.to_owned());
        row.lease = None;
        Ok(())
    }

    async fn fail(&self, account: AccountId, id: EmailId, worker: &WorkerId, reason: &str) -> Result<(), StoreError> {
        let mut s = self.lock();
        let row = s.leased_email(account, id, worker)?;
        row.email.status = EmailStatus::Failed;
        row.email.last_error = Some(reason.to_owned());
        row.lease = None;
        s.finish_email(id);
        Ok(())
    }

    async fn cancel_claimed(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        let row = s.leased_email(account, id, worker)?;
        row.email.status = EmailStatus::Cancelled;
        row.email.last_error = Some(reason.to_owned());
        row.lease = None;
        s.finish_email(id);
        Ok(())
    }

    async fn get_email(&self, account: AccountId, id: EmailId) -> Result<Email, StoreError> {
        let mut s = self.lock();
        Ok(s.email_mut(account, id)?.email.clone())
    }

    async fn list_emails(&self, query: &EmailQuery) -> Result<Vec<Email>, StoreError> {
        let s = self.lock();
        let mut found: Vec<Email> = s
            .emails
            .values()
            .filter(|r| query.matches(&r.email))
            .map(|r| r.email.clone())
            .collect();
        found.sort_unstable_by_key(|e| e.id);
        found.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
        Ok(found)
    }

    async fn mailing_counts(&self, account: AccountId, mailing: MailingId) -> Result<StatusCounts, StoreError> {
        let s = self.lock();
        let mut counts = StatusCounts::default();
        for row in s.emails.values() {
            if row.email.spec.account != account || row.email.spec.mailing != Some(mailing) {
                continue;
            }
            match row.email.status {
                EmailStatus::Queued | EmailStatus::Sending => counts.waiting += 1,
                EmailStatus::Sent => counts.sent += 1,
                EmailStatus::Failed => counts.failed += 1,
                EmailStatus::Cancelled => counts.cancelled += 1,
            }
        }
        Ok(counts)
    }

    async fn set_mailing_status(
        &self,
        account: AccountId,
        mailing: MailingId,
        status: MailingStatus,
    ) -> Result<u64, StoreError> {
        let mut s = self.lock();
        let key = (account, RecordKind::Mailing, mailing.0);
        let Some(body) = s.records.get_mut(&key) else {
            return Err(StoreError::not_found("mailing", mailing));
        };
        if let Some(obj) = body.as_object_mut() {
            obj.insert(
                "status".into(),
                serde_json::to_value(status).map_err(|e| StoreError::Backend(Box::new(e)))?,
            );
        }
        s.mailings.insert(mailing, (account, status));
        if status != MailingStatus::Cancelled {
            return Ok(0);
        }
        let mut cancelled = 0;
        let ids: Vec<EmailId> = s
            .emails
            .values()
            .filter(|r| {
                r.email.spec.account == account
                    && r.email.spec.mailing == Some(mailing)
                    && r.email.status == EmailStatus::Queued
            })
            .map(|r| r.email.id)
            .collect();
        for id in ids {
            if let Some(row) = s.emails.get_mut(&id) {
                row.email.status = EmailStatus::Cancelled;
                cancelled += 1;
            }
            s.finish_email(id);
        }
        Ok(cancelled)
    }

    async fn mailbox_state(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        now: Timestamp,
    ) -> Result<MailboxState, StoreError> {
        let s = self.lock();
        match s.mailboxes.get(&mailbox) {
            Some(mb) if mb.account == account => Ok(MailboxState {
                next_send_at: mb.next_send_at,
                sent_in_window: mb.sent_in_window(now),
            }),
            _ => Err(StoreError::not_found("mailbox", mailbox)),
        }
    }

    async fn append_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        let mut s = self.lock();
        for event in events {
            let id = EventId(s.next());
            let index = s.events.len();
            if let Some(email) = event.email {
                s.events_by_email.entry(email).or_default().push(index);
            }
            s.events.push(Event { id, event });
        }
        Ok(())
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let s = self.lock();
        let matches = |e: &&Event| {
            e.event.account == query.account
                && query.email.is_none_or(|m| e.event.email == Some(m))
                && query.entity.is_none_or(|n| e.event.entity == Some(n))
                && query.since.is_none_or(|t| e.event.at >= t)
        };
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let found = match query.email {
            Some(email) => s
                .events_by_email
                .get(&email)
                .map(|idx| {
                    idx.iter()
                        .filter_map(|i| s.events.get(*i))
                        .filter(matches)
                        .take(limit)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => s.events.iter().filter(matches).take(limit).cloned().collect(),
        };
        Ok(found)
    }

    async fn mark_once(&self, account: AccountId, key: &str, _at: Timestamp) -> Result<bool, StoreError> {
        Ok(self.lock().once.insert((account, key.to_owned())))
    }

    async fn schedule_timer(&self, timer: NewTimer) -> Result<TimerId, StoreError> {
        injected(&self.failing_timers, "schedule_timer")?;
        let mut s = self.lock();
        if let Some(old) = s.timer_keys.remove(&(timer.account, timer.key.clone()))
            && let Some(row) = s.timers.remove(&old)
        {
            let key = row.due_key();
            s.timers_due.remove(&key);
        }
        let id = TimerId(s.next());
        let row = TimerRow {
            timer: Timer { id, timer },
            lease: None,
        };
        s.timers_due.insert(row.due_key());
        s.timer_keys
            .insert((row.timer.timer.account, row.timer.timer.key.clone()), id);
        s.timers.insert(id, row);
        Ok(id)
    }

    async fn cancel_timer(&self, account: AccountId, key: &str) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let Some(id) = s.timer_keys.remove(&(account, key.to_owned())) else {
            return Ok(false);
        };
        if let Some(row) = s.timers.remove(&id) {
            let due = row.due_key();
            s.timers_due.remove(&due);
        }
        Ok(true)
    }

    async fn claim_due_timers(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, StoreError> {
        let mut s = self.lock();
        let due: Vec<(Timestamp, TimerId)> = s
            .timers_due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .copied()
            .collect();
        let mut claimed = Vec::with_capacity(due.len());
        for key in due {
            s.timers_due.remove(&key);
            if let Some(row) = s.timers.get_mut(&key.1) {
                row.lease = Some((worker.clone(), lease_end(now, lease)));
                claimed.push(row.timer.clone());
                let new_key = row.due_key();
                s.timers_due.insert(new_key);
            }
        }
        Ok(claimed)
    }

    async fn finish_timer(&self, account: AccountId, id: TimerId, worker: &WorkerId) -> Result<(), StoreError> {
        let mut s = self.lock();
        let held = s
            .timers
            .get(&id)
            .is_some_and(|r| r.timer.timer.account == account && r.lease.as_ref().is_some_and(|(w, _)| w == worker));
        if !held {
            return Err(StoreError::LeaseLost {
                what: "timer",
                id: id.0,
            });
        }
        if let Some(row) = s.timers.remove(&id) {
            let due = row.due_key();
            s.timers_due.remove(&due);
            s.timer_keys.remove(&(account, row.timer.timer.key));
        }
        Ok(())
    }

    async fn suppress(
        &self,
        account: AccountId,
        address: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let address = address.trim().to_lowercase();
        let mut s = self.lock();
        if s.suppressions.contains_key(&(account, address.clone())) {
            return Ok(false);
        }
        let entry = Suppression {
            address: address.clone(),
            reason: reason.to_owned(),
            at,
        };
        s.suppressions.insert((account, address), entry);
        Ok(true)
    }

    async fn unsuppress(&self, account: AccountId, address: &str) -> Result<bool, StoreError> {
        let address = address.trim().to_lowercase();
        Ok(self.lock().suppressions.remove(&(account, address)).is_some())
    }

    async fn suppressed(&self, account: AccountId, addresses: &[String]) -> Result<Vec<String>, StoreError> {
        let s = self.lock();
        let mut found: Vec<String> = addresses
            .iter()
            .map(|a| a.trim().to_lowercase())
            .filter(|a| s.suppressions.contains_key(&(account, a.clone())))
            .collect();
        found.sort();
        found.dedup();
        Ok(found)
    }

    async fn list_suppressions(&self, account: AccountId) -> Result<Vec<Suppression>, StoreError> {
        Ok(self
            .lock()
            .suppressions
            .range((account, String::new())..)
            .take_while(|((a, _), _)| *a == account)
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn put_file(&self, file: NewFile) -> Result<FileId, StoreError> {
        injected(&self.failing_files, "put_file")?;
        let mut s = self.lock();
        s.check_account(file.account)?;
        let id = FileId(s.next());
        s.files.insert(id, StoredFile { id, file });
        Ok(id)
    }

    async fn get_file(&self, account: AccountId, id: FileId) -> Result<StoredFile, StoreError> {
        match self.lock().files.get(&id) {
            Some(f) if f.file.account == account => Ok(f.clone()),
            _ => Err(StoreError::not_found("file", id)),
        }
    }

    async fn put_crm_link(&self, mut link: CrmLink) -> Result<CrmLink, StoreError> {
        let mut s = self.lock();
        s.check_account(link.account)?;
        if s.crm_links
            .values()
            .any(|l| l.external_id == link.external_id && l.account != link.account)
        {
            return Err(StoreError::Conflict {
                what: "crm link",
                detail: format!("CRM account {} is linked to another account", link.external_id),
            });
        }
        link.version = s.crm_links.get(&link.account).map_or(1, |old| old.version + 1);
        s.crm_links.insert(link.account, link.clone());
        Ok(link)
    }

    async fn crm_link(&self, account: AccountId) -> Result<Option<CrmLink>, StoreError> {
        Ok(self.lock().crm_links.get(&account).cloned())
    }

    async fn crm_link_by_external(&self, external_id: i64) -> Result<Option<CrmLink>, StoreError> {
        Ok(self
            .lock()
            .crm_links
            .values()
            .find(|l| l.external_id == external_id)
            .cloned())
    }

    async fn list_crm_links(&self) -> Result<Vec<CrmLink>, StoreError> {
        Ok(self.lock().crm_links.values().cloned().collect())
    }

    async fn swap_crm_tokens(
        &self,
        account: AccountId,
        expected: i64,
        tokens: Option<crate::model::Secret>,
        at: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let mut s = self.lock();
        match s.crm_links.get_mut(&account) {
            Some(link) if link.version == expected => {
                link.version += 1;
                link.tokens = tokens;
                link.updated_at = at;
                Ok(Some(link.version))
            }
            _ => Ok(None),
        }
    }

    async fn spend_token_id(
        &self,
        account: AccountId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let key = (account, jti.to_owned());
        if s.spent_token_ids.get(&key).is_some_and(|until| *until > now) {
            return Ok(false);
        }
        s.spent_token_ids.retain(|_, until| *until > now);
        s.spent_token_ids.insert(key, expires_at);
        Ok(true)
    }

    async fn find_email_by_message_id(
        &self,
        account: AccountId,
        message_id: &str,
    ) -> Result<Option<Email>, StoreError> {
        let s = self.lock();
        let mut found: Vec<&EmailRow> = s
            .emails
            .values()
            .filter(|r| r.email.spec.account == account && r.email.spec.message_id == message_id)
            .collect();
        found.sort_by_key(|r| r.email.id);
        Ok(found.first().map(|r| r.email.clone()))
    }

    async fn bounce_email(&self, account: AccountId, id: EmailId, reason: &str) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let row = s
            .emails
            .get_mut(&id)
            .filter(|r| r.email.spec.account == account)
            .ok_or_else(|| StoreError::not_found("email", id))?;
        if row.email.status != EmailStatus::Sent {
            return Ok(false);
        }
        row.email.status = EmailStatus::Failed;
        row.email.last_error = Some(reason.to_owned());
        Ok(true)
    }

    async fn inbox_cursor(&self, account: AccountId, mailbox: MailboxId) -> Result<Option<InboxCursor>, StoreError> {
        Ok(self.lock().inbox_cursors.get(&(account, mailbox)).copied())
    }

    async fn save_inbox_cursor(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        cursor: InboxCursor,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        let next = match s.inbox_cursors.get(&(account, mailbox)) {
            Some(old) => old.advanced(cursor.uid_validity, cursor.last_uid),
            None => cursor,
        };
        s.inbox_cursors.insert((account, mailbox), next);
        Ok(())
    }

    async fn reaction_counts(&self, account: AccountId, scope: ReactionScope) -> Result<ReactionCounts, StoreError> {
        let s = self.lock();
        let mut counts = ReactionCounts::default();
        for row in s.emails.values().filter(|r| r.email.spec.account == account) {
            let spec = &row.email.spec;
            let inside = match scope {
                ReactionScope::Mailing(m) => spec.mailing == Some(m),
                ReactionScope::Mailbox(m) => spec.mailbox == m,
            };
            if !inside {
                continue;
            }
            let events = s.events_by_email.get(&row.email.id).into_iter().flatten();
            for event in events.filter_map(|i| s.events.get(*i)) {
                match event.event.kind {
                    EventKind::Bounced { .. } => counts.hard_bounces += 1,
                    EventKind::SoftBounced { .. } => counts.soft_bounces += 1,
                    EventKind::Replied { .. } => counts.replies += 1,
                    EventKind::AutoReplied { .. } => counts.auto_replies += 1,
                    _ => {}
                }
            }
        }
        Ok(counts)
    }

    async fn all_mailboxes(&self) -> Result<Vec<(AccountId, MailboxId)>, StoreError> {
        Ok(self
            .lock()
            .records
            .keys()
            .filter(|(_, kind, _)| *kind == RecordKind::Mailbox)
            .map(|(account, _, id)| (*account, MailboxId(*id)))
            .collect())
    }
}

fn kind_name(kind: RecordKind) -> &'static str {
    kind.as_str()
}

/// Writes the store-owned `id` and `account` keys into a record's JSON.
fn set_keys(body: &mut Value, account: AccountId, id: i64) -> Result<(), StoreError> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| StoreError::Backend("a record must be a JSON object".into()))?;
    obj.insert("id".into(), Value::from(id));
    obj.insert("account".into(), Value::from(account.0));
    Ok(())
}
