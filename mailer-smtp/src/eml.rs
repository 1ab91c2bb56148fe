//! [`EmlTransport`]: a real [`Transport`] that writes each message as an `.eml` file, for examples and
//! the demo server (no mail server needed).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use mailer_core::model::Mailbox;
use mailer_core::ports::{
    CheckStatus, Delivery, MailboxCheck, OutgoingMessage, SendError, SendErrorKind, Transport, TransportCaps,
};

use crate::mime;

/// Writes each sent message to `<dir>/<Message-ID>.eml` and each copy for Sent to
/// `<dir>/Sent/<Message-ID>.eml`, with the same bytes [`SmtpTransport`](crate::SmtpTransport) would send
/// (Bcc recipients are not in the file, as on the wire). Sending the same message again overwrites its
/// file. The check is gray: mail can be "sent", there is no IMAP.
#[derive(Debug, Clone)]
pub struct EmlTransport {
    dir: PathBuf,
}

impl EmlTransport {
    /// Writes into `dir` (created on first send).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder sent messages go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder copies for Sent go to.
    pub fn sent_dir(&self) -> PathBuf {
        self.dir.join("Sent")
    }

    /// The file a message with this Message-ID is written to, in `dir`.
    pub fn file_name(message_id: &str) -> String {
        let safe: String = message_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "@._-+=".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.eml")
    }

    async fn write(&self, dir: PathBuf, message_id: &str, bytes: &[u8]) -> Result<PathBuf, SendError> {
        let io = |e: std::io::Error| {
            SendError::new(
                SendErrorKind::Other,
                format!("cannot write into {}: {e}", dir.display()),
            )
            .with_source(e)
        };
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let path = dir.join(Self::file_name(message_id));
        // Write then rename, so a reader never sees half a message.
        let partial = dir.join(format!(".{}.part", Self::file_name(message_id)));
        tokio::fs::write(&partial, bytes).await.map_err(io)?;
        tokio::fs::rename(&partial, &path).await.map_err(io)?;
        Ok(path)
    }
}

#[async_trait]
impl Transport for EmlTransport {
    fn capabilities(&self) -> TransportCaps {
        TransportCaps {
            append_sent: true,
            verify: true,
        }
    }

    async fn send(&self, _mailbox: &Mailbox, message: &OutgoingMessage) -> Result<Delivery, SendError> {
        let wire = mime::build(message, None)?;
        let path = self.write(self.dir.clone(), &message.message_id, &wire.bytes).await?;
        Ok(Delivery {
            message_id: message.message_id.clone(),
            response: format!("250 written to {}", path.display()),
            raw: wire.bytes,
        })
    }

    async fn append_sent(&self, _mailbox: &Mailbox, message_id: &str, raw: &[u8]) -> Result<(), SendError> {
        self.write(self.sent_dir(), message_id, raw).await.map(|_| ())
    }

    async fn verify(&self, _mailbox: &Mailbox) -> Result<MailboxCheck, SendError> {
        Ok(MailboxCheck {
            status: CheckStatus::Gray,
            smtp_error: None,
            imap_error: Some(format!(
                "this transport writes .eml files into {} and has no IMAP",
                self.dir.display()
            )),
        })
    }
}
