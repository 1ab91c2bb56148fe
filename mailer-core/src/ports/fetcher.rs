//! The fetcher port: downloads link attachments.

use async_trait::async_trait;

use crate::error::BoxError;

/// A downloaded file.
#[derive(Clone, PartialEq, Eq)]
pub struct Fetched {
    /// File name from the response (Content-Disposition) or the URL's last segment.
    pub name: String,
    /// MIME type from the response.
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not http(s) or does not parse.
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    /// The URL points at a private, loopback or link-local address.
    #[error("refused to fetch from a private address: {0}")]
    PrivateAddress(String),
    /// The file is larger than allowed.
    #[error("file at {url} is over the limit of {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The server answered with an error status.
    #[error("server answered {status} for {url}")]
    Status {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
    },
    /// Network or other failure.
    #[error("fetch failed")]
    Backend(#[source] BoxError),
}

/// Downloads the files of link attachments.
///
/// # Contract
/// - Refuses URLs that are not `http`/`https` and addresses that resolve to private, loopback or
///   link-local networks ([`FetchError::PrivateAddress`]).
/// - Stops reading as soon as the body passes `max_bytes` ([`FetchError::TooLarge`]).
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait Fetcher: Send + Sync + std::fmt::Debug {
    /// Downloads `url`, at most `max_bytes` of it.
    ///
    /// # Errors
    /// See [`FetchError`].
    async fn fetch(&self, url: &str, max_bytes: u64) -> Result<Fetched, FetchError>;
}

/// A fetcher behind a pointer.
pub type DynFetcher = dyn Fetcher;
