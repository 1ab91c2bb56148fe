//! A [`Timestamp`] in JSON as chrono writes it (RFC 3339 in UTC, `2026-12-03T23:25:00.123456Z`: no fraction,
//! or 3, 6 or 9 digits, whichever is shortest and exact), written without `core::fmt`: for records written
//! per hit, where chrono's formatter was half the cost of the whole JSON. Reading is chrono's. Use with
//! `#[serde(with = "crate::model::time::rfc3339")]`.

use chrono::{Datelike, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Timestamp;

/// The longest text written here: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

/// Writes `at` as chrono does.
///
/// # Errors
/// The serializer's.
pub(crate) fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; MAX_LEN];
    match write(at, &mut buf).and_then(|n| std::str::from_utf8(&buf[..n]).ok()) {
        Some(text) => serializer.serialize_str(text),
        None => at.serialize(serializer),
    }
}

/// Reads any RFC 3339 moment, as chrono does.
///
/// # Errors
/// The deserializer's, for text that is not an RFC 3339 moment.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    Timestamp::deserialize(deserializer)
}

/// The text's length in `buf`, or `None` for what only chrono writes: a year outside 0..=9999 (signed,
/// five digits or more) or a leap second.
fn write(at: &Timestamp, buf: &mut [u8; MAX_LEN]) -> Option<usize> {
    // The naive parts: `DateTime`'s own accessors convert to local time on every call.
    let naive = at.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    digits(&mut buf[0..4], year);
    buf[4] = b'-';
    digits(&mut buf[5..7], date.month());
    buf[7] = b'-';
    digits(&mut buf[8..10], date.day());
    buf[10] = b'T';
    let seconds = time.num_seconds_from_midnight();
    digits(&mut buf[11..13], seconds / 3600);
    buf[13] = b':';
    digits(&mut buf[14..16], seconds / 60 % 60);
    buf[16] = b':';
    digits(&mut buf[17..19], seconds % 60);
    let mut end = 19;
    let (fraction, width) = if nanos == 0 {
        (0, 0)
    } else if nanos % 1_000_000 == 0 {
        (nanos / 1_000_000, 3)
    } else if nanos % 1_000 == 0 {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    if width > 0 {
        buf[end] = b'.';
        digits(&mut buf[end + 1..end + 1 + width], fraction);
        end += 1 + width;
    }
    buf[end] = b'Z';
    Some(end + 1)
}

/// `n` in decimal, zero-padded to fill `out`.
fn digits(out: &mut [u8], mut n: u32) {
    for b in out.iter_mut().rev() {
        // `n % 10` is below 10: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        *b = b'0' + digit;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Ours(#[serde(with = "super")] Timestamp);

    fn chrono_json(at: Timestamp) -> String {
        serde_json::to_string(&at).unwrap_or_default()
    }

    #[test]
    fn each_fraction_width_and_the_edges_read_as_chrono_writes_them() {
        let base = chrono::Utc
            .with_ymd_and_hms(2026, 12, 3, 23, 5, 9)
            .single()
            .unwrap_or_default();
        for nanos in [0, 7_000_000, 123_456_000, 1, 999_999_999, 100_000_000] {
            let at = base + chrono::Duration::nanoseconds(nanos);
            assert_eq!(
                serde_json::to_string(&Ours(at)).ok(),
                Some(chrono_json(at)),
                "{nanos} ns"
            );
        }
        assert_eq!(
            serde_json::to_string(&Ours(base)).ok().as_deref(),
            Some("\"2026-12-03T23:05:09Z\"")
        );
        // Outside 0..=9999 chrono writes a sign: ours hands those to it.
        for at in [Timestamp::MIN_UTC, Timestamp::MAX_UTC] {
            assert_eq!(serde_json::to_string(&Ours(at)).ok(), Some(chrono_json(at)));
        }
    }

    proptest! {
        #[test]
        fn any_moment_is_written_as_chrono_writes_it_and_reads_back(
            secs in -62_167_219_200i64..253_402_300_800i64,
            nanos in prop_oneof![Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000), (0u32..1_000_000).prop_map(|u| u * 1000), 0u32..1_000_000_000],
        ) {
            let at = chrono::DateTime::from_timestamp(secs, nanos).unwrap_or_default();
            let ours = serde_json::to_string(&Ours(at)).unwrap_or_default();
            prop_assert_eq!(&ours, &chrono_json(at));
            prop_assert_eq!(serde_json::from_str::<Ours>(&ours).ok(), Some(Ours(at)));
        }
    }
}
