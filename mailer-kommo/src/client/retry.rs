//! Reading a Kommo answer: success (with or without a body), or what to do about the failure.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{KommoError, Violation};

/// How the client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt, for 429, 5xx and network failures together.
    pub max_retries: u32,
    /// The first backoff after a server error; doubles on each retry.
    pub base_delay: Duration,
    /// The longest backoff after a server error.
    pub max_delay: Duration,
    /// A 429 asking to wait longer than this fails with [`KommoError::RateLimited`] instead of waiting.
    pub max_rate_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_rate_wait: Duration::from_secs(30),
        }
    }
}

/// What an answer means for the caller.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 2xx: the JSON body, or `None` for 204 and empty or non-JSON bodies.
    Done(Option<Value>),
    /// 401: refresh once and try again, if the credentials can be refreshed.
    Unauthorized,
    /// 429: wait this long and try again.
    RateLimited(Duration),
    /// 5xx (504 included): back off and try again.
    ServerError(u16),
    /// Anything else: fail now.
    Fail(KommoError),
}

/// When Kommo gives no usable wait on a 429.
const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
struct Problem {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default, rename = "validation-errors")]
    validation_errors: Vec<ItemProblems>,
}

#[derive(Deserialize)]
struct ItemProblems {
    #[serde(default)]
    request_id: Option<Value>,
    #[serde(default)]
    errors: Vec<ItemProblem>,
}

#[derive(Deserialize)]
struct ItemProblem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    detail: String,
}

fn problem(body: &[u8]) -> Option<Problem> {
    serde_json::from_slice(body).ok()
}

fn seconds(value: f64) -> Option<Duration> {
    (0.0..1e9).contains(&value).then(|| Duration::from_secs_f64(value))
}

/// Classifies one answer. `retry_after_header` is the `Retry-After` header, if any (whole seconds).
pub(crate) fn classify(status: u16, retry_after_header: Option<&str>, body: &[u8]) -> Outcome {
    match status {
        200..=299 => {
            let text = body.trim_ascii();
            if status == 204 || text.is_empty() {
                return Outcome::Done(None);
            }
            // Some writes answer 200/202 with a non-JSON body: success all the same.
            Outcome::Done(serde_json::from_slice(text).ok())
        }
        401 => Outcome::Unauthorized,
        402 => Outcome::Fail(KommoError::PaymentRequired),
        403 => Outcome::Fail(KommoError::Blocked),
        429 => {
            let from_body = problem(body).and_then(|p| p.retry_after).and_then(seconds);
            let from_header = retry_after_header
                .and_then(|h| h.trim().parse::<f64>().ok())
                .and_then(seconds);
            Outcome::RateLimited(from_body.or(from_header).unwrap_or(DEFAULT_RATE_WAIT))
        }
        400 | 422 => {
            let p = problem(body);
            let detail = p
                .as_ref()
                .and_then(|p| p.detail.clone().or_else(|| p.title.clone()))
                .unwrap_or_else(|| format!("HTTP {status}"));
            let violations = p
                .map(|p| {
                    p.validation_errors
                        .into_iter()
                        .flat_map(|item| {
                            let request_id = item.request_id.map(|r| match r {
                                Value::String(s) => s,
                                other => other.to_string(),
                            });
                            item.errors.into_iter().map(move |e| Violation {
                                request_id: request_id.clone(),
                                code: e.code,
                                path: e.path,
                                detail: e.detail,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Outcome::Fail(KommoError::Invalid { detail, violations })
        }
        500..=599 => Outcome::ServerError(status),
        _ => Outcome::Fail(KommoError::Status { status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_non_json_success_bodies_are_empty() {
        assert!(matches!(classify(204, None, b""), Outcome::Done(None)));
        assert!(matches!(classify(200, None, b"  "), Outcome::Done(None)));
        assert!(matches!(classify(202, None, b"Accepted"), Outcome::Done(None)));
        assert!(matches!(classify(200, None, br#"{"a":1}"#), Outcome::Done(Some(_))));
    }

    #[test]
    fn rate_limit_waits_come_from_the_body_then_the_header() {
        let json = br#"{"title":"Too Many Requests","status":429,"retry_after":3}"#;
        assert!(matches!(classify(429, Some("9"), json), Outcome::RateLimited(d) if d == Duration::from_secs(3)));
        let html = b"<html><body><h1>429 Too Many Requests</h1></body></html>";
        assert!(matches!(classify(429, Some("2"), html), Outcome::RateLimited(d) if d == Duration::from_secs(2)));
        assert!(matches!(classify(429, None, html), Outcome::RateLimited(d) if d == DEFAULT_RATE_WAIT));
        let silly = br#"{"retry_after":-5}"#;
        assert!(matches!(classify(429, None, silly), Outcome::RateLimited(d) if d == DEFAULT_RATE_WAIT));
    }

    #[test]
    fn forbidden_html_is_blocked_and_validation_keeps_paths() {
        let html = b"<html><head><title>403 Forbidden</title></head><body>nginx</body></html>";
        assert!(matches!(classify(403, None, html), Outcome::Fail(KommoError::Blocked)));
        let body = br#"{"title":"Bad Request","status":400,"detail":"Request validation failed",
            "validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice",
            "path":"custom_fields_values.0.values.0.enum_id","detail":"not a valid choice"}]}]}"#;
        let Outcome::Fail(KommoError::Invalid { violations, .. }) = classify(400, None, body) else {
            panic!("not a validation error")
        };
        assert_eq!(violations[0].path, "custom_fields_values.0.values.0.enum_id");
        assert_eq!(violations[0].request_id.as_deref(), Some("0"));
        assert!(matches!(
            classify(504, None, b"<html>Gateway Timeout</html>"),
            Outcome::ServerError(504)
        ));
        assert!(matches!(classify(401, None, b""), Outcome::Unauthorized));
    }
}
