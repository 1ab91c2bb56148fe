//! Accounts (tenants), users and secrets.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AccountId, CrmUserId, Timezone, UserId};

/// One CRM account: the tenant every other record belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Account {
    /// Our id of the account.
    pub id: AccountId,
    /// A human name, e.g. the CRM subdomain.
    pub name: String,
    /// The account's timezone: `{date}` and calendar-day caps are computed in it.
    pub timezone: Timezone,
    /// Names the key that signs this account's tracking tokens; the key itself lives with the host
    /// (configuration or a secret store), never in the model.
    pub signing_key_ref: String,
}

/// What a new account is made of; the store assigns the id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewAccount {
    /// See [`Account::name`].
    pub name: String,
    /// See [`Account::timezone`].
    pub timezone: Timezone,
    /// See [`Account::signing_key_ref`].
    pub signing_key_ref: String,
}

/// The rights of a user in the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Edits any template, changes owners, makes templates public.
    Admin,
    /// Sees and uses their own and public templates, edits their own.
    Member,
}

/// A user of the widget inside an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct User {
    /// Our id of the user.
    pub id: UserId,
    /// The account the user belongs to.
    pub account: AccountId,
    /// The same person in the CRM, when known.
    pub crm_user: Option<CrmUserId>,
    /// Display name.
    pub name: String,
    /// Admin or member.
    pub role: Role,
    /// HTML signature appended to the user's emails unless a template disables it.
    pub signature_html: String,
}

/// A secret string (password, token): serialised as is, but `Debug` and `Display` print `***`.
///
/// Stores encrypt it at rest; logs never see it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret in clear, for the one place that needs it (a login).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
