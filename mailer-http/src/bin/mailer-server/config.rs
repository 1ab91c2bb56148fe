//! The server's configuration: a TOML file, then `MAILER_…` environment overrides, then secrets from the
//! environment or from files (`…_FILE`). Every bad or missing value is an error naming its key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use mailer_http::HttpConfig;
use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path}: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("{key} is missing: {hint}")]
    Missing { key: String, hint: String },
}

fn invalid(key: &str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.to_string(),
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?} is neither \"text\" nor \"json\"")),
        }
    }
}

/// One Kommo account the server talks to (long-lived token).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct KommoAccount {
    /// The mailer account id.
    pub account: i64,
    /// `https://{subdomain}.kommo.com`.
    pub base_url: String,
    /// The long-lived token (or `token_file`).
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// The public Kommo integration accounts install through OAuth (Settings → Integrations): with it the
/// server answers `/kommo/oauth`, `/kommo/disable` and the hooks, and keeps each account's tokens sealed
/// in the store.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct KommoIntegration {
    /// The integration id (`client_uuid`).
    pub client_id: String,
    /// The secret key (or `client_secret_file`, or `MAILER_KOMMO_CLIENT_SECRET`).
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The redirect URI configured in the integration (this server's `/kommo/oauth`).
    pub redirect_uri: String,
    /// Send every account's API calls here instead of `https://{referer}` (a proxy, a test fake).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The signing key reference of new tenants.
    #[serde(default = "default_key_ref")]
    pub signing_key_ref: String,
}

fn default_key_ref() -> String {
    "default".into()
}

/// Everything `mailer-server` reads.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// `sqlite://./mailer.db?mode=rwc` or `postgres://…`.
    pub database_url: String,
    /// SQLite's page cache per connection, in KiB (unset: SQLite's default, 2,000 KiB).
    pub database_cache_kib: Option<u32>,
    /// Base64 of 32 bytes: seals the secrets in the store.
    pub secret_key: Option<String>,
    pub secret_key_file: Option<PathBuf>,
    /// Where HTTP listens.
    pub listen: String,
    /// The public base URL tracking links point to.
    pub tracking_base_url: String,
    /// Worker tasks in this process.
    pub workers: u32,
    /// This process's name in leases (default: host name and pid).
    pub worker_name: Option<String>,
    /// Pause of an idle worker, in milliseconds.
    pub worker_idle_ms: u64,
    /// How long a claimed email is held before another worker may take it, in seconds.
    pub lease_secs: u64,
    /// How long a shutdown waits for sends in flight, in seconds.
    pub shutdown_grace_secs: u64,
    /// Pause between reads of a mailbox's INBOX (for bounces and replies) when its server has no IDLE, in
    /// seconds; 0 reads no inbox.
    pub inbox_poll_secs: u64,
    pub log_format: LogFormat,
    /// Write messages as `.eml` files here instead of sending them over SMTP.
    pub outbox: Option<PathBuf>,
    pub message_id_domain: String,
    /// Signing keys of tracking links by the accounts' `signing_key_ref`.
    pub signing_keys: BTreeMap<String, String>,
    pub http: HttpConfig,
    pub kommo: Vec<KommoAccount>,
    pub kommo_integration: Option<KommoIntegration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./mailer.db?mode=rwc".into(),
            database_cache_kib: None,
            secret_key: None,
            secret_key_file: None,
            listen: "127.0.0.1:8080".into(),
            tracking_base_url: "http://127.0.0.1:8080".into(),
            workers: 2,
            worker_name: None,
            worker_idle_ms: 500,
            lease_secs: 300,
            shutdown_grace_secs: 30,
            inbox_poll_secs: 60,
            log_format: LogFormat::Text,
            outbox: None,
            message_id_domain: "mailer.invalid".into(),
            signing_keys: BTreeMap::new(),
            http: HttpConfig::default(),
            kommo: Vec::new(),
            kommo_integration: None,
        }
    }
}

/// The environment, as a map (a snapshot, so tests can pass their own).
pub(crate) type Env = BTreeMap<String, String>;

impl Config {
    /// Reads `path` (or `./mailer.toml` when it exists and no path is given), applies `env` and checks
    /// the result.
    pub(crate) fn load(path: Option<&Path>, env: &Env) -> Result<Self, ConfigError> {
        let default_path = Path::new("mailer.toml");
        let path = path.or_else(|| default_path.exists().then_some(default_path));
        let Some(path) = path else {
            let mut config = Self::default();
            config.apply_env(env)?;
            config.check()?;
            return Ok(config);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path, env)
    }

