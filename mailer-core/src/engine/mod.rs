//! Use cases, written once over the ports: compose and validate, send single, start, pause, resume and
//! cancel a mailing (every email goes through the one enqueue path, keyed by its [`Origin`]), the worker
//! step (claim → render → send → copy to Sent → record → triggers → not-opened timer), record opens,
//! clicks, page views and form submissions, public web pages and the web version, unsubscribes and the
//! suppression list, bounces and replies from the mailbox, run due timers, handle digital-pipeline events,
//! and the queue, history and progress views.

pub mod admin;
mod automation;
mod compiled_cache;
pub mod compose;
mod crm_links;
mod crm_reads;
mod crm_send;
mod enqueue;
mod inbox;
mod limits;
mod mailings;
mod one_time_tokens;
pub mod pages;
mod pipeline;
mod render;
pub mod rights;
mod send_single;
mod start_mailing;
mod step_records;
mod suppression;
mod timers;
mod token;
mod tracking;
mod usage;
mod views;
mod worker_step;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use admin::{MailboxView, Upload};
pub use compose::Draft;
pub use crm_links::{CrmInstall, CrmLinkView, REVOKED};
pub use enqueue::{MAX_EVENT_ID, Origin};
pub use inbox::{BOUNCED, Handled, InboxReport, reads_inbox};
pub use limits::{FileUse, MAX_RECIPIENTS, SizeLimits};
pub use one_time_tokens::MAX_TOKEN_ID;
pub use pipeline::{PipelineEvent, StageChange, passes};
pub use send_single::{Preview, SendReport};
pub use start_mailing::{ENQUEUE_BATCH, MailingRequest, StartedMailing};
pub(crate) use step_records::StepRecords;
pub use suppression::UNSUBSCRIBED;
pub use tracking::{
    FORM_ATTEMPTS, FORM_RETRY, HIT_CACHE_ENTRIES, HIT_CACHE_TTL, HONEYPOT_LINK, HitInfo, HitOutcome, MAX_FORM_ANSWERS,
    MAX_FORM_TOTAL, MAX_FORM_VALUE, PendingHit,
};
pub use usage::MailboxUsage;
pub use views::{HistoryEntry, MailingProgress, QueuedEmail};
pub use worker_step::{Outcome, StepReport};

use crate::error::ValidationError;
use crate::loops::{Budget, LoopError};
use crate::model::{Account, AccountId, Content, Secret, Timestamp, WorkerId};
use crate::ports::{CrmError, DynClock, DynCrm, DynFetcher, DynStore, DynTransport, FetchError, SendError, StoreError};
use crate::queue::RetryPolicy;
use crate::template::{CompileOptions, CompiledTemplate, LinkBuilder, TemplateError, TokenError};
use crate::trigger::{ActionError, AutomatedRules, TriggerError};

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
    /// A template does not compile or render.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A trigger configuration is invalid.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    /// A trigger's action cannot be carried out as configured.
    #[error(transparent)]
    Action(#[from] ActionError),
    /// Saving would make an automation loop that runs without the recipient.
    #[error(transparent)]
    Loop(#[from] LoopError),
    /// A tracking token is invalid or tampered with.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A link attachment could not be downloaded.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The host gave no signing key for this account.
    #[error("no signing key {0:?} configured")]
    NoSigningKey(String),
    /// The thing asked for existed but is no longer available (a web page past its lifetime).
    #[error("gone: {0}")]
    Gone(String),
    /// A recipient of a single send is on the account's suppression list (unsubscribed or bounced); the
    /// user may override it explicitly ([`Draft::override_suppression`]).
    #[error("{address} is on the suppression list")]
    Suppressed {
        /// The suppressed address (lowercase).
        address: String,
    },
    /// A record names another record that does not exist in its account; `field` says where (`template`,
    /// `mailbox`, `triggers[2]`, `triggers.on_sent[0]`).
    #[error("{field} names {id}, which does not exist in this account")]
    UnknownReference {
        /// The field that holds the reference.
        field: String,
        /// The id it names.
        id: i64,
    },
    /// The record is used by others and was not deleted; each referrer is named (`template 3 "Offer"`).
    #[error("in use by {}", referrers.join(", "))]
    InUse {
        /// Who uses it.
        referrers: Vec<String>,
    },
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
    /// The public base URL of the tracking host, e.g. `https://mailer.example.com`.
    pub tracking_base_url: String,
    /// Signing keys by [`Account::signing_key_ref`](crate::model::Account::signing_key_ref); 16 bytes at
    /// least each.
    pub signing_keys: BTreeMap<String, Secret>,
    /// What makes an open or click look automated.
    pub automated: AutomatedRules,
    /// The loop budget for automatic sends.
    pub budget: Budget,
    /// How long after a failed copy to Sent it is tried again.
    pub sent_copy_retry: Duration,
    /// The oldest a CRM record read ahead for a mailing's email may be when the email is rendered (default
    /// 60 s). Only CRMs that read in batches ([`Crm::batch_reads`](crate::ports::Crm::batch_reads)) read
    /// ahead; with the others every email reads its record when it is sent.
    pub crm_max_age: Duration,
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
            tracking_base_url: "http://127.0.0.1:8080".into(),
            signing_keys: BTreeMap::new(),
            automated: AutomatedRules::default(),
            budget: Budget::default(),
            sent_copy_retry: Duration::from_secs(600),
            crm_max_age: Duration::from_secs(60),
        }
    }
}

