//! Newtype ids. Every id is a number assigned by the [`Store`](crate::ports::Store) (our records) or by
//! the CRM (its entities, fields, users, pipelines and stages), so that one kind of id can never be
//! passed where another is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
        #[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

id_type!(
    /// One tenant: one CRM account. Every record is scoped by it.
    AccountId
);
id_type!(
    /// A user of the widget inside one account (mirrors a CRM user).
    UserId
);
id_type!(
    /// A sending mailbox (SMTP + IMAP settings) owned by a user.
    MailboxId
);
id_type!(
    /// A saved email template.
    TemplateId
);
id_type!(
    /// One email: one message to the recipients of one CRM entity.
    EmailId
);
id_type!(
    /// An API token of a user (its secret is kept only as a hash).
    ApiTokenId
);
id_type!(
    /// A mass mailing: one personalised email per selected entity.
    MailingId
);
id_type!(
    /// A trigger: a named action with an optional delay.
    TriggerId
);
id_type!(
    /// A trigger link; its number is the `N` of `{triggerlink:N}`.
    TriggerLinkId
);
id_type!(
    /// A public web page template; its number is the `N` of `{web:N}`.
    WebPageId
);
id_type!(
    /// A digital-pipeline rule: a stage event that sends a template.
    PipelineRuleId
);
id_type!(
    /// A recorded event.
    EventId
);
id_type!(
    /// A timer (not-opened timer or delayed action).
    TimerId
);
id_type!(
    /// A stored attachment file.
    FileId
);
id_type!(
    /// An id the CRM gave one of its entities (lead, contact, company).
    CrmId
);
id_type!(
    /// A CRM custom field id, as in `lead.cf.657261` or `lead[657261]`.
    FieldId
);
id_type!(
    /// A CRM user id (the responsible user of an entity, the assignee of a task).
    CrmUserId
);
id_type!(
    /// A CRM pipeline id.
    PipelineId
);
id_type!(
    /// A CRM pipeline stage (status) id.
    StageId
);
id_type!(
    /// A CRM enum value id of a list or multilist field.
    EnumId
);

/// Names one worker process or task that claims emails with a lease.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct WorkerId(pub String);

impl WorkerId {
    /// Makes a worker id from any name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
