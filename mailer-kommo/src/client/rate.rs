//! The client-side rate limit: at most N requests started in any sliding window of one second.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A little more than a second, so requests that arrive late at Kommo still fit its one-second window.
const WINDOW: Duration = Duration::from_millis(1_050);

/// Lets at most `per_second` requests start in any window; waiters are served in order.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: usize,
    starts: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            per_second: usize::try_from(per_second.max(1)).unwrap_or(1),
            starts: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until one more request may start, and counts it.
    pub(crate) async fn acquire(&self) {
        // The lock is held while sleeping: later callers queue behind, which keeps the order fair.
        let mut starts = self.starts.lock().await;
        loop {
            let now = Instant::now();
            while starts.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                starts.pop_front();
            }
            match starts.front() {
                Some(oldest) if starts.len() >= self.per_second => {
                    let wait = WINDOW.saturating_sub(now.duration_since(*oldest));
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    starts.push_back(now);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_window_ever_holds_more_than_the_limit() {
        let limiter = RateLimiter::new(7);
        let mut stamps = Vec::new();
        for _ in 0..30 {
            limiter.acquire().await;
            stamps.push(Instant::now());
        }
        for (i, t) in stamps.iter().enumerate() {
            let in_window = stamps[i..].iter().filter(|s| s.duration_since(*t) < WINDOW).count();
            assert!(in_window <= 7, "{in_window} requests within one window from #{i}");
        }
        // and it does not throttle harder than needed: 30 requests fit in 4 windows
        assert!(stamps[29].duration_since(stamps[0]) <= WINDOW * 4);
    }
}
