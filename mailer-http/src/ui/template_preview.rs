//! The live preview behind the editor: the form as typed, rendered for the chosen entity exactly as it
//! would be sent (the engine's preview: signature, tracking marked as preview), or the reason it cannot
//! be (a syntax error with its line and column, an unknown entity).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mailer_core::engine::{Draft, Preview};
use mailer_core::model::{CrmId, EntityKind, EntityRef, MailboxId, RecipientRule};
use serde::Serialize;

use super::error::UiError;
use super::form::FormData;
use super::session::Session;
use super::template_editor::{content, recipients};
use crate::server::AppState;

/// The preview's answer to the script.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Answer {
    /// The rendered email.
    Shown(Preview),
    /// Why there is nothing to show.
    Refused { error: String },
}

fn entity(form: &FormData) -> Result<EntityRef, UiError> {
    let kind = match form.get("preview_kind") {
        "contact" => EntityKind::Contact,
        "company" => EntityKind::Company,
        _ => EntityKind::Lead,
    };
    Ok(EntityRef {
        kind,
        id: CrmId(form.parse("preview_id", "the CRM id of an entity")?),
    })
}

async fn draft(state: &AppState, session: &Session, form: &FormData) -> Result<Draft, UiError> {
    let mailbox = match form.parse_opt::<i64>("preview_mailbox", "a mailbox")? {
        Some(id) => MailboxId(id),
        None => state
            .engine()
            .mailboxes_for(session.account, session.user_id())
            .await?
            .first()
            .map(|m| m.id)
            .ok_or(UiError::Invalid {
                field: "preview_mailbox",
                reason: "you have no mailbox to send from yet".into(),
            })?,
    };
    let (to_contacts, to) = match recipients(form)? {
        RecipientRule::EntityContacts => (true, Vec::new()),
        RecipientRule::Fixed { address } => (false, vec![address.to_string()]),
    };
    Ok(Draft {
        account: session.account,
        sender: session.user_id(),
        mailbox,
        entity: Some(entity(form)?),
        content: Some(content(form)),
        to_entity_contacts: Some(to_contacts),
        to,
        signature_disabled: Some(form.checked("signature_off")),
        ..Draft::default()
    })
}

/// `POST /ui/templates/preview` (from the script, with the CSRF header): JSON of the preview or its error.
pub(crate) async fn preview(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    if let Err(e) = session.check_header(&headers) {
        return (e.status(), Json(Answer::Refused { error: e.to_string() })).into_response();
    }
    let shown = match draft(&state, &session, &form).await {
        Ok(draft) => state.engine().preview(&draft).await.map_err(UiError::from),
        Err(e) => Err(e),
    };
    match shown {
        Ok(p) => Json(Answer::Shown(p)).into_response(),
        // The refusal is the content of the answer: the script shows it where the preview would be.
        Err(e) => (StatusCode::OK, Json(Answer::Refused { error: e.to_string() })).into_response(),
    }
}
