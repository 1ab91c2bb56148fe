//! The ranges a save accepts for every duration (and the few other sizes the admin use cases bound), so
//! that nothing is stored that would fail (or overflow) when it runs.
//!
//! | duration | accepted |
//! |---|---|
//! | not-opened timer | 1 minute to 365 days |
//! | trigger delay | zero, or 1 second to 365 days (the manual: "from 1 second") |
//! | task deadline "after" | zero to 365 days |
//! | pipeline-rule delay | zero, or 1 minute to 365 days |
//! | mailbox spacing | 1 second to 24 hours (the daily cap covers longer gaps) |
//! | web page lifetime | 1 to 365 days |
//! | web page cache | zero (render every time) to 24 hours |
//!
//! Besides: a trigger link's redirect URL is 2,048 bytes at most, an account has 3 page subdomains at most,
//! a user's signature is 64 KB at most.
//!
//! The manual's "from 1 minute to any period" needs a maximum: a year is longer than any follow-up, and
//! every moment computed from these stays far inside what a timestamp can hold.

use std::time::Duration;

use crate::error::ValidationError;
use crate::model::{Action, Deadline, EmailTriggers, PipelineRule, SendingLimits, Trigger, WebPage};

const DAY: u64 = 86_400;

/// The longest wait anything accepts: 365 days.
pub const MAX_WAIT: Duration = Duration::from_secs(365 * DAY);
/// The shortest not-opened timer: 1 minute.
pub const MIN_NOT_OPENED: Duration = crate::trigger::MIN_NOT_OPENED;
/// The shortest non-zero trigger delay: 1 second.
pub const MIN_TRIGGER_DELAY: Duration = crate::trigger::MIN_DELAY;
/// The shortest non-zero pipeline-rule delay: 1 minute.
pub const MIN_PIPELINE_DELAY: Duration = Duration::from_secs(60);
/// The shortest mailbox spacing: 1 second.
pub const MIN_SPACING: Duration = Duration::from_secs(1);
/// The longest mailbox spacing: 24 hours.
pub const MAX_SPACING: Duration = Duration::from_secs(DAY);
/// The shortest web page lifetime, in days.
pub const MIN_PAGE_LIFETIME_DAYS: u32 = 1;
/// The longest web page lifetime, in days.
pub const MAX_PAGE_LIFETIME_DAYS: u32 = 365;
/// The longest web page cache: 24 hours.
pub const MAX_PAGE_CACHE: Duration = Duration::from_secs(DAY);

/// The longest redirect URL: 2,048 bytes.
pub const MAX_REDIRECT_LEN: usize = 2_048;

/// At most this many different subdomains per account (the manual: "up to 3").
pub const MAX_SUBDOMAINS: usize = 3;

/// The largest signature: 64 KB of HTML.
pub const MAX_SIGNATURE_BYTES: usize = 64 * 1024;

fn within(what: &'static str, actual: Duration, min: Duration, max: Duration) -> Result<(), ValidationError> {
    if actual < min || actual > max {
        return Err(ValidationError::DurationOutOfRange { what, actual, min, max });
    }
    Ok(())
}

/// Zero, or within `min..=max`.
fn zero_or_within(what: &'static str, actual: Duration, min: Duration, max: Duration) -> Result<(), ValidationError> {
    if actual.is_zero() {
        return Ok(());
    }
    within(what, actual, min, max)
}

/// Checks the not-opened timer of an email's or template's triggers.
///
/// # Errors
/// [`ValidationError::DurationOutOfRange`] outside 1 minute to 365 days.
pub fn check_email_triggers(triggers: &EmailTriggers) -> Result<(), ValidationError> {
    match &triggers.not_opened {
        Some(n) => within("not-opened timer", n.after, MIN_NOT_OPENED, MAX_WAIT),
        None => Ok(()),
    }
}

