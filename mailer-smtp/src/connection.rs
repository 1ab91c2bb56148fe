//! One SMTP connection: TCP (with `TCP_NODELAY`, so the final `.` of DATA is not held back by Nagle's
//! algorithm waiting for a delayed ACK), then implicit TLS or STARTTLS as the mailbox says, EHLO and AUTH;
//! and whether the server takes pipelined commands (RFC 2920), which lettre does not record.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::Ehlo;
use lettre::transport::smtp::extension::ClientId;
use mailer_core::model::{Mailbox, Security};
use mailer_core::ports::SendError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::{Failure, from_io, from_smtp, send_error};
use crate::tls::{ExtraRoots, server_name};

/// What a connection needs besides the mailbox.
#[derive(Debug)]
pub(crate) struct Connector<'a> {
    pub(crate) hello: &'a ClientId,
    pub(crate) roots: &'a ExtraRoots,
    pub(crate) tls: &'a Arc<rustls::ClientConfig>,
}

/// A logged-in SMTP connection, and whether its server said PIPELINING in its EHLO reply.
pub(crate) struct Session {
    pub(crate) conn: AsyncSmtpConnection,
    pub(crate) pipelining: bool,
}

impl Connector<'_> {
    /// Connects to the mailbox's SMTP server, learns whether it takes pipelined commands, and logs in
    /// (when the mailbox has a login).
    pub(crate) async fn connect(&self, mailbox: &Mailbox) -> Result<Session, SendError> {
        let server = &mailbox.smtp;
        let tcp = TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map_err(from_io)?;
        tcp.set_nodelay(true).map_err(from_io)?;
        let mut conn = match server.security {
            Security::Tls => {
                let tls = TlsConnector::from(Arc::clone(self.tls))
                    .connect(server_name(&server.host).map_err(from_io)?, tcp)
                    .await
                    .map_err(from_io)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(Tls(tls)), self.hello)
                    .await
                    .map_err(from_smtp)?
            }
            Security::StartTls => {
                let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), self.hello)
                    .await
                    .map_err(from_smtp)?;
                if !conn.can_starttls() {
                    return Err(send_error(&Failure::Tls, "the SMTP server does not offer STARTTLS"));
                }
                let parameters = self.roots.smtp_parameters(&server.host).map_err(from_smtp)?;
                conn.starttls(parameters, self.hello).await.map_err(from_smtp)?;
                conn
            }
            Security::Plain => AsyncSmtpConnection::connect_with_transport(Box::new(tcp), self.hello)
                .await
                .map_err(from_smtp)?,
        };
        let pipelining = offers_pipelining(&mut conn, self.hello).await;
        if !mailbox.login.is_empty() {
            let credentials = Credentials::new(mailbox.login.clone(), mailbox.password.expose().to_owned());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(from_smtp)?;
        }
        Ok(Session { conn, pipelining })
    }
}

/// Whether the server lists PIPELINING in its EHLO reply. lettre keeps only the keywords it uses and drops
/// the reply, so EHLO is sent once more (RFC 5321 allows it at any time; it only resets the mail
/// transaction, and none is open). A server that refuses the second EHLO is not pipelined to; a broken
/// connection shows at the next command.
async fn offers_pipelining(conn: &mut AsyncSmtpConnection, hello: &ClientId) -> bool {
    conn.command(Ehlo::new(hello.clone())).await.is_ok_and(|reply| {
        reply.message().skip(1).any(|line| {
            line.split_ascii_whitespace()
                .next()
                .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
        })
    })
}

/// A TLS stream lettre can drive.
#[derive(Debug)]
struct Tls(TlsStream<TcpStream>);

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for Tls {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
