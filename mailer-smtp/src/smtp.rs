//! [`SmtpTransport`]: sends over SMTP with lettre (a connection pool per mailbox), copies to Sent over
//! IMAP and runs the widget's mailbox check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};
use mailer_core::model::{AccountId, Mailbox, MailboxId, Security, ServerSettings};
use mailer_core::ports::{Delivery, MailboxCheck, OutgoingMessage, SendError, SendErrorKind, Transport, TransportCaps};

use crate::ConfigError;
use crate::error::{from_smtp, invalid, timed_out};
use crate::imap::{Imap, pick_sent};
use crate::mime::{self, WireMessage};
use crate::signing::Signers;
use crate::tls::ExtraRoots;
use crate::verify;

type Lettre = AsyncSmtpTransport<Tokio1Executor>;

/// Settings of an [`SmtpTransport`]; see [`SmtpTransportBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) timeout: Duration,
    pub(crate) pool_max_size: u32,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) hello_name: Option<String>,
    pub(crate) roots: ExtraRoots,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            pool_max_size: 4,
            pool_idle_timeout: Duration::from_secs(60),
            hello_name: None,
            roots: ExtraRoots::default(),
        }
    }
}

/// Builds an [`SmtpTransport`].
#[derive(Debug, Default)]
#[must_use]
pub struct SmtpTransportBuilder {
    options: Options,
    signers: Signers,
}

impl SmtpTransportBuilder {
    /// The longest wait for connecting and for each SMTP command; also bounds a whole IMAP copy and a
    /// whole send (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// At most this many open SMTP connections per mailbox (default 4).
    pub fn pool_max_size(mut self, size: u32) -> Self {
        self.options.pool_max_size = size.max(1);
        self
    }

    /// Connections, and a mailbox's whole pool, unused for this long are closed (default 60 s).
    pub fn pool_idle_timeout(mut self, idle: Duration) -> Self {
        self.options.pool_idle_timeout = idle;
        self
    }

    /// The name sent with EHLO (default: this machine's host name).
    pub fn hello_name(mut self, name: impl Into<String>) -> Self {
        self.options.hello_name = Some(name.into());
        self
    }

    /// Trusts the certificates in a PEM text as roots, besides the built-in Mozilla roots (a company CA,
    /// a self-signed test server).
    ///
    /// # Errors
    /// [`ConfigError::Certificate`] when the text holds no certificate or a broken one.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        self.options.roots.add_pem(pem)?;
        Ok(self)
    }

    /// Signs mail from `domain` (the part after `@` in From) with DKIM, with the key published under
    /// `selector._domainkey.domain`. `private_key` is an RSA key in PKCS#1 PEM or an Ed25519 key in base64.
    ///
    /// # Errors
    /// [`ConfigError::Dkim`] when the key cannot be read.
    #[cfg(feature = "dkim")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dkim")))]
    pub fn dkim(
        mut self,
        domain: &str,
        selector: &str,
        private_key: &str,
        algorithm: crate::DkimAlgorithm,
    ) -> Result<Self, ConfigError> {
        self.signers.add(domain, selector, private_key, algorithm)?;
        Ok(self)
    }

    /// The transport.
    ///
    /// # Errors
    /// [`ConfigError::Certificate`] when the TLS configuration cannot be made from the roots.
    pub fn build(self) -> Result<SmtpTransport, ConfigError> {
        let imap_tls = self.options.roots.client_config()?;
        Ok(SmtpTransport {
            inner: Arc::new(Inner {
                options: self.options,
                signers: self.signers,
                imap_tls,
                pools: Mutex::new(HashMap::new()),
                sent_cache: Mutex::new(SentCache::default()),
            }),
        })
    }
}

/// The SMTP + IMAP [`Transport`]: lettre's async SMTP client with one connection pool per mailbox (made
/// on first use, dropped when idle), implicit TLS / STARTTLS / plain as the mailbox says, copies to Sent
/// over IMAP, and the widget's green / gray / red mailbox check.
///
/// Cloning is cheap and shares the pools. Use it inside a tokio runtime.
#[derive(Debug, Clone)]
pub struct SmtpTransport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: Options,
    signers: Signers,
    imap_tls: Arc<rustls::ClientConfig>,
    pools: Mutex<HashMap<PoolKey, PoolEntry>>,
    sent_cache: Mutex<SentCache>,
}

/// Which pool a mailbox uses: changed settings or a new password get a new pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    account: AccountId,
    mailbox: MailboxId,
    host: String,
    port: u16,
    security: SecurityKey,
    login: String,
    password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SecurityKey {
    Tls,
    StartTls,
    Plain,
}

