//! Web pages: save, list, delete. An account setting: every user uses one, an admin edits it.

use std::collections::BTreeSet;

use crate::error::ValidationError;
use crate::model::{AccountId, UserId, WebPage, WebPageId};
use crate::ports::StoreExt;
use crate::template::CompiledTemplate;

use super::references::Target;
use super::{Config, actor, bounds, check_name, put, refuse_in_use, store_record};
use crate::engine::{Engine, EngineError, rights};

fn malformed(field: &'static str, reason: &str) -> EngineError {
    ValidationError::Malformed {
        field,
        reason: reason.into(),
    }
    .into()
}

fn is_word(s: &str, max: usize, extra: &[u8]) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Checks the fields that end up in URLs and in the page's own code: slug, subdomain, counter and GTM ids
/// (digits, and `GTM-` with capitals and digits, so nothing can be injected through them).
fn check_fields(page: &WebPage) -> Result<(), EngineError> {
    check_name("header", &page.header, 200)?;
    if !is_word(&page.slug, 64, b"-_") {
        return Err(malformed("slug", "1 to 64 letters, digits, '-' or '_'"));
    }
    if let Some(sub) = &page.subdomain
        && (!is_word(sub, 63, b"-")
            || sub.starts_with('-')
            || sub.ends_with('-')
            || sub.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(malformed(
            "subdomain",
            "one DNS label: 1 to 63 lowercase letters, digits or inner '-'",
        ));
    }
    if let Some(counter) = &page.metric_counter
        && !(counter.len() <= 12 && !counter.is_empty() && counter.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(malformed("metric_counter", "1 to 12 digits"));
    }
    if let Some(gtm) = &page.gtm_id {
        let ok = gtm
            .strip_prefix("GTM-")
            .is_some_and(|rest| is_word(rest, 12, b"") && !rest.bytes().any(|b| b.is_ascii_lowercase()));
        if !ok {
            return Err(malformed("gtm_id", "GTM- and 1 to 12 capital letters or digits"));
        }
    }
    Ok(())
}

impl Engine {
    /// Saves a web page (new when its id is 0), as an admin: checks its header, slug, subdomain (at most
    /// three per account), counter and GTM ids, bounds its lifetime and cache, compiles its content against
    /// the account's links and pages, checks that its on-open triggers exist, and refuses it when it would
    /// close an automation loop that runs without the recipient.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Invalid`], [`EngineError::Template`],
    /// [`EngineError::UnknownReference`] (`on_open[i]`), [`EngineError::Loop`], [`EngineError::Store`].
    pub async fn save_web_page(&self, user: UserId, page: WebPage) -> Result<WebPage, EngineError> {
        let store = &*self.ports.store;
        let account = page.account;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "web pages")?;
        if page.id.0 != 0 {
            store.get::<WebPage>(account, page.id).await?;
        }
        check_fields(&page)?;
        bounds::check_page(&page)?;
        let mut config = Config::load(store, account).await?;
        CompiledTemplate::compile(&page.content, &config.compile_options())?;
        config.check_trigger_ids("on_open", &page.on_open)?;
        put(&mut config.pages, page.clone());
        let subdomains: BTreeSet<&str> = config.pages.iter().filter_map(|p| p.subdomain.as_deref()).collect();
        if subdomains.len() > bounds::MAX_SUBDOMAINS {
            return Err(ValidationError::OutOfRange {
                what: "subdomains",
                detail: format!(
                    "{} different subdomains; {} at most per account",
                    subdomains.len(),
                    bounds::MAX_SUBDOMAINS
                ),
            }
            .into());
        }
        config.check_loops()?;
        store_record(store, page).await
    }

    /// The account's web pages, for any of its users.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn web_pages(&self, account: AccountId, user: UserId) -> Result<Vec<WebPage>, EngineError> {
        actor(&*self.ports.store, account, user).await?;
        Ok(self.ports.store.list(account).await?)
    }

    /// Deletes a web page, as an admin, unless a template, trigger or other page names it.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::InUse`]; [`EngineError::Store`].
    pub async fn delete_web_page(&self, account: AccountId, user: UserId, id: WebPageId) -> Result<(), EngineError> {
        let store = &*self.ports.store;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "web pages")?;
        store.get::<WebPage>(account, id).await?;
        let config = Config::load(store, account).await?;
        refuse_in_use(config.referrers(Target::Page(id)))?;
        Ok(store.delete::<WebPage>(account, id).await?)
    }
}
