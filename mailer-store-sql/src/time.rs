//! Moments as stored: BIGINT microseconds since the Unix epoch, in both dialects.

use std::time::Duration;

use mailer_core::model::Timestamp;

use crate::error::Error;

/// A moment as stored.
pub(crate) fn us(at: Timestamp) -> i64 {
    at.timestamp_micros()
}

/// A stored moment.
pub(crate) fn from_us(us: i64) -> Result<Timestamp, Error> {
    chrono::DateTime::from_timestamp_micros(us).ok_or_else(|| Error::corrupt(format!("timestamp {us} out of range")))
}

/// A duration as stored.
pub(crate) fn dur_us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// `at` plus `d`, saturating.
pub(crate) fn plus(at: Timestamp, d: Duration) -> Timestamp {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(Timestamp::MAX_UTC)
}
