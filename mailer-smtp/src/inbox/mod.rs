//! Reading the mailboxes' INBOX over IMAP, so that bounces, auto-replies and replies reach the engine.
//!
//! - [`ImapInbox`] is the core's [`Inbox`](mailer_core::ports::Inbox) port over async-imap: it fetches the
//!   messages after a cursor (UIDVALIDITY + last UID, kept by the engine in the store) with
//!   `BODY.PEEK[]`, so nothing is marked read, and waits for news with IDLE where the server offers it.
//! - [`run_readers`] runs one reader per mailbox whose INBOX is read (it has IMAP and its check is not
//!   gray): read what is new through [`Engine::read_inbox`](mailer_core::engine::Engine::read_inbox), then
//!   wait with IDLE, or poll when the server has no IDLE; the list of mailboxes is looked at again now
//!   and then, so new mailboxes get a reader.
//!
//! Several processes may read the same mailbox (a `serve` and a `worker` on one database): the store's
//! cursor only moves forward and each received message is handled once (keyed by its Message-ID), so a
//! message is never counted twice.

mod fetch;
mod reader;

pub use fetch::ImapInbox;
pub use reader::{ReaderConfig, run_readers};
