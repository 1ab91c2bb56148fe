//! The one-time `X-Auth-Token` Kommo's widget adds to its calls to our backend (`$authorizedAjax()`): an
//! HS256 JWT under the integration's secret, living 30 minutes, with `iss` (the account's URL), `aud`
//! (our scheme and host), `jti`, `nbf`, `exp`, `account_id`, `user_id` and `subdomain`.

use serde_json::{Map, Value};

use super::jwt::{TokenError, verify_hs};

/// Why a widget token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WidgetTokenError {
    /// Signature, algorithm, `exp` or `nbf` failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// `aud` is not our scheme and host.
    #[error("token audience {0:?} is not ours")]
    Audience(String),
    /// `iss` is missing or not the URL of the token's own `subdomain`.
    #[error("token issuer {0:?} does not match its account")]
    Issuer(String),
    /// A claim we need (`jti`, `account_id`, `subdomain`) is missing or mistyped.
    #[error("token lacks the claim {0}")]
    Missing(&'static str),
}

/// The checked claims of a widget token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetClaims {
    /// Kommo's account id.
    pub account_id: i64,
    /// The Kommo user who made the call.
    pub user_id: Option<i64>,
    /// The account's subdomain (`acme` of `acme.kommo.com`).
    pub subdomain: String,
    /// The token's unique id: a second use is a replay.
    pub jti: String,
    /// When the token expires (Unix seconds): how long its `jti` must be remembered.
    pub exp: i64,
}

fn int(claims: &Map<String, Value>, key: &str) -> Option<i64> {
    match claims.get(key)? {
        #[allow(clippy::cast_possible_truncation)] // whole Unix seconds or ids; fractions dropped
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The host of a URL (`https://acme.kommo.com/` → `acme.kommo.com`), lower-cased.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Checks a widget token: signature under `secret`, time window against `now` (Unix seconds), `aud`
/// equal to `audience` (our `scheme://host`, trailing slash ignored) and `iss` the URL of the token's own
/// subdomain. Remembering `jti` against replays is the caller's job.
///
/// # Errors
/// A [`WidgetTokenError`] saying what failed.
///
/// # Example
/// ```
/// use mailer_kommo::hooks::{WidgetTokenError, verify_widget_token};
/// assert!(matches!(verify_widget_token("not.a.jwt", b"secret", "https://m.example.com", 0), Err(WidgetTokenError::Token(_))));
/// ```
pub fn verify_widget_token(
    token: &str,
    secret: &[u8],
    audience: &str,
    now: i64,
) -> Result<WidgetClaims, WidgetTokenError> {
    let claims = verify_hs(token, secret, now)?;
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
    if aud.trim_end_matches('/') != audience.trim_end_matches('/') || aud.is_empty() {
        return Err(WidgetTokenError::Audience(aud.to_owned()));
    }
    let subdomain = claims
        .get("subdomain")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(WidgetTokenError::Missing("subdomain"))?
        .to_ascii_lowercase();
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    let iss_host = host(iss);
    if !iss.starts_with("https://") || iss_host.split('.').next() != Some(subdomain.as_str()) {
        return Err(WidgetTokenError::Issuer(iss.to_owned()));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(WidgetTokenError::Missing("jti"))?
        .to_owned();
    Ok(WidgetClaims {
        account_id: int(&claims, "account_id").ok_or(WidgetTokenError::Missing("account_id"))?,
        user_id: int(&claims, "user_id"),
        subdomain,
        jti,
        exp: int(&claims, "exp").ok_or(WidgetTokenError::Missing("exp"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::jwt::sign_hs256;
    use serde_json::json;

    const AUD: &str = "https://mailer.example.com";

    fn claims() -> Value {
        json!({"iss": "https://acme.kommo.com", "aud": AUD, "jti": "j1", "iat": 1_000, "nbf": 1_000,
               "exp": 2_800, "account_id": 7, "user_id": 9, "subdomain": "acme"})
    }

    #[test]
    fn a_good_token_gives_its_account_and_each_wrong_claim_is_refused() {
        let secret = b"s";
        let ok = verify_widget_token(&sign_hs256(&claims(), secret), secret, AUD, 1_100).expect("valid");
        assert_eq!(
            (
                ok.account_id,
                ok.user_id,
                ok.subdomain.as_str(),
                ok.jti.as_str(),
                ok.exp
            ),
            (7, Some(9), "acme", "j1", 2_800)
        );
        let with = |key: &str, value: Value| {
            let mut c = claims();
            c[key] = value;
            verify_widget_token(&sign_hs256(&c, secret), secret, AUD, 1_100)
        };
        assert!(matches!(
            with("aud", json!("https://evil.example.com")),
            Err(WidgetTokenError::Audience(_))
        ));
        assert!(matches!(
            with("iss", json!("https://other.kommo.com")),
            Err(WidgetTokenError::Issuer(_))
        ));
        assert!(matches!(
            with("iss", json!("http://acme.kommo.com")),
            Err(WidgetTokenError::Issuer(_))
        ));
        assert_eq!(with("jti", json!("")), Err(WidgetTokenError::Missing("jti")));
        assert_eq!(
            with("account_id", json!(null)),
            Err(WidgetTokenError::Missing("account_id"))
        );
        assert_eq!(
            with("exp", json!(1_000)),
            Err(WidgetTokenError::Token(TokenError::Expired))
        );
        assert_eq!(
            with("nbf", json!(2_000)),
            Err(WidgetTokenError::Token(TokenError::NotYetValid))
        );
        assert_eq!(
            verify_widget_token(&sign_hs256(&claims(), b"other"), secret, AUD, 1_100),
            Err(WidgetTokenError::Token(TokenError::Signature))
        );
    }
}
