//! The widget's mailbox check: green when SMTP and IMAP logins work, gray when only SMTP works (mail can
//! be sent, no copies in Sent), red when SMTP does not work; each part with its reason.

use mailer_core::model::Mailbox;
use mailer_core::ports::{MailboxCheck, SendError};

use crate::SmtpTransport;
use crate::error::advice;

/// Runs both logins at once and colours the result.
pub(crate) async fn check(transport: &SmtpTransport, mailbox: &Mailbox) -> MailboxCheck {
    let (smtp, imap) = tokio::join!(transport.check_smtp(mailbox), async {
        match &mailbox.imap {
            None => Err(None),
            Some(_) => transport.check_imap(mailbox).await.map_err(Some),
        }
    });
    let smtp_error = smtp.err().map(|e| reason("SMTP", &e));
    let imap_error = match imap {
        Ok(_) => None,
        Err(None) => Some("IMAP: no IMAP server is set, so sent mail is not copied to Sent".to_owned()),
        Err(Some(e)) => Some(reason("IMAP", &e)),
    };
    MailboxCheck::from_results(smtp_error, imap_error)
}

/// `SMTP: <the manual's advice> (<what the server said>)`.
pub(crate) fn reason(protocol: &str, err: &SendError) -> String {
    format!("{protocol}: {} ({})", advice(err.kind()), err.message())
}
