//! One uploaded file read out of a multipart body, for the engine's
//! [`upload_file`](mailer_core::engine::Engine::upload_file): its name, type and bytes. Reading stops as
//! soon as the part is over the limit it is read against, so an oversize file is neither read whole nor
//! stored; the API and the UI's template editor both read uploads here.

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

/// The body limit of the routes that take uploads: the largest default file limit (100 MB, the files of
/// one email together) and room for the form around it. The engine's own limits, per kind and use,
/// are checked on the file itself.
pub(crate) const UPLOAD_BODY_LIMIT: usize = 101 * 1024 * 1024;

/// The type given to a part that names none.
const OCTET_STREAM: &str = "application/octet-stream";

/// A file part of a multipart body.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FilePart {
    /// The form field it came in.
    pub(crate) field: String,
    /// The file name the browser or client gave.
    pub(crate) name: String,
    /// Its MIME type without parameters (`application/octet-stream` when none was given).
    pub(crate) content_type: String,
    /// The content.
    pub(crate) bytes: Vec<u8>,
}

impl std::fmt::Debug for FilePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePart")
            .field("field", &self.field)
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Why a file part could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The part is over the limit: at least this many bytes (reading stopped there).
    #[error("the file is over the limit (at least {0} bytes)")]
    TooLarge(u64),
    /// The body is not a readable multipart body (or is over the route's body limit).
    #[error("{1}")]
    Body(StatusCode, String),
}

impl From<MultipartError> for ReadError {
    fn from(e: MultipartError) -> Self {
        Self::Body(e.status(), e.body_text())
    }
}

/// Reads a file part, refusing it once it is over `limit` bytes.
pub(crate) async fn read_file(mut field: Field<'_>, limit: u64) -> Result<FilePart, ReadError> {
    let name = field.file_name().unwrap_or_default().to_owned();
    let content_type = field
        .content_type()
        .and_then(|t| t.split(';').next())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(OCTET_STREAM)
        .to_ascii_lowercase();
    let form_field = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        let total = (bytes.len() + chunk.len()) as u64;
        if total > limit {
            return Err(ReadError::TooLarge(total));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(FilePart {
        field: form_field,
        name,
        content_type,
        bytes,
    })
}
