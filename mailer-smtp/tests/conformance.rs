//! The transport conformance suite against real servers: Dovecot submission (STARTTLS + AUTH) relaying
//! to Postfix's smtp-sink, and Dovecot IMAPS for the copies in Sent.

mod support;

use async_trait::async_trait;
use mailer_core::model::{Mailbox, Secret};
use mailer_core::ports::DynTransport;
use mailer_core::testkit::{Received, TransportFixture};
use mailer_smtp::SmtpTransport;
use support::Services;

struct Fixture {
    services: Services,
    transport: SmtpTransport,
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
        self.services.received(message_id)
    }

    async fn in_sent_folder(&self, mailbox: &Mailbox, message_id: &str) -> bool {
        !self
            .services
            .maildir_copies(&mailbox.login, "Sent", message_id)
            .is_empty()
    }
}

async fn setup() -> Option<Box<Fixture>> {
    let services = Services::get()?;
    let transport = services.transport();
    let mailbox = services.mailbox(
        &services.user,
        services.submission.clone(),
        Some(services.imaps.clone()),
    );
    Some(Box::new(Fixture {
        services,
        transport,
        mailbox,
    }))
}

mailer_core::transport_conformance_tests!(setup);
