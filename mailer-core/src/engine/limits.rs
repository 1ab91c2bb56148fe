//! Size limits checked before anything is queued.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::model::{AttachmentRef, FileKind};

const MB: u64 = 1024 * 1024;

/// The widget's size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SizeLimits {
    /// The body (HTML and text) of one email: 8 MB.
    pub body: u64,
    /// Files attached by hand while writing an email, together: 100 MB.
    pub manual_attachments: u64,
    /// Files attached to a template, together: 50 MB.
    pub template_attachments: u64,
    /// One inline image: 5 MB.
    pub image: u64,
    /// Every file of one email, link attachments fetched at send time included: 100 MB.
    pub total: u64,
    /// Recipients of one email, To, Cc and Bcc together (the entity's contacts included): 50. More is
    /// what bulk mail looks like to receivers and many servers refuse it (Gmail, Yandex: 100 RCPT TO per
    /// message at most); a mailing sends one email per entity instead.
    #[serde(default = "default_recipients")]
    pub recipients: u32,
}

/// What an uploaded file is for; with its [`FileKind`] it decides how large one file may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileUse {
    /// Attached to a template (the template's files together: 50 MB).
    Template,
    /// Attached by hand while writing an email (together: 100 MB).
    Email,
}

/// The default recipient cap per email.
pub const MAX_RECIPIENTS: u32 = 50;

fn default_recipients() -> u32 {
    MAX_RECIPIENTS
}

impl Default for SizeLimits {
    fn default() -> Self {
        Self {
            body: 8 * MB,
            manual_attachments: 100 * MB,
            template_attachments: 50 * MB,
            image: 5 * MB,
            total: 100 * MB,
            recipients: MAX_RECIPIENTS,
        }
    }
}

impl SizeLimits {
    /// Checks a body's size.
    ///
    /// # Errors
    /// [`ValidationError::BodyTooLarge`].
    pub fn check_body(&self, bytes: usize) -> Result<(), ValidationError> {
        let actual = bytes as u64;
        if actual > self.body {
            return Err(ValidationError::BodyTooLarge {
                limit: self.body,
                actual,
            });
        }
        Ok(())
    }

    /// Checks the number of recipients of one email (To, Cc and Bcc together).
    ///
    /// # Errors
    /// [`ValidationError::TooManyRecipients`].
    pub fn check_recipients(&self, count: usize) -> Result<(), ValidationError> {
        let actual = count as u64;
        if actual > u64::from(self.recipients) {
            return Err(ValidationError::TooManyRecipients {
                limit: self.recipients,
                actual,
            });
        }
        Ok(())
    }

    /// The most bytes one file of `kind` may have in `used_in`: an inline image the image limit, any
    /// other file the limit of all files of a template or an email together.
    pub fn file_limit(&self, kind: FileKind, used_in: FileUse) -> u64 {
        let together = match used_in {
            FileUse::Template => self.template_attachments,
            FileUse::Email => self.manual_attachments,
        };
        match kind {
            FileKind::InlineImage => self.image.min(together),
            FileKind::Attachment => together,
        }
    }

    /// Checks stored attachments against `limit` together, and each inline image against the image limit.
    ///
    /// # Errors
    /// [`ValidationError::AttachmentsTooLarge`].
    pub fn check_files(&self, files: &[AttachmentRef], limit: u64) -> Result<u64, ValidationError> {
        let mut sum = 0u64;
        for file in files {
            if let AttachmentRef::Stored { size, kind, .. } = file {
                if *kind == FileKind::InlineImage && *size > self.image {
                    return Err(ValidationError::AttachmentsTooLarge {
                        limit: self.image,
                        actual: *size,
                    });
                }
                sum = sum.saturating_add(*size);
            }
        }
        if sum > limit {
            return Err(ValidationError::AttachmentsTooLarge { limit, actual: sum });
        }
        Ok(sum)
    }
}
