//! `/tokens`: API tokens. A user creates and revokes their own; an admin any of the account's. The token
//! is answered once, at creation; lists show everything but the secret.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::model::{AccountId, ApiToken, ApiTokenId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, decode};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// A token as lists show it: no secret, no hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: i64,
    /// The user it acts as.
    pub user: i64,
    /// Its label.
    pub name: String,
    /// When it was created.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// When it was revoked.
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<Timestamp>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id.0,
            user: t.user.0,
            name: t.name,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A label ("CI", "operator UI").
    pub name: String,
    /// The user it acts as; the caller when absent (another user: admin only).
    pub user: Option<i64>,
}

/// A new token: the only answer that holds `token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The record.
    #[serde(flatten)]
    pub record: TokenView,
    /// The bearer token; keep it, it is not shown again.
    pub token: String,
}

/// 32 random bytes from the operating system.
///
/// # Errors
/// When the system has no randomness to give (logged as an internal error).
pub fn random_secret() -> Result<[u8; 32], ApiError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| ApiError::Internal(format!("no randomness available: {e}")))?;
    Ok(secret)
}

/// Creates a token for `user` as `actor` in `account`: the record and the bearer token (shown once).
///
/// # Errors
/// As [`Engine::create_api_token`](mailer_core::engine::Engine::create_api_token).
pub async fn create_token(
    engine: &mailer_core::engine::Engine,
    account: AccountId,
    actor: UserId,
    user: UserId,
    name: &str,
) -> Result<(ApiToken, String), ApiError> {
    let secret = random_secret()?;
    Ok(engine.create_api_token(account, actor, user, name, secret).await?)
}

/// The caller's tokens (all of the account's for an admin).
#[utoipa::path(get, path = "/tokens", tag = "tokens", params(Paging),
    responses((status = 200, body = Page<TokenView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<TokenView>>, ApiError> {
    let all = state.engine().api_tokens(auth.account, auth.user.id).await?;
    let page = paging.page(all, |t| t.id.0)?;
    Ok(Json(Page {
        items: page.items.into_iter().map(TokenView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a token; the answer holds it once.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let req: CreateToken = decode(body)?;
    let user = req.user.map_or(auth.user.id, UserId);
    let (record, token) = create_token(state.engine(), auth.account, auth.user.id, user, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            record: record.into(),
            token,
        }),
    ))
}

/// Revokes a token (its user or an admin); it authenticates nobody from now on.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TokenView>, ApiError> {
    let revoked = state
        .engine()
        .revoke_api_token(auth.account, auth.user.id, ApiTokenId(id))
        .await?;
    Ok(Json(revoked.into()))
}
