//! Moments and timezones.

use serde::{Deserialize, Serialize};

pub(crate) mod rfc3339;

/// A moment in UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// An IANA timezone such as `Europe/Moscow`, serialised by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(transparent)]
#[cfg_attr(feature = "utoipa", schema(value_type = String))]
pub struct Timezone(pub chrono_tz::Tz);

impl Timezone {
    /// UTC.
    pub const UTC: Self = Self(chrono_tz::Tz::UTC);

    /// Parses an IANA name.
    ///
    /// # Errors
    /// [`ValidationError::UnknownTimezone`](crate::error::ValidationError::UnknownTimezone) for an
    /// unknown name.
    pub fn parse(name: &str) -> Result<Self, crate::error::ValidationError> {
        name.parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| crate::error::ValidationError::UnknownTimezone(name.to_owned()))
    }

    /// The calendar date of `at` in this timezone.
    pub fn date_of(&self, at: Timestamp) -> chrono::NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// The UTC moment the calendar day of `at` began in this timezone.
    pub fn start_of_day(&self, at: Timestamp) -> Timestamp {
        use chrono::TimeZone;
        let date = self.date_of(at);
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.0.from_local_datetime(&midnight) {
            chrono::LocalResult::Single(t) => t.with_timezone(&chrono::Utc),
            chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&chrono::Utc),
            // Midnight skipped by a DST change: the day starts at the first moment that exists.
            chrono::LocalResult::None => self
                .0
                .from_local_datetime(
                    &midnight
                        .checked_add_signed(chrono::Duration::hours(1))
                        .unwrap_or(midnight),
                )
                .earliest()
                .map_or(at, |t| t.with_timezone(&chrono::Utc)),
        }
    }
}

/// `at + wait`, or the last representable moment when that is past it: for schedules where "never" is the
/// right answer to an absurd wait. Use [`trigger::after`](crate::trigger::after) where it must be refused.
pub fn saturating_after(at: Timestamp, wait: std::time::Duration) -> Timestamp {
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(Timestamp::MAX_UTC)
}

/// `at - span`, or the first representable moment when that is before it.
pub fn saturating_before(at: Timestamp, span: chrono::Duration) -> Timestamp {
    at.checked_sub_signed(span).unwrap_or(Timestamp::MIN_UTC)
}

impl Default for Timezone {
    fn default() -> Self {
        Self::UTC
    }
}

/// The JSON shape of a [`std::time::Duration`] (serde's): whole seconds and the nanoseconds past them,
/// e.g. `{"secs": 90, "nanos": 0}`. Only its OpenAPI schema is used.
#[cfg(feature = "utoipa")]
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[schema(as = Duration)]
pub struct DurationSchema {
    /// Whole seconds.
    pub secs: u64,
    /// Nanoseconds past them (below 1 000 000 000).
    pub nanos: u32,
}
