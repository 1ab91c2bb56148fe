//! The link between a tenant and its account in the CRM: who it is there, whether the integration is
//! active, and the OAuth tokens (kept as one sealed secret the CRM adapter reads and writes).

use serde::{Deserialize, Serialize};

use super::{AccountId, Secret, Timestamp};

/// Whether the CRM integration of an account works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Installed; tokens held.
    Active,
    /// Access was revoked in the CRM: tokens wiped, hooks refused, the account's queue held.
    Disabled,
    /// The last install attempt failed (see [`CrmLink::detail`]); the account's earlier tokens, if any,
    /// are kept.
    Failed,
}

/// One account's link to the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CrmLink {
    /// Our account (tenant).
    pub account: AccountId,
    /// The account's id in the CRM (Kommo's `account_id`); unique among links.
    pub external_id: i64,
    /// The account's host in the CRM, e.g. `acme.kommo.com`.
    pub domain: String,
    /// Active, disabled or failed.
    pub status: LinkStatus,
    /// Why the link is not active (the failed exchange's error, the revocation), for the operator.
    pub detail: Option<String>,
    /// The CRM's tokens as the adapter serialised them; sealed at rest; `None` once wiped.
    pub tokens: Option<Secret>,
    /// Grows on every write; [`Store::swap_crm_tokens`](crate::ports::Store::swap_crm_tokens) compares it.
    pub version: i64,
    /// When it last changed.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}
