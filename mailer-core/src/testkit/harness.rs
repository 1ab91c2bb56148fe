//! An [`Engine`] over the in-memory doubles, with an account, an admin, a mailbox and the standard CRM
//! [`World`]: what engine tests, the simulation and the examples start from.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::engine::{Engine, EngineConfig, Ports, StepReport};
use crate::model::{Account, Mailbox, NewAccount, Secret, SendingLimits, Timezone, User};
use crate::ports::{Clock, FetchError, Fetched, Fetcher, Store, StoreExt};

use super::fixture::{sample_mailbox, sample_user};
use super::{CaptureTransport, ManualClock, MemoryStore, ScriptCrm, World};

/// The signing key the harness configures for its account.
pub const HARNESS_KEY: &str = "harness-signing-key-0123456789";

/// A [`Fetcher`] that serves files from memory and answers 404 for any other URL.
#[derive(Debug, Default)]
pub struct StaticFetcher {
    files: Mutex<HashMap<String, Fetched>>,
}

impl StaticFetcher {
    /// Serves `bytes` at `url`.
    pub fn serve(&self, url: &str, name: &str, content_type: &str, bytes: Vec<u8>) {
        let file = Fetched {
            name: name.into(),
            content_type: content_type.into(),
            bytes,
        };
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(url.into(), file);
    }
}

#[async_trait]
impl Fetcher for StaticFetcher {
    async fn fetch(&self, url: &str, max_bytes: u64) -> Result<Fetched, FetchError> {
        let files = self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let file = files.get(url).ok_or_else(|| FetchError::Status {
            url: url.into(),
            status: 404,
        })?;
        if file.bytes.len() as u64 > max_bytes {
            return Err(FetchError::TooLarge {
                url: url.into(),
                limit: max_bytes,
            });
        }
        Ok(file.clone())
    }
}

/// An engine over in-memory doubles with one seeded account.
#[derive(Debug)]
pub struct Harness {
    /// The engine.
    pub engine: Engine,
    /// Its store.
    pub store: Arc<MemoryStore>,
    /// Its transport.
    pub transport: Arc<CaptureTransport>,
    /// Its CRM, seeded with the standard world.
    pub crm: Arc<ScriptCrm>,
    /// Its clock, starting at [`default_start`](super::default_start).
    pub clock: Arc<ManualClock>,
    /// Its fetcher.
    pub fetcher: Arc<StaticFetcher>,
    /// The account (in the store and, with the same id, in the CRM).
    pub account: Account,
    /// An admin user who owns the mailbox.
    pub admin: User,
    /// The admin's mailbox (1 s spacing, 2,000 a day).
    pub mailbox: Mailbox,
    /// The CRM world.
    pub world: World,
}

impl Harness {
    /// A harness with the default engine configuration.
    ///
    /// # Panics
    /// When the in-memory store fails, which it does not.
    pub async fn new() -> Self {
        Self::with(EngineConfig::default(), SendingLimits::default()).await
    }

    /// A harness with this configuration and mailbox limits.
    ///
    /// # Panics
    /// When the in-memory store fails, which it does not.
    pub async fn with(mut config: EngineConfig, limits: SendingLimits) -> Self {
        let store = Arc::new(MemoryStore::new());
        let transport = Arc::new(CaptureTransport::new());
        let crm = Arc::new(ScriptCrm::new());
        let clock = Arc::new(ManualClock::at_default_start());
        let fetcher = Arc::new(StaticFetcher::default());
        let account = store
            .create_account(NewAccount {
                name: "acme".into(),
                timezone: Timezone::UTC,
                signing_key_ref: "k1".into(),
            })
            .await
            .expect("account");
        let admin = store.insert(sample_user(account.id)).await.expect("admin");
        let mailbox = store
            .insert(sample_mailbox(account.id, admin.id, limits))
            .await
            .expect("mailbox");
        let world = crm.seed_world(account.id);
        config.signing_keys.insert("k1".into(), Secret::new(HARNESS_KEY));
        config.tracking_base_url = "https://t.example.com".into();
        let ports = Ports {
            store: store.clone(),
            transport: transport.clone(),
            crm: crm.clone(),
            clock: clock.clone(),
            fetcher: fetcher.clone(),
        };
        Self {
            engine: Engine::new(ports, config),
            store,
            transport,
            crm,
            clock,
            fetcher,
            account,
            admin,
            mailbox,
            world,
        }
    }

    /// Runs timers and worker steps, moving the clock by `tick` each round, until nothing is claimed or due
    /// for `idle_rounds` rounds or `max_rounds` pass; answers the summed report.
    ///
    /// # Panics
    /// When a step fails.
    pub async fn run(&self, tick: Duration, max_rounds: u32, idle_rounds: u32) -> StepReport {
        let mut total = StepReport::default();
        let mut idle = 0;
        for _ in 0..max_rounds {
            let timers = self.engine.run_due_timers().await.expect("timers");
            let step = self.engine.worker_step().await.expect("worker step");
            total.claimed += step.claimed;
            total.sent += step.sent;
            total.retried += step.retried;
            total.failed += step.failed;
            total.skipped += step.skipped;
            if step.claimed == 0 && timers == 0 {
                idle += 1;
                if idle >= idle_rounds {
                    break;
                }
            } else {
                idle = 0;
            }
            self.clock.advance(tick);
        }
        total
    }

    /// The clock's time.
    pub fn now(&self) -> crate::model::Timestamp {
        self.clock.now()
    }
}

/// The token of the first tracking URL with this route (`/t/o/`, `/t/l/`, `/w/`, `/f/`, `/p/`, `/u/`) in a
/// rendered body, as the host would receive it.
pub fn token_in(html: &str, route: &str) -> Option<String> {
    let start = html.find(route)? + route.len();
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}
