//! The suppression list: addresses an account no longer sends to (unsubscribed, later hard bounces).

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// One address on an account's suppression list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Suppression {
    /// The address, lowercase.
    pub address: String,
    /// Why it is there (`unsubscribed`, `hard bounce: …`).
    pub reason: String,
    /// When it was added.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}
