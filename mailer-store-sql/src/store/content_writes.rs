//! Emails' contents kept once (SQLite, `migrations/sqlite/0008_email_contents.sql`): at enqueue each
//! distinct content of an account goes to `email_contents` (found again by the SHA-256 of its JSON), and
//! each spec keeps an empty content and the content's id. Read back by `contents.rs`.

use std::collections::{BTreeMap, HashMap};

use mailer_core::model::{Body, Content, EmailSpec};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Row};

use super::{SqlStore, Tx};
use crate::error::Error;
use crate::queries::multi_row;

const INSERT: &str = include_str!("../../queries/sqlite/email_content_insert.sql");
const IDS: &str = include_str!("../../queries/sqlite/email_content_ids.sql");

/// What a spec keeps of its content once the content is stored on its own.
fn empty() -> Content {
    Content {
        subject: String::new(),
        body: Body::Html(String::new()),
        text: None,
    }
}

impl SqlStore {
    /// Stores the distinct contents of `specs` (SQLite) and takes them out of the specs, leaving an empty
    /// content; answers each spec's content id, in order.
    pub(super) async fn store_contents(&self, tx: &mut Tx, specs: &mut [EmailSpec]) -> Result<Vec<i64>, Error> {
        // By account, each content's JSON by its digest.
        let mut distinct: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
        let mut keys = Vec::with_capacity(specs.len());
        // The last content seen, with its account: a batch is usually one content many times, encoded and
        // hashed once. The account is part of it, since each account keeps its own row.
        let mut last: Option<(i64, &Content, String)> = None;
        for spec in specs.iter() {
            let digest = match &last {
                Some((account, content, digest)) if *account == spec.account.0 && *content == &spec.content => {
                    digest.clone()
                }
                _ => {
                    let text = serde_json::to_string(&spec.content)?;
                    let digest = format!("{:x}", Sha256::digest(text.as_bytes()));
                    distinct.entry(spec.account.0).or_default().insert(digest.clone(), text);
                    last = Some((spec.account.0, &spec.content, digest.clone()));
                    digest
                }
            };
            keys.push((spec.account.0, digest));
        }
        let mut ids: HashMap<(i64, String), i64> = HashMap::new();
        for (account, contents) in distinct {
            for chunk in contents.iter().collect::<Vec<_>>().chunks(super::queue::BATCH) {
                let mut insert = sqlx::query(AssertSqlSafe(multi_row(INSERT, chunk.len(), true)?));
                for (digest, text) in chunk {
                    insert = insert.bind(account).bind((*digest).clone()).bind((*text).clone());
                }
                insert.execute(&mut **tx).await?;
                let digests: Vec<&String> = chunk.iter().map(|(digest, _)| *digest).collect();
                let rows = sqlx::query(IDS)
                    .bind(account)
                    .bind(json!(digests).to_string())
                    .fetch_all(&mut **tx)
                    .await?;
                for row in rows {
                    ids.insert((account, row.try_get(1)?), row.try_get(0)?);
                }
            }
        }
        for spec in specs.iter_mut() {
            spec.content = empty();
        }
        keys.into_iter()
            .map(|key| {
                ids.get(&key)
                    .copied()
                    .ok_or_else(|| Error::corrupt("a content was neither stored nor found by its digest"))
            })
            .collect()
    }
}
