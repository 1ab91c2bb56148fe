//! Admin use cases: every record a host can write goes through one of these, which checks the user's
//! rights ([`rights`](super::rights)), validates the record (bounds in [`bounds`]), refuses a reference to
//! a record the account does not have ([`EngineError::UnknownReference`], naming the field), runs the loop
//! check ([`loops::check`](crate::loops::check)) on every save that can change the template → trigger →
//! template graph, and only then stores it. Deleting a record that others use is refused with the list of
//! its referrers ([`EngineError::InUse`]).
//!
//! One file per record kind: mailboxes (the password is never read back: [`MailboxView`]),
//! users, templates, uploaded files, triggers, trigger links, web pages, pipeline rules; `references.rs` holds who refers
//! to whom.

mod accounts;
pub mod bounds;
mod files;
mod links;
mod mailboxes;
mod pages;
mod references;
mod rules;
mod templates;
pub mod tokens;
mod triggers;
mod users;

pub use files::Upload;
pub use mailboxes::MailboxView;

use crate::loops::Automation;
use crate::model::{AccountId, Mailbox, PipelineRule, Template, Trigger, TriggerLink, User, UserId, WebPage};
use crate::ports::{DynStore, StoreExt};
use crate::template::CompileOptions;

use super::EngineError;

/// Everything an account has configured, read once per save so that references and loops are checked
/// against one picture.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    pub(crate) users: Vec<User>,
    pub(crate) mailboxes: Vec<Mailbox>,
    pub(crate) templates: Vec<Template>,
    pub(crate) triggers: Vec<Trigger>,
    pub(crate) links: Vec<TriggerLink>,
    pub(crate) pages: Vec<WebPage>,
    pub(crate) rules: Vec<PipelineRule>,
}

impl Config {
    pub(crate) async fn load(store: &DynStore, account: AccountId) -> Result<Self, EngineError> {
        Ok(Self {
            users: store.list(account).await?,
            mailboxes: store.list(account).await?,
            templates: store.list(account).await?,
            triggers: store.list(account).await?,
            links: store.list(account).await?,
            pages: store.list(account).await?,
            rules: store.list(account).await?,
        })
    }

    /// The automation graph's input.
    pub(crate) fn automation(&self) -> Automation<'_> {
        Automation {
            templates: &self.templates,
            triggers: &self.triggers,
            links: &self.links,
            pages: &self.pages,
            rules: &self.rules,
        }
    }

    /// What a content may name: the account's trigger links and web pages.
    pub(crate) fn compile_options(&self) -> CompileOptions {
        CompileOptions::new(self.links.iter().map(|l| l.id), self.pages.iter().map(|p| p.id))
    }

    /// Refuses the configuration when it has a loop that runs without the recipient.
    pub(crate) fn check_loops(&self) -> Result<(), EngineError> {
        crate::loops::check(&self.automation())?;
        Ok(())
    }
}

/// Replaces the record with `id` in `list`, or adds it.
pub(crate) fn put<T: crate::model::Record>(list: &mut Vec<T>, record: T) {
    match list.iter_mut().find(|r| r.raw_id() == record.raw_id()) {
        Some(slot) => *slot = record,
        None => list.push(record),
    }
}

/// The acting user, who must exist in `account`.
pub(crate) async fn actor(store: &DynStore, account: AccountId, user: UserId) -> Result<User, EngineError> {
    Ok(store.get(account, user).await?)
}

/// Inserts a new record (id 0) or replaces an existing one.
pub(crate) async fn store_record<T: crate::model::Record>(store: &DynStore, record: T) -> Result<T, EngineError> {
    if record.raw_id() == 0 {
        Ok(store.insert(record).await?)
    } else {
        store.update(&record).await?;
        Ok(record)
    }
}

/// Refuses a deletion when `referrers` is not empty.
pub(crate) fn refuse_in_use(referrers: Vec<String>) -> Result<(), EngineError> {
    if referrers.is_empty() {
        Ok(())
    } else {
        Err(EngineError::InUse { referrers })
    }
}

/// A text field that must not be empty or carry control characters.
pub(crate) fn check_name(field: &'static str, value: &str, max: usize) -> Result<(), EngineError> {
    let reason = if value.trim().is_empty() {
        "must not be empty".to_owned()
    } else if value.chars().count() > max {
        format!("must be {max} characters at most")
    } else if value.chars().any(char::is_control) {
        "must not contain control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(crate::error::ValidationError::Malformed { field, reason }.into())
}
