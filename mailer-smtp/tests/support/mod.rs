//! Shared test support: the mail services started by `scripts/mail-up.sh`, mailboxes on them, and a look
//! at what smtp-sink and Dovecot's maildirs received.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use mailer_core::model::{AccountId, Address, Mailbox, MailboxId, Secret, Security, ServerSettings, UserId};
use mailer_core::ports::{OutgoingAttachment, OutgoingMessage};
use mailer_core::testkit::{Received, default_start, fixture, skip};
use mailer_smtp::SmtpTransport;

/// The services, read from the environment `eval "$(scripts/test-services.sh)"` sets.
#[derive(Debug, Clone)]
pub struct Services {
    pub sink: ServerSettings,
    pub sink_dir: PathBuf,
    pub submission: ServerSettings,
    pub submission_tls: ServerSettings,
    pub imap: ServerSettings,
    pub imaps: ServerSettings,
    pub mail_dir: PathBuf,
    pub cert_pem: Vec<u8>,
    pub user: String,
    pub nospecial_user: String,
    pub password: String,
}

fn server(var: &str, security: Security) -> Option<ServerSettings> {
    let value = std::env::var(var).ok()?;
    let (host, port) = value.rsplit_once(':')?;
    Some(ServerSettings {
        host: host.to_owned(),
        port: port.parse().ok()?,
        security,
    })
}

impl Services {
    /// The services, or `None` (after a loud skip) when they are not running.
    pub fn get() -> Option<Self> {
        let found = (|| {
            Some(Self {
                sink: server("MAILER_TEST_SMTP_SINK", Security::Plain)?,
                sink_dir: std::env::var("MAILER_TEST_SMTP_SINK_DIR").ok()?.into(),
                submission: server("MAILER_TEST_SUBMISSION", Security::StartTls)?,
                submission_tls: server("MAILER_TEST_SUBMISSION_TLS", Security::Tls)?,
                imap: server("MAILER_TEST_IMAP", Security::StartTls)?,
                imaps: server("MAILER_TEST_IMAPS", Security::Tls)?,
                mail_dir: std::env::var("MAILER_TEST_MAIL_DIR").ok()?.into(),
                cert_pem: std::fs::read(std::env::var("MAILER_TEST_TLS_CERT").ok()?).ok()?,
                user: std::env::var("MAILER_TEST_MAIL_USER").ok()?,
                nospecial_user: std::env::var("MAILER_TEST_MAIL_USER_NOSPECIAL").ok()?,
                password: std::env::var("MAILER_TEST_MAIL_PASS").ok()?,
            })
        })();
        if found.is_none() {
            skip("mail services not running: eval \"$(scripts/test-services.sh)\"");
        }
        found
    }

    /// A transport that trusts the test certificate.
    pub fn transport(&self) -> SmtpTransport {
        SmtpTransport::builder()
            .timeout(Duration::from_secs(10))
            .add_root_certificate_pem(&self.cert_pem)
            .expect("test certificate")
            .build()
            .expect("transport")
    }

    /// A mailbox of `user` sending through `smtp`, copying through `imap`.
    pub fn mailbox(&self, user: &str, smtp: ServerSettings, imap: Option<ServerSettings>) -> Mailbox {
        let mut mailbox = fixture::sample_mailbox(AccountId(1), UserId(1), Default::default());
        mailbox.id = MailboxId(unique());
        mailbox.from = Address {
            name: Some("Test Sender".into()),
            email: user.to_owned(),
        };
        mailbox.smtp = smtp;
        mailbox.imap = imap;
        mailbox.login = user.to_owned();
        mailbox.password = Secret::new(self.password.clone());
        mailbox
    }

    /// Every message smtp-sink received with this Message-ID.
    pub fn received(&self, message_id: &str) -> Vec<Received> {
        read_sink(&self.sink_dir, message_id)
    }

