//! Error classification: one table ([`RULES`]) and one function ([`classify`]) turn what the SMTP or IMAP
//! server said into a [`SendErrorKind`], so users get the advice of the widget's "Common errors".
//!
//! Rows are tried in order; the first that matches wins, and the last row catches everything.

use std::error::Error as StdError;

use mailer_core::ports::{SendError, SendErrorKind};

/// What went wrong, reduced to what classification reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The server answered with a negative reply: its code and its words (which may start with an
    /// enhanced status code such as `5.7.1`).
    Reply {
        /// The three-digit reply code.
        code: u16,
        /// The reply text.
        text: &'a str,
    },
    /// The server refused the login without a reply code (IMAP `NO` to LOGIN), or offered no login
    /// method we can use.
    LoginRefused,
    /// No connection could be made, or it broke.
    Connection,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The server did not answer in time.
    Timeout,
    /// Anything else (a reply we could not parse, a bad message).
    Other,
}

/// One row of the classification table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The row's name, as the tests call it.
    pub name: &'static str,
    /// The kind it gives.
    pub kind: SendErrorKind,
    matches: fn(&Failure<'_>) -> bool,
}

impl Rule {
    /// True when this row applies to `failure`.
    pub fn matches(&self, failure: &Failure<'_>) -> bool {
        (self.matches)(failure)
    }
}

/// The classification table, in the order the rows are tried.
pub const RULES: &[Rule] = &[
    Rule {
        name: "auth_reply",
        kind: SendErrorKind::Auth,
        matches: |f| {
            reply(f).is_some_and(|(code, text)| {
                matches!(code, 530 | 534 | 535 | 538)
                    || matches!(enhanced(text), Some((_, 7, 8 | 9 | 11 | 12 | 13 | 14)))
            })
        },
    },
    Rule {
        name: "login_refused",
        kind: SendErrorKind::Auth,
        matches: |f| matches!(f, Failure::LoginRefused),
    },
    Rule {
        name: "relay_denied",
        kind: SendErrorKind::Auth,
        matches: |f| {
            reply(f).is_some_and(|(code, text)| {
                code >= 500
                    && contains(
                        text,
                        &[
                            "relay access denied",
                            "relaying denied",
                            "relay not permitted",
                            "unable to relay",
                        ],
                    )
            })
        },
    },
    Rule {
        name: "greylisted",
        kind: SendErrorKind::Temporary,
        matches: |f| reply(f).is_some_and(|(_, text)| contains(text, &["greylist", "graylist", "try again later"])),
    },
    Rule {
        name: "rate_limited",
        kind: SendErrorKind::Temporary,
        matches: |f| {
            reply(f).is_some_and(|(_, text)| {
                matches!(enhanced(text), Some((_, 4, 5)))
                    || contains(
                        text,
                        &["rate limit", "too many", "quota", "limit exceeded", "try again in"],
                    )
            })
        },
    },
    Rule {
        name: "temporary_reply",
        kind: SendErrorKind::Temporary,
        matches: |f| reply(f).is_some_and(|(code, _)| (400..500).contains(&code)),
    },
    Rule {
        name: "rejected_as_spam",
        kind: SendErrorKind::RejectedAsSpam,
        matches: |f| {
            reply(f).is_some_and(|(code, text)| {
                code >= 500
                    && (matches!(enhanced(text), Some((5, 7, 1)))
                        || contains(
                            text,
                            &["spam", "blacklist", "blocklist", "blocked", "reputation", "junk"],
                        ))
            })
        },
    },
    Rule {
        name: "invalid_recipient",
        kind: SendErrorKind::InvalidAddress,
        matches: |f| {
            reply(f).is_some_and(|(code, text)| match enhanced(text) {
                Some((5, 1, _)) => true,
                Some(_) => false,
                None => {
                    matches!(code, 550 | 551 | 553)
                        || contains(text, &["user unknown", "no such user", "recipient address rejected"])
                }
            })
        },
    },
    Rule {
        name: "data_not_accepted",
        kind: SendErrorKind::DataNotAccepted,
        matches: |f| {
            reply(f).is_some_and(|(code, text)| match enhanced(text) {
                Some((5, 3 | 6 | 7, _)) => true,
                Some((5, 2, 3)) => true,
                _ => matches!(code, 552 | 554),
            })
        },
    },
    Rule {
        name: "connection",
        kind: SendErrorKind::Temporary,
        matches: |f| matches!(f, Failure::Connection),
    },
    Rule {
        name: "tls",
        kind: SendErrorKind::Temporary,
        matches: |f| matches!(f, Failure::Tls),
    },
    Rule {
        name: "timeout",
        kind: SendErrorKind::Temporary,
        matches: |f| matches!(f, Failure::Timeout),
    },
    Rule {
        name: "other",
        kind: SendErrorKind::Other,
        matches: |_| true,
    },
];

