//! HMAC-signed JWTs (HS256 and HS512), as Kommo signs Salesbot and one-time widget tokens with the
//! integration's secret key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};

/// How far a token's `nbf` may be ahead of our clock (clock skew).
const NBF_LEEWAY_SECS: i64 = 60;

/// A token failed the check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url parts with JSON header and claims.
    #[error("malformed token")]
    Malformed,
    /// Signed with something other than HS256 or HS512 (`none` included).
    #[error("unsupported token algorithm {0:?}")]
    Algorithm(String),
    /// The signature does not match the secret.
    #[error("token signature does not match")]
    Signature,
    /// No `exp` claim, or it is in the past.
    #[error("token expired or without expiry")]
    Expired,
    /// Its `nbf` is in the future.
    #[error("token not valid yet")]
    NotYetValid,
}

fn part(text: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed)
}

fn mac_ok<M: Mac + hmac::digest::KeyInit>(secret: &[u8], signed: &[u8], signature: &[u8]) -> Result<(), TokenError> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).map_err(|_| TokenError::Signature)?;
    mac.update(signed);
    mac.verify_slice(signature).map_err(|_| TokenError::Signature)
}

/// Checks a token's signature against `secret` (constant-time) and its time window against `now` (Unix
/// seconds), and returns its claims.
///
/// # Errors
/// A [`TokenError`] saying what failed.
pub fn verify_hs(token: &str, secret: &[u8], now: i64) -> Result<Map<String, Value>, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let head: Value = serde_json::from_slice(&part(header)?).map_err(|_| TokenError::Malformed)?;
    let alg = head.get("alg").and_then(Value::as_str).unwrap_or_default();
    let signed = &token.trim().as_bytes()[..header.len() + 1 + payload.len()];
    let signature = part(signature)?;
    match alg {
        "HS256" => mac_ok::<Hmac<sha2::Sha256>>(secret, signed, &signature)?,
        "HS512" => mac_ok::<Hmac<sha2::Sha512>>(secret, signed, &signature)?,
        other => return Err(TokenError::Algorithm(other.to_owned())),
    }
    let Value::Object(claims) = serde_json::from_slice(&part(payload)?).map_err(|_| TokenError::Malformed)? else {
        return Err(TokenError::Malformed);
    };
    let number = |key: &str| claims.get(key).and_then(Value::as_f64);
    #[allow(clippy::cast_precision_loss)] // Unix seconds are far below 2^53
    let now_f = now as f64;
    match number("exp") {
        Some(exp) if exp > now_f => {}
        _ => return Err(TokenError::Expired),
    }
    #[allow(clippy::cast_precision_loss)]
    if number("nbf").is_some_and(|nbf| nbf > now_f + NBF_LEEWAY_SECS as f64) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// Signs claims as an HS256 token (for tests and the fake Kommo), as Kommo signs its one-time and
/// Salesbot tokens.
#[cfg(any(test, feature = "fake"))]
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let mut mac = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_good_token_passes_and_every_tampering_fails() {
        let secret = b"integration-secret";
        let token = sign_hs256(&json!({"account_id": 7, "exp": 2_000, "nbf": 900}), secret);
        let claims = verify_hs(&token, secret, 1_000).expect("valid");
        assert_eq!(claims.get("account_id"), Some(&json!(7)));
        assert_eq!(verify_hs(&token, b"other", 1_000), Err(TokenError::Signature));
        assert_eq!(verify_hs(&token, secret, 2_000), Err(TokenError::Expired));
        assert_eq!(verify_hs(&token, secret, 800), Err(TokenError::NotYetValid));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"account_id":8,"exp":2000}"#);
        parts[1] = &forged;
        assert_eq!(verify_hs(&parts.join("."), secret, 1_000), Err(TokenError::Signature));
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"exp":2000}"#)
        );
        assert_eq!(
            verify_hs(&none, secret, 1_000),
            Err(TokenError::Algorithm("none".into()))
        );
        assert_eq!(verify_hs("a.b", secret, 1_000), Err(TokenError::Malformed));
        let no_exp = sign_hs256(&json!({"account_id": 7}), secret);
        assert_eq!(verify_hs(&no_exp, secret, 1_000), Err(TokenError::Expired));
    }
}