    /// The files in `user`'s maildir folder `folder` (e.g. "Sent", "Sent Items") that hold this
    /// Message-ID, with their names (the flags follow `:2,`).
    pub fn maildir_copies(&self, user: &str, folder: &str, message_id: &str) -> Vec<(String, Vec<u8>)> {
        let dir = self.mail_dir.join(user).join(format!(".{folder}"));
        let needle = format!("message-id: <{}>", message_id.to_ascii_lowercase());
        ["cur", "new"]
            .iter()
            .flat_map(|sub| std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten())
            .filter_map(|entry| {
                let bytes = std::fs::read(entry.path()).ok()?;
                String::from_utf8_lossy(&bytes)
                    .to_ascii_lowercase()
                    .contains(&needle)
                    .then(|| (entry.file_name().to_string_lossy().into_owned(), bytes))
            })
            .collect()
    }
}

/// A number unique in this test run (process id and a counter), for Message-IDs and mailbox ids.
pub fn unique() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(1);
    i64::from(std::process::id()) * 1_000_000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A message with HTML, text, an inline image, an attachment and an unsubscribe link.
pub fn rich_message(from: &Address, tag: &str) -> OutgoingMessage {
    OutgoingMessage {
        message_id: format!("{tag}.{}@mailer.test", unique()),
        date: default_start(),
        from: from.clone(),
        reply_to: Some(Address {
            name: None,
            email: "replies@example.test".into(),
        }),
        to: vec![Address {
            name: Some("Анна Smith".into()),
            email: "anna@example.com".into(),
        }],
        cc: Vec::new(),
        bcc: vec![Address {
            name: None,
            email: "hidden@example.com".into(),
        }],
        subject: format!("{tag}: Предложение"),
        html: "<p>Hello <b>Anna</b> <img src=\"cid:logo\"></p>".into(),
        // Lines that start with dots: they are doubled on the wire and must arrive as built.
        text: "Hello Anna\n.\n..two dots\n.one".into(),
        attachments: vec![
            OutgoingAttachment {
                name: "logo.png".into(),
                content_type: "image/png".into(),
                bytes: vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0],
                content_id: Some("logo".into()),
            },
            OutgoingAttachment {
                name: "offer.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: (0..=255u8).cycle().take(3000).collect(),
                content_id: None,
            },
        ],
        unsubscribe_url: Some("https://t.example.test/u/token".into()),
    }
}

/// CRLF → LF, as smtp-sink and Dovecot's maildir store lines, without the trailing line ends (lettre
/// ends DATA with one more CRLF before the final dot).
pub fn lf(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .trim_end_matches('\n')
        .to_owned()
}

/// Reads smtp-sink's dump files (format: top of scripts/mail-up.sh).
pub fn read_sink(dir: &Path, message_id: &str) -> Vec<Received> {
    let needle = format!("message-id: <{}>", message_id.to_ascii_lowercase());
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if !text.to_ascii_lowercase().contains(&needle) {
            continue;
        }
        let mut recipients = Vec::new();
        let mut lines = text.split_inclusive('\n');
        let mut raw = String::new();
        for line in lines.by_ref() {
            if let Some(args) = line.strip_prefix("X-Rcpt-Args: ") {
                if let Some((addr, _)) = args.trim_start_matches('<').split_once('>') {
                    recipients.push(addr.to_owned());
                }
            } else if line.starts_with("Received: ") {
                // smtp-sink's own 3-line Received header; the message follows.
                lines.next();
                lines.next();
                break;
            }
        }
        raw.extend(lines);
        if raw.ends_with("\n\n") {
            raw.pop();
        }
        out.push(Received {
            recipients,
            raw: raw.into_bytes(),
        });
    }
    out
}

/// Strips the Received header Dovecot's submission service prepends (4 lines).
pub fn without_dovecot_received(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    if !text.starts_with("Received: ") {
        return raw.to_vec();
    }
    let mut lines = text.split_inclusive('\n');
    lines.next();
    let rest: String = lines.skip_while(|l| l.starts_with([' ', '\t'])).collect();
    rest.into_bytes()
}
