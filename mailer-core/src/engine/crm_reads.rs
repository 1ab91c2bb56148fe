//! CRM records read ahead in batches for the emails of mailings, kept no longer than
//! [`EngineConfig::crm_max_age`](super::EngineConfig::crm_max_age).
//!
//! A worker step claims a few emails of each running mailing; reading each one's record alone costs one CRM
//! request or more per email, and Kommo allows 7 per second for the whole account. When the CRM reads many
//! entities in one request ([`Crm::batch_reads`](crate::ports::Crm::batch_reads)), the step reads the
//! records of its claimed emails together with those of the next queued emails of the same mailings, up to
//! [`MAX_BATCH_READ`] per request, and keeps them here. A record is used at most `crm_max_age` after it was
//! read; older ones are read again. So the data an email is rendered with is at most that old.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::{
    AccountId, Claimed, EmailId, EmailQuery, EmailStatus, EntityRecord, EntityRef, MailingId, Timestamp,
};
use crate::ports::MAX_BATCH_READ;

use super::Engine;

/// The most records kept at once: far more than one step reads ahead, so that memory stays flat.
const CAPACITY: usize = 8 * MAX_BATCH_READ;

/// A claimed email whose record is not kept: its entity, and its mailing with its id when it has one.
type Wanted = (EntityRef, Option<(MailingId, EmailId)>);

/// Records read ahead, by account and entity, with the time each was read.
#[derive(Debug, Default)]
pub(crate) struct RecordCache {
    entries: Mutex<HashMap<(AccountId, EntityRef), (Timestamp, EntityRecord)>>,
}

impl RecordCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(AccountId, EntityRef), (Timestamp, EntityRecord)>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// True when a record of `entity` read after `fresh_after` is kept.
    fn has_fresh(&self, account: AccountId, entity: EntityRef, fresh_after: Timestamp) -> bool {
        self.lock()
            .get(&(account, entity))
            .is_some_and(|(read, _)| *read > fresh_after)
    }

    /// Takes the record of `entity` when it was read after `fresh_after`: each read-ahead record renders one
    /// email, a later email of the same entity reads it again.
    fn take_fresh(&self, account: AccountId, entity: EntityRef, fresh_after: Timestamp) -> Option<EntityRecord> {
        match self.lock().remove(&(account, entity)) {
            Some((read, record)) if read > fresh_after => Some(record),
            _ => None,
        }
    }

    /// Keeps `records`, read at `now`, dropping the ones read before `fresh_after` first.
    fn keep(&self, account: AccountId, records: Vec<EntityRecord>, now: Timestamp, fresh_after: Timestamp) {
        let mut entries = self.lock();
        if entries.len() + records.len() > CAPACITY {
            entries.retain(|_, (read, _)| *read > fresh_after);
        }
        if entries.len() + records.len() > CAPACITY {
            entries.clear();
        }
        for record in records {
            entries.insert((account, record.entity.entity), (now, record));
        }
    }
}

impl Engine {
    /// The time before which a read-ahead record is too old to render with.
    fn fresh_after(&self, now: Timestamp) -> Timestamp {
        let age = chrono::Duration::from_std(self.config.crm_max_age).unwrap_or(chrono::Duration::zero());
        now - age
    }

    /// Reads ahead the records of the claimed emails (and of the next queued emails of their mailings) that
    /// are not kept already, one batch per account; answers each claimed email with its record when it was
    /// read. A failed batch read is not an error here: each email then reads its own record as before, and a
    /// failure there is handled (retried or failed) with the email.
    pub(crate) async fn records_for(&self, claimed: &[Claimed]) -> Vec<Option<EntityRecord>> {
        if !self.ports.crm.batch_reads() {
            return claimed.iter().map(|_| None).collect();
        }
        let now = self.now();
        let fresh_after = self.fresh_after(now);
        let mut wanted: HashMap<AccountId, Vec<Wanted>> = HashMap::new();
        for c in claimed {
            let spec = &c.email.spec;
            if let Some(entity) = spec.entity
                && !self.records.has_fresh(spec.account, entity, fresh_after)
            {
                wanted
                    .entry(spec.account)
                    .or_default()
                    .push((entity, spec.mailing.map(|m| (m, c.email.id))));
            }
        }
        for (account, missing) in wanted {
            let refs = self.read_ahead_list(account, &missing, fresh_after).await;
            for chunk in refs.chunks(MAX_BATCH_READ) {
                match self.ports.crm.entities(account, chunk).await {
                    Ok(records) => self.records.keep(account, records, now, fresh_after),
                    // Each email then reads its own record and handles that read's error.
                    Err(_) => break,
                }
            }
        }
        claimed
            .iter()
            .map(|c| {
                let spec = &c.email.spec;
                spec.entity
                    .and_then(|entity| self.records.take_fresh(spec.account, entity, fresh_after))
            })
            .collect()
    }

    /// The entities to read for `missing` (claimed emails whose record is not kept): those, then the next
    /// queued emails of their mailings, sharing one batch of [`MAX_BATCH_READ`] between the mailings.
    async fn read_ahead_list(&self, account: AccountId, missing: &[Wanted], fresh_after: Timestamp) -> Vec<EntityRef> {
        let mut refs: Vec<EntityRef> = Vec::with_capacity(MAX_BATCH_READ);
        for (entity, _) in missing {
            if !refs.contains(entity) {
                refs.push(*entity);
            }
        }
        // The first claimed email of each mailing: the queue after it is what the mailing sends next.
        let mut mailings: Vec<(MailingId, EmailId)> = Vec::new();
        for (_, at) in missing.iter() {
            if let Some((mailing, email)) = at {
                match mailings.iter_mut().find(|(m, _)| m == mailing) {
                    Some(slot) => slot.1 = slot.1.min(*email),
                    None => mailings.push((*mailing, *email)),
                }
            }
        }
        if mailings.is_empty() {
            return refs;
        }
        let room = MAX_BATCH_READ.saturating_sub(refs.len());
        let share = u32::try_from(room / mailings.len()).unwrap_or(0);
        if share == 0 {
            return refs;
        }
        for (mailing, after) in mailings {
            let query = EmailQuery {
                statuses: vec![EmailStatus::Queued],
                mailing: Some(mailing),
                after: Some(after),
                limit: share,
                ..EmailQuery::account(account, share)
            };
            // Reading ahead is an optimisation: without the list, the claimed emails are read alone.
            let Ok(next) = self.ports.store.list_emails(&query).await else {
                continue;
            };
            for email in next {
                if let Some(entity) = email.spec.entity
                    && !refs.contains(&entity)
                    && !self.records.has_fresh(account, entity, fresh_after)
                {
                    refs.push(entity);
                }
            }
        }
        refs
    }
}
