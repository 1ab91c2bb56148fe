//! Logged-in IMAP sessions kept per mailbox for copies to Sent ([`KeyedPool`]): made on first use, reused by
//! the next copy, closed when idle, at most a bounded number open per mailbox at once.
//!
//! A session is kept with the Sent folder it found, so a reused session copies with one `APPEND` (no login,
//! no `LIST`). A session that sat idle for a while is checked with `NOOP` first and replaced by a new login
//! when the server has closed it. A session whose copy failed is closed, never pooled: the failure goes back
//! to the caller (the engine keeps the bytes and retries the copy later) and the next copy logs in afresh.

use mailer_core::model::{AccountId, Mailbox, MailboxId, Security, ServerSettings};

use crate::imap::{Imap, SentChoice};
use crate::keyed_pool::KeyedPool;

/// Which pool a mailbox's copies use: changed IMAP settings, login, password or Sent folder get a new one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ImapKey {
    account: AccountId,
    mailbox: MailboxId,
    host: String,
    port: u16,
    security: u8,
    login: String,
    password: String,
    sent_folder: Option<String>,
}

impl ImapKey {
    pub(crate) fn of(mailbox: &Mailbox, server: &ServerSettings) -> Self {
        Self {
            account: mailbox.account,
            mailbox: mailbox.id,
            host: server.host.clone(),
            port: server.port,
            security: match server.security {
                Security::Tls => 0,
                Security::StartTls => 1,
                Security::Plain => 2,
            },
            login: mailbox.login.clone(),
            password: mailbox.password.expose().to_owned(),
            sent_folder: mailbox.sent_folder.clone(),
        }
    }
}

/// A logged-in session and the Sent folder it copies to.
#[derive(Debug)]
pub(crate) struct SentSession {
    pub(crate) imap: Imap,
    pub(crate) sent: SentChoice,
}

/// The session pools of every mailbox (a maximum of 0: no pool, a login per copy).
pub(crate) type ImapPools = KeyedPool<ImapKey, SentSession>;
