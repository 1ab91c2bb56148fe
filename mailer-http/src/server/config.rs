//! What the HTTP side needs to know besides the engine: the base domain of web pages, analytics origins
//! allowed by the pages' CSP, rate and size limits.

use std::time::Duration;

use serde::Deserialize;

/// The HTTP host's settings (the `[http]` table of the server's TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// The domain web pages are served under: `{subdomain}.{base_domain}`; the Host header's first label
    /// below it is the page's subdomain. Empty: no subdomains.
    pub base_domain: String,
    /// Origins (`https://www.googletagmanager.com`) that served pages may load scripts from and connect to;
    /// nothing else is allowed by their Content-Security-Policy.
    pub analytics_origins: Vec<String>,
    /// Requests per second one client IP may make to the public routes (the bucket refills at this rate);
    /// 0 turns the limit off.
    pub rate_per_second: f64,
    /// How many requests above the rate a client may burst.
    pub rate_burst: f64,
    /// Take the client IP from the last `X-Forwarded-For` entry (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// The largest request body accepted, in bytes (forms, unsubscribe).
    pub body_limit: usize,
    /// The hidden form field that only bots fill in; a submission with it non-empty is dropped.
    pub honeypot_field: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            base_domain: String::new(),
            analytics_origins: Vec::new(),
            rate_per_second: 20.0,
            rate_burst: 40.0,
            trust_forwarded_for: false,
            body_limit: 256 * 1024,
            honeypot_field: "_hp".into(),
        }
    }
}

impl HttpConfig {
    /// How long a limited client is told to wait (`Retry-After`), at least one second.
    pub(crate) fn retry_after(&self) -> Duration {
        if self.rate_per_second <= 0.0 {
            return Duration::from_secs(1);
        }
        Duration::from_secs_f64((1.0 / self.rate_per_second).max(1.0))
    }

    /// The subdomain of a request to a public page: the Host header's first label when the host is
    /// `{label}.{base_domain}` (port ignored, case-insensitive).
    pub fn subdomain<'h>(&self, host: &'h str) -> Option<&'h str> {
        if self.base_domain.is_empty() {
            return None;
        }
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let suffix_len = self.base_domain.len() + 1;
        if host.len() <= suffix_len {
            return None;
        }
        let (label, rest) = host.split_at(host.len() - suffix_len);
        let matches = rest.starts_with('.') && rest[1..].eq_ignore_ascii_case(&self.base_domain);
        (matches && !label.is_empty() && !label.contains('.')).then_some(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_is_the_first_label_under_the_base_domain() {
        let c = HttpConfig {
            base_domain: "pages.example.com".into(),
            ..HttpConfig::default()
        };
        assert_eq!(c.subdomain("promo.pages.example.com"), Some("promo"));
        assert_eq!(c.subdomain("promo.Pages.Example.com:8080"), Some("promo"));
        assert_eq!(c.subdomain("pages.example.com"), None);
        assert_eq!(c.subdomain("a.b.pages.example.com"), None);
        assert_eq!(c.subdomain("promo.evil.com"), None);
        assert_eq!(c.subdomain("xpages.example.com"), None);
        assert_eq!(HttpConfig::default().subdomain("promo.pages.example.com"), None);
    }
}
