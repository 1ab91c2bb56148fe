//! IMAP through async-imap on tokio: log in (plain, STARTTLS or implicit TLS), find the Sent folder and
//! APPEND a copy with `\Seen`.

use std::fmt;
use std::sync::Arc;

use async_imap::types::NameAttribute;
use futures::TryStreamExt;
use mailer_core::model::{Mailbox, Security, ServerSettings};
use mailer_core::ports::{SendError, SendErrorKind};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::{Failure, from_io, send_error};
use crate::tls::server_name;
use crate::utf7;

/// Usual names of the Sent folder, tried in this order when the server marks none with `\Sent`.
pub const SENT_NAMES: &[&str] = &[
    "Sent",
    "Sent Items",
    "Sent Messages",
    "Sent Mail",
    "Sent Email",
    "Outgoing",
    "Outbox",
    "Sendt",
    "Sendet",
    "Gesendet",
    "Gesendete Objekte",
    "Gesendete Elemente",
    "Envoyés",
    "Éléments envoyés",
    "Enviados",
    "Elementos enviados",
    "Inviata",
    "Posta inviata",
    "Verzonden",
    "Verzonden items",
    "Wysłane",
    "Skickat",
    "Odeslané",
    "Отправленные",
    "Исходящие",
];

/// Any stream IMAP can run over.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Stream for T {}

pub(crate) type Session = async_imap::Session<Box<dyn Stream>>;

/// A logged-in IMAP session.
pub(crate) struct Imap {
    session: Session,
}

impl fmt::Debug for Imap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap").finish_non_exhaustive()
    }
}

/// One folder as LIST gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folder {
    /// The name on the wire (modified UTF-7), as APPEND needs it.
    pub(crate) wire: String,
    /// The name decoded for people.
    pub(crate) name: String,
    /// The hierarchy delimiter, if any.
    pub(crate) delimiter: Option<String>,
    /// Marked `\Sent` (RFC 6154).
    pub(crate) special_sent: bool,
}

impl Imap {
    /// Connects to `server` and logs in with the mailbox's login.
    pub(crate) async fn login(
        server: &ServerSettings,
        mailbox: &Mailbox,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<Self, SendError> {
        let tcp = TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map_err(from_io)?;
        let stream: Box<dyn Stream> = match server.security {
            Security::Tls => Box::new(wrap_tls(tcp, &server.host, tls).await?),
            Security::Plain | Security::StartTls => Box::new(tcp),
        };
        let mut client = async_imap::Client::new(stream);
        greeting(&mut client).await?;
        if server.security == Security::StartTls {
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| imap_error(e, "STARTTLS"))?;
            let tls_stream: Box<dyn Stream> = Box::new(wrap_tls(client.into_inner(), &server.host, tls).await?);
            client = async_imap::Client::new(tls_stream);
        }
        let session = client
            .login(&mailbox.login, mailbox.password.expose())
            .await
            .map_err(|(e, _)| login_error(e))?;
        Ok(Self { session })
    }

    /// Every folder on the server.
    pub(crate) async fn folders(&mut self) -> Result<Vec<Folder>, SendError> {
        let names: Vec<_> = self
            .session
            .list(Some(""), Some("*"))
            .await
            .map_err(|e| imap_error(e, "LIST"))?
            .try_collect()
            .await
            .map_err(|e| imap_error(e, "LIST"))?;
        Ok(names
            .iter()
            .filter(|n| !n.attributes().contains(&NameAttribute::NoSelect))
            .map(|n| Folder {
                wire: n.name().to_owned(),
                name: utf7::decode(n.name()),
                delimiter: n.delimiter().map(ToOwned::to_owned),
                special_sent: n.attributes().contains(&NameAttribute::Sent),
            })
            .collect())
    }

    /// Appends `bytes` to the folder `wire_name` with `\Seen`; creates the folder first when `create` is
    /// set (LIST did not show it).
    pub(crate) async fn append_seen(&mut self, wire_name: &str, bytes: &[u8], create: bool) -> Result<(), SendError> {
        if create {
            self.session
                .create(wire_name)
                .await
                .map_err(|e| imap_error(e, "CREATE"))?;
        }
        self.session
            .append(wire_name, Some("(\\Seen)"), None, bytes)
            .await
            .map_err(|e| imap_error(e, "APPEND"))
    }

    /// True when the server still answers on this session (`NOOP`).
    pub(crate) async fn noop(&mut self) -> bool {
        self.session.noop().await.is_ok()
    }

    /// The session, for commands this type has no method for (the inbox reader's SELECT, FETCH, IDLE).
    pub(crate) fn into_session(self) -> Session {
        self.session
    }

    /// Says goodbye; errors are ignored, the work is done.
    pub(crate) async fn logout(mut self) {
        let _ = self.session.logout().await;
    }
}

