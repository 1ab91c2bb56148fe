//! The worker loop every host runs (the server, an embedding app, a batch job): due timers and claims, the
//! claimed emails delivered concurrently, with a pause when a round finds nothing to do. One loop, written
//! once; the host passes its runtime's sleep (`tokio::time::sleep`), so the core keeps no runtime of its
//! own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Engine, EngineError, Outcome, StepRecords, StepReport};
use crate::model::{AccountId, Claimed, EmailQuery, EmailStatus, EntityRecord, saturating_after};

mod in_flight;

use in_flight::InFlight;

/// Runs timers and claims until `shutdown` completes, sleeping `idle` (through `sleep`) whenever a round
/// finds nothing to do and nothing is in flight; answers what it did.
///
/// Claimed emails are delivered concurrently, and the loop claims again as soon as at most half of
/// [`EngineConfig::claim_batch`](crate::engine::EngineConfig) is in flight (keeping at most
/// `claim_batch` in flight), so a mailbox whose server is slow holds up only its own emails, not the next
/// claim. After a claim that found nothing, the loop claims again when everything in flight has ended or
/// `idle` has passed.
/// `shutdown` is looked at between rounds only, and the loop returns only once every email in flight is
/// sent and recorded.
///
/// # Errors
/// The first [`EngineError`] a round returns (a store failure), once the deliveries in flight have ended;
/// failures of single emails are retried or failed by the engine and only counted.
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
    run_loop(engine, idle, sleep, shutdown, |claimed, record, known| {
        engine.deliver_claimed(claimed, record, known)
    })
    .await
}

/// A delivery started by [`run_spawned`]'s loop: the email's whole delivery (render, send, copy to Sent,
/// record, triggers), to run as a task of its own.
pub type Delivery = Pin<Box<dyn Future<Output = Result<Outcome, EngineError>> + Send + 'static>>;

/// As [`run`], with each claimed email's delivery run as a task of its own: `spawn` starts a
/// [`Delivery`] on the host's runtime and answers a future of its result (with tokio,
/// `tokio::spawn(delivery)` awaited, a panic resumed). What the loop claims, when, and how many it keeps
/// in flight are the same; only where the deliveries run differs.
///
/// Under [`run`] a worker's deliveries are polled by the loop's own task, so they take turns on one thread,
/// and a claim's worth of renders and messages (about 60 µs of CPU each for a 20 KB body) is built in one
/// go while the replies of the messages already sent wait. As tasks, they run on every thread of the
/// runtime and between each other's waits: on the pipeline bench (`benches/pipeline_throughput.sh`)
/// that is what kept the machine idle a quarter of the time.
///
/// # Errors
/// As [`run`].
pub async fn run_spawned<S, F, Sp, J>(
    engine: Arc<Engine>,
    idle: Duration,
    sleep: S,
    spawn: Sp,
    shutdown: impl Future<Output = ()>,
) -> Result<StepReport, EngineError>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
    Sp: Fn(Delivery) -> J,
    J: Future<Output = Result<Outcome, EngineError>>,
{
    run_loop(&engine, idle, sleep, shutdown, |claimed, record, known| {
        let engine = Arc::clone(&engine);
        spawn(Box::pin(
            async move { engine.deliver_claimed(claimed, record, known).await },
        ))
    })
    .await
}

/// The loop of [`run`] and [`run_spawned`]: `start` begins one claimed email's delivery.
async fn run_loop<S, F, St, D>(
    engine: &Engine,
    idle: Duration,
    sleep: S,
    shutdown: impl Future<Output = ()>,
    start: St,
) -> Result<StepReport, EngineError>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
    St: Fn(Claimed, Option<EntityRecord>, Arc<StepRecords>) -> D,
    D: Future<Output = Result<Outcome, EngineError>>,
{
    let batch = usize::try_from(engine.config().claim_batch.max(1)).unwrap_or(usize::MAX);
    let mut claims = StepReport::default();
    let mut flight = InFlight::new();
    let mut shutdown = std::pin::pin!(shutdown);
    // When a claim may look again after finding nothing.
    let mut quiet_until = None;
    loop {
        if flight.failed() || futures::poll!(shutdown.as_mut()).is_ready() {
            break;
        }
        let due = flight.len() < batch
            && match quiet_until {
                // At most half the batch in flight: each claim takes at least half a batch when the queue
                // has it. (Claiming again as soon as half of the last claim had ended made the claims as
                // small as what ended while one was made, and each claim costs a transaction and the
                // reads of what its emails share: 7 % of the pipeline bench's throughput.)
                None => flight.len() * 2 <= batch,
                Some(until) => flight.len() == 0 || engine.now() >= until,
            };
        if due {
            let room = u32::try_from(batch - flight.len()).unwrap_or(u32::MAX);
            let round = flight
                .alongside(async {
                    let timers = engine.run_due_timers().await?;
                    let claim = engine.claim(room).await?;
                    Ok::<_, EngineError>((timers, claim))
                })
                .await;
            let (timers, claim) = match round {
                Ok(round) => round,
                Err(e) => {
                    // The emails in flight are still sent and recorded before the error is answered.
                    flight.finish().await?;
                    return Err(e);
                }
            };
            claims.add(claim.report);
            let busy = claim.report.claimed > 0 || timers > 0;
            quiet_until = (!busy).then(|| saturating_after(engine.now(), idle));
            for (email, record) in claim.emails {
                flight.push(start(email, record, Arc::clone(&claim.known)));
            }
            if busy && flight.len() == 0 {
                continue;
            }
        }
        if flight.len() == 0 {
            let pause = std::pin::pin!(sleep(idle));
            if let futures::future::Either::Left(_) = futures::future::select(shutdown.as_mut(), pause).await {
                break;
            }
            continue;
        }
        flight.next().await;
    }
    let mut total = flight.finish().await?;
    total.add(claims);
    Ok(total)
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
        total.add(step);
        if claimed == 0 {
            if engine.ports().store.list_emails(&waiting).await?.is_empty() {
                return Ok(total);
            }
            sleep(idle).await;
        }
    }
}
