//! Files: an attachment or inline image uploaded once (by the template editor or while writing an email),
//! checked against the widget's size limits and stored, answered as the [`AttachmentRef`] a template or
//! a draft then carries.

use crate::error::ValidationError;
use crate::model::{AccountId, AttachmentRef, FileKind, NewFile, UserId};

use super::{actor, check_name};
use crate::engine::{Engine, EngineError, FileUse};

/// A file to upload.
#[derive(Clone, PartialEq, Eq)]
pub struct Upload {
    /// The account it goes into (the user's).
    pub account: AccountId,
    /// File name shown to the recipient (no directories).
    pub name: String,
    /// MIME type, `type/subtype`; an inline image must be `image/…`.
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// Attachment or inline image.
    pub kind: FileKind,
    /// What it is for: it decides the limit one file must fit.
    pub used_in: FileUse,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("account", &self.account)
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .field("kind", &self.kind)
            .field("used_in", &self.used_in)
            .finish()
    }
}

fn malformed(field: &'static str, reason: &str) -> EngineError {
    ValidationError::Malformed {
        field,
        reason: reason.to_owned(),
    }
    .into()
}

/// `type/subtype` with token characters only (parameters such as `; charset=` are not kept).
fn check_content_type(value: &str, kind: FileKind) -> Result<(), EngineError> {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let Some((top, sub)) = value.split_once('/') else {
        return Err(malformed("content_type", "must be a MIME type such as application/pdf"));
    };
    if !(token(top) && token(sub)) {
        return Err(malformed("content_type", "must be a MIME type such as application/pdf"));
    }
    if kind == FileKind::InlineImage && !top.eq_ignore_ascii_case("image") {
        return Err(malformed("content_type", "an inline image must be an image/… type"));
    }
    Ok(())
}

impl Engine {
    /// The most bytes one uploaded file of `kind` may have when used in `used_in` (the manual: an image
    /// 5 MB, a template's files 50 MB together, an email's 100 MB). A host reading an upload stops at this
    /// many bytes and answers [`Engine::upload_too_large`] instead of reading (or storing) more.
    pub fn upload_limit(&self, kind: FileKind, used_in: FileUse) -> u64 {
        self.config.limits.file_limit(kind, used_in)
    }

    /// The error for an upload of at least `actual` bytes that is over [`Engine::upload_limit`].
    pub fn upload_too_large(&self, kind: FileKind, used_in: FileUse, actual: u64) -> EngineError {
        ValidationError::AttachmentsTooLarge {
            limit: self.upload_limit(kind, used_in),
            actual,
        }
        .into()
    }

    /// Stores a file uploaded by `user` and answers its reference, to put in a template's or a draft's
    /// attachments. Any user of the account may upload (members write their own templates); the size is
    /// checked against the limit of its kind and use before anything is stored, and the name and type are
    /// checked so that the recipient's mail program gets a clean header.
    ///
    /// # Errors
    /// [`EngineError::Store`] (`NotFound`) for a user not in the account;
    /// [`EngineError::Invalid`]: [`ValidationError::AttachmentsTooLarge`] over the limit,
    /// [`ValidationError::Malformed`] for an empty file, a name that is empty, too long, has control
    /// characters or a directory, or a type that is not `type/subtype` (`image/…` for an inline image).
    pub async fn upload_file(&self, user: UserId, upload: Upload) -> Result<AttachmentRef, EngineError> {
        let store = &*self.ports.store;
        actor(store, upload.account, user).await?;
        let size = upload.bytes.len() as u64;
        if size > self.upload_limit(upload.kind, upload.used_in) {
            return Err(self.upload_too_large(upload.kind, upload.used_in, size));
        }
        if size == 0 {
            return Err(malformed("file", "must not be empty"));
        }
        check_name("name", &upload.name, 255)?;
        if upload.name.contains(['/', '\\']) || upload.name.trim() == "." || upload.name.trim() == ".." {
            return Err(malformed("name", "must be a file name without directories"));
        }
        check_content_type(&upload.content_type, upload.kind)?;
        let Upload {
            account,
            name,
            content_type,
            bytes,
            kind,
            ..
        } = upload;
        let file = store
            .put_file(NewFile {
                account,
                name: name.clone(),
                content_type: content_type.clone(),
                bytes,
            })
            .await?;
        Ok(AttachmentRef::Stored {
            file,
            name,
            content_type,
            size,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_type_slash_subtype_and_inline_images_are_images() {
        assert!(check_content_type("application/pdf", FileKind::Attachment).is_ok());
        assert!(check_content_type("image/svg+xml", FileKind::InlineImage).is_ok());
        assert!(check_content_type("application/pdf", FileKind::InlineImage).is_err());
        for bad in ["pdf", "text/", "/plain", "text/plain; charset=utf-8", "text/pla\r\nin"] {
            assert!(check_content_type(bad, FileKind::Attachment).is_err(), "{bad}");
        }
    }
}