/// The use cases over a set of ports.
#[derive(Debug)]
pub struct Engine {
    ports: Ports,
    config: EngineConfig,
    sequence: AtomicU64,
    compiled: compiled_cache::CompiledCache,
    pages: pages::PageCache,
    records: crm_reads::RecordCache,
    token_keys: token::TokenKeys,
    hit_cache: tracking::HitCache,
}

impl Engine {
    /// An engine over `ports`.
    pub fn new(ports: Ports, config: EngineConfig) -> Self {
        Self {
            token_keys: token::TokenKeys::derive(&config.signing_keys),
            hit_cache: tracking::HitCache::default(),
            ports,
            config,
            sequence: AtomicU64::new(0),
            compiled: compiled_cache::CompiledCache::default(),
            pages: pages::PageCache::default(),
            records: crm_reads::RecordCache::default(),
        }
    }

    /// The ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    /// The link builder of an account, with its signing key.
    ///
    /// # Errors
    /// [`EngineError::NoSigningKey`] when the host configured no key for it; [`EngineError::Token`] when the
    /// key is too short.
    pub fn links(&self, account: &Account) -> Result<LinkBuilder, EngineError> {
        // The key derived when the engine was made: every email rendered asks for it.
        let key = self
            .token_keys
            .named(&account.signing_key_ref)
            .ok_or_else(|| EngineError::NoSigningKey(account.signing_key_ref.clone()))?
            .clone()?;
        Ok(LinkBuilder::with_key(
            self.config.tracking_base_url.clone(),
            account.id,
            key,
        ))
    }

    /// Compiles `content` once and keeps it: later calls with the same content reuse the compiled form.
    /// The cache is keyed by the content itself (not a hash of it), so two contents can never share an entry.
    fn compile(&self, content: &Content) -> Result<CompiledTemplate, EngineError> {
        Ok(self
            .compiled
            .get_or_compile(content, |c| CompiledTemplate::compile(c, &CompileOptions::permissive()))?)
    }

    /// A Message-ID (without angle brackets) unique to this engine: `key` for deterministic ids (a mailing's
    /// email), else the time and a sequence number.
    fn message_id(&self, account: AccountId, domain: &str, key: Option<&str>) -> String {
        let domain = if domain.is_empty() {
            self.config.message_id_domain.as_str()
        } else {
            domain
        };
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
