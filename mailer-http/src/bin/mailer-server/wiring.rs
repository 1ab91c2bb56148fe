//! Builds the engine's ports from the configuration: the SQL store, SMTP or an `.eml` outbox, Kommo.

use std::sync::Arc;
use std::time::Duration;

use mailer_core::engine::{Engine, EngineConfig, Ports};
use mailer_core::model::{AccountId, Secret, WorkerId};
use mailer_core::ports::{DynCrm, DynTransport, SystemClock};
use mailer_http::kommo::KommoHost;
use mailer_http::{HttpFetcher, LoggedCrm, MeteredTransport, Metrics};
use mailer_kommo::{KommoClient, KommoCrm, OAuthApp};
use mailer_store_sql::{SqlConfig, SqlStore};

use crate::BoxError;
use crate::config::Config;

/// The ports and settings every engine of this process shares.
#[derive(Debug, Clone)]
pub(crate) struct Wired {
    pub store: Arc<SqlStore>,
    pub ports: Ports,
    pub engine_config: EngineConfig,
    pub metrics: Arc<Metrics>,
    pub name: String,
}

impl Wired {
    /// An engine over the shared ports with its own name in leases.
    pub(crate) fn engine(&self, worker: &str) -> Arc<Engine> {
        let mut config = self.engine_config.clone();
        config.worker = WorkerId::new(format!("{}-{worker}", self.name));
        Arc::new(Engine::new(self.ports.clone(), config))
    }
}

/// Opens the store (applying migrations).
pub(crate) async fn store(config: &Config) -> Result<Arc<SqlStore>, BoxError> {
    let max = (config.workers + 4).min(32);
    let mut sql = SqlConfig::new(config.database_url.clone(), config.secret_key()?).with_max_connections(max);
    if let Some(kib) = config.database_cache_kib {
        sql = sql.with_sqlite_cache_kib(kib);
    }
    Ok(Arc::new(SqlStore::connect(&sql).await?))
}

/// The configured transport: `.eml` files in `outbox`, or SMTP.
pub(crate) fn transport(config: &Config) -> Result<Arc<DynTransport>, BoxError> {
    Ok(match &config.outbox {
        Some(dir) => Arc::new(mailer_smtp::EmlTransport::new(dir.clone())),
        None => Arc::new(mailer_smtp::SmtpTransport::builder().build()?),
    })
}

/// Kommo with a long-lived token per configured account (installed accounts are added by the
/// [`KommoHost`]).
/// Every client tells `metrics` about its requests, retries included.
pub(crate) fn kommo(config: &Config, metrics: &Arc<Metrics>) -> Result<Arc<KommoCrm>, BoxError> {
    let crm = KommoCrm::new();
    for account in &config.kommo {
        let token = account.token.clone().unwrap_or_default();
        let client = KommoClient::builder(account.base_url.clone())
            .long_lived_token(Secret::new(token))
            .with_observer(metrics.clone())
            .build()?;
        crm.add_account(AccountId(account.account), client);
    }
    Ok(Arc::new(crm))
}

/// The Kommo integration's host, when one is configured.
pub(crate) fn kommo_host(config: &Config, crm: &Arc<KommoCrm>, metrics: &Arc<Metrics>) -> Option<Arc<KommoHost>> {
    let k = config.kommo_integration.as_ref()?;
    let app = OAuthApp {
        client_id: k.client_id.clone(),
        client_secret: Secret::new(k.client_secret.clone().unwrap_or_default()),
        redirect_uri: k.redirect_uri.clone(),
    };
    let mut host = KommoHost::new(app, crm.clone())
        .with_signing_key_ref(k.signing_key_ref.clone())
        .with_observer(metrics.clone());
    if let Some(base) = &k.base_url {
        host = host.with_base_url(base.clone());
    }
    Some(Arc::new(host))
}

/// Wires the engine's ports around `store`, `transport` and `crm` (metered and logged into `metrics`).
pub(crate) fn wire(
    config: &Config,
    store: Arc<SqlStore>,
    transport: Arc<DynTransport>,
    crm: Arc<DynCrm>,
    metrics: Arc<Metrics>,
) -> Result<Wired, BoxError> {
    let ports = Ports {
        store: store.clone(),
        transport: Arc::new(MeteredTransport::new(transport, metrics.clone())),
        crm: Arc::new(LoggedCrm::new(crm, metrics.clone())),
        clock: Arc::new(SystemClock),
        fetcher: Arc::new(HttpFetcher::new()?),
    };
    let mut engine_config = EngineConfig {
        lease: Duration::from_secs(config.lease_secs.max(1)),
        message_id_domain: config.message_id_domain.clone(),
        tracking_base_url: config.tracking_base_url.clone(),
        ..EngineConfig::default()
    };
    for (name, key) in &config.signing_keys {
        engine_config
            .signing_keys
            .insert(name.clone(), Secret::new(key.clone()));
    }
    let name = config.worker_name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "host".into());
        format!("{}-{}", host.trim(), std::process::id())
    });
    Ok(Wired {
        store,
        ports,
        engine_config,
        metrics,
        name,
    })
}
