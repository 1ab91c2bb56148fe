//! The classification of what comes back to a mailbox, over the fixtures in `fixtures/inbox/` (one per
//! bounce form, an auto-reply and a reply): each gives its kind, severity, status, address and our
//! Message-ID.

use mailer_core::inbox::{BounceForm, Incoming, Severity, classify};

const OURS: &str = "s18a2c.7.a1@mailer.test";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/inbox/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.replace("%MESSAGE_ID%", OURS).into_bytes()
}

struct Expected {
    form: BounceForm,
    severity: Severity,
    status: &'static str,
    recipient: &'static str,
    diagnostic: &'static str,
}

fn bounce(name: &str, want: &Expected) {
    let received = classify(&fixture(name));
    let Incoming::Bounce(b) = received.kind else {
        panic!("{name}: not a bounce: {:?}", received.kind)
    };
    assert_eq!(b.form, want.form, "{name}");
    assert_eq!(b.severity, want.severity, "{name}");
    assert_eq!(b.status.as_deref(), Some(want.status), "{name}");
    assert_eq!(b.recipient.as_deref(), Some(want.recipient), "{name}");
    assert!(
        b.diagnostic.contains(want.diagnostic),
        "{name}: diagnostic {:?}",
        b.diagnostic
    );
    assert_eq!(
        b.original.first().map(String::as_str),
        Some(OURS),
        "{name}: {:?}",
        b.original
    );
}

#[test]
fn rfc3464_failure_is_a_hard_bounce_of_the_attached_message() {
    bounce(
        "rfc3464-failed.eml",
        &Expected {
            form: BounceForm::Dsn,
            severity: Severity::Hard,
            status: "5.1.1",
            recipient: "nobody@example.net",
            diagnostic: "550 5.1.1 <nobody@example.net>... User unknown",
        },
    );
}

#[test]
fn rfc3464_delay_is_a_soft_bounce() {
    bounce(
        "rfc3464-delayed.eml",
        &Expected {
            form: BounceForm::Dsn,
            severity: Severity::Soft,
            status: "4.4.7",
            recipient: "slow@example.com",
            diagnostic: "421 4.4.7 Connection timed out",
        },
    );
}

#[test]
fn exim_text() {
    bounce(
        "exim.eml",
        &Expected {
            form: BounceForm::Exim,
            severity: Severity::Hard,
            status: "5.1.1",
            recipient: "ghost@example.org",
            diagnostic: "Recipient address rejected: User unknown",
        },
    );
}

#[test]
fn qmail_text() {
    bounce(
        "qmail.eml",
        &Expected {
            form: BounceForm::Qmail,
            severity: Severity::Hard,
            status: "5.1.1",
            recipient: "nosuch@example.info",
            diagnostic: "No such user",
        },
    );
}

#[test]
fn postfix_report() {
    bounce(
        "postfix.eml",
        &Expected {
            form: BounceForm::Postfix,
            severity: Severity::Hard,
            status: "5.1.1",
            recipient: "left@example.com",
            diagnostic: "User unknown in local recipient table",
        },
    );
}

#[test]
fn microsoft_text() {
    bounce(
        "microsoft.eml",
        &Expected {
            form: BounceForm::Microsoft,
            severity: Severity::Hard,
            status: "5.1.10",
            recipient: "missing@contoso.com",
            diagnostic: "RESOLVER.ADR.RecipientNotFound",
        },
    );
}

#[test]
fn gmail_text() {
    bounce(
        "gmail.eml",
        &Expected {
            form: BounceForm::Gmail,
            severity: Severity::Hard,
            status: "5.1.1",
            recipient: "nope@gmail.com",
            diagnostic: "does not exist",
        },
    );
}

#[test]
fn out_of_office_is_an_auto_reply_not_a_reply() {
    let received = classify(&fixture("autoreply.eml"));
    assert_eq!(
        received.kind,
        Incoming::AutoReply {
            refers_to: vec![OURS.to_owned()]
        }
    );
    assert_eq!(received.from.as_deref(), Some("anna@client.example"));
}

#[test]
fn a_person_s_answer_is_a_reply() {
    let received = classify(&fixture("reply.eml"));
    assert_eq!(
        received.kind,
        Incoming::Reply {
            refers_to: vec![OURS.to_owned()]
        }
    );
    assert_eq!(
        received.message_id.as_deref(),
        Some("CAF1x2y3z4-reply-8812@mail.client.example")
    );
}

#[test]
fn a_new_message_and_garbage_are_other() {
    let plain = b"From: someone@example.com\r\nSubject: Hello\r\n\r\nA new message.\r\n";
    assert_eq!(classify(plain).kind, Incoming::Other);
    assert_eq!(classify(b"").kind, Incoming::Other);
    assert_eq!(classify(&[0xff, 0xfe, b'\n', b':', 0]).kind, Incoming::Other);
    // A success report is not a bounce.
    let delivered = fixture("rfc3464-failed.eml");
    let delivered = String::from_utf8_lossy(&delivered).replace("Action: failed", "Action: delivered");
    assert_eq!(classify(delivered.as_bytes()).kind, Incoming::Other);
}

/// Found by the `dsn` fuzz target: text after the boundary on the first delimiter line makes
/// mail-parser 0.11 assert in builds with debug assertions (as tests are). Classified, not a panic, and
/// the next message is classified as usual.
#[test]
fn a_multipart_that_makes_the_parser_assert_is_classified_without_a_panic() {
    let raw = b"From: MAILER-DAEMON@mx.example.net\r\n\
Content-Type: multipart/report; boundary=b5\r\n\r\n\
--b5Content-Type: message/rfc822\r\n\r\nU\r\n\
Content-Type: message/rfc822\r\n\r\n\r\n--b5--\r\n";
    let received = std::panic::catch_unwind(|| classify(raw)).expect("classify panicked");
    if cfg!(debug_assertions) {
        assert_eq!(
            received.kind,
            Incoming::Other,
            "the parser's panic means: not a message"
        );
    }
    let next = classify(&fixture("reply.eml"));
    assert!(matches!(next.kind, Incoming::Reply { .. }), "{:?}", next.kind);
}
