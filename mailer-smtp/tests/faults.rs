//! Fault codes from a scripted SMTP responder (a tiny tokio server in this test): each reply the manual's
//! "Common errors" talks about ends as the right kind, and a refused recipient means no DATA at all; with
//! and without PIPELINING offered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailer_core::model::{AccountId, Address, Mailbox, MailboxId, Secret, Security, ServerSettings, UserId};
use mailer_core::ports::{OutgoingMessage, SendErrorKind, Transport};
use mailer_core::testkit::{block_on, default_start, fixture};
use mailer_smtp::SmtpTransport;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Which command gets a scripted reply; every other command gets a positive one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Greeting,
    Auth,
    Mail,
    Rcpt(usize),
    DataEnd,
    /// Never answer the greeting.
    Silent,
}

#[derive(Debug, Default)]
struct Seen {
    commands: Vec<String>,
    got_data: bool,
    /// For each MAIL: whether the rest of the commands up to DATA had already arrived with it.
    grouped: Vec<bool>,
}

/// Starts a responder on 127.0.0.1 that answers `reply` at `step`, and offers PIPELINING in its EHLO reply
/// when `pipelining`; returns its port and what it saw.
async fn responder_offering(step: Step, reply: &'static str, pipelining: bool) -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let send = |text: String| format!("{text}\r\n");
                match step {
                    Step::Silent => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    Step::Greeting => {
                        let _ = write.write_all(send(reply.into()).as_bytes()).await;
                        return;
                    }
                    _ => {
                        let _ = write.write_all(b"220 responder.test ESMTP\r\n").await;
                    }
                }
                let mut rcpt = 0;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            log.lock().expect("log").got_data = true;
                            let answer = if step == Step::DataEnd {
                                reply
                            } else {
                                "250 2.0.0 queued"
                            };
                            let _ = write.write_all(send(answer.into()).as_bytes()).await;
                        }
                        continue;
                    }
                    log.lock().expect("log").commands.push(line.clone());
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    if verb == "MAIL" {
                        // What was read with MAIL and is still waiting in the buffer.
                        let rest = String::from_utf8_lossy(lines.get_ref().buffer()).into_owned();
                        log.lock().expect("log").grouped.push(rest.ends_with("DATA\r\n"));
                    }
                    let answer: String = match verb.as_str() {
                        "EHLO" if pipelining => {
                            "250-responder.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".into()
                        }
                        "EHLO" => "250-responder.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".into(),
                        "AUTH" if step == Step::Auth => reply.into(),
                        "AUTH" => "235 2.7.0 ok".into(),
                        "MAIL" if step == Step::Mail => reply.into(),
                        "RCPT" => {
                            rcpt += 1;
                            if step == Step::Rcpt(rcpt) {
                                reply.into()
                            } else {
                                "250 2.1.5 ok".into()
                            }
                        }
                        "DATA" => {
                            in_data = true;
                            "354 go ahead".into()
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => "250 ok".into(),
                    };
                    let _ = write.write_all(send(answer).as_bytes()).await;
                }
            });
        }
    });
    (port, seen)
}

fn mailbox(port: u16) -> Mailbox {
    let mut mailbox = fixture::sample_mailbox(AccountId(7), UserId(7), Default::default());
    mailbox.id = MailboxId(i64::from(port));
    mailbox.smtp = ServerSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
    };
    mailbox.imap = None;
    mailbox.password = Secret::new("secret");
    mailbox
}

fn message() -> OutgoingMessage {
    let addr = |e: &str| Address {
        name: None,
        email: e.into(),
    };
    OutgoingMessage {
        message_id: "fault@mailer.test".into(),
        date: default_start(),
        from: addr("maria@example.com"),
        reply_to: None,
        to: vec![addr("anna@example.com")],
        cc: vec![addr("boris@example.com")],
        bcc: Vec::new(),
        subject: "Fault".into(),
        html: "<p>x</p>".into(),
        text: "x".into(),
        attachments: Vec::new(),
        unsubscribe_url: None,
    }
}

fn transport() -> SmtpTransport {
    SmtpTransport::builder()
        .timeout(Duration::from_millis(700))
        .build()
        .expect("transport")
}

/// Sends once against a responder scripted with `reply` at `step`; the error's kind and code, and what
/// the responder saw.
fn fail(step: Step, reply: &'static str) -> (SendErrorKind, Option<u16>, Arc<Mutex<Seen>>) {
    fail_offering(step, reply, false)
}

