//! DKIM signatures that verify: rich messages (alternative + related + attachment, non-ASCII headers,
//! bare line ends in the text, an IDN recipient) signed with an RSA key and with an Ed25519 key go
//! through [`SmtpTransport`] to the real smtp-sink, and an independent verifier, dkimpy
//! (`tests/support/dkim_verify.py`, the public key given through its DNS hook), verifies every received
//! message and every copy in Sent. The copies in Sent (Dovecot, read back over IMAP) are the sent bytes
//! exactly, the first one and a retried one, both appended by another transport that holds no key and
//! never saw the message: only the delivery's bytes.
#![cfg(feature = "dkim")]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use futures::TryStreamExt;
use mailer_core::model::{Address, Mailbox};
use mailer_core::ports::{OutgoingMessage, Transport};
use mailer_core::testkit::{block_on, skip};
use mailer_smtp::{DkimAlgorithm, SmtpTransport};
use support::{Services, lf, rich_message};

/// A throwaway 2048-bit RSA key made for this test only (PKCS#1 PEM), and its public half (SPKI DER).
const RSA_KEY: &str = include_str!("support/dkim-test-rsa.pem");
const RSA_PUBLIC: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmVqAZ1i2C4MKWwsgkMIwPpK6OP+em0zv7ULoEvQwSpXod6vX1Nrq6pmgZQCUvfnyt6JUi1lrUEhsQDQM1swGAqwhHpH+Ea3Bk7TPWw2BaO8UemSJeXvCjA+V+Xwn6zzABv9yDjB0CI7QKoKVUiEDZevl0HooHcmxjkwG2+9xwwUTK1sFSKzIg37TZjpLNQpwYJvwU/Yw1fg3d9l4y5e2UOS63fDwNcosGBP6jGU3ysT/415pVhO74A11UgBblIfO/WezovGf6sxeiXjVqJHhVp7ywpXtqAFeFjZU7seWhEUuHLybHzuh6iCZAWn9g6qZpQ6YE14+1rvgJpmm/xMGrQIDAQAB";
/// A throwaway Ed25519 key (the seed, bytes 32..64) and its public key.
const ED25519_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const ED25519_PUBLIC: &str = "Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=";

/// The domain of the test user's address (`test@example.test`).
const DOMAIN: &str = "example.test";
/// `irina@пример.испытание` as it must go on the wire without SMTPUTF8.
const IDN_PUNYCODE: &str = "irina@xn--e1afmkfd.xn--80akhbyknj4f";

#[test]
fn rsa_signatures_verify_and_sent_copies_are_the_sent_bytes() {
    run(
        DkimAlgorithm::Rsa,
        RSA_KEY,
        "rsa2026",
        &format!("v=DKIM1; k=rsa; p={RSA_PUBLIC}"),
    );
}

#[test]
fn ed25519_signatures_verify_and_sent_copies_are_the_sent_bytes() {
    run(
        DkimAlgorithm::Ed25519,
        ED25519_KEY,
        "ed2026",
        &format!("v=DKIM1; k=ed25519; p={ED25519_PUBLIC}"),
    );
}

/// The messages: the rich one of the other tests, an awkward one and a plain one.
fn messages(from: &Address) -> Vec<OutgoingMessage> {
    let rich = rich_message(from, "dkim-rich");
    let mut awkward = rich_message(from, "dkim-awkward");
    awkward.subject = "Ёлки-палки: «скидки» для вас — ".repeat(5);
    awkward.cc = vec![Address {
        name: Some("Ирина Петрова-Водкина, отдел продаж".into()),
        email: "irina@пример.испытание".into(),
    }];
    awkward.text = format!(
        "line one\nline two\rline three\r\n  indented  \t trailing   \n\nСпасибо!\n\n\n{}",
        "long ".repeat(100)
    );
    awkward.html = "<p>Привет,\n<b>мир</b></p>\r<p>a bare CR above</p>\n\n<p>x</p>  \n".into();
    let mut plain = rich_message(from, "dkim-plain");
    plain.attachments.clear();
    plain.unsubscribe_url = None;
    plain.reply_to = None;
    plain.subject = "Plain".into();
    plain.text = "ascii only\n".into();
    plain.html = "<p>ascii only</p>".into();
    vec![rich, awkward, plain]
}

fn dkimpy_missing() -> bool {
    !Command::new("python3")
        .args(["-c", "import dkim, nacl"])
        .status()
        .is_ok_and(|s| s.success())
}

