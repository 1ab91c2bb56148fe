//! Test support: in-memory doubles of every port, mockall mocks, and the conformance suites every
//! backend must pass (feature `testkit`).
//!
//! - [`MemoryStore`], [`CaptureTransport`], [`ScriptCrm`], [`ManualClock`]: working doubles.
//! - `MockStore`, `MockTransport`, `MockCrm`, `MockClock`, `MockFetcher` (in [`crate::ports`]): mockall mocks.
//! - [`store_conformance`], [`transport_conformance`], [`crm_conformance`]: the suites as plain async
//!   functions, and [`store_conformance_tests!`](crate::store_conformance_tests),
//!   [`transport_conformance_tests!`](crate::transport_conformance_tests) and
//!   [`crm_conformance_tests!`](crate::crm_conformance_tests), which turn them into one named test per case.
//!
//! Running the suite against your own store:
//! ```
//! mod memory {
//!     async fn setup() -> Option<Box<mailer_core::ports::DynStore>> {
//!         Some(Box::new(mailer_core::testkit::MemoryStore::new()))
//!     }
//!     mailer_core::store_conformance_tests!(setup);
//! }
//! # fn main() {}
//! ```

mod capture_transport;
pub mod crm_conformance;
mod demo;
pub mod fixture;
mod harness;
mod manual_clock;
mod memory_store;
mod script_crm;
pub mod store_conformance;
pub mod transport_conformance;
mod world;

pub use capture_transport::{CaptureTransport, Captured, SentCopy};
pub use crm_conformance::CrmFixture;
pub use demo::{Demo, seed_demo};
pub use fixture::StoreFixture;
pub use harness::{HARNESS_KEY, Harness, StaticFetcher, token_in};
pub use manual_clock::{ManualClock, default_start};
pub use memory_store::MemoryStore;
pub use script_crm::{NoteSeen, ScriptCrm, ScriptedError};
pub use transport_conformance::{Received, TransportFixture};
pub use world::World;

/// Runs a future to completion on a fresh multi-threaded runtime; what the conformance macros use, so
/// the crates that run them need no runtime of their own.
///
/// # Panics
/// When the runtime cannot be built.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a tokio runtime")
        .block_on(future)
}

/// True when `MAILER_TEST_REQUIRE_ALL=1`: tests must fail rather than skip when a service is missing.
pub fn require_all() -> bool {
    #[allow(clippy::disallowed_methods)] // test support, not the domain: reading the test switch is its job
    let value = std::env::var("MAILER_TEST_REQUIRE_ALL");
    value.is_ok_and(|v| v == "1")
}

/// Skips a test loudly when a service is missing, or fails it when [`require_all`] is set.
///
/// # Panics
/// When `MAILER_TEST_REQUIRE_ALL=1`.
pub fn skip(why: &str) {
    assert!(!require_all(), "MAILER_TEST_REQUIRE_ALL=1 but {why}");
    eprintln!("skipped: {why}");
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($setup:path, $suite:ident; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::testkit::block_on(async {
                    let Some(subject) = $setup().await else { return };
                    $crate::testkit::$suite::$case(&*subject).await;
                });
            }
        )*
    };
}

/// A [`CrmFixture`] over a [`ScriptCrm`]: each world gets a fresh account id.
#[derive(Debug, Default)]
pub struct ScriptCrmFixture {
    crm: ScriptCrm,
    next_account: std::sync::atomic::AtomicI64,
}

impl ScriptCrmFixture {
    /// A fixture over an empty [`ScriptCrm`].
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl CrmFixture for ScriptCrmFixture {
    fn crm(&self) -> &crate::ports::DynCrm {
        &self.crm
    }

    async fn seed_world(&self) -> World {
        let id = self.next_account.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.crm.seed_world(crate::model::AccountId(id))
    }

    async fn notes(&self, world: &World, entity: crate::model::EntityRef) -> Vec<String> {
        self.crm.notes(world.account, entity)
    }

    async fn task_texts(&self, world: &World, entity: crate::model::EntityRef) -> Vec<String> {
        self.crm
            .tasks(world.account, entity)
            .into_iter()
            .filter_map(|t| match t {
                crate::model::CrmAction::SetTask { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }
}
