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
    sent_copies: Vec<Captured>,
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

    /// Every copy appended to Sent, in order.
    pub fn sent_copies(&self) -> Vec<Captured> {
        self.lock().sent_copies.clone()
    }

    /// How many sends were tried, failed ones included.
    pub fn attempts(&self) -> u64 {
        self.lock().attempts
    }
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
        s.sent.push(Captured {
            mailbox: mailbox.id,
            message: message.clone(),
        });
        Ok(Delivery {
            message_id: message.message_id.clone(),
            response: "250 2.0.0 Ok: captured".into(),
        })
    }

    async fn append_sent(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<(), SendError> {
        self.lock().sent_copies.push(Captured {
            mailbox: mailbox.id,
            message: message.clone(),
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
