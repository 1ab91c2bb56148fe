//! One SMTP connection: TCP (with `TCP_NODELAY`, so the final `.` of DATA is not held back by Nagle's
//! algorithm waiting for a delayed ACK), then implicit TLS or STARTTLS as the mailbox says, EHLO and AUTH.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
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

impl Connector<'_> {
    /// Connects to the mailbox's SMTP server and logs in (when it has a login).
    pub(crate) async fn connect(&self, mailbox: &Mailbox) -> Result<AsyncSmtpConnection, SendError> {
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
        if !mailbox.login.is_empty() {
            let credentials = Credentials::new(mailbox.login.clone(), mailbox.password.expose().to_owned());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(from_smtp)?;
        }
        Ok(conn)
    }
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
