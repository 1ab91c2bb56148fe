//! Salesbot's `widget_request`: `{"token": JWT, "data": {…}, "return_url": "…/continue/…"}`.

use mailer_core::model::Secret;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::HookError;
use super::jwt::verify_hs;

/// The claims of a Salesbot token that matter to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotClaims {
    /// Kommo's account id.
    pub account_id: i64,
    /// The account's subdomain.
    pub subdomain: Option<String>,
    /// The account URL (`iss`).
    pub issuer: Option<String>,
    /// The integration (`client_uuid`).
    pub client_uuid: Option<String>,
    /// The entity the bot runs on.
    pub entity_id: Option<i64>,
    /// Its type (2 lead, 12 customer).
    pub entity_type: Option<i64>,
    /// When the token expires (Unix seconds).
    pub expires_at: i64,
}

/// A checked `widget_request`.
#[derive(Debug, Clone, PartialEq)]
pub struct WidgetRequest {
    /// Who sent it, from the verified token.
    pub claims: BotClaims,
    /// The step's data (the bot's placeholders filled in).
    pub data: Value,
    /// Where to post the answer that lets the bot continue (see
    /// [`KommoClient::continue_bot`](crate::KommoClient::continue_bot)).
    pub return_url: String,
}

#[derive(Deserialize)]
struct Body {
    token: Option<String>,
    #[serde(default)]
    data: Value,
    return_url: Option<String>,
}

fn int(claims: &Map<String, Value>, key: &str) -> Option<i64> {
    match claims.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(claims: &Map<String, Value>, key: &str) -> Option<String> {
    claims.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Parses a `widget_request` body and checks its token against the integration's secret key at `now`
/// (Unix seconds).
///
/// # Errors
/// [`HookError::Json`] for a body that is not JSON, [`HookError::Missing`] without `token`, `return_url` or
/// the `account_id` claim, [`HookError::Token`] when the token fails the check.
pub fn parse_widget_request(body: &[u8], secret: &Secret, now: i64) -> Result<WidgetRequest, HookError> {
    let body: Body = serde_json::from_slice(body).map_err(|e| HookError::Json { detail: e.to_string() })?;
    let token = body.token.ok_or_else(|| HookError::Missing { field: "token".into() })?;
    let return_url = body
        .return_url
        .filter(|u| !u.is_empty())
        .ok_or_else(|| HookError::Missing {
            field: "return_url".into(),
        })?;
    let claims = verify_hs(&token, secret.expose().as_bytes(), now)?;
    Ok(WidgetRequest {
        claims: BotClaims {
            account_id: int(&claims, "account_id").ok_or_else(|| HookError::Missing {
                field: "token.account_id".into(),
            })?,
            subdomain: text(&claims, "subdomain"),
            issuer: text(&claims, "iss"),
            client_uuid: text(&claims, "client_uuid"),
            entity_id: int(&claims, "entity_id"),
            entity_type: int(&claims, "entity_type"),
            expires_at: int(&claims, "exp").unwrap_or_default(),
        },
        data: body.data,
        return_url,
    })
}
