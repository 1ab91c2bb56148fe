//! One message over an open SMTP connection: `MAIL`, `RCPT` for each recipient, `DATA`, and the content
//! with its lines that start with a dot doubled (RFC 5321, section 4.5.2), ended by `CRLF.CRLF`.
//!
//! When the server offers PIPELINING (RFC 2920), `MAIL`, the `RCPT`s and `DATA` go in one write and their
//! replies are read in order after it: two round trips per message instead of three plus one per
//! recipient. Any negative reply ends the send with that reply's error, as without pipelining; the
//! content is then never sent, and the connection is closed (a server that already said 354 sees the
//! connection end before `CRLF.CRLF` and drops the message).
//!
//! lettre's `send` does neither pipelining nor a fast dot-stuffing: it pushes every byte of the message
//! through a state machine, which took 8 % of a worker's CPU for 20 KB messages. Here the content is
//! copied in whole runs between `CRLF.` and written with lettre's own command writer. A message or
//! envelope that is not plain ASCII (SMTPUTF8 or 8BITMIME is then needed, and lettre asks for it) goes
//! through lettre's `send` unchanged.

use std::fmt::Write as _;
use std::sync::LazyLock;

use lettre::address::Envelope;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::response::Response;
use lettre::transport::smtp::{Error, client::AsyncSmtpConnection};
use memchr::memmem;

use crate::connection::Session;

/// Sends `bytes` to the envelope's recipients over `session`; on an error the connection is closed, as
/// lettre's `send` does.
pub(crate) async fn submit(session: &mut Session, envelope: &Envelope, bytes: &[u8]) -> Result<Response, Error> {
    let conn = &mut session.conn;
    let ascii = |s: &str| s.is_ascii();
    let plain_envelope =
        envelope.from().is_none_or(|a| ascii(a.as_ref())) && envelope.to().iter().all(|a| ascii(a.as_ref()));
    let content = match std::str::from_utf8(bytes) {
        Ok(text) if plain_envelope && text.is_ascii() => text,
        _ => return conn.send(envelope, bytes).await,
    };
    let opened = if session.pipelining {
        open_pipelined(conn, envelope).await
    } else {
        open_one_by_one(conn, envelope).await
    };
    let sent = match opened {
        Ok(()) => conn.command(dot_stuffed(content).as_str()).await,
        Err(e) => Err(e),
    };
    if sent.is_err() {
        conn.abort().await;
    }
    sent
}

/// `MAIL`, each `RCPT` and `DATA`, each waiting for its reply.
async fn open_one_by_one(conn: &mut AsyncSmtpConnection, envelope: &Envelope) -> Result<(), Error> {
    conn.command(Mail::new(envelope.from().cloned(), Vec::new())).await?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
    }
    conn.command(Data).await?;
    Ok(())
}

/// `MAIL`, every `RCPT` and `DATA` in one write, then their replies in order (the last one is `DATA`'s
/// 354).
async fn open_pipelined(conn: &mut AsyncSmtpConnection, envelope: &Envelope) -> Result<(), Error> {
    conn.command(pipelined_group(envelope)).await?;
    for _ in envelope.to() {
        conn.read_response().await?;
    }
    conn.read_response().await?;
    Ok(())
}

/// The commands that open a mail transaction, as one text.
fn pipelined_group(envelope: &Envelope) -> String {
    let mut group = Mail::new(envelope.from().cloned(), Vec::new()).to_string();
    for to in envelope.to() {
        // Writing to a String cannot fail.
        let _ = write!(group, "{}", Rcpt::new(to.clone(), Vec::new()));
    }
    let _ = write!(group, "{Data}");
    group
}

/// Message content as it goes after `DATA`: a dot that starts a line doubled, then `CRLF.CRLF`; built in
/// one buffer of the right size (lettre copies a command once more to write it).
fn dot_stuffed(text: &str) -> String {
    const END: &str = "\r\n.\r\n";
    static LINE_DOT: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\r\n."));
    // Where each `CRLF.` starts.
    let dots: Vec<usize> = LINE_DOT.find_iter(text.as_bytes()).collect();
    let lead = usize::from(text.starts_with('.'));
    let mut wire = String::with_capacity(lead + text.len() + dots.len() + END.len());
    if lead == 1 {
        wire.push('.');
    }
    let mut from = 0;
    for at in dots {
        // Up to the line end; the dot is written again as the start of the next piece.
        wire.push_str(&text[from..at + 2]);
        wire.push('.');
        from = at + 2;
    }
    wire.push_str(&text[from..]);
    wire.push_str(END);
    wire
}

#[cfg(test)]
mod tests {
    use super::{dot_stuffed, pipelined_group};

    #[test]
    fn the_pipelined_group_is_mail_every_rcpt_and_data() {
        let address = |a: &str| a.parse().expect("address");
        let envelope = lettre::address::Envelope::new(
            Some(address("maria@example.com")),
            vec![address("anna@example.com"), address("boris@example.com")],
        )
        .expect("envelope");
        assert_eq!(
            pipelined_group(&envelope),
            "MAIL FROM:<maria@example.com>\r\nRCPT TO:<anna@example.com>\r\nRCPT TO:<boris@example.com>\r\nDATA\r\n"
        );
    }

    #[test]
    fn dots_that_start_a_line_are_doubled() {
        let cases = [
            ("a\r\nb", "a\r\nb\r\n.\r\n"),
            (".a", "..a\r\n.\r\n"),
            ("a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"),
            ("a\r\n..b\r\n.", "a\r\n...b\r\n..\r\n.\r\n"),
            ("a.b\r.c\n.d", "a.b\r.c\n.d\r\n.\r\n"),
            ("", "\r\n.\r\n"),
        ];
        for (content, wire) in cases {
            let stuffed = dot_stuffed(content);
            assert_eq!(stuffed, wire, "{content:?}");
            assert_eq!(
                stuffed.capacity(),
                wire.len(),
                "built in one buffer of the right size: {content:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn is_the_rule_written_out(text in "([a.]|\r|\n){0,40}") {
            let mut want = String::new();
            if text.starts_with('.') {
                want.push('.');
            }
            want.push_str(&text.replace("\r\n.", "\r\n.."));
            // Two `CRLF.` never overlap, so `replace` finds every one.
            want.push_str("\r\n.\r\n");
            proptest::prop_assert_eq!(dot_stuffed(&text), want);
        }
    }
}
