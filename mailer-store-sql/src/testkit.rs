//! Test support (feature `testkit`): what tests of any crate need from the shared test PostgreSQL.

use sqlx::Connection as _;

/// A URL of the shared test PostgreSQL (`base`) whose `search_path` is a new, empty schema, so tests running
/// at once never see each other's rows (`claim_due` is not scoped to an account: cases sharing a schema
/// would take each other's emails). The schema is named after `tag`, this process, a counter and the time;
/// nothing is dropped afterwards.
///
/// # Errors
/// When the database cannot be reached or the schema cannot be created.
pub async fn pg_schema_url(base: &str, tag: &str) -> Result<String, sqlx::Error> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tag: String = tag.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let schema = format!("t_{tag}_{}_{n}_{nanos}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(base).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}
