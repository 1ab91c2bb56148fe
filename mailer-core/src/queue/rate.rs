//! When a mailbox may send: spacing, per-minute cap and daily cap in its window.

use chrono::Duration as Span;

use crate::model::{SendingLimits, Timestamp, Timezone};

fn span(d: std::time::Duration) -> Span {
    Span::from_std(d).unwrap_or(Span::MAX)
}

/// `t + d`, or "never" (the last representable moment) past it: the answer of a schedule, not a panic.
fn plus(t: Timestamp, d: Span) -> Timestamp {
    t.checked_add_signed(d).unwrap_or(Timestamp::MAX_UTC)
}

/// `t - d`, or the first representable moment before it.
fn minus(t: Timestamp, d: Span) -> Timestamp {
    t.checked_sub_signed(d).unwrap_or(Timestamp::MIN_UTC)
}

/// The earliest moment at or after `now` when the mailbox may send once more, given when the next send
/// may happen by spacing (`next_send_at`) and the mailbox's past sends (`sends`, sorted oldest first —
/// windows are found by binary search; only the last 48 hours matter).
///
/// The daily cap counts sends in the window of [`SendingLimits::window_start`]: a rolling 24 hours frees
/// a slot 24 hours after the send it counted, a calendar day frees all slots at the next midnight in `tz`.
pub fn next_allowed(
    limits: &SendingLimits,
    tz: Timezone,
    next_send_at: Option<Timestamp>,
    sends: &[Timestamp],
    now: Timestamp,
) -> Timestamp {
    let mut at = next_send_at.map_or(now, |t| t.max(now));
    // Each window may push `at` later, which may change another window's count: iterate to a fixed point
    // (at most a handful of rounds, as each round only moves forward).
    for _ in 0..8 {
        let before = at;
        if limits.daily_cap == 0 {
            return Timestamp::MAX_UTC;
        }
        at = at.max(cap_free_at(limits, tz, sends, at));
        if let Some(cap) = limits.per_minute_cap {
            at = at.max(rolling_free_at(sends, at, Span::minutes(1), cap));
        }
        if at == before {
            break;
        }
    }
    at
}

/// How many of `sends` count against the daily cap at `now`: those in the rolling 24 hours before `now`,
/// or since the start of the calendar day in `tz`.
pub fn sends_in_window(limits: &SendingLimits, tz: Timezone, sends: &[Timestamp], now: Timestamp) -> u32 {
    let start = limits.window_start(now, tz);
    let from = match limits.window {
        crate::model::CapWindow::Rolling24h => sends.partition_point(|t| *t <= start),
        crate::model::CapWindow::CalendarDay => sends.partition_point(|t| *t < start),
    };
    let to = sends.partition_point(|t| *t <= now);
    u32::try_from(to.saturating_sub(from)).unwrap_or(u32::MAX)
}

/// When the daily cap allows one more send, looking from `at`.
fn cap_free_at(limits: &SendingLimits, tz: Timezone, sends: &[Timestamp], at: Timestamp) -> Timestamp {
    match limits.window {
        crate::model::CapWindow::Rolling24h => rolling_free_at(sends, at, Span::hours(24), limits.daily_cap),
        crate::model::CapWindow::CalendarDay => {
            let start = limits.window_start(at, tz);
            if sends_in_window(limits, tz, sends, at) < limits.daily_cap {
                at
            } else {
                // The next calendar day in tz: the start of the day that contains start + 25 h.
                tz.start_of_day(plus(start, Span::hours(25)))
            }
        }
    }
}

/// When a sliding window of `width` holds fewer than `cap` sends, looking from `at`.
fn rolling_free_at(sends: &[Timestamp], at: Timestamp, width: Span, cap: u32) -> Timestamp {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let from = sends.partition_point(|t| *t <= minus(at, width));
    let to = sends.partition_point(|t| *t <= at);
    let in_window = sends.get(from..to).unwrap_or_default();
    if in_window.len() < cap {
        return at;
    }
    // The window frees a slot when its oldest counted sends age out: after the (len - cap + 1)-th oldest.
    let k = in_window.len() - cap;
    in_window.get(k).map_or(at, |t| plus(*t, width))
}

