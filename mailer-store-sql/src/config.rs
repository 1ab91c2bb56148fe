//! How to reach the database and the key that seals secrets.

use std::time::Duration;

use crate::crypto::SecretKey;
use crate::error::Error;

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (file or in-memory), the embedded default.
    Sqlite,
    /// PostgreSQL, for many workers on one database.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL (`sqlite:…`, `postgres://…`, `postgresql://…`).
    ///
    /// # Errors
    /// [`Error::UnsupportedUrl`] for another scheme, or one whose feature is off in this build.
    pub fn of_url(url: &str) -> Result<Self, Error> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            #[cfg(feature = "sqlite")]
            "sqlite" => Ok(Self::Sqlite),
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ => Err(Error::UnsupportedUrl {
                scheme: scheme.to_owned(),
            }),
        }
    }
}

/// The store's configuration: database URL, secret key and pool settings.
///
/// ```
/// use mailer_store_sql::{SecretKey, SqlConfig};
/// let config = SqlConfig::new("sqlite::memory:", SecretKey::generate()).with_max_connections(4);
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SqlConfig {
    pub(crate) url: String,
    pub(crate) key: SecretKey,
    pub(crate) max_connections: u32,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) busy_timeout: Duration,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) sqlite_cache_kib: Option<u32>,
}

impl SqlConfig {
    /// A configuration for `url` (`sqlite::memory:`, `sqlite:///path/mailer.db`, `postgres://…`) with the
    /// key that seals secrets; 8 connections, 10 s SQLite busy timeout.
    pub fn new(url: impl Into<String>, key: SecretKey) -> Self {
        Self {
            url: url.into(),
            key,
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            sqlite_cache_kib: None,
        }
    }

    /// Reads `MAILER_DATABASE_URL` and `MAILER_SECRET_KEY` (base64 of 32 bytes).
    ///
    /// # Errors
    /// [`Error::MissingConfig`] when a variable is unset, [`Error::BadKey`] for a malformed key.
    pub fn from_env() -> Result<Self, Error> {
        let url = std::env::var("MAILER_DATABASE_URL").map_err(|_| Error::MissingConfig("MAILER_DATABASE_URL"))?;
        let key = std::env::var("MAILER_SECRET_KEY").map_err(|_| Error::MissingConfig("MAILER_SECRET_KEY"))?;
        Ok(Self::new(url, SecretKey::from_base64(&key)?))
    }

    /// SQLite's page cache per connection, in KiB (`PRAGMA cache_size`; SQLite's default is 2,000 KiB). Every
    /// pooled connection keeps its own, so a process may hold `(connections + 1) × kib` once its database is
    /// larger than that; pages not cached are read from the operating system's file cache. At least 64 KiB
    /// (a smaller value is raised to it). Ignored by PostgreSQL.
    pub fn with_sqlite_cache_kib(mut self, kib: u32) -> Self {
        self.sqlite_cache_kib = Some(kib.max(64));
        self
    }

    /// At most this many pooled connections (in-memory SQLite always uses one).
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long SQLite waits for another connection's write lock before failing.
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The dialect of the URL.
    ///
    /// # Errors
    /// As [`Dialect::of_url`].
    pub fn dialect(&self) -> Result<Dialect, Error> {
        Dialect::of_url(&self.url)
    }

    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn is_memory(&self) -> bool {
        self.url.contains(":memory:") || self.url.contains("mode=memory")
    }
}
