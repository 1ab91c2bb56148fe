//! Users and pipelines.

use mailer_core::model::{CrmUser, CrmUserId, Pipeline, PipelineId, Stage, StageId};
use serde::Deserialize;

use crate::client::{Call, KommoClient};
use crate::error::KommoError;

#[derive(Debug, Deserialize)]
struct RawUser {
    id: i64,
    name: String,
    #[serde(default)]
    email: Option<String>,
}

/// One user, or `None` when Kommo has no such user.
pub(crate) async fn user(client: &KommoClient, id: CrmUserId) -> Result<Option<CrmUser>, KommoError> {
    let Some(body) = client.call(&Call::get(format!("/api/v4/users/{id}"))).await? else {
        return Ok(None);
    };
    let raw: RawUser = serde_json::from_value(body).map_err(|e| KommoError::Decode(format!("user: {e}")))?;
    Ok(Some(CrmUser {
        id: CrmUserId(raw.id),
        name: raw.name,
        email: raw.email.filter(|e| !e.is_empty()),
    }))
}

#[derive(Debug, Deserialize)]
struct RawPipeline {
    id: i64,
    name: String,
    #[serde(default)]
    sort: i64,
    #[serde(rename = "_embedded", default)]
    embedded: Option<RawPipelineEmbedded>,
}

#[derive(Debug, Deserialize)]
struct RawPipelineEmbedded {
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

#[derive(Debug, Deserialize)]
struct RawStatus {
    id: i64,
    name: String,
    #[serde(default)]
    sort: i64,
}

/// Every pipeline with its stages, both in Kommo's sort order.
pub(crate) async fn pipelines(client: &KommoClient) -> Result<Vec<Pipeline>, KommoError> {
    let Some(body) = client.call(&Call::get("/api/v4/leads/pipelines")).await? else {
        return Ok(Vec::new());
    };
    let raw: Vec<RawPipeline> = body
        .pointer("/_embedded/pipelines")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| KommoError::Decode(format!("pipelines: {e}")))?
        .unwrap_or_default();
    let mut raw = raw;
    raw.sort_by_key(|p| (p.sort, p.id));
    Ok(raw
        .into_iter()
        .map(|p| {
            let mut statuses = p.embedded.map(|e| e.statuses).unwrap_or_default();
            statuses.sort_by_key(|s| (s.sort, s.id));
            Pipeline {
                id: PipelineId(p.id),
                name: p.name,
                stages: statuses
                    .into_iter()
                    .map(|s| Stage {
                        id: StageId(s.id),
                        name: s.name,
                    })
                    .collect(),
            }
        })
        .collect())
}

/// Who an account is, as `/api/v4/account` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// Kommo's account id.
    pub id: i64,
    /// The account's subdomain.
    pub subdomain: String,
    /// Its timezone name (IANA), `UTC` when Kommo does not say.
    pub timezone: String,
}

impl KommoClient {
    /// Reads who the account is (`GET /api/v4/account?with=datetime_settings`); the install uses it to
    /// learn which account a fresh token pair belongs to.
    ///
    /// # Errors
    /// [`KommoError::Decode`] for an answer without an id, others as they come.
    pub async fn account_info(&self) -> Result<AccountInfo, KommoError> {
        let body = self
            .call(&Call::get("/api/v4/account").query("with", "datetime_settings"))
            .await?
            .ok_or_else(|| KommoError::Decode("empty account answer".into()))?;
        let id = body
            .get("id")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| KommoError::Decode("account answer without an id".into()))?;
        let text = |pointer: &str| {
            body.pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Ok(AccountInfo {
            id,
            subdomain: text("/subdomain").unwrap_or_default(),
            timezone: text("/_embedded/datetime_settings/timezone").unwrap_or_else(|| "UTC".into()),
        })
    }
}
