//! The access-revoked hook: Kommo calls the integration's disable URL with `client_uuid`, `account_id` and
//! `signature` = hex(HMAC-SHA256(client secret, "{client_uuid}|{account_id}")) when an account removes
//! the integration.

use hmac::{Hmac, Mac};

use super::HookError;
use super::form::parse_form;
use crate::OAuthApp;

/// Checks the disable hook's query (or form) `body` against the integration's keys and answers the Kommo
/// account id whose access was revoked. The signature is compared in constant time.
///
/// # Errors
/// [`HookError::Missing`] for a missing parameter, [`HookError::Invalid`] for a `client_uuid` that is not
/// ours, an `account_id` that is not a number, or a signature that is not hex or does not match.
pub fn verify_disable_hook(query: &[u8], app: &OAuthApp) -> Result<i64, HookError> {
    let form = parse_form(query)?;
    let get = |name: &str| {
        form.text(&[name])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| HookError::Missing { field: name.to_owned() })
    };
    let client_uuid = get("client_uuid")?;
    let account_id = get("account_id")?;
    let signature = get("signature")?;
    let invalid = |field: &str, value: &str| HookError::Invalid {
        field: field.to_owned(),
        value: value.to_owned(),
    };
    let account: i64 = account_id.parse().map_err(|_| invalid("account_id", account_id))?;
    let bytes = hex(signature).ok_or_else(|| invalid("signature", signature))?;
    let mut mac = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(app.client_secret.expose().as_bytes())
        .map_err(|_| invalid("signature", signature))?;
    mac.update(format!("{client_uuid}|{account_id}").as_bytes());
    mac.verify_slice(&bytes).map_err(|_| invalid("signature", signature))?;
    // Checked after the signature, so a forged hook learns nothing about our integration id.
    if client_uuid != app.client_id {
        return Err(invalid("client_uuid", client_uuid));
    }
    Ok(account)
}

/// The hex signature of the disable hook for `client_uuid` and `account_id` (what Kommo sends).
pub fn sign_disable_hook(app: &OAuthApp, account_id: i64) -> String {
    let mut out = String::with_capacity(64);
    if let Ok(mut mac) =
        <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(app.client_secret.expose().as_bytes())
    {
        mac.update(format!("{}|{account_id}", app.client_id).as_bytes());
        for b in mac.finalize().into_bytes() {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 256 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use mailer_core::model::Secret;

    use super::*;

    fn app() -> OAuthApp {
        OAuthApp {
            client_id: "uuid-1".into(),
            client_secret: Secret::new("s3cret"),
            redirect_uri: "https://mailer.example/kommo/oauth".into(),
        }
    }

    #[test]
    fn a_signed_hook_names_its_account_and_a_forged_one_is_refused() {
        let app = app();
        let sig = sign_disable_hook(&app, 42);
        let good = format!("client_uuid=uuid-1&account_id=42&signature={sig}");
        assert_eq!(verify_disable_hook(good.as_bytes(), &app), Ok(42));
        let other_account = format!("client_uuid=uuid-1&account_id=43&signature={sig}");
        assert!(verify_disable_hook(other_account.as_bytes(), &app).is_err());
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let forged = format!(
            "client_uuid=uuid-1&account_id=42&signature={}",
            String::from_utf8(flipped).unwrap_or_default()
        );
        assert!(verify_disable_hook(forged.as_bytes(), &app).is_err());
        assert!(verify_disable_hook(b"client_uuid=uuid-1&account_id=42&signature=zz", &app).is_err());
        assert!(matches!(
            verify_disable_hook(b"client_uuid=uuid-1&account_id=42", &app),
            Err(HookError::Missing { .. })
        ));
        let mut theirs = app.clone();
        theirs.client_id = "uuid-2".into();
        let foreign = format!(
            "client_uuid=uuid-2&account_id=42&signature={}",
            sign_disable_hook(&theirs, 42)
        );
        assert!(
            verify_disable_hook(foreign.as_bytes(), &app).is_err(),
            "another integration's hook"
        );
    }
}
