//! The configuration records kept with one generic CRUD in the [`Store`](crate::ports::Store).

use std::fmt;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{AccountId, ApiToken, Mailbox, Mailing, PipelineRule, Template, Trigger, TriggerLink, User, WebPage};

/// The kinds of record the store keeps by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// [`User`].
    User,
    /// [`Mailbox`].
    Mailbox,
    /// [`Template`].
    Template,
    /// [`Trigger`].
    Trigger,
    /// [`TriggerLink`].
    TriggerLink,
    /// [`WebPage`].
    WebPage,
    /// [`PipelineRule`].
    PipelineRule,
    /// [`Mailing`].
    Mailing,
    /// [`ApiToken`].
    ApiToken,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [Self; 9] = [
        Self::User,
        Self::Mailbox,
        Self::Template,
        Self::Trigger,
        Self::TriggerLink,
        Self::WebPage,
        Self::PipelineRule,
        Self::Mailing,
        Self::ApiToken,
    ];

    /// A stable lowercase name, used as a column value by SQL stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Mailbox => "mailbox",
            Self::Template => "template",
            Self::Trigger => "trigger",
            Self::TriggerLink => "trigger_link",
            Self::WebPage => "web_page",
            Self::PipelineRule => "pipeline_rule",
            Self::Mailing => "mailing",
            Self::ApiToken => "api_token",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record kept by the generic CRUD. Its JSON form has top-level `id` and `account` fields.
pub trait Record: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static {
    /// Which kind it is.
    const KIND: RecordKind;
    /// Its id as a number.
    fn raw_id(&self) -> i64;
    /// Sets its id (the store assigns ids on insert).
    fn set_raw_id(&mut self, id: i64);
    /// The account it belongs to.
    fn account(&self) -> AccountId;
}

macro_rules! record {
    ($ty:ident, $kind:ident) => {
        impl Record for $ty {
            const KIND: RecordKind = RecordKind::$kind;
            fn raw_id(&self) -> i64 {
                self.id.0
            }
            fn set_raw_id(&mut self, id: i64) {
                self.id.0 = id;
            }
            fn account(&self) -> AccountId {
                self.account
            }
        }
    };
}

record!(User, User);
record!(Mailbox, Mailbox);
record!(Template, Template);
record!(Trigger, Trigger);
record!(TriggerLink, TriggerLink);
record!(WebPage, WebPage);
record!(PipelineRule, PipelineRule);
record!(Mailing, Mailing);
record!(ApiToken, ApiToken);
