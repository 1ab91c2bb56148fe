//! CRM links: one row per account, the tokens sealed inside the JSON body.

use mailer_core::model::{AccountId, CrmLink, LinkStatus, Secret, Timestamp};
use mailer_core::ports::StoreError;
use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::SqlStore;
use crate::error::Error;
use crate::time::{from_us, us};

/// The stored body: everything but the account, the CRM id and the version.
#[derive(Serialize, Deserialize)]
struct Body {
    domain: String,
    status: LinkStatus,
    detail: Option<String>,
    /// Sealed.
    tokens: Option<String>,
    updated_at: i64,
}

fn aad(account: AccountId) -> String {
    format!("crm_link:{account}:tokens")
}

impl SqlStore {
    fn link_body(&self, link: &CrmLink) -> Result<String, Error> {
        let tokens = link
            .tokens
            .as_ref()
            .map(|t| self.cipher.seal(t.expose(), &aad(link.account)))
            .transpose()?;
        Ok(serde_json::to_string(&Body {
            domain: link.domain.clone(),
            status: link.status,
            detail: link.detail.clone(),
            tokens,
            updated_at: us(link.updated_at),
        })?)
    }

    fn link_row(&self, row: &AnyRow) -> Result<CrmLink, Error> {
        let account = AccountId(row.try_get(0)?);
        let version: i64 = row.try_get(1)?;
        let text: String = row.try_get(2)?;
        let body: Body = serde_json::from_str(&text)?;
        let tokens = body
            .tokens
            .map(|sealed| self.cipher.open(&sealed, &aad(account)).map(Secret::new))
            .transpose()?;
        Ok(CrmLink {
            account,
            external_id: row.try_get(3)?,
            domain: body.domain,
            status: body.status,
            detail: body.detail,
            tokens,
            version,
            updated_at: from_us(body.updated_at)?,
        })
    }

    async fn links(&self, sql: &'static str, key: Option<i64>) -> Result<Vec<CrmLink>, Error> {
        let mut query = sqlx::query(sql);
        if let Some(key) = key {
            query = query.bind(key);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.link_row(row)?);
        }
        Ok(out)
    }

    pub(super) async fn put_crm_link_(&self, mut link: CrmLink) -> Result<CrmLink, Error> {
        let exists: i64 = sqlx::query_scalar(self.q.account_exists)
            .bind(link.account.0)
            .fetch_one(&self.pool)
            .await?;
        if exists == 0 {
            return Err(StoreError::not_found("account", link.account).into());
        }
        let body = self.link_body(&link)?;
        let version: i64 = sqlx::query_scalar(self.q.crm_link_upsert)
            .bind(link.account.0)
            .bind(link.external_id)
            .bind(body)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                    what: "crm link",
                    detail: format!("CRM account {} is linked to another account", link.external_id),
                }
                .into(),
                _ => Error::from(e),
            })?;
        link.version = version;
        Ok(link)
    }

    pub(super) async fn crm_link_(&self, account: AccountId) -> Result<Option<CrmLink>, Error> {
        Ok(self.links(self.q.crm_link_get, Some(account.0)).await?.pop())
    }

    pub(super) async fn crm_link_by_external_(&self, external_id: i64) -> Result<Option<CrmLink>, Error> {
        Ok(self.links(self.q.crm_link_by_external, Some(external_id)).await?.pop())
    }

    pub(super) async fn list_crm_links_(&self) -> Result<Vec<CrmLink>, Error> {
        self.links(self.q.crm_link_list, None).await
    }

    pub(super) async fn swap_crm_tokens_(
        &self,
        account: AccountId,
        expected: i64,
        tokens: Option<Secret>,
        at: Timestamp,
    ) -> Result<Option<i64>, Error> {
        let Some(mut link) = self.crm_link_(account).await? else {
            return Ok(None);
        };
        if link.version != expected {
            return Ok(None);
        }
        link.tokens = tokens;
        link.updated_at = at;
        let body = self.link_body(&link)?;
        let done = sqlx::query(self.q.crm_link_swap)
            .bind(account.0)
            .bind(expected)
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok((done.rows_affected() == 1).then_some(expected + 1))
    }
}
