//! Bearer-token authentication: every API route acts as the token's user, inside the token's account.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use mailer_core::model::{AccountId, Role, User};

use super::problem::ApiError;
use crate::server::AppState;

/// The caller: the account and user of a valid, unrevoked bearer token.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The token's account; every route reads and writes only in it.
    pub account: AccountId,
    /// The token's user, whose rights apply.
    pub user: User,
}

impl Auth {
    /// Refuses a member.
    ///
    /// # Errors
    /// A `forbidden` problem.
    pub fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(mailer_core::engine::EngineError::Forbidden(format!("only an admin {what}")).into())
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        match state.engine().authenticate(token).await? {
            Some((account, user)) => Ok(Self { account, user }),
            None => Err(ApiError::Unauthorized),
        }
    }
}
