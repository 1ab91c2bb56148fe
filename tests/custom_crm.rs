//! The CRM conformance suite, unchanged, against the example's JSON-file CRM adapter.

#[path = "../examples/custom_crm/adapter.rs"]
#[allow(dead_code)]
mod adapter;

use async_trait::async_trait;
use mailer::model::{AccountId, EntityRef};
use mailer::ports::DynCrm;
use mailer::testkit::{CrmFixture, World};

struct Fixture {
    crm: adapter::JsonCrm,
    _dir: tempfile::TempDir,
    next: std::sync::atomic::AtomicI64,
}

#[async_trait]
impl CrmFixture for Fixture {
    fn crm(&self) -> &DynCrm {
        &self.crm
    }

    async fn seed_world(&self) -> World {
        let account = AccountId(self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
        adapter::seed_world(&self.crm, account).expect("seed")
    }

    async fn notes(&self, world: &World, entity: EntityRef) -> Vec<String> {
        let data = self.crm.load(world.account).expect("load");
        data.notes
            .into_iter()
            .filter(|(k, _)| *k == adapter::key(entity))
            .map(|(_, t)| t)
            .collect()
    }

    async fn task_texts(&self, world: &World, entity: EntityRef) -> Vec<String> {
        let data = self.crm.load(world.account).expect("load");
        data.tasks
            .into_iter()
            .filter(|(k, _)| *k == adapter::key(entity))
            .map(|(_, t)| t)
            .collect()
    }
}

async fn setup() -> Option<Box<Fixture>> {
    let dir = tempfile::tempdir().expect("temp dir");
    Some(Box::new(Fixture {
        crm: adapter::JsonCrm::open(dir.path()),
        _dir: dir,
        next: Default::default(),
    }))
}

mailer::crm_conformance_tests!(setup);
