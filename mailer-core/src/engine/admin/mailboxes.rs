//! Mailboxes: save (the password goes to the store, which seals it, and is never read back), list, read,
//! check (green/gray/red with its time and reason, kept on the mailbox), delete.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::model::{
    AccountId, Address, CheckStatus, EmailQuery, EmailStatus, Mailbox, MailboxHealth, MailboxId, SendingLimits,
    ServerSettings, Timezone, User, UserId,
};
use crate::ports::StoreExt;

use super::references::Target;
use super::{Config, actor, bounds, refuse_in_use, store_record};
use crate::engine::{Engine, EngineError, rights};

/// A mailbox as every read use case returns it: everything but the password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MailboxView {
    /// Our id of the mailbox.
    pub id: MailboxId,
    /// The account it belongs to.
    pub account: AccountId,
    /// The user who owns it.
    pub owner: UserId,
    /// The From header.
    pub from: Address,
    /// Outgoing server.
    pub smtp: ServerSettings,
    /// Incoming server, for the copy in Sent.
    pub imap: Option<ServerSettings>,
    /// Login for both servers.
    pub login: String,
    /// True when a password is stored (it is never returned).
    pub has_password: bool,
    /// Name of the Sent folder when the server's own cannot be found.
    pub sent_folder: Option<String>,
    /// Sending limits.
    pub limits: SendingLimits,
    /// Timezone for calendar-day caps.
    pub timezone: Timezone,
    /// The last check.
    pub health: Option<MailboxHealth>,
}

impl From<Mailbox> for MailboxView {
    fn from(m: Mailbox) -> Self {
        Self {
            id: m.id,
            account: m.account,
            owner: m.owner,
            from: m.from,
            smtp: m.smtp,
            imap: m.imap,
            login: m.login,
            has_password: !m.password.expose().is_empty(),
            sent_folder: m.sent_folder,
            limits: m.limits,
            timezone: m.timezone,
            health: m.health,
        }
    }
}

fn malformed(field: &'static str, reason: &str) -> EngineError {
    ValidationError::Malformed {
        field,
        reason: reason.into(),
    }
    .into()
}

fn check_server(field: &'static str, server: &ServerSettings) -> Result<(), EngineError> {
    let host = &server.host;
    if host.is_empty() || host.len() > 253 || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(malformed(field, "a host name or IP address without spaces"));
    }
    if server.port == 0 {
        return Err(malformed(field, "port 0 is not a port"));
    }
    Ok(())
}

fn check_fields(mailbox: &Mailbox) -> Result<(), EngineError> {
    Address::new(&mailbox.from.email)?;
    if mailbox
        .from
        .name
        .as_deref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(malformed("from", "the name must not contain control characters"));
    }
    check_server("smtp", &mailbox.smtp)?;
    if let Some(imap) = &mailbox.imap {
        check_server("imap", imap)?;
    }
    if mailbox.login.trim().is_empty() || mailbox.login.chars().any(char::is_control) {
        return Err(malformed("login", "must not be empty or contain control characters"));
    }
    if mailbox.password.expose().is_empty() {
        return Err(ValidationError::Missing("password").into());
    }
    if mailbox
        .sent_folder
        .as_deref()
        .is_some_and(|f| f.trim().is_empty() || f.chars().any(char::is_control))
    {
        return Err(malformed(
            "sent_folder",
            "must not be empty or contain control characters",
        ));
    }
    bounds::check_limits(&mailbox.limits)?;
    Ok(())
}

/// True when the two differ in what a check depends on.
fn connection_changed(a: &Mailbox, b: &Mailbox) -> bool {
    a.smtp != b.smtp || a.imap != b.imap || a.login != b.login || a.password != b.password || a.from != b.from
}

