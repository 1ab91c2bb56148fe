//! Sign-in with an API token (`mailer-server token create …`), kept in an HttpOnly, SameSite=Strict
//! cookie, and sign-out.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::form::FormData;
use super::layout;
use super::session::{Session, sign_in_cookie, sign_out_cookie};
use crate::server::AppState;

fn form(error: Option<&str>) -> Markup {
    html! {
        h1 { "Sign in to mailer" }
        (layout::notice(error, None))
        form method="post" action="/ui/login" {
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

/// `GET /ui/login`.
pub(crate) async fn show() -> Response {
    layout::bare(StatusCode::OK, "Sign in", form(None))
}

/// `POST /ui/login`: checks the token through the engine and keeps it in the cookie.
pub(crate) async fn sign_in(State(state): State<AppState>, form_data: FormData) -> Response {
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
        return layout::bare(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            form(Some("This token is not known or has been revoked.")),
        );
    }
    let mut response = Redirect::to("/ui").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&sign_in_cookie(token)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /ui/logout`: forgets the cookie.
pub(crate) async fn sign_out(session: Session, form_data: FormData) -> Response {
    if let Err(e) = session.check_form(&form_data) {
        return e.into_response();
    }
    let mut response = Redirect::to("/ui/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&sign_out_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
