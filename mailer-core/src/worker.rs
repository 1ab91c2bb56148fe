//! The worker loop every host runs (the server, an embedding app, a batch job): due timers and worker steps,
//! with a pause when a round finds nothing to do. One loop, written once; the host passes its runtime's
//! sleep (`tokio::time::sleep`), so the core keeps no runtime of its own.

use std::future::Future;
use std::time::Duration;

use crate::engine::{Engine, EngineError, StepReport};
use crate::model::{AccountId, EmailQuery, EmailStatus};

fn add(total: &mut StepReport, step: StepReport) {
    total.claimed += step.claimed;
    total.sent += step.sent;
    total.retried += step.retried;
    total.failed += step.failed;
    total.skipped += step.skipped;
}

/// Runs timers and worker steps until `shutdown` completes, sleeping `idle` (through `sleep`) whenever a
/// round finds nothing to do; answers what it did. `shutdown` is looked at between rounds only, so an email
/// being sent is always finished and recorded before the loop returns.
///
/// # Errors
/// The first [`EngineError`] a round returns (a store failure); failures of single emails are retried or
/// failed by the engine and only counted.
pub async fn run<S, F>(
    engine: &Engine,
    idle: Duration,
    sleep: S,
    shutdown: impl Future<Output = ()>,
) -> Result<StepReport, EngineError>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut total = StepReport::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        if futures::poll!(shutdown.as_mut()).is_ready() {
            return Ok(total);
        }
        let timers = engine.run_due_timers().await?;
        let step = engine.worker_step().await?;
        let busy = step.claimed > 0 || timers > 0;
        add(&mut total, step);
        if busy {
            continue;
        }
        let pause = std::pin::pin!(sleep(idle));
        if let futures::future::Either::Left(_) = futures::future::select(shutdown.as_mut(), pause).await {
            return Ok(total);
        }
    }
}

/// Runs the worker until no email of `account` waits in the queue (retries included), then answers what it
/// did: what an example or a batch job needs.
///
/// # Errors
/// As [`run`].
pub async fn drain<S, F>(
    engine: &Engine,
    account: AccountId,
    idle: Duration,
    sleep: S,
) -> Result<StepReport, EngineError>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut total = StepReport::default();
    let mut waiting = EmailQuery::account(account, 1);
    waiting.statuses = vec![EmailStatus::Queued, EmailStatus::Sending];
    loop {
        engine.run_due_timers().await?;
        let step = engine.worker_step().await?;
        let claimed = step.claimed;
        add(&mut total, step);
        if claimed == 0 {
            if engine.ports().store.list_emails(&waiting).await?.is_empty() {
                return Ok(total);
            }
            sleep(idle).await;
        }
    }
}
