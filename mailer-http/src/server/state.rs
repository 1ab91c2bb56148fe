//! What every route shares: the engine, the HTTP settings, metrics and the rate limiter.

use std::sync::Arc;

use mailer_core::engine::Engine;

use super::config::HttpConfig;
use super::metrics::{Metrics, QueueDepth};
use super::ratelimit::RateLimiter;

/// The routes' shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: Arc<HttpConfig>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) queue_depth: Option<Arc<dyn QueueDepth>>,
    pub(crate) csp: Arc<str>,
}

impl AppState {
    /// The state over `engine` with these settings and fresh metrics.
    pub fn new(engine: Arc<Engine>, config: HttpConfig) -> Self {
        Self::with_metrics(engine, config, Arc::new(Metrics::default()))
    }

    /// The state over `engine` with these settings, counting into `metrics` (shared with a
    /// [`MeteredTransport`](super::MeteredTransport)).
    pub fn with_metrics(engine: Arc<Engine>, config: HttpConfig, metrics: Arc<Metrics>) -> Self {
        let limiter = Arc::new(RateLimiter::new(config.rate_per_second, config.rate_burst));
        let csp = content_security_policy(&config.analytics_origins).into();
        Self {
            engine,
            config: Arc::new(config),
            metrics,
            limiter,
            queue_depth: None,
            csp,
        }
    }

    /// Reports the queue depth on `/metrics` from `source`.
    #[must_use]
    pub fn with_queue_depth(mut self, source: Arc<dyn QueueDepth>) -> Self {
        self.queue_depth = Some(source);
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The HTTP settings.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// The CSP of served HTML: inline styles and any image (emails use both), forms posting back here,
/// scripts and connections only to the analytics origins, no framing.
fn content_security_policy(origins: &[String]) -> String {
    let origins: Vec<&str> = origins
        .iter()
        .map(String::as_str)
        .filter(|o| o.starts_with("https://") && !o.contains([';', ',', ' ', '\'', '"']))
        .collect();
    let scripts = if origins.is_empty() {
        "'none'".to_owned()
    } else {
        origins.join(" ")
    };
    format!(
        "default-src 'none'; style-src 'unsafe-inline' https:; img-src https: http: data:; font-src https: data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src {scripts}; connect-src {scripts}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_allows_only_https_analytics_origins() {
        let csp = content_security_policy(&[
            "https://a.example".into(),
            "http://b.example".into(),
            "https://x; y".into(),
        ]);
        assert!(csp.contains("script-src https://a.example;"), "{csp}");
        assert!(!csp.contains("b.example") && !csp.contains("x; y"), "{csp}");
        assert!(content_security_policy(&[]).contains("script-src 'none'"));
    }
}
