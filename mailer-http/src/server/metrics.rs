//! Prometheus metrics, kept by hand: hits by kind and human/automated, sends and copies in Sent by result
//! (through [`MeteredTransport`]), CRM calls by operation and result and the CRM's rate limiting (through
//! [`LoggedCrm`](crate::server::LoggedCrm)), every HTTP request the Kommo clients send with their own 429 and 5xx
//! retries (as their `CallObserver`), our own 429s, request latency by route, and the queue depth by
//! status (asked of a [`QueueDepth`] at scrape time).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use mailer_core::model::Mailbox;
use mailer_core::ports::{Delivery, DynTransport, MailboxCheck, OutgoingMessage, SendError, Transport, TransportCaps};

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    hits: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    sends: Mutex<BTreeMap<&'static str, u64>>,
    sent_copies: Mutex<BTreeMap<&'static str, u64>>,
    crm_calls: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    crm_requests: Mutex<BTreeMap<(String, bool), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    rate_limited: AtomicU64,
}

impl Metrics {
    /// Counts a hit of `kind` (`open`, `click`, `page`, `form`, `unsubscribe`); `automated` is `None` when
    /// the engine did not say.
    pub fn hit(&self, kind: &'static str, automated: Option<bool>) {
        let label = match automated {
            Some(true) => "true",
            Some(false) => "false",
            None => "unknown",
        };
        *self
            .hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((kind, label))
            .or_default() += 1;
    }

    /// Counts a send attempt's result (`sent`, `temporary`, `permanent`).
    pub fn send(&self, result: &'static str) {
        *self
            .sends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(result)
            .or_default() += 1;
    }

    /// Counts a copy in Sent's result (`appended`, `failed`).
    pub fn sent_copy(&self, result: &'static str) {
        *self
            .sent_copies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(result)
            .or_default() += 1;
    }

    /// Counts a call to the CRM: `op` (`entity`, `fields`, `pipelines`, `apply`) and its result (`ok`,
    /// `rate_limited` when the CRM answered 429 beyond what its client waits for, `error`).
    pub fn crm_call(&self, op: &'static str, result: &'static str) {
        *self
            .crm_calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((op, result))
            .or_default() += 1;
    }

    /// Counts one HTTP request a CRM client sent, retries inside one call included: Kommo's `status`
    /// (`200`, `429`, `503`, …, or `network` when there was no answer) and whether the client `retried` it.
    pub fn crm_request(&self, status: &str, retried: bool) {
        let mut map = self.crm_requests.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(&(status.to_owned(), retried)) {
            Some(n) => *n += 1,
            None => {
                map.insert((status.to_owned(), retried), 1);
            }
        }
    }

