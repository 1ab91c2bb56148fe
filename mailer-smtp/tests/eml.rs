//! The `.eml` transport writes the very bytes SMTP would send, copies into `Sent/`, and checks gray.

mod support;

use mailer_core::model::{AccountId, Address, UserId};
use mailer_core::ports::{CheckStatus, SendErrorKind, Transport};
use mailer_core::testkit::{block_on, fixture};
use mailer_smtp::{EmlTransport, SmtpTransport};
use support::rich_message;

fn mailbox() -> mailer_core::model::Mailbox {
    fixture::sample_mailbox(AccountId(3), UserId(3), Default::default())
}

#[test]
fn a_sent_message_is_a_file_with_the_smtp_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let transport = EmlTransport::new(dir.path().join("out"));
    let mailbox = mailbox();
    let msg = rich_message(&mailbox.from, "eml");
    let delivery = block_on(transport.send(&mailbox, &msg)).expect("send");
    assert_eq!(delivery.message_id, msg.message_id);
    let path = dir.path().join("out").join(EmlTransport::file_name(&msg.message_id));
    let written = std::fs::read(&path).expect("the .eml file");
    let smtp = SmtpTransport::builder().build().expect("smtp transport");
    assert_eq!(
        written,
        smtp.wire(&msg).expect("wire").bytes,
        "not the bytes SMTP sends"
    );
    let text = String::from_utf8_lossy(&written);
    assert!(!text.contains("hidden@example.com"), "Bcc leaked into the file");
    // Sending again (a retry) overwrites the same file: one file per Message-ID.
    block_on(transport.send(&mailbox, &msg)).expect("send again");
    assert_eq!(std::fs::read_dir(dir.path().join("out")).expect("dir").count(), 1);
}

#[test]
fn the_copy_for_sent_goes_into_the_sent_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let transport = EmlTransport::new(dir.path());
    let mailbox = mailbox();
    let msg = rich_message(&mailbox.from, "eml-sent");
    let raw = mailer_smtp::mime::build(&msg, None).expect("build").bytes;
    block_on(transport.append_sent(&mailbox, &msg.message_id, &raw)).expect("append");
    let copy = std::fs::read(transport.sent_dir().join(EmlTransport::file_name(&msg.message_id))).expect("copy");
    assert_eq!(copy, raw);
    assert!(
        !dir.path().join(EmlTransport::file_name(&msg.message_id)).exists(),
        "a copy is not a send"
    );
}

#[test]
fn the_check_is_gray_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let check = block_on(EmlTransport::new(dir.path()).verify(&mailbox())).expect("verify");
    assert_eq!(check.status, CheckStatus::Gray);
    assert!(check.smtp_error.is_none());
    assert!(check.imap_error.is_some_and(|r| r.contains("no IMAP")));
}

#[test]
fn a_bad_message_or_folder_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mailbox = mailbox();
    let mut msg = rich_message(&mailbox.from, "eml-bad");
    msg.to = vec![Address {
        name: None,
        email: "not an address".into(),
    }];
    let err = block_on(EmlTransport::new(dir.path()).send(&mailbox, &msg)).expect_err("bad address");
    assert_eq!(err.kind(), SendErrorKind::InvalidAddress);

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let msg = rich_message(&mailbox.from, "eml-bad-dir");
    let err = block_on(EmlTransport::new(&file).send(&mailbox, &msg)).expect_err("a file is not a folder");
    assert_eq!(err.kind(), SendErrorKind::Other, "{err}");
}

#[test]
fn message_ids_become_safe_file_names() {
    assert_eq!(EmlTransport::file_name("a/b\\c@x.test"), "a_b_c@x.test.eml");
    assert_eq!(EmlTransport::file_name("../../etc@x"), ".._.._etc@x.eml");
}
