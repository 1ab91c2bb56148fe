//! Copies in Sent and the mailbox check against a real Dovecot: SPECIAL-USE `\Sent`, the usual names, a
//! configured folder, STARTTLS and implicit TLS, and the green / gray / red colours.

mod support;

use mailer_core::model::{Secret, Security, ServerSettings};
use mailer_core::ports::{CheckStatus, SendErrorKind, Transport};
use mailer_core::testkit::block_on;
use support::{Services, lf, rich_message};

#[test]
fn the_copy_lands_in_the_special_use_sent_folder_seen_with_the_sent_bytes() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mailbox = services.mailbox(
            &services.user,
            services.submission.clone(),
            Some(services.imaps.clone()),
        );
        let msg = rich_message(&mailbox.from, "sent-copy");
        let delivery = transport.send(&mailbox, &msg).await.expect("send");
        transport
            .append_sent(&mailbox, &msg.message_id, &delivery.raw)
            .await
            .expect("append");
        let copies = services.maildir_copies(&services.user, "Sent", &msg.message_id);
        assert_eq!(copies.len(), 1, "{:?}", copies.iter().map(|c| &c.0).collect::<Vec<_>>());
        let (name, bytes) = &copies[0];
        assert!(
            name.rsplit_once(":2,").is_some_and(|(_, flags)| flags.contains('S')),
            "not \\Seen: {name}"
        );
        assert_eq!(lf(bytes), lf(&delivery.raw), "Sent holds other bytes");
    });
}

#[test]
fn without_special_use_the_folder_is_found_by_its_usual_name() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mailbox = services.mailbox(
            &services.nospecial_user,
            services.submission.clone(),
            Some(services.imap.clone()),
        );
        let msg = rich_message(&mailbox.from, "sent-items");
        transport
            .append_sent(&mailbox, &msg.message_id, &transport.wire(&msg).expect("wire").bytes)
            .await
            .expect("append over STARTTLS");
        assert_eq!(
            services
                .maildir_copies(&services.nospecial_user, "Sent Items", &msg.message_id)
                .len(),
            1
        );
        assert!(
            services
                .maildir_copies(&services.nospecial_user, "Sent", &msg.message_id)
                .is_empty()
        );
        let check = transport.verify(&mailbox).await.expect("verify");
        assert_eq!(check.status, CheckStatus::Green, "{check:?}");
    });
}

#[test]
fn a_configured_folder_is_used_and_made_when_the_server_has_no_special_use() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mut mailbox = services.mailbox(
            &services.nospecial_user,
            services.submission.clone(),
            Some(services.imaps.clone()),
        );
        mailbox.sent_folder = Some("Отправленные".into());
        let msg = rich_message(&mailbox.from, "configured");
        let raw = transport.wire(&msg).expect("wire").bytes;
        transport
            .append_sent(&mailbox, &msg.message_id, &raw)
            .await
            .expect("append");
        let folder = "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"; // maildir keeps the modified UTF-7 name
        assert_eq!(
            services
                .maildir_copies(&services.nospecial_user, folder, &msg.message_id)
                .len(),
            1
        );
    });
}

#[test]
fn special_use_wins_over_a_configured_folder() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mut mailbox = services.mailbox(&services.user, services.submission.clone(), Some(services.imap.clone()));
        mailbox.sent_folder = Some("Elsewhere".into());
        let msg = rich_message(&mailbox.from, "special-wins");
        let raw = transport.wire(&msg).expect("wire").bytes;
        transport
            .append_sent(&mailbox, &msg.message_id, &raw)
            .await
            .expect("append");
        assert_eq!(
            services.maildir_copies(&services.user, "Sent", &msg.message_id).len(),
            1
        );
    });
}

#[test]
fn a_wrong_imap_password_is_an_auth_error() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mut mailbox = services.mailbox(
            &services.user,
            services.submission.clone(),
            Some(services.imaps.clone()),
        );
        mailbox.password = Secret::new("wrong");
        let msg = rich_message(&mailbox.from, "imap-auth");
        let err = transport
            .append_sent(&mailbox, &msg.message_id, &transport.wire(&msg).expect("wire").bytes)
            .await
            .expect_err("appended with a wrong password");
        assert_eq!(err.kind(), SendErrorKind::Auth, "{err}");
    });
}

#[test]
fn the_check_is_green_when_both_logins_work() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mailbox = services.mailbox(
            &services.user,
            services.submission_tls.clone(),
            Some(services.imaps.clone()),
        );
        let check = transport.verify(&mailbox).await.expect("verify");
        assert_eq!(check.status, CheckStatus::Green, "{check:?}");
        assert_eq!((check.smtp_error, check.imap_error), (None, None));
    });
}

#[test]
fn the_check_is_gray_without_imap_or_when_imap_is_wrong() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let no_imap = services.mailbox(&services.user, services.submission.clone(), None);
        let check = transport.verify(&no_imap).await.expect("verify");
        assert_eq!(check.status, CheckStatus::Gray, "{check:?}");
        assert!(
            check
                .imap_error
                .as_deref()
                .is_some_and(|r| r.contains("no IMAP server")),
            "{check:?}"
        );

        // IMAP pointed at the SMTP port: the login cannot work.
        let wrong = ServerSettings {
            security: Security::Tls,
            ..services.submission_tls.clone()
        };
        let wrong_imap = services.mailbox(&services.user, services.submission.clone(), Some(wrong));
        let check = transport.verify(&wrong_imap).await.expect("verify");
        assert_eq!(check.status, CheckStatus::Gray, "{check:?}");
        assert!(check.smtp_error.is_none() && check.imap_error.is_some(), "{check:?}");
    });
}

#[test]
fn the_check_is_red_when_the_smtp_login_fails() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let transport = services.transport();
        let mut mailbox = services.mailbox(
            &services.user,
            services.submission.clone(),
            Some(services.imaps.clone()),
        );
        mailbox.password = Secret::new("wrong");
        let check = transport.verify(&mailbox).await.expect("verify");
        assert_eq!(check.status, CheckStatus::Red, "{check:?}");
        let reason = check.smtp_error.expect("a reason");
        assert!(
            reason.contains("Could not authenticate") && reason.contains("535"),
            "{reason}"
        );
    });
}
