//! `/templates`: the templates the caller may use (their own and public ones; all for an admin), create,
//! replace, delete, preview for a chosen entity (exactly as it would be sent), and save a draft as a
//! template. The five record routes are [`crud`](super::crud)'s.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::engine::{Draft, Preview};
use mailer_core::model::{EntityRef, MailboxId, Template, TemplateId};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Auth;
use super::crud::{ApiResource, Docs};
use super::extract::{ApiJson, ApiPath, decode};
use super::problem::{ApiError, Problem};
use crate::resource::Templates;
use crate::server::AppState;

impl ApiResource for Templates {
    type View = Template;
    const DOCS: Docs = Docs {
        list: "The templates the caller may see and use",
        create: "Creates a template (the caller's own unless an admin names another `owner`)",
        get: "One template the caller may use",
        update: "Replaces a template (its owner or an admin; only an admin changes the owner or makes it public)",
        delete: "Deletes a template unless a trigger or pipeline rule sends it",
    };
}

/// What to preview a template with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The CRM entity whose data fills the template.
    pub entity: EntityRef,
    /// The mailbox it would go from; the caller's first mailbox when absent.
    pub mailbox: Option<i64>,
}

/// The caller's mailbox to send from: the one asked for, else their first.
pub(crate) async fn sending_mailbox(state: &AppState, auth: &Auth, asked: Option<i64>) -> Result<MailboxId, ApiError> {
    if let Some(id) = asked {
        return Ok(MailboxId(id));
    }
    let own = state.engine().mailboxes_for(auth.account, auth.user.id).await?;
    own.iter()
        .find(|m| m.owner == auth.user.id)
        .or_else(|| own.first())
        .map(|m| m.id)
        .ok_or_else(|| ApiError::invalid("/body/mailbox", "the user has no mailbox; name one"))
}

/// The template rendered for an entity exactly as it would be sent (tracking marked as preview).
#[utoipa::path(post, path = "/templates/{id}/preview", tag = "templates", params(("id" = i64, Path)),
    request_body = PreviewRequest,
    responses((status = 200, description = "Subject, HTML, text and recipients", body = Preview),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn preview(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson,
) -> Result<Json<Preview>, ApiError> {
    let req: PreviewRequest = decode(body)?;
    let mailbox = sending_mailbox(&state, &auth, req.mailbox).await?;
    let draft = Draft {
        account: auth.account,
        sender: auth.user.id,
        mailbox,
        entity: Some(req.entity),
        template: Some(TemplateId(id)),
        ..Draft::default()
    };
    Ok(Json(state.engine().preview(&draft).await?))
}

/// A composed email to keep as a template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveDraftRequest {
    /// The new template's name.
    pub name: String,
    /// The email as composed (the body of `POST /send`).
    #[schema(value_type = super::send::SendRequest)]
    pub draft: Value,
}

/// Saves a composed email, with its attachments and triggers, as a new template of the caller.
#[utoipa::path(post, path = "/templates/from-draft", tag = "templates", request_body = SaveDraftRequest,
    responses((status = 201, body = Template), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn from_draft(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<Template>), ApiError> {
    let req: SaveDraftRequest = decode(body)?;
    let draft = super::send::draft(&state, &auth, req.draft).await?;
    let saved = state.engine().save_as_template(&draft, &req.name).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}
