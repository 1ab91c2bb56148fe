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
