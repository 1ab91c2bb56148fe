//! A clock that moves only when told.

use std::sync::Mutex;
use std::time::Duration;

use crate::model::Timestamp;
use crate::ports::Clock;

/// A [`Clock`] for tests: it stands still until [`ManualClock::advance`] or [`ManualClock::set`].
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self { now: Mutex::new(start) }
    }

    /// A clock at 2026-01-05 09:00:00 UTC (a Monday), a fixed start for tests.
    pub fn at_default_start() -> Self {
        Self::new(default_start())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }

    /// Sets the clock; it may not go backwards, so an earlier moment is ignored.
    pub fn set(&self, at: Timestamp) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if at > *now {
            *now = at;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// 2026-01-05 09:00:00 UTC, the start of every test clock.
pub fn default_start() -> Timestamp {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}
