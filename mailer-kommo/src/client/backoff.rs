//! Exponential backoff with jitter, for server errors and network failures.

use std::time::Duration;

/// The wait before retry number `attempt` (0-based): `base * 2^attempt`, capped at `max`, then scaled by a
/// jitter factor in `[0.5, 1.0]` taken from `seed`, so that clients hit by one outage do not retry in step.
pub(crate) fn delay(attempt: u32, base: Duration, max: Duration, seed: u64) -> Duration {
    let exp = base.saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
    let capped = exp.min(max);
    // xorshift64* over the seed: cheap, deterministic for a given seed, good enough to spread retries.
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15 ^ u64::from(attempt);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11; // 53 bits
    #[allow(clippy::cast_precision_loss)] // 53-bit integer: exact in f64
    let unit = r as f64 / (1u64 << 53) as f64;
    capped.mul_f64(0.5 + unit / 2.0)
}

/// A seed that differs between calls (time-based); used by the client.
pub(crate) fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()) ^ d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap_and_stay_within_the_jitter_band() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(2));
        for seed in [0, 1, 42, u64::MAX] {
            for attempt in 0..40 {
                let full = base.saturating_mul(1u32 << attempt.min(16)).min(max);
                let d = delay(attempt, base, max, seed);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt} seed {seed}: {d:?} vs {full:?}"
                );
            }
        }
        assert!(delay(5, base, max, 7) > delay(0, base, max, 7));
    }
}
