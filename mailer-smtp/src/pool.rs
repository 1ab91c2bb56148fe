//! Open SMTP connections kept per mailbox ([`KeyedPool`]): made on first use, reused while busy, closed
//! when idle; at most the pool's size of them in use at once per mailbox (a send beyond that waits for a
//! slot), so a worker with many emails of one mailbox in flight never opens more connections to its server
//! than that.

use mailer_core::model::{AccountId, Mailbox, MailboxId, Security};

use crate::connection::Session;
use crate::keyed_pool::KeyedPool;

/// Which pool a mailbox uses: changed settings or a new password get a new pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    account: AccountId,
    mailbox: MailboxId,
    host: String,
    port: u16,
    security: u8,
    login: String,
    password: String,
}

impl PoolKey {
    pub(crate) fn of(mailbox: &Mailbox) -> Self {
        Self {
            account: mailbox.account,
            mailbox: mailbox.id,
            host: mailbox.smtp.host.clone(),
            port: mailbox.smtp.port,
            security: match mailbox.smtp.security {
                Security::Tls => 0,
                Security::StartTls => 1,
                Security::Plain => 2,
            },
            login: mailbox.login.clone(),
            password: mailbox.password.expose().to_owned(),
        }
    }
}

/// The connection pools of every mailbox.
pub(crate) type Pools = KeyedPool<PoolKey, Session>;

/// Gives a healthy connection back to its mailbox's pool; a broken one is closed.
pub(crate) fn give_back(pools: &Pools, key: &PoolKey, session: Session) {
    if !session.conn.has_broken() {
        pools.put(key, session);
    }
}
