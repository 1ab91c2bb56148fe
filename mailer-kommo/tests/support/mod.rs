//! Shared test support: a fake Kommo account and a client talking to it over HTTP.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mailer_core::model::{AccountId, EntityRef};
use mailer_core::ports::DynCrm;
use mailer_core::testkit::{CrmFixture, World};
use mailer_kommo::fake::FakeKommo;
use mailer_kommo::{KommoClient, KommoCrm, MemoryTokenStore, RetryPolicy};

/// A retry policy with short waits, so failure tests stay quick.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: std::time::Duration::from_millis(20),
        max_delay: std::time::Duration::from_millis(100),
        max_rate_wait: std::time::Duration::from_secs(5),
    }
}

/// One fake account with an OAuth client on it.
pub struct Account {
    pub kommo: FakeKommo,
    pub store: Arc<MemoryTokenStore>,
    pub client: Arc<KommoClient>,
    pub crm: KommoCrm,
    pub id: AccountId,
}

/// Starts a fake Kommo and a `KommoCrm` whose account 1 talks to it with fresh OAuth tokens.
pub async fn account() -> Account {
    let kommo = FakeKommo::start().await.expect("start the fake");
    let id = AccountId(1);
    let store = Arc::new(MemoryTokenStore::with(id, kommo.issue_tokens()));
    let client = KommoClient::builder(kommo.base_url())
        .oauth(kommo.app(), store.clone(), id)
        .with_retry(quick_retry())
        .build()
        .expect("client");
    let crm = KommoCrm::new();
    let client = crm.add_account(id, client);
    Account {
        kommo,
        store,
        client,
        crm,
        id,
    }
}

/// The conformance fixture: every world gets its own fake Kommo account.
#[derive(Default)]
pub struct Fixture {
    crm: KommoCrm,
    fakes: Mutex<HashMap<AccountId, Arc<FakeKommo>>>,
    next: std::sync::atomic::AtomicI64,
}

impl Fixture {
    fn fake(&self, account: AccountId) -> Arc<FakeKommo> {
        self.fakes.lock().expect("lock")[&account].clone()
    }
}

#[async_trait]
impl CrmFixture for Fixture {
    fn crm(&self) -> &DynCrm {
        &self.crm
    }

    async fn seed_world(&self) -> World {
        let account = AccountId(self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
        let kommo = FakeKommo::start().await.expect("start the fake");
        let world = kommo.seed_world(account);
        let store = Arc::new(MemoryTokenStore::with(account, kommo.issue_tokens()));
        let client = KommoClient::builder(kommo.base_url())
            .oauth(kommo.app(), store, account)
            .build()
            .expect("client");
        self.crm.add_account(account, client);
        self.fakes.lock().expect("lock").insert(account, Arc::new(kommo));
        world
    }

    async fn notes(&self, world: &World, entity: EntityRef) -> Vec<String> {
        self.fake(world.account).notes(entity)
    }

    async fn task_texts(&self, world: &World, entity: EntityRef) -> Vec<String> {
        self.fake(world.account).tasks(entity)
    }
}
