//! API tokens: a user's bearer credential for the admin API, kept as a SHA-256 hash.

use serde::{Deserialize, Serialize};

use super::{AccountId, ApiTokenId, Timestamp, UserId};

/// A user's API token. The secret itself is shown once, when it is created; only its SHA-256 hash (hex) is
/// kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// Our id of the token.
    pub id: ApiTokenId,
    /// The account it belongs to.
    pub account: AccountId,
    /// The user it acts as.
    pub user: UserId,
    /// A label for lists ("CI", "operator UI").
    pub name: String,
    /// SHA-256 of the secret part, lowercase hex.
    pub hash: String,
    /// When it was created.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When it was revoked; a revoked token authenticates nobody.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
}
