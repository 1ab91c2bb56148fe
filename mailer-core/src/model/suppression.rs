//! The suppression list: addresses an account no longer sends to (unsubscribed, later hard bounces).

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// One address on an account's suppression list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The address, lowercase.
    pub address: String,
    /// Why it is there (`unsubscribed`, `hard bounce: …`).
    pub reason: String,
    /// When it was added.
    pub at: Timestamp,
}