    /// Counts a request refused with 429.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long a request to `route` took.
    pub fn observe(&self, route: &str, took: Duration) {
        let secs = took.as_secs_f64();
        let mut map = self.latency.lock().unwrap_or_else(PoisonError::into_inner);
        let h = match map.get_mut(route) {
            Some(h) => h,
            None => map.entry(route.to_owned()).or_default(),
        };
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The Prometheus text exposition of everything, with the queue depth given.
    pub fn render(&self, queue: &[(String, u64)]) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP mailer_queue_emails Emails in the store by status.\n# TYPE mailer_queue_emails gauge\n");
        for (status, n) in queue {
            let _ = writeln!(out, "mailer_queue_emails{{status=\"{}\"}} {n}", label(status));
        }
        out.push_str("# HELP mailer_sends_total Send attempts by result.\n# TYPE mailer_sends_total counter\n");
        for (result, n) in self.sends.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let _ = writeln!(out, "mailer_sends_total{{result=\"{result}\"}} {n}");
        }
        out.push_str(
            "# HELP mailer_sent_copies_total Copies in the Sent folder by result.\n\
             # TYPE mailer_sent_copies_total counter\n",
        );
        for (result, n) in self.sent_copies.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let _ = writeln!(out, "mailer_sent_copies_total{{result=\"{result}\"}} {n}");
        }
        out.push_str(
            "# HELP mailer_crm_calls_total Calls to the CRM by operation and result.\n\
             # TYPE mailer_crm_calls_total counter\n",
        );
        let mut rate_limited = 0;
        for ((op, result), n) in self.crm_calls.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let _ = writeln!(out, "mailer_crm_calls_total{{op=\"{op}\",result=\"{result}\"}} {n}");
            if *result == "rate_limited" {
                rate_limited += n;
            }
        }
        out.push_str(
            "# HELP mailer_crm_rate_limited_total CRM calls that ended rate limited (429).\n\
             # TYPE mailer_crm_rate_limited_total counter\n",
        );
        let _ = writeln!(out, "mailer_crm_rate_limited_total {rate_limited}");
        out.push_str(
            "# HELP mailer_crm_requests_total HTTP requests to the CRM by answer status (network: no answer), the \
             client's own retries included; retried=true: the client waited and sent the request again.\n\
             # TYPE mailer_crm_requests_total counter\n",
        );
        let mut answered_429 = 0;
        let mut retries = 0;
        for ((status, retried), n) in self.crm_requests.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let status = label(status);
            let _ = writeln!(
                out,
                "mailer_crm_requests_total{{status=\"{status}\",retried=\"{retried}\"}} {n}"
            );
            if status == "429" {
                answered_429 += n;
            }
            if *retried {
                retries += n;
            }
        }
        out.push_str(
            "# HELP mailer_crm_answers_429_total HTTP requests the CRM answered 429, retried by its client or not.\n\
             # TYPE mailer_crm_answers_429_total counter\n",
        );
        let _ = writeln!(out, "mailer_crm_answers_429_total {answered_429}");
        out.push_str(
            "# HELP mailer_crm_retries_total HTTP requests to the CRM its client sent again (429, 5xx, network).\n\
             # TYPE mailer_crm_retries_total counter\n",
        );
        let _ = writeln!(out, "mailer_crm_retries_total {retries}");
        out.push_str("# HELP mailer_hits_total Tracking hits by kind.\n# TYPE mailer_hits_total counter\n");
        for ((kind, automated), n) in self.hits.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let _ = writeln!(
                out,
                "mailer_hits_total{{kind=\"{kind}\",automated=\"{automated}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP mailer_rate_limited_total Requests refused with 429.\n# TYPE mailer_rate_limited_total counter\n",
        );
        let _ = writeln!(
            out,
            "mailer_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP mailer_http_request_duration_seconds Request latency by route.\n\
             # TYPE mailer_http_request_duration_seconds histogram\n",
        );
        for (route, h) in self.latency.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let route = label(route);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "mailer_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "mailer_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "mailer_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "mailer_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}

/// Appends the `mailer_hits_queued` gauge: hits answered and waiting in the hit recorder's queue (0 without
/// a recorder).
pub(crate) fn render_hits_queued(out: &mut String, queued: usize) {
    out.push_str(
        "# HELP mailer_hits_queued Tracking hits answered and waiting to be recorded.\n\
         # TYPE mailer_hits_queued gauge\n",
    );
    let _ = writeln!(out, "mailer_hits_queued {queued}");
}

