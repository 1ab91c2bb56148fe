//! The deliveries a worker loop has in flight: claimed emails being rendered, sent and recorded, all polled
//! while the loop waits for anything (a claim, the timers, the next delivery to end), so that a claim
//! never waits for the slowest email of the one before.

use std::future::Future;

use futures::future::{Either, select};
use futures::stream::{FuturesUnordered, StreamExt};

use crate::engine::{EngineError, Outcome, StepReport};

/// Deliveries in flight and what the ended ones did.
pub(super) struct InFlight<F> {
    deliveries: FuturesUnordered<F>,
    /// What the ended deliveries did (their outcomes; `claimed` is counted by the claims).
    report: StepReport,
    /// The first error a delivery answered: a store failure recording an outcome.
    error: Option<EngineError>,
}

impl<F: Future<Output = Result<Outcome, EngineError>>> InFlight<F> {
    pub(super) fn new() -> Self {
        Self {
            deliveries: FuturesUnordered::new(),
            report: StepReport::default(),
            error: None,
        }
    }

    /// How many deliveries have not ended.
    pub(super) fn len(&self) -> usize {
        self.deliveries.len()
    }

    /// True when a delivery answered an error: the loop claims nothing more.
    pub(super) fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Starts a delivery (it runs whenever the loop awaits this set).
    pub(super) fn push(&mut self, delivery: F) {
        self.deliveries.push(delivery);
    }

    fn record(&mut self, ended: Result<Outcome, EngineError>) {
        match ended {
            Ok(outcome) => self.report.count(outcome),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Waits until one delivery ends (at once when none is in flight).
    pub(super) async fn next(&mut self) {
        if let Some(ended) = self.deliveries.next().await {
            self.record(ended);
        }
    }

    /// Awaits `work` while the deliveries in flight go on.
    pub(super) async fn alongside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        loop {
            if self.deliveries.is_empty() {
                return work.await;
            }
            match select(work.as_mut(), self.deliveries.next()).await {
                Either::Left((done, _)) => return done,
                Either::Right((Some(ended), _)) => self.record(ended),
                Either::Right((None, _)) => {}
            }
        }
    }

    /// Lets every delivery in flight end, and answers what they did, or the first error one answered.
    pub(super) async fn finish(mut self) -> Result<StepReport, EngineError> {
        while !self.deliveries.is_empty() {
            self.next().await;
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.report),
        }
    }
}
