//! Web pages as a [`Resource`](super::Resource).

use async_trait::async_trait;
use mailer_core::engine::{Engine, EngineError};
use mailer_core::model::{WebPage, WebPageId};

use super::{Caller, Resource};

/// Web pages: an account setting every user reads and only an admin edits.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebPages;

#[async_trait]
impl Resource for WebPages {
    type Record = WebPage;
    type Item = WebPage;
    const PATH: &'static str = "pages";
    const NOUN: &'static str = "web page";

    fn id(item: &WebPage) -> i64 {
        item.id.0
    }

    async fn list(engine: &Engine, caller: &Caller) -> Result<Vec<WebPage>, EngineError> {
        engine.web_pages(caller.account, caller.user).await
    }

    async fn save(engine: &Engine, caller: &Caller, record: WebPage) -> Result<WebPage, EngineError> {
        engine.save_web_page(caller.user, record).await
    }

    async fn delete(engine: &Engine, caller: &Caller, id: i64) -> Result<(), EngineError> {
        engine.delete_web_page(caller.account, caller.user, WebPageId(id)).await
    }
}
