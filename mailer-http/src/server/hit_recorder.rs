//! The hit recorder: the pixel and trigger-link routes answer first and hand their hit (token already
//! checked) to a bounded in-memory queue; one background task records what is queued in batches through
//! [`Engine::record_hits`] (the engine decides what each hit means; the events of a batch are written in
//! one transaction) and counts the outcomes in the metrics.
//!
//! Batching: when the task wakes to a queue holding less than a batch, it lingers ([`DEFAULT_LINGER`], 10 ms)
//! before taking what has gathered; a flush or the stop cuts the linger short. Under load this turns one store
//! transaction per handful of hits into one per few hundred; a single hit waits at most the linger longer.
//!
//! Bounds: at most `capacity` hits wait (a route awaits room when the queue is full, so a burst slows the
//! answers instead of losing hits) and one batch of at most `batch` hits is being recorded. A clean stop
//! ([`HitRecorder::close`], which `mailer-server` calls after the HTTP server has drained on SIGTERM/SIGINT)
//! records everything queued; a crash or `kill -9` loses what was queued and not yet recorded — at most
//! `capacity + batch` hits, in practice the hits of the last linger and batch (tens of milliseconds).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mailer_core::engine::{Engine, EngineError, HitOutcome, PendingHit};
use mailer_core::template::TokenKind;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::metrics::Metrics;

/// How many hits may wait by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// How many hits one batch records at most by default.
pub const DEFAULT_BATCH: usize = 1_000;

/// How long the task waits by default for a partial batch to fill before recording it.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(10);

enum Message {
    Hit(PendingHit),
    /// Answered once everything queued before it is recorded.
    Flush(oneshot::Sender<()>),
}

/// A bounded queue of accepted hits and the task that records them in batches; see the module docs.
#[derive(Debug)]
pub struct HitRecorder {
    queue: mpsc::Sender<Message>,
    /// Wakes the task from its linger for a flush.
    hurry: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hit(hit) => f.debug_tuple("Hit").field(hit).finish(),
            Self::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl HitRecorder {
    /// Starts the recording task on the current Tokio runtime: at most `capacity` hits wait, a batch
    /// records at most `batch` (both at least 1), a partial batch waits [`DEFAULT_LINGER`] to fill.
    pub fn spawn(engine: Arc<Engine>, metrics: Arc<Metrics>, capacity: usize, batch: usize) -> Self {
        Self::spawn_lingering(engine, metrics, capacity, batch, DEFAULT_LINGER)
    }

    /// As [`HitRecorder::spawn`], with a partial batch waiting `linger` to fill (zero: recorded at once).
    pub fn spawn_lingering(
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
        capacity: usize,
        batch: usize,
        linger: Duration,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let (stop, stopped) = oneshot::channel();
        let limits = Limits {
            batch: batch.max(1),
            linger,
        };
        let hurry = Arc::new(Notify::new());
        let task = tokio::spawn(record_batches(
            engine,
            metrics,
            receiver,
            stopped,
            hurry.clone(),
            limits,
        ));
        Self {
            queue,
            hurry,
            task: Mutex::new(Some(task)),
            stop: Mutex::new(Some(stop)),
        }
    }

    /// Queues an accepted hit, waiting for room when the queue is full. After [`HitRecorder::close`] the
    /// hit is given back.
    ///
    /// # Errors
    /// The hit, when the recorder is closed.
    pub async fn record(&self, hit: PendingHit) -> Result<(), PendingHit> {
        match self.queue.send(Message::Hit(hit)).await {
            Err(mpsc::error::SendError(Message::Hit(hit))) => Err(hit),
            Ok(()) | Err(_) => Ok(()),
        }
    }

    /// How many hits wait in the queue now (not counting the batch being recorded): the
    /// `mailer_hits_queued` gauge.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Waits until every hit queued before this call is recorded.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            self.hurry.notify_one();
            let _ = wait.await;
        }
    }

    /// Stops taking hits, records those queued and ends the task. Later calls return at once.
    pub async fn close(&self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = stop.send(());
        }
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the hit recorder failed");
        }
    }
}

/// How much one batch takes and how long a partial one waits.
#[derive(Debug, Clone, Copy)]
struct Limits {
    batch: usize,
    linger: Duration,
}

/// The recording task: takes what is queued (up to a batch, lingering for a partial one), records it,
/// repeats; on `stop` closes the queue and records what is left.
async fn record_batches(
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    mut receiver: mpsc::Receiver<Message>,
    mut stop: oneshot::Receiver<()>,
    hurry: Arc<Notify>,
    limits: Limits,
) {
    let batch = limits.batch;
    let mut messages = Vec::with_capacity(batch);
    let mut stopping = false;
    loop {
        let n = if stopping {
            receiver.recv_many(&mut messages, batch).await
        } else {
            tokio::select! {
                n = receiver.recv_many(&mut messages, batch) => n,
                _ = &mut stop => {
                    stopping = true;
                    receiver.close();
                    continue;
                }
            }
        };
        if n == 0 {
            return;
        }
        if !stopping && !limits.linger.is_zero() && messages.len() < batch && !has_flush(&messages) {
            // Not polling the queue while lingering: senders wake nobody until the batch is taken.
            tokio::select! {
                () = tokio::time::sleep(limits.linger) => {}
                () = hurry.notified() => {}
                _ = &mut stop => {
                    stopping = true;
                    receiver.close();
                }
            }
            while messages.len() < batch {
                match receiver.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
        }
        let mut hits = Vec::with_capacity(messages.len());
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Hit(hit) => hits.push(hit),
                Message::Flush(done) => {
                    // Everything before the marker is in `hits`: record it before answering.
                    record(&engine, &metrics, std::mem::take(&mut hits)).await;
                    flushes.push(done);
                }
            }
        }
        record(&engine, &metrics, hits).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
}

fn has_flush(messages: &[Message]) -> bool {
    messages.iter().any(|m| matches!(m, Message::Flush(_)))
}

/// Records one batch and counts its outcomes.
async fn record(engine: &Engine, metrics: &Metrics, hits: Vec<PendingHit>) {
    if hits.is_empty() {
        return;
    }
    let kinds: Vec<&'static str> = hits.iter().map(|h| kind_label(h.token().kind)).collect();
    let results = engine.record_hits(hits).await;
    for (kind, result) in kinds.into_iter().zip(results) {
        count(metrics, kind, &result);
    }
}

/// Counts a recorded hit in the metrics, or logs why it was not recorded.
pub(crate) fn count(metrics: &Metrics, kind: &'static str, result: &Result<HitOutcome, EngineError>) {
    match result {
        Ok(HitOutcome::Recorded { automated }) => metrics.hit(kind, Some(*automated)),
        Ok(HitOutcome::Redirect(_)) => metrics.hit(kind, None),
        Err(EngineError::Token(e)) => tracing::debug!(error = %e, kind, "hit with a bad token: nothing recorded"),
        Err(e) => tracing::warn!(error = %e, kind, "recording a hit failed"),
    }
}

/// The metrics label of a hit's kind.
pub(crate) fn kind_label(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Open => "open",
        TokenKind::Click(_) => "click",
        TokenKind::Page(_) => "page",
        TokenKind::WebVersion => "web",
        TokenKind::Form => "form",
        TokenKind::Unsubscribe => "unsubscribe",
    }
}
