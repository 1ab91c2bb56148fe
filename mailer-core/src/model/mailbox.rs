//! Sending mailboxes and their limits.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AccountId, Address, MailboxId, Secret, Timestamp, Timezone, UserId};

/// How a connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (SMTP 465, IMAP 993).
    Tls,
    /// Plain connection upgraded with STARTTLS (SMTP 587, IMAP 143).
    StartTls,
    /// No TLS at all: only for servers on the local machine or in tests.
    Plain,
}

/// Host, port and security of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ServerSettings {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
}

/// The window a daily cap is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapWindow {
    /// The last 24 hours, sliding (Google Workspace counts this way).
    Rolling24h,
    /// The calendar day in the mailbox's timezone.
    CalendarDay,
}

/// How fast one mailbox may send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SendingLimits {
    /// The least time between two sends from this mailbox (default 1 s).
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::model::DurationSchema))]
    pub spacing: Duration,
    /// At most this many sends per window (default 2,000); [`SendingLimits::NO_DAILY_CAP`] for none.
    pub daily_cap: u32,
    /// How the cap's window is counted.
    pub window: CapWindow,
    /// Optional extra cap per minute (Microsoft 365: 30).
    pub per_minute_cap: Option<u32>,
}

impl SendingLimits {
    /// The `daily_cap` that means no daily cap: a store then need not count the mailbox's sends.
    pub const NO_DAILY_CAP: u32 = u32::MAX;

    /// True when a cap may stop this mailbox, so a store must count its recent sends; false for no daily
    /// cap and no per-minute cap (counting would cost time growing with the sends and decide nothing).
    pub fn caps_sends(&self) -> bool {
        self.daily_cap != Self::NO_DAILY_CAP || self.per_minute_cap.is_some()
    }

    /// True when nothing limits this mailbox: no spacing and no cap (an SMTP relay with its limits lifted).
    /// A claim may then take several of its emails at once; a mailbox with spacing or a cap gives at most
    /// one per claim, because the next send must wait for the spacing or be counted against the cap.
    pub fn lifted(&self) -> bool {
        self.spacing.is_zero() && !self.caps_sends()
    }
}

impl Default for SendingLimits {
    fn default() -> Self {
        Self {
            spacing: Duration::from_secs(1),
            daily_cap: 2_000,
            window: CapWindow::Rolling24h,
            per_minute_cap: None,
        }
    }
}

/// A mailbox a user sends from: the widget's "Add account" form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Mailbox {
    /// Our id of the mailbox.
    pub id: MailboxId,
    /// The account it belongs to.
    pub account: AccountId,
    /// The user who owns it and sends from it.
    pub owner: UserId,
    /// The From header: display name and address.
    pub from: Address,
    /// Outgoing server.
    pub smtp: ServerSettings,
    /// Incoming server, for the copy in Sent; `None` means sending only (a gray check at best).
    pub imap: Option<ServerSettings>,
    /// Login for both servers.
    pub login: String,
    /// Password for both servers.
    pub password: Secret,
    /// Name of the Sent folder when the server's own cannot be found.
    pub sent_folder: Option<String>,
    /// Sending limits.
    pub limits: SendingLimits,
    /// Timezone for calendar-day caps.
    pub timezone: Timezone,
    /// The last check of its servers; `None` until checked, and again after its connection settings change.
    #[serde(default)]
    pub health: Option<MailboxHealth>,
}

/// The colour of the widget's mailbox check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// SMTP and IMAP both work.
    Green,
    /// Only SMTP works: mail can be sent, no copies in Sent.
    Gray,
    /// SMTP does not work.
    Red,
}

/// The stored result of a mailbox check: its colour, when it ran, and why it is not green.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MailboxHealth {
    /// The colour.
    pub status: CheckStatus,
    /// When the check ran.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub checked_at: Timestamp,
    /// What went wrong with SMTP, if anything.
    pub smtp_error: Option<String>,
    /// What went wrong with IMAP, if anything (also when no IMAP server is set).
    pub imap_error: Option<String>,
}

impl MailboxHealth {
    /// Why the check is not green, in one line; `None` when green.
    pub fn reason(&self) -> Option<String> {
        match (&self.smtp_error, &self.imap_error) {
            (None, None) => None,
            (Some(smtp), None) => Some(format!("SMTP: {smtp}")),
            (None, Some(imap)) => Some(format!("IMAP: {imap}")),
            (Some(smtp), Some(imap)) => Some(format!("SMTP: {smtp}; IMAP: {imap}")),
        }
    }
}

impl SendingLimits {
    /// The start of the cap window that contains `now`: 24 hours back, or the start of the calendar day in
    /// `tz`.
    pub fn window_start(&self, now: super::Timestamp, tz: Timezone) -> super::Timestamp {
        match self.window {
            CapWindow::Rolling24h => super::saturating_before(now, chrono::Duration::hours(24)),
            CapWindow::CalendarDay => tz.start_of_day(now),
        }
    }
}
