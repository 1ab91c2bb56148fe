//! The system clock, for hosts. The core never reads the time itself.

use mailer_core::model::Timestamp;
use mailer_core::ports::Clock;

/// A [`Clock`] that reads the system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}
