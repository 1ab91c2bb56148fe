//! The in-memory doubles pass the conformance suites they stand in for.

use async_trait::async_trait;
use mailer_core::model::{Mailbox, Secret};
use mailer_core::ports::{DynStore, DynTransport};
use mailer_core::testkit::fixture::{sample_mailbox, sample_user};
use mailer_core::testkit::{CaptureTransport, MemoryStore, Received, ScriptCrmFixture, TransportFixture};

mod memory_store {
    use super::*;

    async fn setup() -> Option<Box<DynStore>> {
        Some(Box::new(MemoryStore::new()))
    }

    mailer_core::store_conformance_tests!(setup);
}

mod script_crm {
    use super::*;

    async fn setup() -> Option<Box<ScriptCrmFixture>> {
        Some(Box::new(ScriptCrmFixture::new()))
    }

    mailer_core::crm_conformance_tests!(setup);
}

mod capture_transport {
    use super::*;

    struct Fixture {
        transport: CaptureTransport,
        mailbox: Mailbox,
    }

    #[async_trait]
    impl TransportFixture for Fixture {
        fn transport(&self) -> &DynTransport {
            &self.transport
        }

        fn mailbox(&self) -> Mailbox {
            self.mailbox.clone()
        }

        fn bad_password_mailbox(&self) -> Mailbox {
            Mailbox {
                password: Secret::new("wrong"),
                ..self.mailbox.clone()
            }
        }

        async fn received(&self, message_id: &str) -> Vec<Received> {
            self.transport
                .sent()
                .into_iter()
                .filter(|c| c.message.message_id == message_id)
                .map(|c| Received {
                    recipients: c.message.envelope_recipients().map(|a| a.email.clone()).collect(),
                    raw: c.raw,
                })
                .collect()
        }

        async fn in_sent_folder(&self, _mailbox: &Mailbox, message_id: &str) -> bool {
            self.transport.sent_copies().iter().any(|c| c.message_id == message_id)
        }
    }

    async fn setup() -> Option<Box<Fixture>> {
        let transport = CaptureTransport::new();
        transport.reject_password("wrong");
        let account = mailer_core::model::AccountId(1);
        let user = sample_user(account);
        let mailbox = sample_mailbox(account, user.id, Default::default());
        Some(Box::new(Fixture { transport, mailbox }))
    }

    mailer_core::transport_conformance_tests!(setup);
}

mod mocks {
    use mailer_core::model::AccountId;
    use mailer_core::ports::{MockStore, Store, StoreError};

    #[test]
    fn a_mock_store_answers_as_scripted() {
        let mut store = MockStore::new();
        store
            .expect_get_account()
            .withf(|id| *id == AccountId(9))
            .returning(|id| Err(StoreError::not_found("account", id)));
        let err = mailer_core::testkit::block_on(store.get_account(AccountId(9))).expect_err("scripted error");
        assert!(matches!(err, StoreError::NotFound { what: "account", .. }), "{err:?}");
    }
}
