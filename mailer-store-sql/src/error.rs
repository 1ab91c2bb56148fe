//! The crate's own errors, and how they map into the port's [`StoreError`].

use mailer_core::ports::StoreError;

/// Something the SQL store could not do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL names a dialect this build does not include (see the crate features).
    #[error("database url scheme {scheme:?} is not supported by this build (features: sqlite, postgres)")]
    UnsupportedUrl {
        /// The scheme found in the URL.
        scheme: String,
    },
    /// A required configuration value is missing.
    #[error("missing configuration: {0}")]
    MissingConfig(&'static str),
    /// The secret key is not 32 bytes of base64.
    #[error("the secret key must be 32 bytes encoded as base64")]
    BadKey(#[source] Option<base64::DecodeError>),
    /// The configured secret key is not the one this database's secrets were sealed with.
    #[error("wrong secret key: it does not open the secrets stored in this database")]
    WrongKey,
    /// Stored data does not have the shape the store wrote.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Stored or given JSON does not fit its type.
    #[error("json does not fit")]
    Json(#[from] serde_json::Error),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A port-level outcome (not found, lease lost …), passed through unchanged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
}

impl From<Error> for StoreError {
    fn from(err: Error) -> Self {
        if let Error::Store(inner) = err {
            return inner;
        }
        if let Error::Database(sqlx::Error::Database(db)) = &err
            && db.is_unique_violation()
        {
            return StoreError::Conflict {
                what: "row",
                detail: db.constraint().unwrap_or("unique").to_owned(),
            };
        }
        StoreError::Backend(Box::new(err))
    }
}
