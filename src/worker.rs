//! The worker loop a host runs: worker steps and due timers, with a pause when there is nothing to do.

use std::future::Future;
use std::time::Duration;

use mailer_core::engine::{Engine, EngineError, StepReport};
use mailer_core::model::{EmailQuery, EmailStatus};

fn add(total: &mut StepReport, step: StepReport) {
    total.claimed += step.claimed;
    total.sent += step.sent;
    total.retried += step.retried;
    total.failed += step.failed;
}

/// Runs timers and worker steps until `shutdown` completes, sleeping `idle` whenever a round finds nothing
/// to do; answers what it did.
///
/// # Errors
/// The first [`EngineError`] a step returns (a store failure); failures of single emails are retried or
/// failed by the engine and only counted.
pub async fn run(
    engine: &Engine,
    idle: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<StepReport, EngineError> {
    let mut total = StepReport::default();
    tokio::pin!(shutdown);
    loop {
        let timers = engine.run_due_timers().await?;
        let step = engine.worker_step().await?;
        let busy = step.claimed > 0 || timers > 0;
        add(&mut total, step);
        if busy {
            continue;
        }
        tokio::select! {
            () = &mut shutdown => return Ok(total),
            () = tokio::time::sleep(idle) => {}
        }
    }
}

/// Runs the worker until no email of `account` waits in the queue (retries included), then answers what it
/// did: what an example or a batch job needs.
///
/// # Errors
/// As [`run`].
pub async fn drain(
    engine: &Engine,
    account: mailer_core::model::AccountId,
    idle: Duration,
) -> Result<StepReport, EngineError> {
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
            tokio::time::sleep(idle).await;
        }
    }
}
