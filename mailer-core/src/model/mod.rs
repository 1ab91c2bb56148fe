//! The domain model: every record the library keeps or passes around, serde-serialisable and scoped by
//! an [`AccountId`].

mod account;
mod address;
mod api_token;
mod crm;
mod crm_link;
mod email;
mod event;
mod file;
mod ids;
mod inbox;
mod mailbox;
mod page;
mod record;
mod suppression;
mod template;
mod time;
mod trigger;

pub use account::{Account, NewAccount, Role, Secret, User};
pub use address::{Address, DisplayName};
pub use api_token::ApiToken;
pub use crm::{
    ActionOutcome, Assignee, CrmAction, CrmUser, Entity, EntityKind, EntityRecord, EntityRef, EnumValue, FieldDef,
    FieldEntry, FieldKind, FieldValue, Pipeline, Stage,
};
pub use crm_link::{CrmLink, LinkStatus};
pub use email::{
    Claimed, Email, EmailQuery, EmailSpec, EmailStatus, Enqueued, MailboxState, Mailing, MailingStatus, Priority,
    StatusCounts,
};
pub use event::{Event, EventKind, EventQuery, NewEvent, NewTimer, Timer, TimerAction};
pub use file::{NewFile, StoredFile};
pub use ids::{
    AccountId, ApiTokenId, CrmId, CrmUserId, EmailId, EnumId, EventId, FieldId, FileId, MailboxId, MailingId,
    PipelineId, PipelineRuleId, StageId, TemplateId, TimerId, TriggerId, TriggerLinkId, UserId, WebPageId, WorkerId,
};
pub use inbox::{InboxCursor, ReactionCounts, ReactionScope};
pub use mailbox::{CapWindow, CheckStatus, Mailbox, MailboxHealth, Security, SendingLimits, ServerSettings};
pub use page::{LeadFilter, PipelineRule, StageChange, StageEvent, WebPage};
pub use record::{Record, RecordKind};
pub use suppression::Suppression;
pub use template::{AttachmentRef, Body, Content, EmailTriggers, FileKind, NotOpened, RecipientRule, Template};
#[cfg(feature = "utoipa")]
pub use time::DurationSchema;
pub use time::{Timestamp, Timezone, saturating_after, saturating_before};
#[cfg(feature = "utoipa")]
pub use trigger::DeadlineSchema;
pub use trigger::{Action, Deadline, Trigger, TriggerLink};
