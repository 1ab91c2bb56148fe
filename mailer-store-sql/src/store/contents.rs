//! Reading emails whose content is kept once (SQLite, `migrations/sqlite/0008_email_contents.sql`; written
//! by `content_writes.rs`): the spec holds an empty content and the row the content's id, and the content
//! is put back from a cache of parsed contents (a content never changes once stored) or from the table.
//! PostgreSQL keeps each spec whole, its content included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mailer_core::model::{Content, Email};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{SqlStore, Tx};
use crate::config::Dialect;
use crate::error::Error;
use crate::rows;

const GET: &str = include_str!("../../queries/sqlite/email_content_get.sql");

/// Parsed contents kept at most: a few mailings' worth; the cache is emptied when full.
const CACHED: usize = 256;

/// Parsed contents by id.
#[derive(Debug, Default)]
pub(super) struct ContentCache(Mutex<HashMap<i64, Arc<Content>>>);

impl ContentCache {
    fn get(&self, id: i64) -> Option<Arc<Content>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&id).cloned()
    }

    fn keep(&self, id: i64, content: Arc<Content>) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(id, content);
    }
}

impl SqlStore {
    /// The emails of `rows`, each read as [`SqlStore::email`] reads one.
    pub(super) async fn emails(
        &self,
        rows: &[AnyRow],
        at: usize,
        mut tx: Option<&mut Tx>,
    ) -> Result<Vec<Email>, Error> {
        let mut emails = Vec::with_capacity(rows.len());
        for row in rows {
            emails.push(self.email(row, at, tx.as_deref_mut()).await?);
        }
        Ok(emails)
    }

    /// The email of `row`, read from the columns at `at` (`rows::email`); on SQLite the column after the
    /// spec holds the content's id, and the content is put back (read in `tx` when the row comes from one).
    pub(super) async fn email(&self, row: &AnyRow, at: usize, tx: Option<&mut Tx>) -> Result<Email, Error> {
        let mut email = rows::email(row, at)?;
        if self.dialect == Dialect::Sqlite
            && let Some(id) = row.try_get::<Option<i64>, _>(at + 7)?
        {
            email.spec.content = Content::clone(&*self.content(id, tx).await?);
        }
        Ok(email)
    }

    /// The content `id`, from the cache or the table.
    async fn content(&self, id: i64, tx: Option<&mut Tx>) -> Result<Arc<Content>, Error> {
        if let Some(content) = self.contents.get(id) {
            return Ok(content);
        }
        let query = sqlx::query_scalar::<_, String>(GET).bind(id);
        let text = match tx {
            Some(tx) => query.fetch_optional(&mut **tx).await?,
            None => query.fetch_optional(&self.pool).await?,
        }
        .ok_or_else(|| Error::corrupt(format!("email content {id} is missing")))?;
        let content = Arc::new(serde_json::from_str::<Content>(&text)?);
        self.contents.keep(id, Arc::clone(&content));
        Ok(content)
    }
}
