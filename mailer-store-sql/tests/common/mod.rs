//! Shared test setup: stores on SQLite (memory, file) and PostgreSQL with one test key.

#![allow(dead_code, unreachable_pub)]

use mailer_core::testkit::skip;
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};

/// The key every test store uses (PostgreSQL is shared by many runs: they must agree on it).
pub fn test_key() -> SecretKey {
    SecretKey::from_bytes(*b"mailer-store-sql test key 32 b!!")
}

/// The shared test PostgreSQL, or a loud skip.
pub fn pg_url() -> Option<String> {
    match std::env::var("MAILER_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip("MAILER_TEST_PG_URL is not set (eval \"$(scripts/test-services.sh)\")");
            None
        }
    }
}

/// A SQLite URL for a file in `dir`.
pub fn sqlite_file_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

pub async fn connect(url: &str) -> SqlStore {
    SqlStore::connect(&SqlConfig::new(url, test_key()))
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e:?}"))
}

/// A URL for a fresh schema in the shared test PostgreSQL: `claim_due` is not scoped to an account, so
/// cases running at the same time in one schema would take each other's emails. Nothing is wiped; each
/// case gets its own schema (named for the process, a counter and the time).
pub async fn pg_schema_url(base: &str, tag: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let schema = format!("t_{tag}_{}_{n}_{nanos}", std::process::id());
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(base)
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}