struct PoolEntry {
    transport: Lettre,
    last_used: Instant,
}

impl std::fmt::Debug for PoolEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolEntry")
            .field("last_used", &self.last_used)
            .finish_non_exhaustive()
    }
}

/// The signed bytes of recent sends, so the copy in Sent has the very same DKIM signature (its `t=`
/// is the signing time). Only used when DKIM signs; bounded.
#[derive(Debug, Default)]
struct SentCache {
    order: std::collections::VecDeque<(MailboxId, String)>,
    bytes: HashMap<(MailboxId, String), Vec<u8>>,
}

const SENT_CACHE_SIZE: usize = 512;

impl Drop for Inner {
    fn drop(&mut self) {
        // lettre's pools spawn their clean-up on the tokio runtime when dropped; outside a runtime, give
        // them a short-lived one (the connections are then closed without QUIT).
        if tokio::runtime::Handle::try_current().is_err() {
            let pools = std::mem::take(self.pools.get_mut().unwrap_or_else(PoisonError::into_inner));
            if pools.is_empty() {
                return;
            }
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _entered = runtime.enter();
                drop(pools);
            } else {
                std::mem::forget(pools);
            }
        }
    }
}

impl SentCache {
    fn put(&mut self, key: (MailboxId, String), bytes: Vec<u8>) {
        if self.bytes.insert(key.clone(), bytes).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > SENT_CACHE_SIZE {
            if let Some(old) = self.order.pop_front() {
                self.bytes.remove(&old);
            }
        }
    }

    fn take(&mut self, key: &(MailboxId, String)) -> Option<Vec<u8>> {
        let bytes = self.bytes.remove(key)?;
        self.order.retain(|k| k != key);
        Some(bytes)
    }
}

impl SmtpTransport {
    /// A builder with the defaults.
    pub fn builder() -> SmtpTransportBuilder {
        SmtpTransportBuilder::default()
    }

    /// How many mailboxes have a pool open right now.
    pub fn open_pools(&self) -> usize {
        self.inner.pools.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The wire form of `message` as this transport sends it (signed when DKIM is set for its domain).
    ///
    /// # Errors
    /// As [`mime::build`](crate::mime::build).
    pub fn wire(&self, message: &OutgoingMessage) -> Result<WireMessage, SendError> {
        match self.inner.signers.for_address(&message.from) {
            Some(signer) => mime::build(message, Some(&|m| signer.sign(m))),
            None => mime::build(message, None),
        }
    }

    fn pool(&self, mailbox: &Mailbox) -> Result<Lettre, SendError> {
        let key = PoolKey {
            account: mailbox.account,
            mailbox: mailbox.id,
            host: mailbox.smtp.host.clone(),
            port: mailbox.smtp.port,
            security: security_key(mailbox.smtp.security),
            login: mailbox.login.clone(),
            password: mailbox.password.expose().to_owned(),
        };
        let now = Instant::now();
        let idle = self.inner.options.pool_idle_timeout;
        let mut pools = self.inner.pools.lock().unwrap_or_else(PoisonError::into_inner);
        pools.retain(|k, entry| k == &key || now.duration_since(entry.last_used) <= idle);
        if let Some(entry) = pools.get_mut(&key) {
            entry.last_used = now;
            return Ok(entry.transport.clone());
        }
        let transport = self.lettre(mailbox, Some(self.pool_config()))?;
        pools.insert(
            key,
            PoolEntry {
                transport: transport.clone(),
                last_used: now,
            },
        );
        Ok(transport)
    }

    fn pool_config(&self) -> PoolConfig {
        PoolConfig::new()
            .min_idle(0)
            .max_size(self.inner.options.pool_max_size)
            .idle_timeout(self.inner.options.pool_idle_timeout)
    }

    /// A lettre transport for the mailbox's SMTP server; `pool: None` keeps no connection after use.
    fn lettre(&self, mailbox: &Mailbox, pool: Option<PoolConfig>) -> Result<Lettre, SendError> {
        let server = &mailbox.smtp;
        let options = &self.inner.options;
        let mut builder = Lettre::builder_dangerous(server.host.as_str())
            .port(server.port)
            .timeout(Some(options.timeout))
            .pool_config(pool.unwrap_or_else(|| PoolConfig::new().min_idle(0).max_size(0)));
        if let Some(name) = &options.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        builder = match server.security {
            Security::Plain => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(self.tls_parameters(server)?)),
            Security::Tls => builder.tls(Tls::Wrapper(self.tls_parameters(server)?)),
        };
        if !mailbox.login.is_empty() {
            builder = builder.credentials(Credentials::new(
                mailbox.login.clone(),
                mailbox.password.expose().to_owned(),
            ));
        }
        Ok(builder.build())
    }

