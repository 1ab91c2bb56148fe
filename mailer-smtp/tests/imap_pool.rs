//! Copies to Sent over pooled IMAP sessions, against the real Dovecot through a small TCP relay in this
//! test that counts connections and can cut them: copies share one login, a broken session is replaced by a
//! new login, and a mailbox never has more sessions open than the pool allows.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mailer_core::model::{Mailbox, ServerSettings};
use mailer_core::ports::{SendErrorKind, Transport};
use mailer_core::testkit::block_on;
use mailer_smtp::SmtpTransport;
use support::{Services, rich_message};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP relay on 127.0.0.1 to one server.
#[derive(Debug, Clone, Default)]
struct Relay {
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// Counts a connection as open while it lives.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Relay {
    /// Starts relaying to `to`; answers the relay and the settings that reach the server through it.
    async fn start(to: &ServerSettings) -> (Self, ServerSettings) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let relay = Self::default();
        let target = format!("{}:{}", to.host, to.port);
        let r = relay.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                r.accepted.fetch_add(1, Ordering::SeqCst);
                let now_open = r.open.fetch_add(1, Ordering::SeqCst) + 1;
                r.peak.fetch_max(now_open, Ordering::SeqCst);
                let open = Open(Arc::clone(&r.open));
                let target = target.clone();
                let link = tokio::spawn(async move {
                    let _open = open;
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                r.links.lock().unwrap_or_else(PoisonError::into_inner).push(link);
            }
        });
        let settings = ServerSettings {
            host: "127.0.0.1".into(),
            port,
            security: to.security,
        };
        (relay, settings)
    }

    /// Closes every connection relayed so far, as a server that drops its sessions would.
    async fn cut(&self) {
        let links: Vec<_> = self
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for link in links {
            link.abort();
            let _ = link.await;
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

fn transport(services: &Services, imap_sessions: u32) -> SmtpTransport {
    SmtpTransport::builder()
        .timeout(Duration::from_secs(10))
        .imap_pool_max_size(imap_sessions)
        .add_root_certificate_pem(&services.cert_pem)
        .expect("test certificate")
        .build()
        .expect("transport")
}

/// Appends a new message as `mailbox`; answers its Message-ID.
async fn copy(
    transport: &SmtpTransport,
    mailbox: &Mailbox,
    tag: &str,
) -> Result<String, mailer_core::ports::SendError> {
    let msg = rich_message(&mailbox.from, tag);
    let raw = transport.wire(&msg).expect("wire").bytes;
    transport.append_sent(mailbox, &msg.message_id, &raw).await?;
    Ok(msg.message_id)
}

#[test]
fn copies_share_one_login_and_a_broken_session_is_replaced_by_a_new_one() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let (relay, imap) = Relay::start(&services.imap).await;
        let transport = transport(&services, 2);
        let mailbox = services.mailbox(&services.user, services.sink.clone(), Some(imap));
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(copy(&transport, &mailbox, &format!("pooled-{n}")).await.expect("copy"));
        }
        assert_eq!(relay.accepted(), 1, "three copies in a row should use one IMAP session");
        assert_eq!(transport.idle_imap_sessions(), 1);

        // The server drops the session: the copy right after fails (the engine keeps the bytes and retries
        // it later), the session is not pooled again, and the next copy logs in afresh.
        relay.cut().await;
        let err = copy(&transport, &mailbox, "after-cut")
            .await
            .expect_err("the session was cut");
        assert_eq!(err.kind(), SendErrorKind::Temporary, "{err}");
        assert_eq!(transport.idle_imap_sessions(), 0);
        ids.push(
            copy(&transport, &mailbox, "reconnected")
                .await
                .expect("copy on a new session"),
        );
        assert_eq!(relay.accepted(), 2);

        // A session that sat idle is checked with NOOP first: a dead one is replaced without failing a copy.
        relay.cut().await;
        tokio::time::sleep(Duration::from_millis(2_200)).await;
        ids.push(
            copy(&transport, &mailbox, "after-idle")
                .await
                .expect("copy after the idle check"),
        );
        assert_eq!(relay.accepted(), 3);

        for id in &ids {
            assert_eq!(services.maildir_copies(&services.user, "Sent", id).len(), 1, "{id}");
        }
    });
}

#[test]
fn a_mailbox_never_has_more_sessions_open_than_its_pool_allows() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let (relay, imap) = Relay::start(&services.imap).await;
        let transport = transport(&services, 2);
        let mailbox = services.mailbox(&services.user, services.sink.clone(), Some(imap));
        let copies = (0..8).map(|n| {
            let transport = transport.clone();
            let mailbox = mailbox.clone();
            tokio::spawn(async move { copy(&transport, &mailbox, &format!("bounded-{n}")).await })
        });
        let ids: Vec<String> = futures::future::join_all(copies)
            .await
            .into_iter()
            .map(|joined| joined.expect("task").expect("copy"))
            .collect();
        assert!(relay.peak() <= 2, "{} sessions open at once", relay.peak());
        assert!(relay.accepted() <= 2, "{} logins for 8 copies", relay.accepted());
        for id in &ids {
            assert_eq!(services.maildir_copies(&services.user, "Sent", id).len(), 1, "{id}");
        }
    });
}

#[test]
fn without_a_pool_each_copy_logs_in_and_out() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let (relay, imap) = Relay::start(&services.imap).await;
        let transport = transport(&services, 0);
        let mailbox = services.mailbox(&services.user, services.sink.clone(), Some(imap));
        for n in 0..2 {
            let id = copy(&transport, &mailbox, &format!("unpooled-{n}"))
                .await
                .expect("copy");
            assert_eq!(services.maildir_copies(&services.user, "Sent", &id).len(), 1);
        }
        assert_eq!(relay.accepted(), 2);
        assert_eq!(transport.idle_imap_sessions(), 0);
    });
}
