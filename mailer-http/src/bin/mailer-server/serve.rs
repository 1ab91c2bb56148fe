//! `serve` and `worker`: HTTP, worker tasks and the inbox readers until SIGTERM/SIGINT, then a bounded graceful stop:
//! stop accepting and claiming, let sends in flight finish and be recorded, exit.

use std::sync::Arc;
use std::time::Duration;

use mailer_core::engine::{Engine, EngineError, Outcome};
use mailer_http::kommo::KommoHost;
use mailer_http::{AppState, DEFAULT_BATCH, DEFAULT_CAPACITY, HitRecorder, Metrics, SqlQueueDepth, app};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::BoxError;
use crate::config::Config;
use crate::wiring::{self, Wired};

/// `migrate`: opening the store applies its migrations.
pub(crate) async fn migrate(config: &Config) -> Result<(), BoxError> {
    let store = wiring::store(config).await?;
    tracing::info!(dialect = ?store.dialect(), "migrations applied");
    store.close().await;
    Ok(())
}

/// `serve` (with `http`) or `worker` (without).
pub(crate) async fn serve(config: &Config, http: bool) -> Result<(), BoxError> {
    let store = wiring::store(config).await?;
    let metrics = Arc::new(Metrics::default());
    let crm = wiring::kommo(config, &metrics)?;
    let kommo = wiring::kommo_host(config, &crm, &metrics);
    let wired = wiring::wire(config, store, wiring::transport(config)?, crm, metrics)?;
    let listener = if http {
        Some(TcpListener::bind(&config.listen).await?)
    } else {
        None
    };
    run(config, &wired, listener, kommo).await
}

/// Runs workers (and HTTP on `listener`) until a signal.
pub(crate) async fn run(
    config: &Config,
    wired: &Wired,
    listener: Option<TcpListener>,
    kommo: Option<Arc<KommoHost>>,
) -> Result<(), BoxError> {
    // Installed Kommo accounts: their clients keep tokens through this engine, which lives until the end.
    let kommo_engine = wired.engine("kommo");
    if let Some(host) = &kommo {
        let n = host.connect_all(&kommo_engine).await?;
        tracing::info!(accounts = n, "Kommo accounts connected");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new claims; waiting for sends in flight");
        let _ = stop_tx.send(true);
    });
    let idle = Duration::from_millis(config.worker_idle_ms.max(1));
    let mut workers = JoinSet::new();
    for n in 0..config.workers {
        let engine = wired.engine(&n.to_string());
        workers.spawn(worker_loop(engine, idle, stop_rx.clone()));
    }
    if config.inbox_poll_secs > 0 && config.outbox.is_none() {
        // Bounces and replies come back to the mailboxes: one reader per mailbox, IDLE or polling.
        let readers = mailer_smtp::inbox::ReaderConfig {
            poll: Duration::from_secs(config.inbox_poll_secs),
            ..mailer_smtp::inbox::ReaderConfig::default()
        };
        let inbox = Arc::new(mailer_smtp::inbox::ImapInbox::new(Duration::from_secs(30))?);
        workers.spawn(mailer_smtp::inbox::run_readers(
            wired.engine("inbox"),
            inbox,
            readers,
            stopped(stop_rx.clone()),
        ));
    }
    let mut server = None;
    let mut hits = None;
    if let Some(listener) = listener {
        let engine = wired.engine("http");
        // Opens and clicks are answered first and recorded in batches after; closed (flushed) on shutdown.
        let recorder = Arc::new(HitRecorder::spawn(
            engine.clone(),
            wired.metrics.clone(),
            DEFAULT_CAPACITY,
            DEFAULT_BATCH,
        ));
        hits = Some(recorder.clone());
        let state = AppState::with_metrics(engine, config.http.clone(), wired.metrics.clone())
            .with_queue_depth(Arc::new(SqlQueueDepth(wired.store.clone())))
            .with_hit_recorder(recorder);
        let state = match &kommo {
            Some(host) => state.with_kommo(host.clone()),
            None => state,
        };
        tracing::info!(address = %listener.local_addr()?, workers = config.workers, "listening");
        server = Some(tokio::spawn(mailer_http::run(
            listener,
            app(state),
            stopped(stop_rx.clone()),
        )));
    } else {
        tracing::info!(workers = config.workers, "workers running");
    }
    stopped(stop_rx).await;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        while workers.join_next().await.is_some() {}
        if let Some(server) = server {
            let _ = server.await;
        }
        // No request is in flight any more: record the hits still queued.
        if let Some(hits) = &hits {
            hits.close().await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "sends still in flight after the grace period; their leases expire and another worker retries them"
        );
    }
    wired.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// One worker: the core's loop, restarted after a store failure, until the stop signal.
async fn worker_loop(engine: Arc<Engine>, idle: Duration, stop: watch::Receiver<bool>) {
    loop {
        let round = mailer_core::worker::run_spawned(
            Arc::clone(&engine),
            idle,
            tokio::time::sleep,
            spawn_delivery,
            stopped(stop.clone()),
        );
        match round.await {
            Ok(report) => {
                tracing::info!(worker = %engine.config().worker, sent = report.sent, failed = report.failed, "worker stopped");
                return;
            }
            Err(e) => {
                tracing::error!(worker = %engine.config().worker, error = %e, "worker round failed; retrying in 1 s");
                tokio::select! {
                    () = stopped(stop.clone()) => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Runs a delivery as a task of its own and answers its result; a panic in it goes on in the worker loop,
/// as it would have had the loop polled the delivery itself.
async fn spawn_delivery(delivery: mailer_core::worker::Delivery) -> Result<Outcome, EngineError> {
    match tokio::spawn(delivery).await {
        Ok(outcome) => outcome,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(EngineError::Gone(
                "the runtime stopped while an email was delivered".into(),
            )),
        },
    }
}

/// Completes once the stop signal is given.
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