    fn tls_parameters(
        &self,
        server: &ServerSettings,
    ) -> Result<lettre::transport::smtp::client::TlsParameters, SendError> {
        self.inner
            .options
            .roots
            .smtp_parameters(&server.host)
            .map_err(from_smtp)
    }

    /// Logs in to SMTP on a fresh connection (not a pooled one) and quits.
    pub(crate) async fn check_smtp(&self, mailbox: &Mailbox) -> Result<(), SendError> {
        let transport = self.lettre(mailbox, None)?;
        let result = with_timeout(self.inner.options.timeout, "SMTP login", transport.test_connection()).await;
        transport.shutdown().await;
        match result? {
            Ok(true) => Ok(()),
            Ok(false) => Err(invalid(
                SendErrorKind::Temporary,
                "the SMTP server closed the connection",
            )),
            Err(e) => Err(from_smtp(e)),
        }
    }

    /// Logs in to IMAP and finds the Sent folder; returns its name.
    pub(crate) async fn check_imap(&self, mailbox: &Mailbox) -> Result<String, SendError> {
        let server = mailbox
            .imap
            .as_ref()
            .ok_or_else(|| invalid(SendErrorKind::Other, "no IMAP server is set"))?;
        let work = async {
            let mut imap = Imap::login(server, mailbox, &self.inner.imap_tls).await?;
            let folders = imap.folders().await;
            imap.logout().await;
            let choice = pick_sent(&folders?, mailbox.sent_folder.as_deref())
                .ok_or_else(|| invalid(SendErrorKind::Other, NO_SENT_FOLDER))?;
            Ok(choice.name)
        };
        with_timeout(self.inner.options.timeout, "IMAP check", work).await?
    }
}

const NO_SENT_FOLDER: &str =
    "no Sent folder found (none marked \\Sent and none with a usual name): set the mailbox's Sent folder";

fn security_key(security: Security) -> SecurityKey {
    match security {
        Security::Tls => SecurityKey::Tls,
        Security::StartTls => SecurityKey::StartTls,
        Security::Plain => SecurityKey::Plain,
    }
}

async fn with_timeout<T>(limit: Duration, what: &str, work: impl Future<Output = T>) -> Result<T, SendError> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| timed_out(what, limit))
}

#[async_trait]
impl Transport for SmtpTransport {
    fn capabilities(&self) -> TransportCaps {
        TransportCaps {
            append_sent: true,
            verify: true,
        }
    }

    async fn send(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<Delivery, SendError> {
        let wire = self.wire(message)?;
        let transport = self.pool(mailbox)?;
        // lettre bounds connecting and each command; this bounds the whole exchange (a large message on a
        // slow link gets four command timeouts).
        let limit = self.inner.options.timeout.saturating_mul(4);
        let response = with_timeout(limit, "SMTP send", transport.send_raw(&wire.envelope, &wire.bytes))
            .await?
            .map_err(from_smtp)?;
        if self.inner.signers.for_address(&message.from).is_some() {
            self.inner
                .sent_cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put((mailbox.id, message.message_id.clone()), wire.bytes);
        }
        let words: Vec<&str> = response.message().collect();
        Ok(Delivery {
            message_id: message.message_id.clone(),
            response: format!("{} {}", response.code(), words.join(" ")),
        })
    }

    async fn append_sent(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<(), SendError> {
        let server = mailbox
            .imap
            .as_ref()
            .ok_or_else(|| invalid(SendErrorKind::Other, "no IMAP server is set: no copy in Sent"))?;
        let cached = self
            .inner
            .sent_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(&(mailbox.id, message.message_id.clone()));
        let bytes = match cached {
            Some(bytes) => bytes,
            None => self.wire(message)?.bytes,
        };
        let work = async {
            let mut imap = Imap::login(server, mailbox, &self.inner.imap_tls).await?;
            let result = async {
                let folders = imap.folders().await?;
                let choice = pick_sent(&folders, mailbox.sent_folder.as_deref())
                    .ok_or_else(|| invalid(SendErrorKind::Other, NO_SENT_FOLDER))?;
                imap.append_seen(&choice.wire, &bytes, !choice.exists).await
            }
            .await;
            imap.logout().await;
            result
        };
        with_timeout(self.inner.options.timeout, "IMAP copy to Sent", work).await?
    }

    async fn verify(&self, mailbox: &Mailbox) -> Result<MailboxCheck, SendError> {
        Ok(verify::check(self, mailbox).await)
    }
}
