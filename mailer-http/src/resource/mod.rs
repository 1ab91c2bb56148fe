//! One generic CRUD resource over the engine's use cases: a kind of record an operator lists, reads,
//! creates, replaces and deletes (templates, triggers, trigger links, web pages, pipeline rules, mailboxes).
//!
//! A [`Resource`] names the engine calls behind those five operations and nothing else: no HTTP, no
//! rendering. The admin API builds its routes and their OpenAPI entries from it once, generically
//! (`api::crud`), and the operator UI can call the same five methods from its screens, so every host
//! reaches a record through the engine's checks (rights, validation, the loop check) and the same calls.
//!
//! # Example
//! ```
//! use mailer_http::resource::{Caller, Resource, Triggers};
//!
//! # mailer_core::testkit::block_on(async {
//! let harness = mailer_core::testkit::Harness::new().await;
//! let caller = Caller { account: harness.account.id, user: harness.admin.id };
//! let all = Triggers::list(&harness.engine, &caller).await?;
//! assert!(all.iter().all(|t| t.account == caller.account));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod links;
mod mailboxes;
mod pages;
mod rules;
mod templates;
mod triggers;

use async_trait::async_trait;
use mailer_core::engine::{Engine, EngineError};
use mailer_core::model::{AccountId, UserId};
use mailer_core::ports::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use links::TriggerLinks;
pub use mailboxes::Mailboxes;
pub use pages::WebPages;
pub use rules::PipelineRules;
pub use templates::Templates;
pub use triggers::Triggers;

/// Who acts: the account every call stays inside and the user whose rights apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The account; another account's ids are not found.
    pub account: AccountId,
    /// The acting user.
    pub user: UserId,
}

/// A kind of record edited through the engine: list, get, save (create when the id is 0, else replace)
/// and delete, each one engine use case.
///
/// # Contract
/// - Every method calls the engine (never the store) as `caller`, so the engine's rights apply: a member
///   may be refused ([`EngineError::Forbidden`]) and another account's id is not found
///   ([`StoreError::NotFound`] inside [`EngineError::Store`]).
/// - [`Resource::save`] takes a record whose `id` (0 for a new one) and `account` the host set from the
///   path and the caller, never from the user's input.
/// - [`Resource::defaults`] are the values of fields an input may leave out.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// What [`Resource::save`] takes: the core record.
    type Record: DeserializeOwned + Send + 'static;
    /// What the engine answers for one record: the record itself, or a view of it (a mailbox without its
    /// password).
    type Item: Serialize + Send + 'static;
    /// The collection's path segment (`triggers`), also its OpenAPI tag.
    const PATH: &'static str;
    /// One record in words (`trigger`), for documentation and messages.
    const NOUN: &'static str;

    /// The values of the fields an input may leave out, for this caller.
    fn defaults(caller: &Caller) -> Vec<(&'static str, Value)> {
        let _ = caller;
        Vec::new()
    }

    /// The id of an item.
    fn id(item: &Self::Item) -> i64;

    /// Every item the caller may see, in any order.
    async fn list(engine: &Engine, caller: &Caller) -> Result<Vec<Self::Item>, EngineError>;

    /// One item; an unknown id, or one the caller may not see, is [`StoreError::NotFound`].
    async fn get(engine: &Engine, caller: &Caller, id: i64) -> Result<Self::Item, EngineError> {
        Self::list(engine, caller)
            .await?
            .into_iter()
            .find(|item| Self::id(item) == id)
            .ok_or_else(|| {
                StoreError::NotFound {
                    what: Self::NOUN,
                    id: id.to_string(),
                }
                .into()
            })
    }

    /// Creates (`id` 0) or replaces the record, answering what was stored.
    async fn save(engine: &Engine, caller: &Caller, record: Self::Record) -> Result<Self::Item, EngineError>;

    /// Deletes the record (the engine refuses while something refers to it).
    async fn delete(engine: &Engine, caller: &Caller, id: i64) -> Result<(), EngineError>;
}
