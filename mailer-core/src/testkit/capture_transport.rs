//! A transport that records every message instead of sending it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::model::{Mailbox, MailboxId};
use crate::ports::{
    CheckStatus, Delivery, MailboxCheck, OutgoingMessage, SendError, SendErrorKind, Transport, TransportCaps,
};

/// One message the [`CaptureTransport`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The mailbox it was sent from.
    pub mailbox: MailboxId,
    /// The message.
    pub message: OutgoingMessage,
    /// The bytes "sent" ([`Delivery::raw`]): a plain header block and the HTML; a header
    /// `X-Capture-Send: N` (the N-th accepted send) makes every send's bytes unique, so a copy made from a
    /// new rendering would not match.
    pub raw: Vec<u8>,
}

/// One copy the [`CaptureTransport`] put in Sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCopy {
    /// The mailbox.
    pub mailbox: MailboxId,
    /// The Message-ID it was given.
    pub message_id: String,
    /// The bytes it was given.
    pub raw: Vec<u8>,
}

/// A scripted failure: how many times it happens (`None`: always) and the error's kind and code.
#[derive(Debug, Clone)]
struct Failure {
    remaining: Option<u32>,
    kind: SendErrorKind,
    code: Option<u16>,
    message: String,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<Captured>,
    sent_copies: Vec<SentCopy>,
    copy_failures: u32,
    failures: HashMap<String, Failure>,
    checks: HashMap<MailboxId, MailboxCheck>,
    bad_passwords: Vec<String>,
    attempts: u64,
}

/// A [`Transport`] for tests: records every message it "sends" and every copy it "appends" to Sent; fails
/// on demand for chosen recipient addresses.
#[derive(Debug, Default)]
pub struct CaptureTransport {
    state: Mutex<State>,
}

impl CaptureTransport {
    /// A transport that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes every send to `address` fail with `kind` (and `code`), `times` times or, with `None`, always.
    pub fn fail_for(&self, address: &str, kind: SendErrorKind, code: Option<u16>, times: Option<u32>) {
        self.lock().failures.insert(
            address.to_ascii_lowercase(),
            Failure {
                remaining: times,
                kind,
                code,
                message: format!("scripted failure for {address}"),
            },
        );
    }

    /// Makes the server refuse logins with `password`: sends fail with [`SendErrorKind::Auth`] (535) and
    /// checks are red.
    pub fn reject_password(&self, password: &str) {
        self.lock().bad_passwords.push(password.to_owned());
    }

    /// Sets what [`Transport::verify`] answers for a mailbox (green otherwise).
    pub fn set_check(&self, mailbox: MailboxId, check: MailboxCheck) {
        self.lock().checks.insert(mailbox, check);
    }

    /// Every accepted message, in order.
    pub fn sent(&self) -> Vec<Captured> {
        self.lock().sent.clone()
    }

    /// How many messages were accepted.
    pub fn sent_count(&self) -> usize {
        self.lock().sent.len()
    }

    /// Makes the next `times` copies to Sent fail with a temporary error.
    pub fn fail_sent_copies(&self, times: u32) {
        self.lock().copy_failures = times;
    }

    /// Every copy appended to Sent, in order.
    pub fn sent_copies(&self) -> Vec<SentCopy> {
        self.lock().sent_copies.clone()
    }

    /// How many sends were tried, failed ones included.
    pub fn attempts(&self) -> u64 {
        self.lock().attempts
    }
}

/// The captured "wire form": the visible headers (no Bcc), a send counter, an empty line and the HTML.
fn wire(message: &OutgoingMessage, n: usize) -> Vec<u8> {
    let list = |a: &[crate::model::Address]| a.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    format!(
        "From: {}\r\nTo: {}\r\nCc: {}\r\nSubject: {}\r\nMessage-ID: <{}>\r\nX-Capture-Send: {n}\r\n\r\n{}",
        message.from,
        list(&message.to),
        list(&message.cc),
        message.subject,
        message.message_id,
        message.html
    )
    .into_bytes()
}

#[async_trait]
impl Transport for CaptureTransport {
    fn capabilities(&self) -> TransportCaps {
        TransportCaps {
            append_sent: true,
            verify: true,
        }
    }

    async fn send(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<Delivery, SendError> {
        let mut s = self.lock();
        s.attempts += 1;
        if s.bad_passwords.iter().any(|p| p == mailbox.password.expose()) {
            return Err(
                SendError::new(SendErrorKind::Auth, "535 5.7.8 Authentication credentials invalid").with_code(535),
            );
        }
        if message.envelope_recipients().next().is_none() {
            return Err(SendError::new(SendErrorKind::InvalidAddress, "no recipients").with_code(554));
        }
        for rcpt in message.envelope_recipients() {
            let key = rcpt.email.to_ascii_lowercase();
            if let Some(failure) = s.failures.get_mut(&key)
                && failure.remaining != Some(0)
            {
                if let Some(n) = failure.remaining.as_mut() {
                    *n -= 1;
                }
                let mut err = SendError::new(failure.kind, failure.message.clone());
                if let Some(code) = failure.code {
                    err = err.with_code(code);
                }
                return Err(err);
            }
        }
        let raw = wire(message, s.sent.len() + 1);
        s.sent.push(Captured {
            mailbox: mailbox.id,
            message: message.clone(),
            raw: raw.clone(),
        });
        Ok(Delivery {
            message_id: message.message_id.clone(),
            response: "250 2.0.0 Ok: captured".into(),
            raw,
        })
    }

    async fn append_sent(&self, mailbox: &Mailbox, message_id: &str, raw: &[u8]) -> Result<(), SendError> {
        let mut s = self.lock();
        if s.copy_failures > 0 {
            s.copy_failures -= 1;
            return Err(SendError::new(
                SendErrorKind::Temporary,
                "scripted failure of the copy to Sent",
            ));
        }
        s.sent_copies.push(SentCopy {
            mailbox: mailbox.id,
            message_id: message_id.to_owned(),
            raw: raw.to_vec(),
        });
        Ok(())
    }

    async fn verify(&self, mailbox: &Mailbox) -> Result<MailboxCheck, SendError> {
        let s = self.lock();
        if s.bad_passwords.iter().any(|p| p == mailbox.password.expose()) {
            return Ok(MailboxCheck::from_results(
                Some("535 5.7.8 Authentication credentials invalid".into()),
                Some("authentication failed".into()),
            ));
        }
        Ok(s.checks.get(&mailbox.id).cloned().unwrap_or(MailboxCheck {
            status: CheckStatus::Green,
            smtp_error: None,
            imap_error: None,
        }))
    }
}