/// The expected send moments of the next `count` emails of a mailbox that has nothing else to send,
/// starting from `now`: what the queue view shows.
pub fn expected_send_times(
    limits: &SendingLimits,
    tz: Timezone,
    next_send_at: Option<Timestamp>,
    sends: &[Timestamp],
    now: Timestamp,
    count: usize,
) -> Vec<Timestamp> {
    let mut history: Vec<Timestamp> = sends.to_vec();
    let mut next = next_send_at;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let at = next_allowed(limits, tz, next, &history, now);
        if at == Timestamp::MAX_UTC {
            break;
        }
        out.push(at);
        history.push(at);
        let keep_from = minus(at, Span::hours(49));
        if history.len() > 4 * usize::try_from(limits.daily_cap).unwrap_or(usize::MAX).max(64) {
            history.retain(|t| *t >= keep_from);
        }
        next = Some(plus(at, span(limits.spacing)));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::CapWindow;

    fn t0() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .expect("time")
            .to_utc()
    }

    fn secs(s: i64) -> Timestamp {
        t0() + Span::seconds(s)
    }

    #[test]
    fn spacing_delays_the_next_send() {
        let limits = SendingLimits::default();
        assert_eq!(next_allowed(&limits, Timezone::UTC, None, &[], t0()), t0());
        assert_eq!(
            next_allowed(&limits, Timezone::UTC, Some(secs(1)), &[t0()], t0()),
            secs(1)
        );
        assert_eq!(
            next_allowed(&limits, Timezone::UTC, Some(secs(1)), &[t0()], secs(5)),
            secs(5)
        );
    }

    #[test]
    fn rolling_cap_frees_a_slot_24h_after_the_oldest_counted_send() {
        let limits = SendingLimits {
            spacing: Duration::ZERO,
            daily_cap: 2,
            window: CapWindow::Rolling24h,
            per_minute_cap: None,
        };
        let sends = [secs(0), secs(100)];
        assert_eq!(
            next_allowed(&limits, Timezone::UTC, None, &sends, secs(200)),
            secs(24 * 3600)
        );
    }

    #[test]
    fn calendar_cap_frees_at_midnight_in_the_mailbox_timezone() {
        let tz = Timezone::parse("Europe/Moscow").expect("tz");
        let limits = SendingLimits {
            spacing: Duration::ZERO,
            daily_cap: 1,
            window: CapWindow::CalendarDay,
            per_minute_cap: None,
        };
        // 09:00 UTC = 12:00 Moscow; midnight Moscow is 21:00 UTC.
        let at = next_allowed(&limits, tz, None, &[t0()], secs(60));
        assert_eq!(
            at,
            chrono::DateTime::parse_from_rfc3339("2026-01-05T21:00:00Z")
                .expect("time")
                .to_utc()
        );
    }

    #[test]
    fn per_minute_cap_holds_within_any_minute() {
        let limits = SendingLimits {
            spacing: Duration::ZERO,
            daily_cap: 10_000,
            window: CapWindow::Rolling24h,
            per_minute_cap: Some(30),
        };
        let times = expected_send_times(&limits, Timezone::UTC, None, &[], t0(), 90);
        for (i, t) in times.iter().enumerate() {
            let in_minute = times
                .iter()
                .filter(|u| **u > *t - Span::minutes(1) && **u <= *t)
                .count();
            assert!(in_minute <= 30, "send {i} at {t} has {in_minute} sends in its minute");
        }
        assert_eq!(times[30], t0() + Span::minutes(1));
    }

    #[test]
    fn expected_times_follow_spacing() {
        let limits = SendingLimits::default();
        let times = expected_send_times(&limits, Timezone::UTC, None, &[], t0(), 3);
        assert_eq!(times, vec![t0(), secs(1), secs(2)]);
    }

    #[test]
    fn a_zero_cap_never_sends() {
        let limits = SendingLimits {
            daily_cap: 0,
            ..SendingLimits::default()
        };
        assert_eq!(
            next_allowed(&limits, Timezone::UTC, None, &[], t0()),
            Timestamp::MAX_UTC
        );
        assert!(expected_send_times(&limits, Timezone::UTC, None, &[], t0(), 3).is_empty());
    }
}