/// The first row of [`RULES`] that matches `failure` (the last row matches everything).
pub fn classify(failure: &Failure<'_>) -> &'static Rule {
    RULES
        .iter()
        .find(|rule| rule.matches(failure))
        .unwrap_or(&RULES[RULES.len() - 1])
}

/// The widget's advice for a kind of failure, from the manual's "Common errors".
pub fn advice(kind: SendErrorKind) -> &'static str {
    match kind {
        SendErrorKind::Auth => {
            "SMTP Error: Could not authenticate. Check the server, port, encryption, login and password \
             (this also happens after the mailbox password was changed)"
        }
        SendErrorKind::RejectedAsSpam => {
            "Message rejected under suspicion of SPAM. Send one letter from the mail service's web interface, \
             check SPF for your domain and the letter's content, or use a dedicated SMTP service for mailings"
        }
        SendErrorKind::InvalidAddress => {
            "Invalid address: check that the recipient's email is written correctly and exists"
        }
        SendErrorKind::DataNotAccepted => {
            "Data not accepted: the mail server did not allow this email. Check SPF, the subject, body and \
             signature, or use a dedicated SMTP service for mailings"
        }
        SendErrorKind::Temporary => "The mail server is not available right now; the email will be tried again",
        _ => "The mail server refused the email",
    }
}

/// A [`SendError`] for `failure`, with the server's words as its message.
pub(crate) fn send_error(failure: &Failure<'_>, words: impl Into<String>) -> SendError {
    let rule = classify(failure);
    let error = SendError::new(rule.kind, words);
    match failure {
        Failure::Reply { code, .. } => error.with_code(*code),
        _ => error,
    }
}

/// Classifies an error from lettre's SMTP client.
pub(crate) fn from_smtp(err: lettre::transport::smtp::Error) -> SendError {
    let words = err.source().map_or_else(|| err.to_string(), ToString::to_string);
    let failure = match err.status() {
        Some(code) => Failure::Reply {
            code: u16::from(code),
            text: &words,
        },
        None if err.is_timeout() => Failure::Timeout,
        None if err.is_tls() || caused_by::<rustls::Error>(&err) => Failure::Tls,
        None if err.is_client() && words.contains("authentication mechanism") => Failure::LoginRefused,
        // The server closed the connection before its reply was complete (dropped in the middle of DATA):
        // a connection failure, retried, not a malformed answer.
        None if err.is_response() && words.contains("incomplete") => Failure::Connection,
        None if err.is_client() || err.is_response() => Failure::Other,
        None => Failure::Connection,
    };
    let message = match failure {
        Failure::Reply { code, text } => format!("{code} {text}"),
        _ => err.to_string(),
    };
    send_error(&failure, message).with_source(err)
}

/// Classifies an I/O error (connecting, TLS, reading, writing).
pub(crate) fn from_io(err: std::io::Error) -> SendError {
    let failure = if err.kind() == std::io::ErrorKind::TimedOut {
        Failure::Timeout
    } else if caused_by::<rustls::Error>(&err) || err.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
        Failure::Tls
    } else {
        Failure::Connection
    };
    send_error(&failure, err.to_string()).with_source(err)
}