    /// Parses `text` (the file at `path`, named in errors), applies `env` and checks the result.
    pub(crate) fn from_toml(text: &str, path: &Path, env: &Env) -> Result<Self, ConfigError> {
        let mut config: Self = toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.apply_env(env)?;
        config.check()?;
        Ok(config)
    }

    fn apply_env(&mut self, env: &Env) -> Result<(), ConfigError> {
        over(env, "MAILER_DATABASE_URL", &mut self.database_url)?;
        over_unset(env, "MAILER_DATABASE_CACHE_KIB", &mut self.database_cache_kib)?;
        over(env, "MAILER_LISTEN", &mut self.listen)?;
        over(env, "MAILER_TRACKING_BASE_URL", &mut self.tracking_base_url)?;
        over(env, "MAILER_WORKERS", &mut self.workers)?;
        over(env, "MAILER_WORKER_IDLE_MS", &mut self.worker_idle_ms)?;
        over(env, "MAILER_LEASE_SECS", &mut self.lease_secs)?;
        over(env, "MAILER_SHUTDOWN_GRACE_SECS", &mut self.shutdown_grace_secs)?;
        over(env, "MAILER_INBOX_POLL_SECS", &mut self.inbox_poll_secs)?;
        over(env, "MAILER_LOG_FORMAT", &mut self.log_format)?;
        over(env, "MAILER_MESSAGE_ID_DOMAIN", &mut self.message_id_domain)?;
        if let Some(name) = env.get("MAILER_WORKER_NAME") {
            self.worker_name = Some(name.clone());
        }
        if let Some(dir) = env.get("MAILER_OUTBOX") {
            self.outbox = (!dir.is_empty()).then(|| PathBuf::from(dir));
        }
        let http = &mut self.http;
        over(env, "MAILER_HTTP_BASE_DOMAIN", &mut http.base_domain)?;
        over(env, "MAILER_HTTP_RATE_PER_SECOND", &mut http.rate_per_second)?;
        over(env, "MAILER_HTTP_RATE_BURST", &mut http.rate_burst)?;
        over(env, "MAILER_HTTP_TRUST_FORWARDED_FOR", &mut http.trust_forwarded_for)?;
        over(env, "MAILER_HTTP_BODY_LIMIT", &mut http.body_limit)?;
        if let Some(list) = env.get("MAILER_HTTP_ANALYTICS_ORIGINS") {
            http.analytics_origins = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let (Some(k), Some(secret)) = (&mut self.kommo_integration, secret(env, "MAILER_KOMMO_CLIENT_SECRET")?) {
            k.client_secret = Some(secret);
        }
        if let Some(key) = secret(env, "MAILER_SECRET_KEY")? {
            self.secret_key = Some(key);
        }
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("MAILER_SIGNING_KEY_") else {
                continue;
            };
            let (reference, value) = match rest.strip_suffix("_FILE") {
                Some(reference) => (reference, read_secret(name, Path::new(value))?),
                None => (rest, value.clone()),
            };
            self.signing_keys.insert(reference.to_ascii_lowercase(), value);
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), ConfigError> {
        if let (None, Some(file)) = (&self.secret_key, &self.secret_key_file) {
            self.secret_key = Some(read_secret("secret_key_file", file)?);
        }
        for k in &mut self.kommo {
            if let (None, Some(file)) = (&k.token, &k.token_file) {
                k.token = Some(read_secret("kommo.token_file", file)?);
            }
            if k.token.is_none() {
                return Err(ConfigError::Missing {
                    key: format!("kommo (account {}).token", k.account),
                    hint: "give token or token_file".into(),
                });
            }
        }
        if let Some(k) = &mut self.kommo_integration {
            if let (None, Some(file)) = (&k.client_secret, &k.client_secret_file) {
                k.client_secret = Some(read_secret("kommo_integration.client_secret_file", file)?);
            }
            if k.client_secret.is_none() {
                return Err(ConfigError::Missing {
                    key: "kommo_integration.client_secret".into(),
                    hint: "give client_secret, client_secret_file or MAILER_KOMMO_CLIENT_SECRET".into(),
                });
            }
        }
        for (name, key) in &self.signing_keys {
            if key.len() < mailer_core::template::MIN_KEY_LEN {
                return Err(invalid(
                    &format!("signing_keys.{name}"),
                    format!(
                        "a signing key needs {} bytes at least",
                        mailer_core::template::MIN_KEY_LEN
                    ),
                ));
            }
        }
        if !self.tracking_base_url.starts_with("http://") && !self.tracking_base_url.starts_with("https://") {
            return Err(invalid("tracking_base_url", "must start with http:// or https://"));
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid("listen", format!("{:?} is not an address:port", self.listen)));
        }
        Ok(())
    }

