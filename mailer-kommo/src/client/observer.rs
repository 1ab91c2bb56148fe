//! What the client tells its host about each HTTP request it sends, retries included: a client retries
//! 429s and 5xx inside one call, and only the host's observer sees those attempts.

use std::fmt;

/// How one HTTP request to Kommo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Kommo answered with this status.
    Status(u16),
    /// No answer: the connection failed or timed out.
    Network,
}

/// Told about every HTTP request a [`KommoClient`](super::KommoClient) sends (the token endpoint
/// included): how it ended and whether the client tries again. Set with
/// [`KommoBuilder::with_observer`](super::KommoBuilder::with_observer); a host counts these in its metrics.
pub trait CallObserver: Send + Sync + fmt::Debug {
    /// One request ended with `answer`; `retry` is true when the client waits and sends it again (after a
    /// 429 within the retry policy, a 5xx or a network failure with retries left, a 401 with a refresh).
    fn answered(&self, answer: Answer, retry: bool);
}
