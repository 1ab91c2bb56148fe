//! The hit path's read cache: what every open and click reads and what rarely changes — an account's
//! signing key name and a trigger link (its redirect and triggers) — kept in the process for a short time
//! ([`HIT_CACHE_TTL`], 2 s), at most [`HIT_CACHE_ENTRIES`] of each.
//!
//! Staleness: a link saved or deleted through this engine is forgotten at once
//! ([`Engine::save_trigger_link`], [`Engine::delete_trigger_link`]); a change made by another process on the
//! same database is seen within [`HIT_CACHE_TTL`]. Accounts never change their key name (the store has no
//! update for accounts). Only records that were found are kept: an unknown account or link is read again
//! every time. The time is the engine's [`Clock`](crate::ports::Clock) (the core reads no clock of its own);
//! an entry read "after" now (the clock was set back) is read again.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::model::{AccountId, Timestamp, TriggerLink, TriggerLinkId};
use crate::ports::StoreExt;

use super::super::{Engine, EngineError};

/// How long a cached read is reused.
pub const HIT_CACHE_TTL: Duration = Duration::from_secs(2);

/// How many accounts, and how many links, are kept at most.
pub const HIT_CACHE_ENTRIES: usize = 10_000;

/// Values by key with the moment each was read; see the module docs.
#[derive(Debug)]
struct Fresh<K, V> {
    entries: Mutex<HashMap<K, (Timestamp, V)>>,
}

impl<K, V> Default for Fresh<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

/// True when a value read at `read` may still be used at `now`.
fn fresh(read: Timestamp, now: Timestamp) -> bool {
    let ttl = chrono::Duration::from_std(HIT_CACHE_TTL).unwrap_or(chrono::Duration::zero());
    read <= now && read.checked_add_signed(ttl).is_some_and(|end| now < end)
}

impl<K: Eq + Hash, V: Clone> Fresh<K, V> {
    fn get(&self, key: &K, now: Timestamp) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(read, _)| fresh(*read, now))
            .map(|(_, value)| value.clone())
    }

    fn put(&self, key: K, value: V, now: Timestamp) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= HIT_CACHE_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, (read, _)| fresh(*read, now));
            if entries.len() >= HIT_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now, value));
    }

    fn forget(&self, key: &K) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

/// The accounts' key names and the trigger links the hit path reads; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct HitCache {
    key_refs: Fresh<AccountId, Arc<str>>,
    links: Fresh<(AccountId, TriggerLinkId), Arc<TriggerLink>>,
}

impl Engine {
    /// The name of the signing key `account` signs with, read at most once per [`HIT_CACHE_TTL`].
    pub(crate) async fn hit_key_ref(&self, account: AccountId) -> Result<Arc<str>, EngineError> {
        let cache = &self.hit_cache.key_refs;
        if let Some(found) = cache.get(&account, self.now()) {
            return Ok(found);
        }
        let found: Arc<str> = self.ports.store.get_account(account).await?.signing_key_ref.into();
        cache.put(account, found.clone(), self.now());
        Ok(found)
    }

    /// A trigger link of `account`, read at most once per [`HIT_CACHE_TTL`] unless saved through this engine.
    pub(crate) async fn hit_link(
        &self,
        account: AccountId,
        id: TriggerLinkId,
    ) -> Result<Arc<TriggerLink>, EngineError> {
        let cache = &self.hit_cache.links;
        if let Some(found) = cache.get(&(account, id), self.now()) {
            return Ok(found);
        }
        let found: Arc<TriggerLink> = Arc::new(self.ports.store.get(account, id).await?);
        cache.put((account, id), found.clone(), self.now());
        Ok(found)
    }

    /// Drops a cached trigger link (it was saved or deleted).
    pub(crate) fn forget_hit_link(&self, account: AccountId, id: TriggerLinkId) {
        self.hit_cache.links.forget(&(account, id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_reused_until_its_time_is_over_and_the_map_stays_bounded() {
        let cache: Fresh<u32, &str> = Fresh::default();
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let at = |ms: i64| t0 + chrono::Duration::milliseconds(ms);
        cache.put(1, "a", t0);
        assert_eq!(cache.get(&1, at(1_999)), Some("a"));
        assert_eq!(cache.get(&1, at(2_000)), None, "read again after the TTL");
        assert_eq!(cache.get(&1, at(-1)), None, "read again when the clock went back");
        cache.forget(&1);
        assert_eq!(cache.get(&1, t0), None, "forgotten");
        for i in 0..u32::try_from(HIT_CACHE_ENTRIES).unwrap_or(u32::MAX) {
            cache.put(i, "x", t0);
        }
        cache.put(u32::MAX, "new", at(2_000));
        let len = cache.entries.lock().unwrap_or_else(PoisonError::into_inner).len();
        assert_eq!(len, 1, "stale entries dropped when full");
        assert_eq!(cache.get(&u32::MAX, at(2_000)), Some("new"));
    }
}
