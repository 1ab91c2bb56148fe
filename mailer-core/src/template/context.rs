//! What one render needs: the CRM data, the sender, the email, time, links and the mode.

use crate::model::{Address, EmailId, EntityRecord, Timestamp, Timezone};

use super::LinkBuilder;

/// Live sends record opens and clicks; a preview marks every pixel and link so that opening it records
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A real email.
    #[default]
    Live,
    /// A preview: links and the pixel carry the preview flag.
    Preview,
}

/// The mailbox owner, as `sender` in templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender<'a> {
    /// Display name.
    pub name: &'a str,
    /// Address.
    pub email: &'a str,
}

/// The email being rendered, as `email` in templates and for `{id}`, `{subject}` and `{sended_at}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmailInfo<'a> {
    /// The email's id, once queued; `{id}` renders it.
    pub id: Option<EmailId>,
    /// The subject; [`CompiledTemplate::render`](super::CompiledTemplate::render) sets it from the rendered
    /// subject, plain-text templates (trigger texts) take it from here.
    pub subject: Option<&'a str>,
    /// When it was sent; `{sended_at}` falls back to `now` while it is not sent yet.
    pub sent_at: Option<Timestamp>,
}

/// Everything one render reads. Build it with [`RenderContext::new`] and the `with_*` methods.
///
/// Template variables: `lead`, `contact` (the recipient's contact, else the first), `company`, each with
/// `id`, `name`, `emails`/`email`, `phones`/`phone`, `tags`, `price`, `pipeline_id`, `status_id`,
/// `responsible_user_id`, `cf.<field id>` and `fields["Field name"]` (several values are joined with
/// `", "`); `user` (the responsible user: `id`, `name`, `email`); `sender` (`name`, `email`); `recipient`
/// (`name`, `email`); `email` (`id`, `subject`, `sent_at`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RenderContext<'a> {
    /// The CRM entity with its lead, contacts, company and responsible user.
    pub record: &'a EntityRecord,
    /// Who this copy goes to; links are signed for this address.
    pub recipient: Option<&'a Address>,
    /// The mailbox owner.
    pub sender: Option<Sender<'a>>,
    /// The sender's signature HTML, appended to the body; `None` when the template disables it.
    pub signature: Option<&'a str>,
    /// The email.
    pub email: EmailInfo<'a>,
    /// The account's timezone, for `{date}`, `{sended_at}` and `email.sent_at`.
    pub timezone: Timezone,
    /// The current time (from the `Clock` port).
    pub now: Timestamp,
    /// Signs the pixel and links.
    pub links: &'a LinkBuilder,
    /// Live or preview.
    pub mode: Mode,
    /// Strict mode: unknown variables are an error listing them instead of rendering empty.
    pub strict: bool,
}

impl<'a> RenderContext<'a> {
    /// A live, lenient context for `record`, with no recipient, sender, signature or email yet, in UTC.
    pub fn new(record: &'a EntityRecord, links: &'a LinkBuilder, now: Timestamp) -> Self {
        Self {
            record,
            recipient: None,
            sender: None,
            signature: None,
            email: EmailInfo::default(),
            timezone: Timezone::UTC,
            now,
            links,
            mode: Mode::Live,
            strict: false,
        }
    }

    /// Sets the recipient.
    #[must_use]
    pub fn with_recipient(mut self, recipient: &'a Address) -> Self {
        self.recipient = Some(recipient);
        self
    }

    /// Sets the sender (mailbox owner).
    #[must_use]
    pub fn with_sender(mut self, name: &'a str, email: &'a str) -> Self {
        self.sender = Some(Sender { name, email });
        self
    }

    /// Sets the signature HTML (`None` when the template disables it).
    #[must_use]
    pub fn with_signature(mut self, signature: Option<&'a str>) -> Self {
        self.signature = signature;
        self
    }

    /// Sets the email's id, subject and send time.
    #[must_use]
    pub fn with_email(mut self, email: EmailInfo<'a>) -> Self {
        self.email = email;
        self
    }

    /// Sets the account's timezone.
    #[must_use]
    pub fn with_timezone(mut self, timezone: Timezone) -> Self {
        self.timezone = timezone;
        self
    }

    /// Sets live or preview mode.
    #[must_use]
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Turns strict mode on or off.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}
