//! The clock port.

use crate::model::Timestamp;

/// Tells the time. The core never asks the system; hosts pass a system clock, tests a manual one.
///
/// # Contract
/// Successive calls never go backwards.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current moment.
    fn now(&self) -> Timestamp;
}

/// A clock behind a pointer.
pub type DynClock = dyn Clock;

/// A [`Clock`] that reads the system time: the one the hosts (the server, an embedding app) pass.
///
/// This is the only place in the core that reads the wall clock; the engine itself still only asks the
/// [`Clock`] port, so tests pass a manual clock instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the system clock implementation of the Clock port"
    )]
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}
