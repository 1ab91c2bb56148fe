//! `/files`: upload an attachment or an inline image (multipart, one part named `file`); the answer is the
//! stored reference to put in a template's or an email's `attachments`. The file is refused before it is
//! stored when it is over the limit of its kind and use (an image 5 MB; a template's files 50 MB, an
//! email's 100 MB).

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use mailer_core::engine::{FileUse, Upload};
use mailer_core::model::{AttachmentRef, FileKind};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::extract::ApiQuery;
use super::problem::{ApiError, Problem};
use crate::server::AppState;
use crate::upload::{ReadError, read_file};

/// What the uploaded file is.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// `attachment` (the default) or `inline_image` (5 MB at most, `image/…`; the body shows it with
    /// `<img src="cid:f{file}@mailer">`).
    #[param(value_type = Option<String>)]
    pub kind: Option<FileKind>,
    /// `template` (the default: 50 MB at most) or `email` (written by hand: 100 MB at most).
    #[serde(rename = "use")]
    #[param(rename = "use", value_type = Option<String>)]
    pub used_in: Option<FileUse>,
}

/// The multipart body of an upload.
#[derive(Debug, ToSchema)]
pub struct UploadForm {
    /// The file, with its name and type in the part's headers.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

fn body_error(status: StatusCode, detail: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(crate::upload::UPLOAD_BODY_LIMIT)
    } else {
        ApiError::Malformed {
            pointer: "/body".into(),
            detail,
        }
    }
}

/// Uploads a file for the caller's account.
#[utoipa::path(post, path = "/files", tag = "files", params(UploadQuery),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "The stored reference (`source: stored`)", body = AttachmentRef),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<UploadQuery>,
    request: Request,
) -> Result<(StatusCode, Json<AttachmentRef>), ApiError> {
    let kind = q.kind.unwrap_or(FileKind::Attachment);
    let used_in = q.used_in.unwrap_or(FileUse::Template);
    let engine = state.engine();
    let mut form = Multipart::from_request(request, &state)
        .await
        .map_err(|e| body_error(e.status(), e.body_text()))?;
    let limit = engine.upload_limit(kind, used_in);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| body_error(e.status(), e.body_text()))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let part = match read_file(field, limit).await {
            Ok(part) => part,
            Err(ReadError::TooLarge(actual)) => return Err(engine.upload_too_large(kind, used_in, actual).into()),
            Err(ReadError::Body(status, detail)) => return Err(body_error(status, detail)),
        };
        let upload = Upload {
            account: auth.account,
            name: part.name,
            content_type: part.content_type,
            bytes: part.bytes,
            kind,
            used_in,
        };
        let stored = engine.upload_file(auth.user.id, upload).await?;
        return Ok((StatusCode::CREATED, Json(stored)));
    }
    Err(ApiError::invalid(
        "/body/file",
        "a multipart part named `file` is required",
    ))
}