    /// The store's key, decoded.
    pub(crate) fn secret_key(&self) -> Result<mailer_store_sql::SecretKey, ConfigError> {
        let text = self.secret_key.as_deref().ok_or_else(|| ConfigError::Missing {
            key: "MAILER_SECRET_KEY".into(),
            hint: "set secret_key (or secret_key_file) in the file, or MAILER_SECRET_KEY / MAILER_SECRET_KEY_FILE \
                   to the base64 of 32 random bytes (`openssl rand -base64 32`)"
                .into(),
        })?;
        mailer_store_sql::SecretKey::from_base64(text.trim()).map_err(|e| invalid("secret_key", e))
    }
}

/// Overrides `slot` from `env[key]` when set.
fn over<T: FromStr>(env: &Env, key: &str, slot: &mut T) -> Result<(), ConfigError>
where
    T::Err: std::fmt::Display,
{
    if let Some(value) = env.get(key) {
        *slot = parse(key, value)?;
    }
    Ok(())
}

/// As [`over`], for a setting that is unset unless given.
fn over_unset<T: FromStr>(env: &Env, key: &str, slot: &mut Option<T>) -> Result<(), ConfigError>
where
    T::Err: std::fmt::Display,
{
    if let Some(value) = env.get(key) {
        *slot = Some(parse(key, value)?);
    }
    Ok(())
}

/// `value` of the variable `key`, parsed; an error names the key.
fn parse<T: FromStr>(key: &str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e: T::Err| invalid(key, format!("{value:?}: {e}")))
}

/// A secret from `env[key]` or the file named by `env[key_FILE]`.
fn secret(env: &Env, key: &str) -> Result<Option<String>, ConfigError> {
    if let Some(value) = env.get(key) {
        return Ok(Some(value.clone()));
    }
    let file_key = format!("{key}_FILE");
    env.get(&file_key)
        .map(|path| read_secret(&file_key, Path::new(path)))
        .transpose()
}

fn read_secret(key: &str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn file_then_environment_then_secret_files() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("mailer.toml");
        std::fs::write(
            &file,
            "workers = 3\nlisten = \"0.0.0.0:9000\"\n[http]\nrate_per_second = 5.0\n[signing_keys]\nmain = \"a-file-signing-key-123\"\n",
        )
        .expect("write");
        let key_file = dir.path().join("secret");
        std::fs::write(
            &key_file,
            format!("{}\n", mailer_store_sql::SecretKey::generate().to_base64()),
        )
        .expect("key");
        let sign_file = dir.path().join("sign");
        std::fs::write(&sign_file, "from-a-file-signing-key\n").expect("sign");
        let config = Config::load(
            Some(&file),
            &env(&[
                ("MAILER_WORKERS", "4"),
                ("MAILER_DATABASE_CACHE_KIB", "512"),
                ("MAILER_HTTP_BASE_DOMAIN", "pages.example.com"),
                ("MAILER_SECRET_KEY_FILE", key_file.to_str().expect("utf-8")),
                ("MAILER_SIGNING_KEY_OTHER_FILE", sign_file.to_str().expect("utf-8")),
            ]),
        )
        .expect("config");
        assert_eq!(config.workers, 4);
        assert_eq!(config.database_cache_kib, Some(512));
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.http.rate_per_second, 5.0);
        assert_eq!(config.http.base_domain, "pages.example.com");
        assert_eq!(config.signing_keys["main"], "a-file-signing-key-123");
        assert_eq!(config.signing_keys["other"], "from-a-file-signing-key");
        assert!(config.secret_key().is_ok());
    }

    #[test]
    fn a_bad_or_missing_value_names_its_key() {
        let err = Config::load(None, &env(&[("MAILER_WORKERS", "many")])).expect_err("bad");
        assert!(err.to_string().starts_with("MAILER_WORKERS:"), "{err}");
        let err = Config::load(None, &env(&[("MAILER_SIGNING_KEY_MAIN", "short")])).expect_err("short");
        assert!(err.to_string().contains("signing_keys.main"), "{err}");
        let err = Config::load(None, &env(&[]))
            .expect("defaults")
            .secret_key()
            .expect_err("no key");
        assert!(err.to_string().contains("MAILER_SECRET_KEY"), "{err}");
        let err = Config::load(None, &env(&[("MAILER_SECRET_KEY", "bm90IDMyIGJ5dGVz")]))
            .expect("loads")
            .secret_key()
            .expect_err("bad key");
        assert!(err.to_string().starts_with("secret_key:"), "{err}");
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "wrokers = 3\n").expect("write");
        let err = Config::load(Some(&file), &env(&[])).expect_err("unknown key");
        assert!(err.to_string().contains("wrokers"), "{err}");
    }
}
