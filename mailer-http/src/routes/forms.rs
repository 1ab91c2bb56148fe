//! `POST /f/{token}`: form answers from an email or its web version, urlencoded or multipart; the
//! engine checks the token and writes them to the CRM, then the thank-you page. A filled honeypot field
//! records nothing (the token is still checked by the engine, so a bad one gets the same 404).

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use mailer_core::template::TokenKindTag;

use crate::pages;
use crate::server::{AppState, HttpError};

pub(crate) async fn submit(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Response {
    match answer(&state, &token, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn answer(state: &AppState, token: &str, request: Request) -> Result<Response, Response> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut answers = if multipart {
        let form = Multipart::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        read_multipart(form).await.map_err(IntoResponse::into_response)?
    } else {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        form_urlencoded::parse(&body).into_owned().collect()
    };
    let honeypot = &state.config.honeypot_field;
    if answers.iter().any(|(k, v)| k == honeypot && !v.trim().is_empty()) {
        state
            .engine
            .verify_kind(token, &[TokenKindTag::Form])
            .await
            .map_err(|e| HttpError::from(e).into_response())?;
        state.metrics.hit("form", Some(true));
        tracing::info!("form submission with the honeypot filled in: dropped");
        return Ok(Html(pages::thank_you()).into_response());
    }
    answers.retain(|(k, _)| k != honeypot);
    state
        .engine
        .submit_form(token, &answers)
        .await
        .map_err(|e| HttpError::from(e).into_response())?;
    state.metrics.hit("form", Some(false));
    Ok(Html(pages::thank_you()).into_response())
}

/// The text fields of a multipart form; file parts are skipped (their name is kept with the file name).
async fn read_multipart(mut form: Multipart) -> Result<Vec<(String, String)>, HttpError> {
    let mut answers = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| HttpError::Body(e.status(), e.body_text()))?
    {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        if let Some(file) = field.file_name() {
            answers.push((name, file.to_owned()));
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|e| HttpError::Body(e.status(), e.body_text()))?;
        answers.push((name, value));
    }
    Ok(answers)
}
