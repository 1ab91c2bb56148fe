//! Downloads link attachments over HTTP(S), refusing private networks and stopping at the size limit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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
/// No proxy is taken from the environment (`HTTP_PROXY` and the like): a proxy would resolve the name
/// again and bypass the pinning. The body is read in chunks and the download stops as soon as it passes
/// the limit.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    timeout: Duration,
    allow_private: bool,
    /// One private address allowed (tests: a local server whose redirects are then checked).
    allow_one: Option<SocketAddr>,
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
            allow_one: None,
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

    /// Allows this one address and port, private or not, and nothing else private: for tests whose local
    /// server redirects elsewhere, to show that the redirect target is checked.
    #[must_use]
    pub fn allow_only_for_tests(mut self, addr: SocketAddr) -> Self {
        self.allow_one = Some(addr);
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
        if !self.allow_private && addrs.iter().any(|a| !is_public(a.ip()) && self.allow_one != Some(*a)) {
            return Err(FetchError::PrivateAddress(url.to_string()));
        }
        Ok(first)
    }
}

/// True for addresses on the public internet.
///
/// IPv6 addresses that embed or reach an IPv4 address are classed by that IPv4 address: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::/96`) and 6to4 (`2002::/16`, the address in bits 16–47). Refused outright: Teredo
/// (`2001::/32`, it tunnels to a client address the server only learns later), local-use NAT64
/// (`64:ff9b:1::/48`), deprecated site-local (`fec0::/10`), discard-only (`100::/64`), ORCHID and
/// benchmarking ranges, besides loopback, unspecified, multicast, unique-local, link-local and
/// documentation.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
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

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    if v6.is_loopback() || v6.is_unspecified() {
        return false;
    }
    // IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96, IPv4-compatible ::/96.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 2002::/16: the IPv4 address in the next 32 bits.
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    let first = s[0];
    !(v6.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local (deprecated)
        || (first == 0x64 && s[1] == 0xff9b) // local-use NAT64 64:ff9b:1::/48 and the rest of 64:ff9b::/32
        || (s[..4] == [0x100, 0, 0, 0]) // discard-only
        || (first == 0x2001 && s[1] == 0) // Teredo
        || (first == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking
        || (first == 0x2001 && (s[1] & 0xfff0) == 0x0010) // ORCHID
        || (first == 0x2001 && (s[1] & 0xfff0) == 0x0020) // ORCHIDv2
        || (first == 0x2001 && s[1] == 0x0db8) // documentation
        || (first & 0xe000) != 0x2000) // outside global unicast 2000::/3
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
                .no_proxy()
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
