//! Sending through real servers: Postfix's smtp-sink (plain) and Dovecot submission (STARTTLS and
//! implicit TLS, with AUTH) relaying to it.

mod support;

use std::time::Duration;

use mailer_core::model::{Secret, Security, ServerSettings};
use mailer_core::ports::{SendErrorKind, Transport};
use mailer_core::testkit::block_on;
use mailer_smtp::SmtpTransport;
use support::{Services, lf, rich_message, without_dovecot_received};

#[test]
fn plain_smtp_delivers_the_built_bytes_to_every_recipient() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mut mailbox = services.mailbox(&services.user, services.sink.clone(), None);
        mailbox.login = String::new(); // smtp-sink: no login
        let msg = rich_message(&mailbox.from, "plain");
        let delivery = transport.send(&mailbox, &msg).await.expect("send");
        assert_eq!(delivery.message_id, msg.message_id);
        assert!(delivery.response.starts_with("250"), "{delivery:?}");

        let got = services.received(&msg.message_id);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].recipients, ["anna@example.com", "hidden@example.com"]);
        let wire = transport.wire(&msg).expect("wire");
        assert_eq!(
            delivery.raw, wire.bytes,
            "the delivery reports other bytes than were built"
        );
        assert_eq!(
            lf(&got[0].raw),
            lf(&wire.bytes),
            "the server got other bytes than were built"
        );
        let headers = got[0].headers();
        assert!(
            headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{headers}"
        );
        assert!(!headers.contains("hidden@example.com"), "{headers}");
    });
}

#[test]
fn idn_domains_go_as_punycode_and_a_non_ascii_local_part_needs_smtputf8() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mut mailbox = services.mailbox(&services.user, services.sink.clone(), None);
        mailbox.login = String::new();
        // smtp-sink offers no SMTPUTF8.
        let mut msg = rich_message(&mailbox.from, "idn");
        msg.to[0].email = "anna@пример.испытание".into();
        transport.send(&mailbox, &msg).await.expect("send");
        let got = services.received(&msg.message_id);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].recipients[0], "anna@xn--e1afmkfd.xn--80akhbyknj4f");
        assert!(got[0].headers().contains("<anna@xn--e1afmkfd.xn--80akhbyknj4f>"));

        let mut local = rich_message(&mailbox.from, "utf8-local");
        local.to[0].email = "анна@example.com".into();
        let err = transport
            .send(&mailbox, &local)
            .await
            .expect_err("sent without SMTPUTF8");
        assert_eq!(err.kind(), SendErrorKind::InvalidAddress, "{err}");
        assert!(err.message().contains("SMTPUTF8"), "{err}");
        assert!(services.received(&local.message_id).is_empty());
        // The connection is still good for the next message.
        transport
            .send(&mailbox, &rich_message(&mailbox.from, "after-utf8"))
            .await
            .expect("send after");
    });
}

#[test]
fn starttls_with_auth_delivers_through_submission() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mailbox = services.mailbox(&services.user, services.submission.clone(), None);
        let msg = rich_message(&mailbox.from, "starttls");
        transport.send(&mailbox, &msg).await.expect("send");
        let got = services.received(&msg.message_id);
        assert_eq!(got.len(), 1, "{got:?}");
        let raw = String::from_utf8_lossy(&got[0].raw).into_owned();
        assert!(raw.contains("with ESMTPSA"), "not sent over TLS with AUTH: {raw}");
        assert_eq!(
            lf(&without_dovecot_received(&got[0].raw)),
            lf(&transport.wire(&msg).expect("wire").bytes)
        );
    });
}

#[test]
fn implicit_tls_with_auth_delivers_through_submissions() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mailbox = services.mailbox(&services.user, services.submission_tls.clone(), None);
        let msg = rich_message(&mailbox.from, "implicit-tls");
        transport.send(&mailbox, &msg).await.expect("send");
        let got = services.received(&msg.message_id);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(String::from_utf8_lossy(&got[0].raw).contains("with ESMTPSA"));
    });
}

#[test]
fn a_wrong_password_over_implicit_tls_is_an_auth_error() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mut mailbox = services.mailbox(&services.user, services.submission_tls.clone(), None);
        mailbox.password = Secret::new("not-the-password");
        let msg = rich_message(&mailbox.from, "bad-password");
        let err = transport
            .send(&mailbox, &msg)
            .await
            .expect_err("sent with a wrong password");
        assert_eq!((err.kind(), err.smtp_code()), (SendErrorKind::Auth, Some(535)), "{err}");
        assert!(services.received(&msg.message_id).is_empty());
    });
}

