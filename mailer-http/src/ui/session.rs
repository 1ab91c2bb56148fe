//! The signed-in operator: the API token kept in an HttpOnly, SameSite=Strict cookie, checked on every
//! request through the engine (the same tokens, rights and account as the admin API), and the per-session
//! CSRF token that every form and script request carries.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use mailer_core::model::{AccountId, Role, User, UserId};
use sha2::{Digest, Sha256};

use super::error::UiError;
use super::form::FormData;
use crate::server::AppState;

/// The cookie that holds the API token.
pub(crate) const COOKIE: &str = "mailer_ui";
/// The form field and request header that carry the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// The header the script sends the CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// How long a sign-in lasts, in seconds (8 hours).
const MAX_AGE: u32 = 8 * 3600;

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The token's account: every screen reads and writes only in it.
    pub(crate) account: AccountId,
    /// The token's user, whose rights apply.
    pub(crate) user: User,
    /// The CSRF token of this sign-in.
    pub(crate) csrf: String,
}

impl Session {
    /// The user's id.
    pub(crate) fn user_id(&self) -> UserId {
        self.user.id
    }

    /// The account and user every engine call of this session acts as.
    pub(crate) fn caller(&self) -> crate::resource::Caller {
        crate::resource::Caller {
            account: self.account,
            user: self.user.id,
        }
    }

    /// True for an admin.
    pub(crate) fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub(crate) fn check_form(&self, form: &FormData) -> Result<(), UiError> {
        self.check_token(form.get(CSRF_FIELD))
    }

    /// Refuses a script request whose CSRF header is not this session's.
    pub(crate) fn check_header(&self, headers: &HeaderMap) -> Result<(), UiError> {
        self.check_token(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or(""))
    }

    fn check_token(&self, given: &str) -> Result<(), UiError> {
        let (a, b) = (given.as_bytes(), self.csrf.as_bytes());
        // Constant time over the expected length: the comparison does not tell how much matched.
        let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same { Ok(()) } else { Err(UiError::Csrf) }
    }
}

/// The CSRF token of a sign-in: derived from the API token, so it needs no server-side state, differs per
/// token and cannot be computed without the token (which scripts cannot read: the cookie is HttpOnly).
pub(crate) fn csrf_for(token: &str) -> String {
    let digest = Sha256::digest(format!("mailer-ui csrf\n{token}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The API token in the request's cookie.
pub(crate) fn token_of(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The cookie that pairs the sign-in form with its submission (login CSRF: a page elsewhere cannot sign a
/// browser in with the attacker's token, since it cannot send this SameSite=Strict cookie).
pub(crate) const LOGIN_COOKIE: &str = "mailer_ui_login";

/// `; Secure` when the request came over HTTPS (directly or through a proxy that says so).
fn secure(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

/// The `Set-Cookie` value that signs in with `token`.
pub(crate) fn sign_in_cookie(token: &str, headers: &HeaderMap) -> String {
    format!(
        "{COOKIE}={token}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={MAX_AGE}{}",
        secure(headers)
    )
}

/// The `Set-Cookie` value that signs out.
pub(crate) fn sign_out_cookie(headers: &HeaderMap) -> String {
    format!(
        "{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(headers)
    )
}

/// The `Set-Cookie` value of the sign-in form's pairing token.
pub(crate) fn login_cookie(value: &str, headers: &HeaderMap) -> String {
    format!(
        "{LOGIN_COOKIE}={value}; Path=/ui/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure(headers)
    )
}

/// The value of cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/ui/login").into_response();
        let Some(token) = token_of(&parts.headers) else {
            return Err(to_sign_in());
        };
        match state.engine().authenticate(&token).await {
            Ok(Some((account, user))) => Ok(Self {
                account,
                user,
                csrf: csrf_for(&token),
            }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(UiError::Engine(e).into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; mailer_ui=mk_1_2_x ; b=2".parse().unwrap());
        assert_eq!(token_of(&headers).as_deref(), Some("mk_1_2_x"));
    }

    #[test]
    fn csrf_tokens_differ_per_sign_in() {
        assert_ne!(csrf_for("mk_1_1_a"), csrf_for("mk_1_1_b"));
        assert_eq!(csrf_for("mk_1_1_a").len(), 64);
    }
}
