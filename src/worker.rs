//! The worker loop a host runs, on tokio: [`mailer_core::worker`] with `tokio::time::sleep`.

use std::future::Future;
use std::time::Duration;

use mailer_core::engine::{Engine, EngineError, StepReport};

/// Runs timers and worker steps until `shutdown` completes, sleeping `idle` whenever a round finds nothing
/// to do; answers what it did.
///
/// # Errors
/// As [`mailer_core::worker::run`].
pub async fn run(
    engine: &Engine,
    idle: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<StepReport, EngineError> {
    mailer_core::worker::run(engine, idle, tokio::time::sleep, shutdown).await
}

/// Runs the worker until no email of `account` waits in the queue (retries included), then answers what it
/// did: what an example or a batch job needs.
///
/// # Errors
/// As [`mailer_core::worker::drain`].
pub async fn drain(
    engine: &Engine,
    account: mailer_core::model::AccountId,
    idle: Duration,
) -> Result<StepReport, EngineError> {
    mailer_core::worker::drain(engine, account, idle, tokio::time::sleep).await
}