fn run(algorithm: DkimAlgorithm, key: &str, selector: &str, record: &str) {
    let Some(services) = Services::get() else { return };
    if dkimpy_missing() {
        skip("dkimpy or PyNaCl not installed: scripts/py-deps.sh (pip install dkimpy pynacl)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let files = block_on(async {
        let transport = SmtpTransport::builder()
            .add_root_certificate_pem(&services.cert_pem)
            .expect("root")
            .dkim(DOMAIN, selector, key, algorithm)
            .expect("key")
            .build()
            .expect("transport");
        // Another worker after a restart: no key, no memory of the send, only the delivery's bytes.
        let other = services.transport();
        let mut mailbox = services.mailbox(&services.user, services.sink.clone(), Some(services.imaps.clone()));
        mailbox.login = services.user.clone();
        let mut files = Vec::new();
        for msg in messages(&mailbox.from) {
            let delivery = transport.send(&mailbox, &msg).await.expect("send");
            let raw = &delivery.raw;
            check_wire(raw, &msg, selector);

            let got = services.received(&msg.message_id);
            assert_eq!(got.len(), 1, "{}: {got:?}", msg.message_id);
            assert_eq!(
                lf(&got[0].raw),
                lf(raw),
                "{}: smtp-sink got other bytes than the delivery says",
                msg.message_id
            );
            if msg.cc.iter().any(|a| !a.email.is_ascii()) {
                assert!(
                    got[0].recipients.iter().any(|r| r == IDN_PUNYCODE),
                    "IDN not sent as punycode: {:?}",
                    got[0].recipients
                );
            }
            files.push(write(dir.path(), &format!("{}.sink.eml", msg.message_id), &got[0].raw));

            // The copy in Sent, then a retried copy: both the bytes that were sent.
            for _ in 0..2 {
                other
                    .append_sent(&mailbox, &delivery.message_id, raw)
                    .await
                    .expect("append");
            }
            let copies = imap_copies(&services, &mailbox, &msg.message_id).await;
            assert_eq!(copies.len(), 2, "{}: copies in Sent", msg.message_id);
            for (i, copy) in copies.iter().enumerate() {
                assert!(
                    copy == raw,
                    "{}: Sent copy {i} differs from the sent bytes",
                    msg.message_id
                );
                files.push(write(dir.path(), &format!("{}.sent{i}.eml", msg.message_id), copy));
            }
        }
        files
    });

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/dkim_verify.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([selector, DOMAIN, record])
        .args(&files)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dkimpy did not verify:\n{stdout}\n{stderr}");
    let verified = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(verified, files.len(), "{stdout}");
    assert_eq!(verified, 9, "3 messages, each received once and copied twice");
}

/// What the bytes on the wire must look like.
fn check_wire(raw: &[u8], msg: &OutgoingMessage, selector: &str) {
    let text = String::from_utf8_lossy(raw);
    for (i, b) in raw.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(raw.get(i + 1), Some(&b'\n'), "bare CR at {i} in {}", msg.message_id),
            b'\n' => assert!(i > 0 && raw[i - 1] == b'\r', "bare LF at {i} in {}", msg.message_id),
            _ => {}
        }
    }
    assert!(raw.is_ascii(), "{}: 8-bit bytes on the wire", msg.message_id);
    let head = &text[..text.find("\r\n\r\n").expect("header end")];
    let unfolded = head.replace("\r\n\t", " ").replace("\r\n ", " ");
    let signature = unfolded
        .lines()
        .find(|l| l.starts_with("DKIM-Signature: "))
        .unwrap_or_else(|| panic!("not signed: {head}"));
    assert!(
        head.starts_with("DKIM-Signature: "),
        "the signature is not on top: {head}"
    );
    assert!(
        signature.contains(&format!("d={DOMAIN};")) && signature.contains(&format!("s={selector};")),
        "{signature}"
    );
    let signed = signature
        .split("h=")
        .nth(1)
        .and_then(|h| h.split(';').next())
        .unwrap_or_default()
        .replace(' ', "");
    for name in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
    ] {
        assert!(signed.split(':').any(|n| n == name), "{name} not signed: {signed}");
    }
    if msg.unsubscribe_url.is_some() {
        for name in ["list-id", "list-unsubscribe", "list-unsubscribe-post"] {
            assert!(signed.split(':').any(|n| n == name), "{name} not signed: {signed}");
        }
        assert!(unfolded.contains("\r\nList-Id: <test.example.test>"), "{head}");
    } else {
        assert!(!signed.contains("list-") && !unfolded.contains("List-Id"), "{head}");
    }
    if msg.attachments.iter().any(|a| a.content_id.is_some()) {
        let related = text
            .split("Content-Type: multipart/related;")
            .nth(1)
            .and_then(|rest| rest.split("\r\n\r\n").next())
            .unwrap_or_else(|| panic!("no multipart/related: {text}"));
        assert!(
            related.contains("type=\"text/html\""),
            "RFC 2387 type missing: {related}"
        );
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Every message in the user's Sent folder with this Message-ID, fetched over IMAP (`BODY.PEEK[]`).
async fn imap_copies(services: &Services, mailbox: &Mailbox, message_id: &str) -> Vec<Vec<u8>> {
    let tcp = tokio::net::TcpStream::connect((services.imap.host.as_str(), services.imap.port))
        .await
        .expect("IMAP connect");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting").expect("greeting");
    let mut session = client
        .login(&mailbox.login, &services.password)
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login");
    session.select("Sent").await.expect("SELECT Sent");
    let mut uids: Vec<u32> = session
        .uid_search(format!("HEADER Message-ID \"<{message_id}>\""))
        .await
        .expect("SEARCH")
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut out = Vec::new();
    for uid in uids {
        let fetched: Vec<_> = session
            .uid_fetch(uid.to_string(), "BODY.PEEK[]")
            .await
            .expect("FETCH")
            .try_collect()
            .await
            .expect("FETCH");
        out.extend(fetched.iter().filter_map(|f| f.body().map(<[u8]>::to_vec)));
    }
    session.logout().await.expect("LOGOUT");
    out
}