#[test]
fn an_untrusted_certificate_is_a_temporary_tls_error() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = SmtpTransport::builder()
            .build()
            .expect("transport without the test root");
        let mailbox = services.mailbox(&services.user, services.submission.clone(), None);
        let msg = rich_message(&mailbox.from, "untrusted");
        let err = transport
            .send(&mailbox, &msg)
            .await
            .expect_err("trusted a self-signed certificate");
        assert_eq!(err.kind(), SendErrorKind::Temporary, "{err}");
        let chain = format!("{:?}", std::error::Error::source(&err));
        assert!(
            chain.contains("UnknownIssuer") || chain.contains("certificate"),
            "{chain}"
        );
    });
}

#[test]
fn a_closed_port_is_a_temporary_connection_error() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let server = ServerSettings {
            host: "127.0.0.1".into(),
            port,
            security: Security::Plain,
        };
        let mailbox = services.mailbox(&services.user, server, None);
        let err = transport
            .send(&mailbox, &rich_message(&mailbox.from, "closed"))
            .await
            .expect_err("sent to a closed port");
        assert!(err.is_temporary(), "{err}");
    });
}

#[test]
fn a_pool_is_made_per_mailbox_and_dropped_when_idle() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = SmtpTransport::builder()
            .pool_idle_timeout(Duration::from_millis(200))
            .build()
            .expect("transport");
        let mut first = services.mailbox(&services.user, services.sink.clone(), None);
        first.login = String::new();
        let mut second = first.clone();
        second.id = mailer_core::model::MailboxId(first.id.0 + 1);
        assert_eq!(transport.open_pools(), 0, "made before first use");
        for _ in 0..3 {
            transport
                .send(&first, &rich_message(&first.from, "pool"))
                .await
                .expect("send");
        }
        assert_eq!(transport.open_pools(), 1, "one pool for one mailbox");
        transport
            .send(&second, &rich_message(&second.from, "pool"))
            .await
            .expect("send");
        assert_eq!(transport.open_pools(), 2, "one pool per mailbox");
        tokio::time::sleep(Duration::from_millis(400)).await;
        transport
            .send(&second, &rich_message(&second.from, "pool"))
            .await
            .expect("send");
        assert_eq!(transport.open_pools(), 1, "the idle mailbox's pool was not dropped");
    });
}

#[cfg(feature = "dkim")]
#[test]
fn dkim_signs_per_domain_and_the_sent_copy_keeps_the_signature() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes, Ed25519
        let transport = SmtpTransport::builder()
            .add_root_certificate_pem(&services.cert_pem)
            .expect("root")
            .dkim("Example.Test", "mail2026", key, mailer_smtp::DkimAlgorithm::Ed25519)
            .expect("key")
            .build()
            .expect("transport");
        let mut mailbox = services.mailbox(&services.user, services.sink.clone(), Some(services.imaps.clone()));
        mailbox.login = services.user.clone();
        let msg = rich_message(&mailbox.from, "dkim");
        let delivery = transport.send(&mailbox, &msg).await.expect("send");
        let got = services.received(&msg.message_id);
        assert_eq!(got.len(), 1);
        let headers = got[0].headers();
        let dkim = headers
            .split("\nDKIM-Signature: ")
            .nth(1)
            .or_else(|| headers.strip_prefix("DKIM-Signature: "))
            .unwrap_or_else(|| panic!("no DKIM-Signature: {headers}"));
        assert!(dkim.contains("a=ed25519-sha256") && dkim.contains("d=example.test") && dkim.contains("s=mail2026"));
        assert!(
            dkim.contains("list-unsubscribe"),
            "unsubscribe headers not signed: {dkim}"
        );

        // The copy in Sent is the signed message that was sent, not a new signature.
        transport
            .append_sent(&mailbox, &msg.message_id, &delivery.raw)
            .await
            .expect("append");
        let copies = services.maildir_copies(&services.user, "Sent", &msg.message_id);
        assert_eq!(copies.len(), 1);
        assert_eq!(lf(&copies[0].1), lf(&got[0].raw));

        // Another domain is not signed.
        let mut other = rich_message(&mailbox.from, "no-dkim");
        other.from.email = "someone@other.test".into();
        transport.send(&mailbox, &other).await.expect("send");
        assert!(
            !services.received(&other.message_id)[0]
                .headers()
                .contains("DKIM-Signature")
        );
    });
}