/// The folder to put copies in: the one marked `\Sent`, else the configured one, else the first usual
/// name found (at the top level or under INBOX). `None` when there is none.
pub(crate) fn pick_sent(folders: &[Folder], configured: Option<&str>) -> Option<SentChoice> {
    if let Some(f) = folders.iter().find(|f| f.special_sent) {
        return Some(SentChoice::existing(f));
    }
    if let Some(name) = configured.map(str::trim).filter(|n| !n.is_empty()) {
        return Some(match folders.iter().find(|f| f.name == name || f.wire == name) {
            Some(f) => SentChoice::existing(f),
            None => SentChoice {
                wire: utf7::encode(name),
                name: name.to_owned(),
                exists: false,
            },
        });
    }
    SENT_NAMES.iter().find_map(|usual| {
        let found = folders.iter().find(|f| f.name.eq_ignore_ascii_case(usual)).or_else(|| {
            folders
                .iter()
                .find(|f| leaf(f).is_some_and(|l| l.to_lowercase() == usual.to_lowercase()) && under_inbox(f))
        });
        found.map(SentChoice::existing)
    })
}

/// The Sent folder chosen for a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentChoice {
    /// The name on the wire.
    pub(crate) wire: String,
    /// The name for people.
    pub(crate) name: String,
    /// False when it is a configured folder the server does not have yet.
    pub(crate) exists: bool,
}

impl SentChoice {
    fn existing(f: &Folder) -> Self {
        Self {
            wire: f.wire.clone(),
            name: f.name.clone(),
            exists: true,
        }
    }
}

fn leaf(f: &Folder) -> Option<&str> {
    let delimiter = f.delimiter.as_deref().filter(|d| !d.is_empty())?;
    f.name.rsplit_once(delimiter).map(|(_, leaf)| leaf)
}

fn under_inbox(f: &Folder) -> bool {
    f.delimiter
        .as_deref()
        .and_then(|d| f.name.split_once(d))
        .is_some_and(|(top, _)| top.eq_ignore_ascii_case("INBOX"))
}

async fn wrap_tls<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    host: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<S>, SendError> {
    TlsConnector::from(Arc::clone(tls))
        .connect(server_name(host).map_err(from_io)?, stream)
        .await
        .map_err(from_io)
}

async fn greeting(client: &mut async_imap::Client<Box<dyn Stream>>) -> Result<(), SendError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(send_error(
            &Failure::Connection,
            "the IMAP server closed the connection",
        )),
        Err(e) => Err(from_io(e)),
    }
}

fn login_error(err: async_imap::error::Error) -> SendError {
    match err {
        async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
            send_error(&Failure::LoginRefused, format!("IMAP login refused: {}", text.trim()))
        }
        other => imap_error(other, "LOGIN"),
    }
}

pub(crate) fn imap_error(err: async_imap::error::Error, command: &str) -> SendError {
    use async_imap::error::Error;
    match err {
        Error::Io(io) => from_io(io),
        Error::ConnectionLost => send_error(&Failure::Connection, format!("IMAP connection lost during {command}")),
        Error::No(text) | Error::Bad(text) => {
            SendError::new(SendErrorKind::Other, format!("IMAP {command} refused: {}", text.trim()))
        }
        other => SendError::new(SendErrorKind::Other, format!("IMAP {command} failed: {other}")).with_source(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, delimiter: &str, special_sent: bool) -> Folder {
        Folder {
            wire: utf7::encode(name),
            name: name.into(),
            delimiter: Some(delimiter.into()),
            special_sent,
        }
    }

    #[test]
    fn special_use_wins_over_names_and_configuration() {
        let folders = [folder("Sent", ".", false), folder("Gesendet", ".", true)];
        let pick = pick_sent(&folders, Some("Sent")).expect("found");
        assert_eq!(pick.name, "Gesendet");
    }

    #[test]
    fn the_configured_folder_comes_before_usual_names() {
        let folders = [folder("Sent", ".", false), folder("Archive.Out", ".", false)];
        assert_eq!(
            pick_sent(&folders, Some("Archive.Out")).expect("found").name,
            "Archive.Out"
        );
        let missing = pick_sent(&folders, Some("Отправленные")).expect("configured");
        assert_eq!(
            (missing.exists, missing.wire.as_str()),
            (false, "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-")
        );
    }

    #[test]
    fn usual_names_are_found_in_order_and_under_inbox() {
        let folders = [
            folder("INBOX", ".", false),
            folder("Outgoing", ".", false),
            folder("sent items", ".", false),
        ];
        assert_eq!(pick_sent(&folders, None).expect("found").name, "sent items");
        let inbox = [folder("INBOX", ".", false), folder("INBOX.Sent", ".", false)];
        assert_eq!(pick_sent(&inbox, None).expect("found").name, "INBOX.Sent");
        let russian = [folder("INBOX", "/", false), folder("Отправленные", "/", false)];
        assert_eq!(
            pick_sent(&russian, None).expect("found").wire,
            "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"
        );
        let nested_elsewhere = [folder("Projects/Sent", "/", false)];
        assert_eq!(pick_sent(&nested_elsewhere, None), None);
    }
}
