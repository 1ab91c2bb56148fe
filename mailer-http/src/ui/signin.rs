//! Sign-in with an API token (`mailer-server token create …`), kept in an HttpOnly, SameSite=Strict
//! cookie, and sign-out.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::form::FormData;
use super::layout;
use super::session::{LOGIN_COOKIE, Session, cookie, login_cookie, sign_in_cookie, sign_out_cookie};
use crate::server::AppState;

fn form(error: Option<&str>, pairing: &str) -> Markup {
    html! {
        h1 { "Sign in to mailer" }
        (layout::notice(error, None))
        form method="post" action="/ui/login" {
            input type="hidden" name="pairing" value=(pairing);
            div.field {
                label for="token" { "API token" }
                input id="token" type="password" name="token" autocomplete="current-password" required
                    aria-describedby="token-hint";
                small id="token-hint" {
                    "A token of your user, made on the server with "
                    code { "mailer-server token create --account A --user U" } "."
                }
            }
            button type="submit" { "Sign in" }
        }
    }
}

/// A fresh random pairing token (hex).
fn pairing() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The sign-in form with a new pairing token, also set as a cookie.
fn form_page(status: StatusCode, error: Option<&str>, headers: &HeaderMap) -> Response {
    let Some(value) = pairing() else {
        return layout::bare(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign in",
            form(Some("No randomness available: try again."), ""),
        );
    };
    let mut response = layout::bare(status, "Sign in", form(error, &value));
    if let Ok(cookie) = HeaderValue::from_str(&login_cookie(&value, headers)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /ui/login`.
pub(crate) async fn show(headers: HeaderMap) -> Response {
    form_page(StatusCode::OK, None, &headers)
}

/// `POST /ui/login`: checks the token through the engine and keeps it in the cookie.
pub(crate) async fn sign_in(State(state): State<AppState>, headers: HeaderMap, form_data: FormData) -> Response {
    let paired = cookie(&headers, LOGIN_COOKIE).is_some_and(|c| !c.is_empty() && c == form_data.get("pairing"));
    if !paired {
        return form_page(
            StatusCode::FORBIDDEN,
            Some("This sign-in form is out of date or did not come from this site; try again."),
            &headers,
        );
    }
    let token = form_data.get("token").trim();
    // A token is ASCII without separators; anything else cannot be one and must not reach a header.
    let plausible = !token.is_empty() && token.len() <= 200 && token.bytes().all(|b| b.is_ascii_graphic() && b != b';');
    let known = if plausible {
        match state.engine().authenticate(token).await {
            Ok(found) => found.is_some(),
            Err(e) => return super::error::UiError::Engine(e).into_response(),
        }
    } else {
        false
    };
    if !known {
        return form_page(
            StatusCode::UNAUTHORIZED,
            Some("This token is not known or has been revoked."),
            &headers,
        );
    }
    let mut response = Redirect::to("/ui").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&sign_in_cookie(token, &headers)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /ui/logout`: forgets the cookie.
pub(crate) async fn sign_out(session: Session, headers: HeaderMap, form_data: FormData) -> Response {
    if let Err(e) = session.check_form(&form_data) {
        return e.into_response();
    }
    let mut response = Redirect::to("/ui/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&sign_out_cookie(&headers)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
