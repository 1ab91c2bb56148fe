//! What every route shares: the engine, the HTTP settings, metrics and the rate limiter.

use std::sync::Arc;

use mailer_core::engine::Engine;

use super::config::HttpConfig;
use super::hit_recorder::HitRecorder;
use super::metrics::{Metrics, QueueDepth};
use super::ratelimit::RateLimiter;

/// The routes' shared state; cheap to clone: one shared pointer (axum clones the state for every extractor
/// and middleware layer of every request, so a clone is one atomic increment, not one per field).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// What an [`AppState`] shares, read through `Deref` inside this crate (its fields are private to it).
#[derive(Debug, Clone)]
pub struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: Arc<HttpConfig>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) queue_depth: Option<Arc<dyn QueueDepth>>,
    pub(crate) hits: Option<Arc<HitRecorder>>,
    pub(crate) csp: Arc<str>,
    pub(crate) analytics: Arc<[String]>,
    #[cfg(feature = "kommo")]
    pub(crate) kommo: Option<Arc<crate::kommo::KommoHost>>,
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
        let analytics: Arc<[String]> = allowed_origins(&config.analytics_origins).into();
        let csp = content_security_policy(&analytics, &[]).into();
        Self(Arc::new(Shared {
            engine,
            config: Arc::new(config),
            metrics,
            limiter,
            queue_depth: None,
            hits: None,
            csp,
            analytics,
            #[cfg(feature = "kommo")]
            kommo: None,
        }))
    }

    /// Reports the queue depth on `/metrics` from `source`.
    #[must_use]
    pub fn with_queue_depth(mut self, source: Arc<dyn QueueDepth>) -> Self {
        Arc::make_mut(&mut self.0).queue_depth = Some(source);
        self
    }

    /// Records the hits of the open pixel and trigger links through `recorder` (in batches, after the
    /// answer) instead of before answering; the host closes it on shutdown ([`HitRecorder::close`]).
    #[must_use]
    pub fn with_hit_recorder(mut self, recorder: Arc<HitRecorder>) -> Self {
        Arc::make_mut(&mut self.0).hits = Some(recorder);
        self
    }

    /// Serves Kommo's routes (install, disable, webhooks, the digital pipeline) over `host`.
    #[cfg(feature = "kommo")]
    #[must_use]
    pub fn with_kommo(mut self, host: Arc<crate::kommo::KommoHost>) -> Self {
        Arc::make_mut(&mut self.0).kommo = Some(host);
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

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The configured analytics origins that can go into a CSP (`https://` and no separators).
fn allowed_origins(origins: &[String]) -> Vec<String> {
    origins
        .iter()
        .filter(|o| o.starts_with("https://") && !o.contains([';', ',', ' ', '\'', '"']))
        .cloned()
        .collect()
}

/// The CSP of served HTML: inline styles and any image (emails use both), forms posting back here,
/// scripts and connections only to the analytics origins (and inline scripts with these `'sha256-…'`
/// hashes), no framing.
pub(crate) fn content_security_policy(origins: &[String], script_hashes: &[String]) -> String {
    let origins = origins.join(" ");
    let sources: Vec<&str> = std::iter::once(origins.as_str())
        .chain(script_hashes.iter().map(String::as_str))
        .filter(|s| !s.is_empty())
        .collect();
    let scripts = if sources.is_empty() {
        "'none'".to_owned()
    } else {
        sources.join(" ")
    };
    let connect = if origins.is_empty() {
        "'none'".to_owned()
    } else {
        origins.clone()
    };
    format!(
        "default-src 'none'; style-src 'unsafe-inline' https:; img-src https: http: data:; font-src https: data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src {scripts}; connect-src {connect}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_allows_only_https_analytics_origins_and_hashed_inline_scripts() {
        let origins = allowed_origins(&[
            "https://a.example".into(),
            "http://b.example".into(),
            "https://x; y".into(),
        ]);
        let csp = content_security_policy(&origins, &[]);
        assert!(csp.contains("script-src https://a.example;"), "{csp}");
        assert!(!csp.contains("b.example") && !csp.contains("x; y"), "{csp}");
        assert!(content_security_policy(&[], &[]).contains("script-src 'none'"));
        let csp = content_security_policy(&[], &["'sha256-abc='".into()]);
        assert!(csp.contains("script-src 'sha256-abc='; connect-src 'none'"), "{csp}");
    }
}
