//! Downloads link attachments over HTTP(S), refusing private networks and stopping at the size limit.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use mailer_core::ports::{FetchError, Fetched, Fetcher};
use reqwest::Url;

/// How many redirects are followed (each target checked again).
const MAX_REDIRECTS: usize = 5;

/// A [`Fetcher`] over reqwest (rustls with ring).
///
/// Every URL, and every redirect target, must be `http` or `https` and resolve only to public addresses:
/// loopback, private (RFC 1918, unique-local), link-local, shared (CGNAT), unspecified, multicast,
/// documentation and benchmarking ranges are refused. The connection goes to the address that was checked
/// (no second DNS lookup), so a name cannot be re-pointed at an internal host between check and request.
/// The body is read in chunks and the download stops as soon as it passes the limit.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    timeout: Duration,
    allow_private: bool,
}

impl HttpFetcher {
    /// A fetcher with a 30-second timeout per request.
    ///
    /// # Errors
    /// Never today; kept fallible for TLS set-up.
    pub fn new() -> Result<Self, FetchError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Self {
            timeout: Duration::from_secs(30),
            allow_private: false,
        })
    }

    /// Sets the timeout of each request.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows private and loopback addresses: for tests against a local server only.
    #[must_use]
    pub fn allow_private_for_tests(mut self) -> Self {
        self.allow_private = true;
        self
    }

    async fn resolve(&self, url: &Url) -> Result<SocketAddr, FetchError> {
        let host = url.host_str().ok_or_else(|| FetchError::InvalidUrl(url.to_string()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| FetchError::InvalidUrl(url.to_string()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| FetchError::Backend(Box::new(e)))?
            .collect();
        let first = addrs
            .first()
            .copied()
            .ok_or_else(|| FetchError::InvalidUrl(url.to_string()))?;
        if !self.allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(FetchError::PrivateAddress(url.to_string()));
        }
        Ok(first)
    }
}

/// True for addresses on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

fn file_name(url: &Url, response: &reqwest::Response) -> String {
    let from_header = response
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').map(str::trim).find_map(|p| p.strip_prefix("filename=")))
        .map(|n| n.trim_matches('"').to_owned());
    let from_path = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    from_header.or(from_path).unwrap_or_else(|| "attachment".to_owned())
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn fetch(&self, url: &str, max_bytes: u64) -> Result<Fetched, FetchError> {
        let mut url = Url::parse(url.trim()).map_err(|_| FetchError::InvalidUrl(url.to_owned()))?;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(url.scheme(), "http" | "https") {
                return Err(FetchError::InvalidUrl(url.to_string()));
            }
            let addr = self.resolve(&url).await?;
            let host = url.host_str().unwrap_or_default().to_owned();
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(self.timeout)
                .resolve(&host, addr)
                .build()
                .map_err(|e| FetchError::Backend(Box::new(e)))?;
            let mut response = client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| FetchError::Backend(Box::new(e)))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::Status {
                        url: url.to_string(),
                        status: status.as_u16(),
                    })?;
                url = url
                    .join(location)
                    .map_err(|_| FetchError::InvalidUrl(location.to_owned()))?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                });
            }
            if response.content_length().is_some_and(|n| n > max_bytes) {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit: max_bytes,
                });
            }
            let name = file_name(&url, &response);
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Backend(Box::new(e)))? {
                if (bytes.len() + chunk.len()) as u64 > max_bytes {
                    return Err(FetchError::TooLarge {
                        url: url.to_string(),
                        limit: max_bytes,
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(Fetched {
                name,
                content_type,
                bytes,
            });
        }
        Err(FetchError::Status {
            url: url.to_string(),
            status: 310,
        })
    }
}