/// As [`fail`], against a responder that offers PIPELINING when `pipelining`.
fn fail_offering(step: Step, reply: &'static str, pipelining: bool) -> (SendErrorKind, Option<u16>, Arc<Mutex<Seen>>) {
    block_on(async {
        let (port, seen) = responder_offering(step, reply, pipelining).await;
        let err = transport()
            .send(&mailbox(port), &message())
            .await
            .expect_err("the scripted failure did not fail");
        (err.kind(), err.smtp_code(), seen)
    })
}

#[test]
fn spam_rejection_at_the_end_of_data() {
    let (kind, code, seen) = fail(Step::DataEnd, "554 5.7.1 Message rejected under suspicion of SPAM");
    assert_eq!((kind, code), (SendErrorKind::RejectedAsSpam, Some(554)));
    assert!(seen.lock().expect("seen").got_data);
}

#[test]
fn data_not_accepted_at_the_end_of_data() {
    let (kind, code, _) = fail(Step::DataEnd, "554 5.6.0 Message content not accepted");
    assert_eq!((kind, code), (SendErrorKind::DataNotAccepted, Some(554)));
}

#[test]
fn an_unknown_recipient_stops_the_whole_send() {
    let (kind, code, seen) = fail(Step::Rcpt(2), "550 5.1.1 <boris@example.com>: User unknown");
    assert_eq!((kind, code), (SendErrorKind::InvalidAddress, Some(550)));
    let seen = seen.lock().expect("seen");
    assert!(
        !seen.got_data,
        "DATA was sent after a refused recipient: {:?}",
        seen.commands
    );
}

#[test]
fn greylisting_is_temporary() {
    let (kind, code, _) = fail(Step::Rcpt(1), "450 4.2.0 Greylisted, please try again later");
    assert_eq!((kind, code), (SendErrorKind::Temporary, Some(450)));
}

#[test]
fn a_busy_server_at_the_greeting_is_temporary() {
    let (kind, code, _) = fail(Step::Greeting, "421 4.7.0 Too many connections, try again later");
    assert_eq!((kind, code), (SendErrorKind::Temporary, Some(421)));
}

#[test]
fn a_refused_login_is_auth() {
    let (kind, code, seen) = fail(Step::Auth, "535 5.7.8 Authentication credentials invalid");
    assert_eq!((kind, code), (SendErrorKind::Auth, Some(535)));
    let seen = seen.lock().expect("seen");
    assert!(
        !seen.commands.iter().any(|c| c.starts_with("MAIL")),
        "{:?}",
        seen.commands
    );
}

#[test]
fn a_silent_server_times_out_as_temporary() {
    let (kind, code, _) = fail(Step::Silent, "");
    assert_eq!((kind, code), (SendErrorKind::Temporary, None));
}

#[test]
fn mail_rcpt_and_data_go_together_only_to_a_server_that_offers_pipelining() {
    for pipelining in [true, false] {
        let (port, seen, sent) = block_on(async {
            let (port, seen) = responder_offering(Step::DataEnd, "250 2.0.0 queued as P", pipelining).await;
            let transport = transport();
            let mut sent = Vec::new();
            // Twice over the pooled connection: the second send learns nothing anew.
            for _ in 0..2 {
                sent.push(transport.send(&mailbox(port), &message()).await.map(|d| d.response));
            }
            (port, seen, sent)
        });
        for result in sent {
            assert_eq!(result.expect("sent").as_str(), "250 2.0.0 queued as P", "port {port}");
        }
        let seen = seen.lock().expect("seen");
        assert!(seen.got_data);
        assert_eq!(
            seen.grouped,
            vec![pipelining; 2],
            "pipelining {pipelining}: {:?}",
            seen.commands
        );
        let mails = seen.commands.iter().filter(|c| c.starts_with("MAIL")).count();
        let datas = seen.commands.iter().filter(|c| c.as_str() == "DATA").count();
        assert_eq!((mails, datas), (2, 2), "{:?}", seen.commands);
    }
}

#[test]
fn a_refused_recipient_in_a_pipelined_group_sends_no_content() {
    let (kind, code, seen) = fail_offering(Step::Rcpt(2), "550 5.1.1 <boris@example.com>: User unknown", true);
    assert_eq!((kind, code), (SendErrorKind::InvalidAddress, Some(550)));
    let seen = seen.lock().expect("seen");
    assert_eq!(seen.grouped, vec![true], "{:?}", seen.commands);
    assert!(
        !seen.got_data,
        "the content was sent after a refused recipient: {:?}",
        seen.commands
    );
}

#[test]
fn a_sender_refused_for_now_in_a_pipelined_group_is_temporary() {
    let (kind, code, seen) = fail_offering(Step::Mail, "451 4.3.0 Try again later", true);
    assert_eq!((kind, code), (SendErrorKind::Temporary, Some(451)));
    assert!(!seen.lock().expect("seen").got_data);
}
