//! Behaviour every [`Transport`](crate::ports::Transport) must have. Not semver-stable; for tests only.

use async_trait::async_trait;

use crate::model::{Address, Mailbox};
use crate::ports::{CheckStatus, DynTransport, OutgoingMessage, SendErrorKind};

use super::default_start;

/// A message as the receiving side got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope recipients (RCPT TO).
    pub recipients: Vec<String>,
    /// The message as it arrived (headers and body).
    pub raw: Vec<u8>,
}

impl Received {
    /// The header block, as text.
    pub fn headers(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        let end = text
            .find("\r\n\r\n")
            .or_else(|| text.find("\n\n"))
            .unwrap_or(text.len());
        text[..end].to_owned()
    }
}

/// What a transport conformance run needs: the transport, a mailbox that works, one whose password is
/// wrong, and a look at what the servers received.
#[async_trait]
pub trait TransportFixture: Send + Sync {
    /// The transport under test.
    fn transport(&self) -> &DynTransport;
    /// A mailbox whose SMTP (and IMAP, if the transport verifies and appends) work.
    fn mailbox(&self) -> Mailbox;
    /// The same mailbox with a wrong password.
    fn bad_password_mailbox(&self) -> Mailbox;
    /// Every copy received with this Message-ID (without angle brackets).
    async fn received(&self, message_id: &str) -> Vec<Received>;
    /// True when the mailbox's Sent folder holds a message with this Message-ID.
    async fn in_sent_folder(&self, mailbox: &Mailbox, message_id: &str) -> bool;
}

fn message(mailbox: &Mailbox, tag: &str) -> OutgoingMessage {
    let addr = |e: &str| Address {
        name: None,
        email: e.into(),
    };
    OutgoingMessage {
        message_id: format!("{tag}.{}@conformance.mailer.test", std::process::id()),
        date: default_start(),
        from: mailbox.from.clone(),
        reply_to: None,
        to: vec![Address {
            name: Some("Anna Smith".into()),
            email: "anna@example.com".into(),
        }],
        cc: vec![addr("boris@example.com")],
        bcc: vec![addr("hidden@example.com")],
        subject: format!("Conformance {tag}: Привет"),
        html: "<p>Hello <b>Anna</b></p>".into(),
        text: "Hello Anna".into(),
        attachments: Vec::new(),
        unsubscribe_url: None,
    }
}

/// One send reaches To, Cc and Bcc, keeps the Message-ID, and writes no Bcc header.
pub async fn send_reaches_every_recipient(fx: &dyn TransportFixture) {
    let mailbox = fx.mailbox();
    let msg = message(&mailbox, "rcpt");
    let delivery = fx.transport().send(&mailbox, &msg).await.expect("send");
    assert_eq!(delivery.message_id, msg.message_id);
    let got = fx.received(&msg.message_id).await;
    let mut rcpts: Vec<String> = got.iter().flat_map(|r| r.recipients.clone()).collect();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(
        rcpts,
        ["anna@example.com", "boris@example.com", "hidden@example.com"],
        "envelope: {got:?}"
    );
    for copy in &got {
        let headers = copy.headers().to_ascii_lowercase();
        assert!(
            !headers.contains("\nbcc:") && !headers.starts_with("bcc:"),
            "Bcc header leaked: {headers}"
        );
        assert!(
            !headers.contains("hidden@example.com"),
            "hidden recipient in headers: {headers}"
        );
        assert!(
            headers.contains(&msg.message_id.to_ascii_lowercase()),
            "Message-ID not kept: {headers}"
        );
    }
}

/// A wrong password is an authentication error, not a temporary one.
pub async fn wrong_password_is_auth_error(fx: &dyn TransportFixture) {
    let mailbox = fx.bad_password_mailbox();
    let msg = message(&mailbox, "auth");
    let err = fx
        .transport()
        .send(&mailbox, &msg)
        .await
        .expect_err("sent with a wrong password");
    assert_eq!(err.kind(), SendErrorKind::Auth, "{err}");
    assert!(!err.is_temporary());
    assert!(
        fx.received(&msg.message_id).await.is_empty(),
        "a refused message arrived"
    );
}

/// The check is not red for a working mailbox and red for a wrong password.
pub async fn verify_tells_green_and_red(fx: &dyn TransportFixture) {
    if !fx.transport().capabilities().verify {
        return;
    }
    let good = fx.transport().verify(&fx.mailbox()).await.expect("verify good");
    let expected = if fx.mailbox().imap.is_some() && fx.transport().capabilities().append_sent {
        CheckStatus::Green
    } else {
        CheckStatus::Gray
    };
    assert_eq!(good.status, expected, "{good:?}");
    let bad = fx
        .transport()
        .verify(&fx.bad_password_mailbox())
        .await
        .expect("verify bad");
    assert_eq!(bad.status, CheckStatus::Red, "{bad:?}");
    assert!(bad.smtp_error.is_some(), "red without a reason: {bad:?}");
}

/// A copy appended to Sent (the delivery's bytes) is there.
pub async fn append_sent_lands_in_sent(fx: &dyn TransportFixture) {
    if !fx.transport().capabilities().append_sent {
        return;
    }
    let mailbox = fx.mailbox();
    let msg = message(&mailbox, "sent-copy");
    let delivery = fx.transport().send(&mailbox, &msg).await.expect("send");
    fx.transport()
        .append_sent(&mailbox, &msg.message_id, &delivery.raw)
        .await
        .expect("append");
    assert!(
        fx.in_sent_folder(&mailbox, &msg.message_id).await,
        "copy not found in Sent"
    );
}

/// The delivery's bytes are the message that arrived: every received copy ends with them (a relay may
/// put trace headers on top; line ends compared as LF, as servers store them).
pub async fn delivery_raw_is_what_arrived(fx: &dyn TransportFixture) {
    let mailbox = fx.mailbox();
    let msg = message(&mailbox, "raw");
    let delivery = fx.transport().send(&mailbox, &msg).await.expect("send");
    let lf = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace("\r\n", "\n")
            .trim_end_matches('\n')
            .to_owned()
    };
    let sent = lf(&delivery.raw);
    assert!(
        sent.to_ascii_lowercase()
            .contains(&format!("message-id: <{}>", msg.message_id.to_ascii_lowercase())),
        "no Message-ID in the delivery's bytes: {sent}"
    );
    let got = fx.received(&msg.message_id).await;
    assert!(!got.is_empty(), "nothing arrived");
    for copy in got {
        let arrived = lf(&copy.raw);
        assert!(
            arrived.ends_with(&sent),
            "arrived:\n{arrived}\n--- differs from the delivery's bytes:\n{sent}"
        );
    }
}

/// Generates one `#[test]` per transport conformance case. `$setup` is an async fn returning `Option<F>`
/// where `F` derefs to a [`TransportFixture`]; `None` skips.
#[macro_export]
macro_rules! transport_conformance_tests {
    ($setup:path) => {
        $crate::__conformance_tests!($setup, transport_conformance;
            send_reaches_every_recipient, wrong_password_is_auth_error, verify_tells_green_and_red,
            append_sent_lands_in_sent, delivery_raw_is_what_arrived);
    };
}