/// The Kommo clients' requests, retries included, counted as [`Metrics::crm_request`].
#[cfg(feature = "kommo")]
impl mailer_kommo::CallObserver for Metrics {
    fn answered(&self, answer: mailer_kommo::Answer, retry: bool) {
        match answer {
            mailer_kommo::Answer::Status(status) => self.crm_request(&status.to_string(), retry),
            _ => self.crm_request("network", retry),
        }
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Where the queue depth comes from (the store's table, asked at scrape time).
#[async_trait]
pub trait QueueDepth: Send + Sync + std::fmt::Debug {
    /// How many emails are in each status.
    ///
    /// # Errors
    /// A description of what failed.
    async fn by_status(&self) -> Result<Vec<(String, u64)>, String>;
}

/// The queue depth of a [`SqlStore`](mailer_store_sql::SqlStore), across accounts.
#[derive(Debug, Clone)]
pub struct SqlQueueDepth(pub Arc<mailer_store_sql::SqlStore>);

#[async_trait]
impl QueueDepth for SqlQueueDepth {
    async fn by_status(&self) -> Result<Vec<(String, u64)>, String> {
        use sqlx::Row as _;
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM emails GROUP BY status ORDER BY status")
            .fetch_all(self.0.pool())
            .await
            .map_err(|e| e.to_string())?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status").map_err(|e| e.to_string())?;
                let n: i64 = r.try_get("n").map_err(|e| e.to_string())?;
                Ok((status, u64::try_from(n).unwrap_or_default()))
            })
            .collect()
    }
}

/// A [`Transport`] that counts each send's result in [`Metrics`] and logs one line per email sent or
/// failed.
#[derive(Debug)]
pub struct MeteredTransport {
    inner: Arc<DynTransport>,
    metrics: Arc<Metrics>,
}

impl MeteredTransport {
    /// Wraps `inner`.
    pub fn new(inner: Arc<DynTransport>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl Transport for MeteredTransport {
    fn capabilities(&self) -> TransportCaps {
        self.inner.capabilities()
    }

    async fn send(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<Delivery, SendError> {
        let result = self.inner.send(mailbox, message).await;
        let to: Vec<&str> = message.to.iter().map(|a| a.email.as_str()).collect();
        match &result {
            Ok(_) => {
                self.metrics.send("sent");
                tracing::info!(mailbox = %mailbox.id, message_id = %message.message_id, to = ?to, "email sent");
            }
            Err(e) => {
                let kind = if e.is_temporary() { "temporary" } else { "permanent" };
                self.metrics.send(kind);
                tracing::warn!(mailbox = %mailbox.id, message_id = %message.message_id, to = ?to, error = %e, kind, "email failed");
            }
        }
        result
    }

    async fn append_sent(&self, mailbox: &Mailbox, message_id: &str, raw: &[u8]) -> Result<(), SendError> {
        let result = self.inner.append_sent(mailbox, message_id, raw).await;
        match &result {
            Ok(()) => self.metrics.sent_copy("appended"),
            Err(e) => {
                self.metrics.sent_copy("failed");
                tracing::warn!(mailbox = %mailbox.id, message_id, error = %e, "copy in Sent failed (the email was delivered)");
            }
        }
        result
    }

    async fn verify(&self, mailbox: &Mailbox) -> Result<MailboxCheck, SendError> {
        self.inner.verify(mailbox).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.hit("open", Some(false));
        m.hit("open", Some(false));
        m.send("sent");
        m.sent_copy("failed");
        m.crm_call("apply", "ok");
        m.crm_call("entity", "rate_limited");
        m.crm_call("apply", "rate_limited");
        m.observe("/t/o/{token}", Duration::from_millis(3));
        let text = m.render(&[("queued".into(), 5)]);
        assert!(text.contains("mailer_queue_emails{status=\"queued\"} 5"), "{text}");
        assert!(
            text.contains("mailer_hits_total{kind=\"open\",automated=\"false\"} 2"),
            "{text}"
        );
        assert!(text.contains("mailer_sends_total{result=\"sent\"} 1"), "{text}");
        assert!(text.contains("mailer_sent_copies_total{result=\"failed\"} 1"), "{text}");
        assert!(
            text.contains("mailer_crm_calls_total{op=\"apply\",result=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("mailer_crm_rate_limited_total 2"), "{text}");
        assert!(text.contains("route=\"/t/o/{token}\",le=\"0.0025\"} 0"), "{text}");
        assert!(text.contains("route=\"/t/o/{token}\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("route=\"/t/o/{token}\",le=\"+Inf\"} 1"), "{text}");
    }
}
