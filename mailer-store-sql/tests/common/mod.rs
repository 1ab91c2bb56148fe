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
