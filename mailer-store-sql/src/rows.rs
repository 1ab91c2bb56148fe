//! Turning rows into model values, and model values into column values.

use std::time::Duration;

use mailer_core::model::{
    CapWindow, Email, EmailId, EmailStatus, EntityRef, MailingStatus, Priority, SendingLimits, Timezone,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::Error;
use crate::time::from_us;

pub(crate) fn email_status(s: EmailStatus) -> &'static str {
    match s {
        EmailStatus::Queued => "queued",
        EmailStatus::Sending => "sending",
        EmailStatus::Sent => "sent",
        EmailStatus::Failed => "failed",
        EmailStatus::Cancelled => "cancelled",
    }
}

pub(crate) fn parse_email_status(s: &str) -> Result<EmailStatus, Error> {
    Ok(match s {
        "queued" => EmailStatus::Queued,
        "sending" => EmailStatus::Sending,
        "sent" => EmailStatus::Sent,
        "failed" => EmailStatus::Failed,
        "cancelled" => EmailStatus::Cancelled,
        other => return Err(Error::corrupt(format!("email status {other:?}"))),
    })
}

pub(crate) fn mailing_status(s: MailingStatus) -> &'static str {
    match s {
        MailingStatus::Running => "running",
        MailingStatus::Paused => "paused",
        MailingStatus::Cancelled => "cancelled",
    }
}

pub(crate) fn priority(p: Priority) -> i64 {
    match p {
        Priority::Single => 0,
        Priority::Mailing => 1,
    }
}

pub(crate) fn cap_window(w: CapWindow) -> &'static str {
    match w {
        CapWindow::Rolling24h => "rolling24h",
        CapWindow::CalendarDay => "calendar_day",
    }
}

fn parse_cap_window(s: &str) -> Result<CapWindow, Error> {
    match s {
        "rolling24h" => Ok(CapWindow::Rolling24h),
        "calendar_day" => Ok(CapWindow::CalendarDay),
        other => Err(Error::corrupt(format!("cap window {other:?}"))),
    }
}

/// The stored form of an entity reference (for equality filters).
pub(crate) fn entity(e: EntityRef) -> Result<String, Error> {
    Ok(serde_json::to_string(&e)?)
}

fn u32_of(v: i64, what: &str) -> Result<u32, Error> {
    u32::try_from(v).map_err(|_| Error::corrupt(format!("{what} {v} out of range")))
}

/// An email from the columns `id, status, attempts, due_at, sent_at, last_error, spec` starting at `at`.
pub(crate) fn email(row: &AnyRow, at: usize) -> Result<Email, Error> {
    let spec: String = row.try_get(at + 6)?;
    Ok(Email {
        id: EmailId(row.try_get(at)?),
        status: parse_email_status(&row.try_get::<String, _>(at + 1)?)?,
        attempts: u32_of(row.try_get(at + 2)?, "attempts")?,
        due_at: from_us(row.try_get(at + 3)?)?,
        sent_at: row.try_get::<Option<i64>, _>(at + 4)?.map(from_us).transpose()?,
        last_error: row.try_get(at + 5)?,
        spec: serde_json::from_str(&spec)?,
    })
}

/// A mailbox's limits and timezone from the columns
/// `spacing_us, daily_cap, cap_window, per_minute_cap, timezone` starting at `at`.
pub(crate) fn limits(row: &AnyRow, at: usize) -> Result<(SendingLimits, Timezone), Error> {
    let spacing: i64 = row.try_get(at)?;
    let limits = SendingLimits {
        spacing: Duration::from_micros(u64::try_from(spacing).unwrap_or(0)),
        daily_cap: u32_of(row.try_get(at + 1)?, "daily cap")?,
        window: parse_cap_window(&row.try_get::<String, _>(at + 2)?)?,
        per_minute_cap: row
            .try_get::<Option<i64>, _>(at + 3)?
            .map(|c| u32_of(c, "per-minute cap"))
            .transpose()?,
    };
    let tz_name: String = row.try_get(at + 4)?;
    let tz = Timezone::parse(&tz_name).map_err(|_| Error::corrupt(format!("timezone {tz_name:?}")))?;
    Ok((limits, tz))
}
