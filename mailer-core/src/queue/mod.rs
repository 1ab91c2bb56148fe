//! Queue policy, as pure functions: when a mailbox may send next (spacing, per-minute and daily caps in
//! their windows), provider presets held as data, and what to do after a failure (retry with backoff and
//! jitter, or fail).
//!
//! Stores use [`rate::next_allowed`] inside their claims, so the limits mean the same thing in every
//! backend; the engine uses it to show when a waiting email is expected to go.

pub mod presets;
pub mod rate;
pub mod retry;

pub use presets::{PRESETS, ProviderPreset};
pub use rate::{expected_send_times, next_allowed, sends_in_window};
pub use retry::{RetryDecision, RetryPolicy};
