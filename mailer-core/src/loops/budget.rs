//! The run-time budget: a cap on automatic sends per entity and chain, for the cycles the save-time check
//! allows because they need the recipient each round.

use std::time::Duration;

use crate::model::{EmailId, EntityRef, MailingId, Timestamp};

/// What an automatic send belongs to: the mailing, or the single email, that started its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    /// Started by an email of a mass mailing.
    Mailing(MailingId),
    /// Started by this single email (sent by hand, by a pipeline rule or by the API).
    Email(EmailId),
}

/// An automatic send (made by a trigger) that was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoSend {
    /// The entity it went to.
    pub entity: EntityRef,
    /// The chain it belongs to.
    pub chain: Chain,
    /// When it was made.
    pub at: Timestamp,
}

/// The run-time cap on automatic sends per entity and chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// At most this many automatic sends … (default 3)
    pub max_sends: u32,
    /// … in any window this long (default 24 hours).
    pub window: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_sends: 3,
            window: Duration::from_secs(24 * 3600),
        }
    }
}

/// The budget's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetDecision {
    /// Send; `used` automatic sends of this entity and chain were made in the window before.
    Allowed {
        /// Sends already in the window.
        used: u32,
    },
    /// Do not send; record a `SendSkipped` event with this as the reason.
    OverBudget(OverBudget),
}

/// A refused automatic send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("loop budget spent: {used} automatic sends to this entity in the last {window:?} (limit {limit})")]
pub struct OverBudget {
    /// Sends in the window.
    pub used: u32,
    /// The limit.
    pub limit: u32,
    /// The window.
    pub window: Duration,
    /// The first moment a send would be allowed again.
    pub allowed_again_at: Timestamp,
}

impl Budget {
    /// May one more automatic send go to `entity` in `chain` at `now`? `recent` is the automatic sends the
    /// store knows of (any entity and chain, any age; only this entity and chain within the window, ends
    /// included, count). Any closed window of `window` length then holds at most `max_sends` automatic
    /// sends per entity and chain.
    pub fn check(&self, entity: EntityRef, chain: Chain, now: Timestamp, recent: &[AutoSend]) -> BudgetDecision {
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        let since = now
            .checked_sub_signed(window)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let mut inside: Vec<Timestamp> = recent
            .iter()
            .filter(|s| s.entity == entity && s.chain == chain && s.at >= since && s.at <= now)
            .map(|s| s.at)
            .collect();
        let used = u32::try_from(inside.len()).unwrap_or(u32::MAX);
        if used < self.max_sends {
            return BudgetDecision::Allowed { used };
        }
        inside.sort_unstable();
        // The window must lose `used - max_sends + 1` sends; the last of those leaves it just after its time.
        let nth = (used - self.max_sends) as usize;
        let leaves = inside.get(nth).copied().unwrap_or(now);
        let allowed_again_at = leaves
            .checked_add_signed(window)
            .and_then(|t| t.checked_add_signed(chrono::Duration::nanoseconds(1)))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        BudgetDecision::OverBudget(OverBudget {
            used,
            limit: self.max_sends,
            window: self.window,
            allowed_again_at,
        })
    }
}