/// A timeout of our own around a whole operation.
pub(crate) fn timed_out(what: &str, after: std::time::Duration) -> SendError {
    send_error(&Failure::Timeout, format!("{what} timed out after {after:?}"))
}

/// A problem with the message or the settings, found before talking to any server.
pub(crate) fn invalid(kind: SendErrorKind, message: impl Into<String>) -> SendError {
    SendError::new(kind, message)
}

fn caused_by<E: StdError + 'static>(err: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<E>() {
            return true;
        }
        next = e.source();
    }
    false
}

fn reply<'a>(failure: &Failure<'a>) -> Option<(u16, &'a str)> {
    match failure {
        Failure::Reply { code, text } => Some((*code, text)),
        _ => None,
    }
}

/// The enhanced status code (RFC 3463) at the start of a reply text, e.g. `5.7.1` → `(5, 7, 1)`.
fn enhanced(text: &str) -> Option<(u16, u16, u16)> {
    let first = text.split_whitespace().next()?;
    let mut parts = first.split('.').map(|p| p.parse::<u16>().ok());
    let class = parts.next()??;
    let subject = parts.next()??;
    let detail = parts.next()??;
    (parts.next().is_none() && matches!(class, 2 | 4 | 5)).then_some((class, subject, detail))
}

fn contains(text: &str, needles: &[&str]) -> bool {
    let text = text.to_ascii_lowercase();
    needles.iter().any(|n| text.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(failure: Failure<'_>) -> (&'static str, SendErrorKind) {
        let rule = classify(&failure);
        (rule.name, rule.kind)
    }

    fn reply(code: u16, text: &str) -> (&'static str, SendErrorKind) {
        row(Failure::Reply { code, text })
    }

    #[test]
    fn every_row_has_a_test() {
        let tested = [
            "auth_reply",
            "login_refused",
            "relay_denied",
            "greylisted",
            "rate_limited",
            "temporary_reply",
            "rejected_as_spam",
            "invalid_recipient",
            "data_not_accepted",
            "connection",
            "tls",
            "timeout",
            "other",
        ];
        let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        assert_eq!(names, tested, "a row was added or removed: add its test");
    }

    #[test]
    fn auth_reply() {
        for (code, text) in [
            (535, "5.7.8 Authentication failed"),
            (535, "Incorrect authentication data"),
            (530, "5.7.0 Authentication required"),
            (534, "5.7.9 Please log in with your web browser"),
            (550, "5.7.8 Username and Password not accepted"),
        ] {
            assert_eq!(reply(code, text), ("auth_reply", SendErrorKind::Auth), "{code} {text}");
        }
    }

    #[test]
    fn login_refused() {
        assert_eq!(row(Failure::LoginRefused), ("login_refused", SendErrorKind::Auth));
    }

    #[test]
    fn relay_denied() {
        for (code, text) in [
            (554, "5.7.1 <x@example.com>: Relay access denied"),
            (550, "5.7.1 Unable to relay for x@example.com"),
        ] {
            assert_eq!(
                reply(code, text),
                ("relay_denied", SendErrorKind::Auth),
                "{code} {text}"
            );
        }
    }

    #[test]
    fn greylisted() {
        for (code, text) in [
            (
                450,
                "4.2.0 <x@example.com>: Recipient address rejected: Greylisted, see http://postgrey",
            ),
            (451, "4.7.1 Please try again later"),
        ] {
            assert_eq!(
                reply(code, text),
                ("greylisted", SendErrorKind::Temporary),
                "{code} {text}"
            );
        }
    }

    #[test]
    fn rate_limited() {
        for (code, text) in [
            (421, "4.7.0 Too many messages, slow down"),
            (450, "4.7.0 Rate limit exceeded"),
            (550, "5.4.5 Daily user sending quota exceeded"),
            (452, "4.5.3 Too many recipients"),
        ] {
            assert_eq!(
                reply(code, text),
                ("rate_limited", SendErrorKind::Temporary),
                "{code} {text}"
            );
        }
    }

    #[test]
    fn temporary_reply() {
        for (code, text) in [
            (421, "4.3.0 Service not available, closing channel"),
            (451, "4.3.5 Server configuration problem"),
            (452, "4.3.1 Insufficient system storage"),
        ] {
            assert_eq!(
                reply(code, text),
                ("temporary_reply", SendErrorKind::Temporary),
                "{code} {text}"
            );
        }
    }

    #[test]
    fn rejected_as_spam() {
        for (code, text) in [
            (554, "5.7.1 Message rejected under suspicion of SPAM"),
            (550, "5.7.1 Our system has detected an unusual rate of unsolicited mail"),
            (554, "Message rejected: spam detected"),
            (550, "5.7.350 Remote server returned message detected as spam"),
            (554, "5.7.0 Your IP is on a blocklist"),
        ] {
            assert_eq!(
                reply(code, text),
                ("rejected_as_spam", SendErrorKind::RejectedAsSpam),
                "{code} {text}"
            );
        }
    }

    #[test]
    fn invalid_recipient() {
        for (code, text) in [
            (
                550,
                "5.1.1 <nobody@example.com>: Recipient address rejected: User unknown",
            ),
            (553, "5.1.3 Bad recipient address syntax"),
            (550, "Requested action not taken: mailbox unavailable"),
            (501, "5.1.3 Invalid address"),
        ] {
            assert_eq!(
                reply(code, text),
                ("invalid_recipient", SendErrorKind::InvalidAddress),
                "{code} {text}"
            );
        }
    }

    #[test]
    fn data_not_accepted() {
        for (code, text) in [
            (554, "5.6.0 Message not accepted"),
            (554, "Transaction failed"),
            (552, "5.3.4 Message size exceeds fixed limit"),
            (
                550,
                "5.7.26 Unauthenticated email from example.com is not accepted due to DMARC",
            ),
            (554, "5.2.3 Message length exceeds administrative limit"),
        ] {
            assert_eq!(
                reply(code, text),
                ("data_not_accepted", SendErrorKind::DataNotAccepted),
                "{code} {text}"
            );
        }
    }

    #[test]
    fn connection() {
        assert_eq!(row(Failure::Connection), ("connection", SendErrorKind::Temporary));
    }

    #[test]
    fn tls() {
        assert_eq!(row(Failure::Tls), ("tls", SendErrorKind::Temporary));
    }

    #[test]
    fn timeout() {
        assert_eq!(row(Failure::Timeout), ("timeout", SendErrorKind::Temporary));
    }

    #[test]
    fn other() {
        assert_eq!(row(Failure::Other), ("other", SendErrorKind::Other));
        for (code, text) in [
            (500, "5.5.1 Command unrecognized"),
            (502, "5.5.2 Command not implemented"),
        ] {
            assert_eq!(reply(code, text), ("other", SendErrorKind::Other), "{code} {text}");
        }
    }

    #[test]
    fn enhanced_codes_are_read_from_the_start_of_the_text() {
        assert_eq!(enhanced("5.7.1 spam"), Some((5, 7, 1)));
        assert_eq!(enhanced("  4.2.0 later"), Some((4, 2, 0)));
        assert_eq!(enhanced("5.7 no"), None);
        assert_eq!(enhanced("1.2.3 no"), None);
        assert_eq!(enhanced("Relay denied 5.7.1"), None);
    }

    #[test]
    fn errors_carry_the_code_and_the_kind() {
        let err = send_error(
            &Failure::Reply {
                code: 535,
                text: "5.7.8 no",
            },
            "535 5.7.8 no",
        );
        assert_eq!((err.kind(), err.smtp_code()), (SendErrorKind::Auth, Some(535)));
        assert!(!err.is_temporary());
        assert!(timed_out("send", std::time::Duration::from_secs(1)).is_temporary());
    }
}