impl Engine {
    /// Saves a mailbox (new when its id is 0) for `user`: a member saves their own, only an admin adds one
    /// for another user or changes its owner. On an update an empty password keeps the stored one (reads
    /// never return it). The check result is kept unless the connection settings change, and cannot be
    /// set by the caller. Returns the mailbox without its password.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Invalid`] (address, servers, login, password, spacing
    /// and caps), [`EngineError::UnknownReference`] (`owner`), [`EngineError::Store`].
    pub async fn save_mailbox(&self, user: UserId, mut mailbox: Mailbox) -> Result<MailboxView, EngineError> {
        let store = &*self.ports.store;
        let account = mailbox.account;
        let user = actor(store, account, user).await?;
        let old: Option<Mailbox> = if mailbox.id.0 == 0 {
            None
        } else {
            Some(store.get(account, mailbox.id).await?)
        };
        rights::check_owned_save(&user, account, old.as_ref().map(|m| m.owner), mailbox.owner, "mailbox")?;
        mailbox.health = None;
        if let Some(old) = &old {
            if mailbox.password.expose().is_empty() {
                mailbox.password = old.password.clone();
            }
            if !connection_changed(old, &mailbox) {
                mailbox.health = old.health.clone();
            }
        }
        check_fields(&mailbox)?;
        Config::load(store, account).await?.check_owner(mailbox.owner)?;
        Ok(store_record(store, mailbox).await?.into())
    }

    /// The mailboxes `user` may see: their own (all of the account's for an admin), without passwords.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn mailboxes_for(&self, account: AccountId, user: UserId) -> Result<Vec<MailboxView>, EngineError> {
        let user = actor(&*self.ports.store, account, user).await?;
        let all: Vec<Mailbox> = self.ports.store.list(account).await?;
        Ok(all
            .into_iter()
            .filter(|m| rights::can_edit_owned(&user, account, m.owner))
            .map(MailboxView::from)
            .collect())
    }

    /// One mailbox `user` may see, without its password.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::Store`] (`NotFound`).
    pub async fn mailbox_view(
        &self,
        account: AccountId,
        user: UserId,
        id: MailboxId,
    ) -> Result<MailboxView, EngineError> {
        let (_, mailbox) = self.own_mailbox(account, user, id).await?;
        Ok(mailbox.into())
    }

    /// Checks a mailbox's servers with [`Transport::verify`](crate::ports::Transport::verify) and keeps
    /// the result on the mailbox: green (SMTP and IMAP work), gray (only SMTP), red (SMTP does not), with
    /// the time and the reasons. A check that cannot run at all is kept as red with its reason.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::Store`].
    pub async fn check_mailbox(
        &self,
        account: AccountId,
        user: UserId,
        id: MailboxId,
    ) -> Result<MailboxView, EngineError> {
        let (_, mut mailbox) = self.own_mailbox(account, user, id).await?;
        let checked_at = self.now();
        let health = match self.ports.transport.verify(&mailbox).await {
            Ok(check) => MailboxHealth {
                status: check.status,
                checked_at,
                smtp_error: check.smtp_error,
                imap_error: check.imap_error,
            },
            Err(e) => MailboxHealth {
                status: CheckStatus::Red,
                checked_at,
                smtp_error: Some(format!("the check could not run: {e}")),
                imap_error: None,
            },
        };
        mailbox.health = Some(health);
        self.ports.store.update(&mailbox).await?;
        Ok(mailbox.into())
    }

    /// Deletes a mailbox `user` may edit, unless a pipeline rule sends from it or emails wait in its queue.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::InUse`]; [`EngineError::Store`].
    pub async fn delete_mailbox(&self, account: AccountId, user: UserId, id: MailboxId) -> Result<(), EngineError> {
        let store = &*self.ports.store;
        self.own_mailbox(account, user, id).await?;
        let mut referrers = Config::load(store, account).await?.referrers(Target::Mailbox(id));
        let waiting = store
            .list_emails(&EmailQuery {
                statuses: vec![EmailStatus::Queued, EmailStatus::Sending],
                mailbox: Some(id),
                ..EmailQuery::account(account, 1)
            })
            .await?;
        if let Some(email) = waiting.first() {
            referrers.push(format!("queued email {}", email.id));
        }
        refuse_in_use(referrers)?;
        Ok(store.delete::<Mailbox>(account, id).await?)
    }

    /// The mailbox, when `user` owns it or is an admin.
    async fn own_mailbox(
        &self,
        account: AccountId,
        user: UserId,
        id: MailboxId,
    ) -> Result<(User, Mailbox), EngineError> {
        let store = &*self.ports.store;
        let user = actor(store, account, user).await?;
        let mailbox: Mailbox = store.get(account, id).await?;
        if !rights::can_edit_owned(&user, account, mailbox.owner) {
            return Err(EngineError::Forbidden(
                "a member sees and checks their own mailboxes only".into(),
            ));
        }
        Ok((user, mailbox))
    }
}
