//! Reading every page of a list: `page` from 1, stopping on a short page or a 204 (never trusting
//! `_links.next`, which Kommo sends on the last page too).

use serde_json::Value;

use super::{Call, KommoClient};
use crate::error::KommoError;

/// Kommo's largest page.
pub(crate) const MAX_PAGE: usize = 250;

/// A guard against a server that never stops.
const MAX_PAGES: usize = 10_000;

/// Every item of `_embedded.{key}` over all pages of `call`, `limit` items per page.
pub(crate) async fn pages(client: &KommoClient, call: Call, key: &str, limit: usize) -> Result<Vec<Value>, KommoError> {
    let mut items = Vec::new();
    for page in 1..=MAX_PAGES {
        let request = call.clone().query("page", page).query("limit", limit);
        let Some(body) = client.call(&request).await? else {
            break;
        };
        let batch = match body.pointer(&format!("/_embedded/{key}")) {
            Some(Value::Array(batch)) => batch.clone(),
            Some(_) | None => return Err(KommoError::Decode(format!("no _embedded.{key} in a list page"))),
        };
        let short = batch.len() < limit;
        items.extend(batch);
        if short {
            break;
        }
    }
    Ok(items)
}