/// Checks a trigger's delay and its task deadline.
///
/// # Errors
/// [`ValidationError::DurationOutOfRange`] for a delay that is not zero or 1 second to 365 days, or a
/// deadline over 365 days.
pub fn check_trigger(trigger: &Trigger) -> Result<(), ValidationError> {
    zero_or_within("trigger delay", trigger.delay, MIN_TRIGGER_DELAY, MAX_WAIT)?;
    if let Action::SetTask {
        deadline: Deadline::After(wait),
        ..
    } = &trigger.action
    {
        within("task deadline", *wait, Duration::ZERO, MAX_WAIT)?;
    }
    Ok(())
}

/// Checks a pipeline rule's delay.
///
/// # Errors
/// [`ValidationError::DurationOutOfRange`] for a delay that is not zero or 1 minute to 365 days.
pub fn check_rule(rule: &PipelineRule) -> Result<(), ValidationError> {
    zero_or_within("pipeline delay", rule.delay, MIN_PIPELINE_DELAY, MAX_WAIT)
}

/// Checks a mailbox's sending limits: spacing, and caps that let it send at all.
///
/// # Errors
/// [`ValidationError::DurationOutOfRange`] for a spacing outside 1 second to 24 hours;
/// [`ValidationError::OutOfRange`] for a zero cap.
pub fn check_limits(limits: &SendingLimits) -> Result<(), ValidationError> {
    within("mailbox spacing", limits.spacing, MIN_SPACING, MAX_SPACING)?;
    if limits.daily_cap == 0 || limits.per_minute_cap == Some(0) {
        return Err(ValidationError::OutOfRange {
            what: "mailbox cap",
            detail: "a cap of 0 never sends: 1 at least".into(),
        });
    }
    Ok(())
}

/// Checks a web page's lifetime and cache.
///
/// # Errors
/// [`ValidationError::OutOfRange`] for a lifetime outside 1 to 365 days;
/// [`ValidationError::DurationOutOfRange`] for a cache over 24 hours.
pub fn check_page(page: &WebPage) -> Result<(), ValidationError> {
    if !(MIN_PAGE_LIFETIME_DAYS..=MAX_PAGE_LIFETIME_DAYS).contains(&page.lifetime_days) {
        return Err(ValidationError::OutOfRange {
            what: "page lifetime",
            detail: format!(
                "{} days is not from {MIN_PAGE_LIFETIME_DAYS} to {MAX_PAGE_LIFETIME_DAYS} days",
                page.lifetime_days
            ),
        });
    }
    within("page cache", page.cache, Duration::ZERO, MAX_PAGE_CACHE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, NotOpened};
    use crate::testkit::fixture::sample_trigger;

    #[test]
    fn not_opened_timer_is_a_minute_to_a_year() {
        let timer = |secs| EmailTriggers {
            not_opened: Some(NotOpened {
                after: Duration::from_secs(secs),
                triggers: Vec::new(),
            }),
            ..EmailTriggers::default()
        };
        assert!(check_email_triggers(&timer(60)).is_ok());
        assert!(check_email_triggers(&timer(365 * DAY)).is_ok());
        let err = check_email_triggers(&timer(59)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not-opened timer of 59s is out of range: from 1min to 365d"
        );
        assert!(check_email_triggers(&timer(365 * DAY + 1)).is_err());
        assert!(check_email_triggers(&timer(u64::MAX)).is_err());
    }

    #[test]
    fn trigger_delay_is_zero_or_a_second_to_a_year() {
        let mut t = sample_trigger(AccountId(1));
        for (secs, ok) in [(0, true), (1, true), (365 * DAY, true), (365 * DAY + 1, false)] {
            t.delay = Duration::from_secs(secs);
            assert_eq!(check_trigger(&t).is_ok(), ok, "delay {secs}s");
        }
        t.delay = Duration::from_millis(500);
        assert!(check_trigger(&t).is_err(), "half a second was accepted");
    }
}
