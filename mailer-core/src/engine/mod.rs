//! Use cases, written once over the ports: compose and validate, send single, start a mailing, the
//! worker step (claim → render → send → copy to Sent → record → triggers → not-opened timer), record
//! opens, clicks, page views and form submissions, run due timers, handle digital-pipeline events, and
//! the queue, history and progress views.

pub mod compose;
mod limits;
pub mod rights;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use compose::Draft;
pub use limits::SizeLimits;

use crate::error::ValidationError;
use crate::model::{AccountId, Timestamp, WorkerId};
use crate::ports::{CrmError, DynClock, DynCrm, DynFetcher, DynStore, DynTransport, SendError, StoreError};
use crate::queue::RetryPolicy;

/// A use case failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The input is invalid; nothing was queued.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The user may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The CRM failed.
    #[error(transparent)]
    Crm(#[from] CrmError),
    /// Sending failed.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// The ports the engine works over.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Storage and queue.
    pub store: Arc<DynStore>,
    /// Mail servers.
    pub transport: Arc<DynTransport>,
    /// The CRM.
    pub crm: Arc<DynCrm>,
    /// The time.
    pub clock: Arc<DynClock>,
    /// Downloads of link attachments.
    pub fetcher: Arc<DynFetcher>,
}

/// How the engine works.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This worker's name in leases.
    pub worker: WorkerId,
    /// How long a claimed email or timer is held before another worker may take it.
    pub lease: Duration,
    /// How many emails one worker step claims at most.
    pub claim_batch: u32,
    /// Retries of temporary sending errors.
    pub retry: RetryPolicy,
    /// Size limits.
    pub limits: SizeLimits,
    /// The domain of generated Message-IDs when the mailbox's own cannot be used.
    pub message_id_domain: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            worker: WorkerId::new("worker-1"),
            lease: Duration::from_secs(300),
            claim_batch: 100,
            retry: RetryPolicy::default(),
            limits: SizeLimits::default(),
            message_id_domain: "mailer.invalid".into(),
        }
    }
}

/// The use cases over a set of ports.
#[derive(Debug)]
pub struct Engine {
    ports: Ports,
    config: EngineConfig,
    sequence: AtomicU64,
}

impl Engine {
    /// An engine over `ports`.
    pub fn new(ports: Ports, config: EngineConfig) -> Self {
        Self { ports, config, sequence: AtomicU64::new(0) }
    }

    /// The ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    /// A Message-ID (without angle brackets) unique to this engine: `key` for deterministic ids (a mailing's
    /// email), else the time and a sequence number.
    fn message_id(&self, account: AccountId, domain: &str, key: Option<&str>) -> String {
        let domain = if domain.is_empty() { self.config.message_id_domain.as_str() } else { domain };
        match key {
            Some(key) => format!("{key}.a{account}@{domain}"),
            None => {
                let n = self.sequence.fetch_add(1, Ordering::Relaxed);
                let nanos = self.now().timestamp_nanos_opt().unwrap_or_default();
                format!("s{nanos:x}.{n}.a{account}@{domain}")
            }
        }
    }
}
