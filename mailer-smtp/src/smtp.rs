//! [`SmtpTransport`]: sends over SMTP with lettre (a connection pool per mailbox), copies to Sent over
//! IMAP (a session pool per mailbox) and runs the widget's mailbox check.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::extension::{ClientId, Extension};
use mailer_core::model::{Mailbox, ServerSettings};
use mailer_core::ports::{Delivery, MailboxCheck, OutgoingMessage, SendError, SendErrorKind, Transport, TransportCaps};

use crate::ConfigError;
use crate::connection::{Connector, Session};
use crate::error::{from_smtp, invalid, timed_out};
use crate::imap::{Imap, pick_sent};
use crate::imap_pool::{ImapKey, ImapPools, SentSession};
use crate::keyed_pool::{Reused, Slot};
use crate::mime::{self, WireMessage};
use crate::pool::{PoolKey, Pools, give_back};
use crate::signing::Signers;
use crate::tls::ExtraRoots;
use crate::verify;

/// Settings of an [`SmtpTransport`]; see [`SmtpTransportBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) timeout: Duration,
    pub(crate) pool_max_size: u32,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) imap_pool_max_size: u32,
    pub(crate) hello_name: Option<String>,
    pub(crate) roots: ExtraRoots,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            pool_max_size: 4,
            pool_idle_timeout: Duration::from_secs(60),
            imap_pool_max_size: 2,
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
    /// The longest wait for connecting and logging in, and for one message to be accepted once connected;
    /// also bounds a whole IMAP copy (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// At most this many SMTP connections per mailbox in use at once and kept open between sends (default
    /// 4); a send beyond that waits for one to be free, up to the timeout.
    pub fn pool_max_size(mut self, size: u32) -> Self {
        self.options.pool_max_size = size.max(1);
        self
    }

    /// At most this many logged-in IMAP sessions per mailbox for copies to Sent (default 2); copies of one
    /// mailbox beyond that wait for a session. 0 turns the pool off: each copy logs in, finds the Sent
    /// folder and logs out.
    pub fn imap_pool_max_size(mut self, size: u32) -> Self {
        self.options.imap_pool_max_size = size;
        self
    }

    /// Connections and IMAP sessions, and a mailbox's whole pools, unused for this long are closed
    /// (default 60 s).
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
        let tls = self.options.roots.client_config()?;
        let hello = match &self.options.hello_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::default(),
        };
        let pools = Pools::new(
            usize::try_from(self.options.pool_max_size).unwrap_or(usize::MAX),
            self.options.pool_idle_timeout,
        );
        let imap_pools = ImapPools::new(
            usize::try_from(self.options.imap_pool_max_size).unwrap_or(usize::MAX),
            self.options.pool_idle_timeout,
        );
        Ok(SmtpTransport {
            inner: Arc::new(Inner {
                options: self.options,
                signers: self.signers,
                tls,
                hello,
                pools,
                imap_pools,
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
    tls: Arc<rustls::ClientConfig>,
    hello: ClientId,
    pools: Pools,
    imap_pools: ImapPools,
}

impl SmtpTransport {
    /// A builder with the defaults.
    pub fn builder() -> SmtpTransportBuilder {
        SmtpTransportBuilder::default()
    }

    /// A reader of the mailboxes' INBOX with this transport's TLS roots and timeout.
    pub fn inbox(&self) -> crate::inbox::ImapInbox {
        crate::inbox::ImapInbox::with_tls(Arc::clone(&self.inner.tls), self.inner.options.timeout)
    }

    /// How many mailboxes have a connection pool right now.
    pub fn open_pools(&self) -> usize {
        self.inner.pools.len()
    }

    /// How many logged-in IMAP sessions wait in the pools for the next copy to Sent right now.
    pub fn idle_imap_sessions(&self) -> usize {
        self.inner.imap_pools.idle()
    }

    /// The wire form of `message` as this transport sends it (signed when DKIM is set for its domain). A
    /// signature carries its signing time (`t=`), so each call signs anew; the bytes a send put on the
    /// wire are its [`Delivery::raw`].
    ///
    /// # Errors
    /// As [`mime::build`](crate::mime::build).
    pub fn wire(&self, message: &OutgoingMessage) -> Result<WireMessage, SendError> {
        match self.inner.signers.for_address(&message.from) {
            Some(signer) => mime::build(message, Some(&|bytes| signer.sign(bytes))),
            None => mime::build(message, None),
        }
    }

    fn connector(&self) -> Connector<'_> {
        Connector {
            hello: &self.inner.hello,
            roots: &self.inner.options.roots,
            tls: &self.inner.tls,
        }
    }

    /// A slot of the mailbox's pool (waiting at most the timeout for one) and a logged-in connection: a
    /// pooled one (checked with NOOP when it sat idle for a while) or a new one.
    async fn connection(&self, mailbox: &Mailbox, key: &PoolKey) -> Result<(Slot, Session), SendError> {
        let limit = self.inner.options.timeout;
        let (slot, reused) = self
            .inner
            .pools
            .checkout(key, limit)
            .await
            .ok_or_else(|| timed_out("waiting for a free SMTP connection of the mailbox", limit))?;
        if let Some(mut reused) = reused {
            if reused.idle < NOOP_AFTER || reused.item.conn.test_connected().await {
                return Ok((slot, reused.item));
            }
            reused.item.conn.abort().await;
        }
        let session = with_timeout(limit, "SMTP connect and login", self.connector().connect(mailbox)).await??;
        Ok((slot, session))
    }

    /// Logs in to IMAP and finds the Sent folder (logging out again when there is none).
    async fn sent_session(&self, server: &ServerSettings, mailbox: &Mailbox) -> Result<SentSession, SendError> {
        let mut imap = Imap::login(server, mailbox, &self.inner.tls).await?;
        let sent = match imap.folders().await {
            Ok(folders) => pick_sent(&folders, mailbox.sent_folder.as_deref())
                .ok_or_else(|| invalid(SendErrorKind::Other, NO_SENT_FOLDER)),
            Err(e) => Err(e),
        };
        match sent {
            Ok(sent) => Ok(SentSession { imap, sent }),
            Err(e) => {
                imap.logout().await;
                Err(e)
            }
        }
    }

    /// Copies `raw` to Sent over a pooled session of the mailbox (one that sat idle is checked with NOOP
    /// first) or a new one; the session goes back to the pool only when the copy worked.
    async fn append_pooled(&self, server: &ServerSettings, mailbox: &Mailbox, raw: &[u8]) -> Result<(), SendError> {
        let pools = &self.inner.imap_pools;
        let key = ImapKey::of(mailbox, server);
        // Called within the copy's timeout: waiting for a slot is bounded by it too.
        let (_slot, reused) = pools.checkout(&key, self.inner.options.timeout).await.ok_or_else(|| {
            timed_out(
                "waiting for a free IMAP session of the mailbox",
                self.inner.options.timeout,
            )
        })?;
        let alive = match reused {
            Some(Reused { item, idle }) if idle < NOOP_AFTER => Some(item),
            // The server may have closed a session that sat idle: a new login replaces it.
            Some(Reused { item: mut session, .. }) => session.imap.noop().await.then_some(session),
            None => None,
        };
        let mut session = match alive {
            Some(session) => session,
            None => self.sent_session(server, mailbox).await?,
        };
        session
            .imap
            .append_seen(&session.sent.wire, raw, !session.sent.exists)
            .await?;
        session.sent.exists = true;
        pools.put(&key, session);
        Ok(())
    }

    /// Copies `raw` to Sent on a session of its own: log in, find the folder, append, log out.
    async fn append_unpooled(&self, server: &ServerSettings, mailbox: &Mailbox, raw: &[u8]) -> Result<(), SendError> {
        let SentSession { mut imap, sent } = self.sent_session(server, mailbox).await?;
        let result = imap.append_seen(&sent.wire, raw, !sent.exists).await;
        imap.logout().await;
        result
    }

    /// Logs in to SMTP on a fresh connection (not a pooled one) and quits.
    pub(crate) async fn check_smtp(&self, mailbox: &Mailbox) -> Result<(), SendError> {
        let work = async {
            let mut session = self.connector().connect(mailbox).await?;
            session.conn.quit().await.map_err(from_smtp)?;
            Ok(())
        };
        with_timeout(self.inner.options.timeout, "SMTP login", work).await?
    }

    /// Logs in to IMAP and finds the Sent folder; returns its name.
    pub(crate) async fn check_imap(&self, mailbox: &Mailbox) -> Result<String, SendError> {
        let server = mailbox
            .imap
            .as_ref()
            .ok_or_else(|| invalid(SendErrorKind::Other, "no IMAP server is set"))?;
        let work = async {
            let mut imap = Imap::login(server, mailbox, &self.inner.tls).await?;
            let folders = imap.folders().await;
            imap.logout().await;
            let choice = pick_sent(&folders?, mailbox.sent_folder.as_deref())
                .ok_or_else(|| invalid(SendErrorKind::Other, NO_SENT_FOLDER))?;
            Ok(choice.name)
        };
        with_timeout(self.inner.options.timeout, "IMAP check", work).await?
    }
}

/// The first envelope address that is not ASCII.
fn non_ascii_address(wire: &WireMessage) -> Option<String> {
    wire.envelope
        .from()
        .into_iter()
        .chain(wire.envelope.to())
        .map(ToString::to_string)
        .find(|a| !a.is_ascii())
}

/// A pooled connection idle for longer than this is checked with NOOP before use.
const NOOP_AFTER: Duration = Duration::from_secs(2);

const NO_SENT_FOLDER: &str =
    "no Sent folder found (none marked \\Sent and none with a usual name): set the mailbox's Sent folder";

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
        let key = PoolKey::of(mailbox);
        // The slot is held until the connection is back in the pool (or closed).
        let (_slot, mut session) = self.connection(mailbox, &key).await?;
        // Domains already go as punycode; a non-ASCII local part has no ASCII form and needs SMTPUTF8.
        if let Some(address) = non_ascii_address(&wire)
            && !session.conn.server_info().supports_feature(Extension::SmtpUtfEight)
        {
            give_back(&self.inner.pools, &key, session);
            return Err(invalid(
                SendErrorKind::InvalidAddress,
                format!("the address {address} can only be sent to a server with SMTPUTF8, and this one has none"),
            ));
        }
        let response = with_timeout(
            self.inner.options.timeout,
            "SMTP send",
            crate::submit::submit(&mut session, &wire.envelope, &wire.bytes),
        )
        .await?
        .map_err(from_smtp)?;
        give_back(&self.inner.pools, &key, session);
        let words: Vec<&str> = response.message().collect();
        Ok(Delivery {
            message_id: message.message_id.clone(),
            response: format!("{} {}", response.code(), words.join(" ")),
            raw: wire.bytes,
        })
    }

    async fn append_sent(&self, mailbox: &Mailbox, message_id: &str, raw: &[u8]) -> Result<(), SendError> {
        let server = mailbox.imap.as_ref().ok_or_else(|| {
            invalid(
                SendErrorKind::Other,
                format!("no IMAP server is set: no copy of {message_id} in Sent"),
            )
        })?;
        let limit = self.inner.options.timeout;
        if self.inner.imap_pools.max() > 0 {
            with_timeout(limit, "IMAP copy to Sent", self.append_pooled(server, mailbox, raw)).await?
        } else {
            with_timeout(limit, "IMAP copy to Sent", self.append_unpooled(server, mailbox, raw)).await?
        }
    }

    async fn verify(&self, mailbox: &Mailbox) -> Result<MailboxCheck, SendError> {
        Ok(verify::check(self, mailbox).await)
    }
}
