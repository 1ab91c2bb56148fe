//! The records a worker step's emails are made from, read once for the whole step: each account and sender
//! once (not once per email), the mailboxes in one read per account, and each account's suppression list
//! once for every recipient the step knows. A record that cannot be read is left out; the emails that need
//! it read it themselves and handle the error as before.

use std::collections::{HashMap, HashSet};

use crate::model::{Account, AccountId, Claimed, EntityRecord, Mailbox, MailboxId, User, UserId};
use crate::ports::StoreExt;

use super::Engine;
use super::render::{all_recipients, empty_record};

/// What a worker step read once for its emails.
#[derive(Debug, Default)]
pub(crate) struct StepRecords {
    accounts: HashMap<AccountId, Account>,
    mailboxes: HashMap<(AccountId, MailboxId), Mailbox>,
    senders: HashMap<(AccountId, UserId), User>,
    /// Per account, the recipients (lowercase) looked up in its suppression list, and those found there.
    suppression: HashMap<AccountId, Checked>,
}

#[derive(Debug, Default)]
struct Checked {
    looked_up: HashSet<String>,
    suppressed: HashSet<String>,
}

impl StepRecords {
    pub(crate) fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(&id)
    }

    pub(crate) fn mailbox(&self, account: AccountId, id: MailboxId) -> Option<&Mailbox> {
        self.mailboxes.get(&(account, id))
    }

    pub(crate) fn sender(&self, account: AccountId, id: UserId) -> Option<&User> {
        self.senders.get(&(account, id))
    }

    /// Which of `addresses` (lowercase) are suppressed in `account`, sorted, when every one of them was
    /// looked up for the step; `None` when one was not.
    pub(crate) fn suppressed(&self, account: AccountId, addresses: &[String]) -> Option<Vec<String>> {
        let checked = self.suppression.get(&account)?;
        if !addresses.iter().all(|a| checked.looked_up.contains(a)) {
            return None;
        }
        let mut found: Vec<String> = addresses
            .iter()
            .filter(|a| checked.suppressed.contains(*a))
            .cloned()
            .collect();
        found.sort();
        found.dedup();
        Some(found)
    }
}

impl Engine {
    /// Reads the accounts, mailboxes, senders and suppressed recipients of `claimed` (with the CRM records
    /// `records` already read for them, in the same order) once for the step.
    pub(crate) async fn step_records(&self, claimed: &[Claimed], records: &[Option<EntityRecord>]) -> StepRecords {
        let store = &self.ports.store;
        let mut known = StepRecords::default();
        let accounts: HashSet<AccountId> = claimed.iter().map(|c| c.email.spec.account).collect();
        // Per account, its mailboxes' ids (each once: one read per account).
        let mut mailboxes: HashMap<AccountId, HashSet<i64>> = HashMap::new();
        for c in claimed {
            mailboxes
                .entry(c.email.spec.account)
                .or_default()
                .insert(c.email.spec.mailbox.into());
        }
        let senders: HashSet<(AccountId, UserId)> = claimed
            .iter()
            .map(|c| (c.email.spec.account, c.email.spec.sender))
            .collect();
        for id in accounts {
            if let Ok(account) = store.get_account(id).await {
                known.accounts.insert(id, account);
            }
        }
        for (account, ids) in mailboxes {
            let ids: Vec<i64> = ids.into_iter().collect();
            if let Ok(found) = store.get_many::<Mailbox>(account, &ids).await {
                for mailbox in found {
                    known.mailboxes.insert((account, mailbox.id), mailbox);
                }
            }
        }
        for (account, id) in senders {
            if let Ok(user) = store.get::<User>(account, id).await {
                known.senders.insert((account, id), user);
            }
        }
        // The recipients known now: an email whose entity's contacts are read later looks its own up.
        let mut wanted: HashMap<AccountId, HashSet<String>> = HashMap::new();
        let no_record = empty_record("");
        for (c, record) in claimed.iter().zip(records) {
            let spec = &c.email.spec;
            if spec.override_suppression || (spec.entity.is_some() && record.is_none()) {
                continue;
            }
            let addresses = all_recipients(spec, record.as_ref().unwrap_or(&no_record))
                .into_iter()
                .map(|a| a.email.to_lowercase());
            wanted.entry(spec.account).or_default().extend(addresses);
        }
        for (account, addresses) in wanted {
            let list: Vec<String> = addresses.iter().cloned().collect();
            if let Ok(found) = store.suppressed(account, &list).await {
                known.suppression.insert(
                    account,
                    Checked {
                        looked_up: addresses,
                        suppressed: found.into_iter().collect(),
                    },
                );
            }
        }
        known
    }
}
