//! Templates, their content, attachments and triggers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AccountId, Address, FileId, TemplateId, TriggerId, UserId};

/// The source of an email body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "format", content = "source", rename_all = "snake_case")]
pub enum Body {
    /// HTML, as written in the visual editor or pasted as code.
    Html(String),
    /// Markdown, turned into HTML when the template is compiled.
    Markdown(String),
}

impl Body {
    /// The source text, whatever its format.
    pub fn source(&self) -> &str {
        match self {
            Self::Html(s) | Self::Markdown(s) => s,
        }
    }
}

/// Subject, body and optional text part: the parts a template engine renders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Content {
    /// Subject template.
    pub subject: String,
    /// Body template.
    pub body: Body,
    /// Own text/plain part; derived from the HTML when `None`.
    pub text: Option<String>,
}

/// Where an email made from a template goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecipientRule {
    /// Every contact of the entity that has an email address (the widget's default).
    EntityContacts,
    /// A fixed address instead of the client.
    Fixed {
        /// The address.
        address: Address,
    },
}

/// What kind of file an attachment is; it decides its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A regular attachment.
    Attachment,
    /// An image embedded in the body (5 MB at most).
    InlineImage,
}

/// An attachment of a template or an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum AttachmentRef {
    /// A file kept in the store.
    Stored {
        /// The stored file.
        file: FileId,
        /// File name shown to the recipient.
        name: String,
        /// MIME type.
        content_type: String,
        /// Size in bytes.
        size: u64,
        /// Attachment or inline image.
        kind: FileKind,
    },
    /// A file downloaded at send time from a URL, which is itself a template (a CRM field may hold it).
    Link {
        /// URL template, e.g. `{{ lead.fields["Offer PDF"] }}`.
        url: String,
        /// File name; taken from the response or the URL when `None`.
        name: Option<String>,
    },
}

/// A not-opened timer: triggers that run when the email is not opened in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NotOpened {
    /// How long to wait for an open (1 minute at least).
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::model::DurationSchema))]
    pub after: Duration,
    /// Triggers to run when the time is up.
    pub triggers: Vec<TriggerId>,
}

/// The triggers an email runs on its events, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EmailTriggers {
    /// After the email was sent.
    pub on_sent: Vec<TriggerId>,
    /// Once, on the first open.
    pub on_opened: Vec<TriggerId>,
    /// When it was not opened in time.
    pub not_opened: Option<NotOpened>,
    /// When sending was given up (also when a hard bounce came back later).
    pub on_failed: Vec<TriggerId>,
    /// When a person replied (never for an auto-reply).
    #[serde(default)]
    pub on_replied: Vec<TriggerId>,
}

impl EmailTriggers {
    /// True when no event runs anything.
    pub fn is_empty(&self) -> bool {
        self.on_sent.is_empty()
            && self.on_opened.is_empty()
            && self.not_opened.is_none()
            && self.on_failed.is_empty()
            && self.on_replied.is_empty()
    }
}

/// A saved email template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Template {
    /// Our id of the template.
    pub id: TemplateId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Template name, shown in lists and in loop errors.
    pub name: String,
    /// Where the email goes.
    pub recipients: RecipientRule,
    /// Subject, body and text part.
    pub content: Content,
    /// Files and link attachments added every time.
    pub attachments: Vec<AttachmentRef>,
    /// Triggers for sent, opened, not opened and failed.
    pub triggers: EmailTriggers,
    /// The owning user.
    pub owner: UserId,
    /// Public templates are seen and used by every user of the account.
    pub public: bool,
    /// Leaves the sender's signature out.
    pub signature_disabled: bool,
}
