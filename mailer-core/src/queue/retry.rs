//! What to do after a failed attempt: retry later with backoff and jitter, or fail.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{EmailId, Timestamp};
use crate::ports::SendError;

/// Retry policy for temporary sending errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (default 5).
    pub max_attempts: u32,
    /// Wait after the first failure (default 2 minutes).
    pub base_delay: Duration,
    /// Each wait is this many times the previous one (default 2.5).
    pub factor: f64,
    /// No wait is longer than this (default 1 hour).
    pub max_delay: Duration,
    /// Each wait is moved by up to this fraction either way (default 0.2), so retries of many emails do not
    /// come back at the same moment.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 5 attempts over about an hour: waits of about 2, 5, 12.5 and 31 minutes.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(120),
            factor: 2.5,
            max_delay: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }
}

/// The decision after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetryDecision {
    /// Try again at this moment.
    RetryAt(Timestamp),
    /// Give up.
    Fail,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), without jitter.
    pub fn base_wait(&self, attempt: u32) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.base_delay.as_secs_f64() * self.factor.powi(exp);
        Duration::from_secs_f64(secs.min(self.max_delay.as_secs_f64()).max(0.0))
    }

    /// The wait after failed attempt `attempt` of `email`, with a jitter that is the same every time for the
    /// same email and attempt (no randomness in the core).
    pub fn wait(&self, email: EmailId, attempt: u32) -> Duration {
        let base = self.base_wait(attempt).as_secs_f64();
        let unit = unit_hash(email, attempt) * 2.0 - 1.0; // in [-1, 1)
        Duration::from_secs_f64((base * (1.0 + self.jitter * unit)).max(1.0))
    }

    /// Decides after `error` on attempt `attempt` (1-based) at `now`: a temporary error is retried until
    /// the attempts run out; any other error fails at once.
    pub fn decide(&self, error: &SendError, email: EmailId, attempt: u32, now: Timestamp) -> RetryDecision {
        self.after_failure(error.is_temporary(), email, attempt, now)
    }

    /// Decides after a failure that is `temporary` or not (a CRM or download failure as well as a sending
    /// one), on attempt `attempt` (1-based) at `now`.
    pub fn after_failure(&self, temporary: bool, email: EmailId, attempt: u32, now: Timestamp) -> RetryDecision {
        if !temporary || attempt >= self.max_attempts {
            return RetryDecision::Fail;
        }
        // A wait past the last representable moment is no retry at all.
        match chrono::Duration::from_std(self.wait(email, attempt))
            .ok()
            .and_then(|wait| now.checked_add_signed(wait))
        {
            Some(at) => RetryDecision::RetryAt(at),
            None => RetryDecision::Fail,
        }
    }
}

/// A number in [0, 1) from the email and attempt (SplitMix64).
fn unit_hash(email: EmailId, attempt: u32) -> f64 {
    let mut z = email.0.cast_unsigned() ^ (u64::from(attempt) << 48) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SendErrorKind;

    fn now() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .expect("time")
            .to_utc()
    }

    #[test]
    fn default_policy_spends_about_an_hour_on_five_tries() {
        let p = RetryPolicy::default();
        let total: f64 = (1..p.max_attempts).map(|a| p.base_wait(a).as_secs_f64()).sum();
        assert!((2_400.0..=4_200.0).contains(&total), "total wait {total} s");
    }

    #[test]
    fn temporary_errors_retry_until_attempts_run_out() {
        let p = RetryPolicy::default();
        let err = SendError::new(SendErrorKind::Temporary, "451 try later").with_code(451);
        for attempt in 1..5 {
            let RetryDecision::RetryAt(at) = p.decide(&err, EmailId(7), attempt, now()) else {
                panic!("attempt {attempt} not retried");
            };
            let wait = (at - now()).num_seconds() as f64;
            let base = p.base_wait(attempt).as_secs_f64();
            assert!(
                (base * 0.8 - 1.0..=base * 1.2 + 1.0).contains(&wait),
                "wait {wait} vs base {base}"
            );
        }
        assert_eq!(p.decide(&err, EmailId(7), 5, now()), RetryDecision::Fail);
    }

    #[test]
    fn permanent_errors_fail_at_once() {
        let p = RetryPolicy::default();
        for kind in [
            SendErrorKind::Auth,
            SendErrorKind::RejectedAsSpam,
            SendErrorKind::InvalidAddress,
            SendErrorKind::DataNotAccepted,
            SendErrorKind::Other,
        ] {
            assert_eq!(
                p.decide(&SendError::new(kind, "x"), EmailId(1), 1, now()),
                RetryDecision::Fail,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn jitter_spreads_emails_but_is_stable_per_email() {
        let p = RetryPolicy::default();
        assert_eq!(p.wait(EmailId(1), 1), p.wait(EmailId(1), 1));
        let waits: std::collections::HashSet<u64> = (0..50).map(|i| p.wait(EmailId(i), 1).as_secs()).collect();
        assert!(waits.len() > 10, "jitter does not spread: {waits:?}");
    }
}
