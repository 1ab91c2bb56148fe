//! The SQL of every operation, one file per operation and dialect under `queries/<dialect>/<op>.sql`, and
//! the embedded migrations under `migrations/<dialect>/`.
//!
//! Both dialects must have the same operation files: with both features on, a missing file is a
//! compile error.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

macro_rules! queries {
    ($($op:ident),* $(,)?) => {
        /// The SQL text of every store operation in one dialect.
        #[derive(Debug)]
        pub(crate) struct Queries {
            $(pub(crate) $op: &'static str,)*
        }

        #[cfg(test)]
        impl Queries {
            /// Every operation's name and SQL.
            fn all(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($op), self.$op),)*]
            }
        }

        #[cfg(feature = "sqlite")]
        pub(crate) static SQLITE: Queries = Queries {
            $($op: include_str!(concat!("../queries/sqlite/", stringify!($op), ".sql")),)*
        };

        #[cfg(feature = "postgres")]
        pub(crate) static POSTGRES: Queries = Queries {
            $($op: include_str!(concat!("../queries/postgres/", stringify!($op), ".sql")),)*
        };
    };
}

queries!(
    meta_get,
    meta_insert,
    account_insert,
    account_get,
    account_exists,
    record_next_id,
    record_insert,
    record_update,
    record_get,
    record_get_many,
    record_delete,
    record_list,
    mailbox_record_exists,
    mailbox_upsert,
    mailbox_get,
    mailbox_lock,
    mailing_upsert,
    email_next_ids,
    email_insert_batch,
    email_ids_by_keys,
    email_claimable,
    lease_emails,
    sends_insert,
    sends_counts,
    sends_since,
    sends_last,
    sends_prune,
    mailboxes_after_send,
    email_complete,
    email_retry,
    email_fail,
    email_cancel_claimed,
    email_exists,
    email_get,
    email_list,
    mailing_counts,
    mailing_cancel_queued,
    events_insert,
    events_list,
    events_clicks,
    once_insert,
    timer_delete_key,
    timer_insert,
    timers_due,
    timers_lease,
    timer_finish,
    file_insert,
    file_get,
    suppression_insert,
    suppression_delete,
    suppression_find,
    suppression_list,
    crm_link_upsert,
    crm_link_get,
    crm_link_by_external,
    crm_link_list,
    crm_link_swap,
    jti_spend,
    jti_prune,
    email_by_message_id,
    email_bounce,
    inbox_cursor_get,
    inbox_cursor_save,
    reaction_counts,
    mailboxes_all,
);

/// SQLite's claim: the first claimable email of every mailbox whose spacing and caps allow a send. Outside
/// the table because PostgreSQL has no such query: its claim is one call of the function `mailer_claim`
/// (migrations/postgres/0006_claim_function.sql), which holds its own copy of this selection.
pub(crate) const SQLITE_CLAIM_CANDIDATES: &str = include_str!("../queries/sqlite/claim_candidates.sql");

/// SQLite's group commit marks the leased emails of a group sent in one statement; PostgreSQL does not
/// group its completions (`store/completions.rs`).
pub(crate) const SQLITE_COMPLETE_MANY: &str = include_str!("../queries/sqlite/email_complete_many.sql");

macro_rules! migrator {
    ($dialect:literal: $($version:literal => $name:literal),* $(,)?) => {
        Migrator::with_migrations(vec![$(
            Migration::new(
                $version,
                Cow::Borrowed($name),
                MigrationType::Simple,
                include_str!(concat!("../migrations/", $dialect, "/", $name, ".sql")).into_sql_str(),
                false,
            ),
        )*])
    };
}

/// The SQLite migrations, embedded.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_migrator() -> Migrator {
    migrator!("sqlite": 1 => "0001_init", 2 => "0002_suppressions", 3 => "0003_crm_links", 4 => "0004_inbox",
        5 => "0005_kommo_jti", 6 => "0006_event_clicks", 7 => "0007_email_specs", 8 => "0008_email_contents",
        9 => "0009_status_free_indexes")
}

/// The PostgreSQL migrations, embedded.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_migrator() -> Migrator {
    migrator!("postgres":
        1 => "0001_init",
        2 => "0002_suppressions",
        3 => "0003_crm_links",
        4 => "0004_inbox",
        5 => "0005_kommo_jti",
        6 => "0006_claim_function",
        7 => "0007_event_clicks",
        8 => "0008_claim_uncapped",
        9 => "0009_claim_lifted",
    )
}

/// Turns a one-row `INSERT … VALUES (…) ON CONFLICT …` into one for `rows` rows: the `VALUES` tuple is
/// repeated with its `$n` parameters renumbered, so row `r` binds `$(n + r·params)`. With `anonymous`
/// (SQLite) every parameter becomes `?` instead, bound in order: SQLite looks named parameters up by a
/// linear scan, which makes thousands of `$n` in one statement quadratic.
pub(crate) fn multi_row(sql: &str, rows: usize, anonymous: bool) -> Result<String, crate::error::Error> {
    let bad = || crate::error::Error::corrupt("a batch insert must be `… VALUES (…) ON CONFLICT …`");
    let values = sql.find("VALUES").ok_or_else(bad)? + "VALUES".len();
    let tail = sql[values..].find("ON CONFLICT").ok_or_else(bad)? + values;
    let (head, tuple, rest) = (&sql[..values], sql[values..tail].trim(), &sql[tail..]);
    let params = tuple.matches('$').count();
    let mut out = String::with_capacity(head.len() + rest.len() + rows * (tuple.len() + 16));
    out.push_str(head);
    for r in 0..rows {
        out.push_str(if r == 0 { "\n" } else { ",\n" });
        let mut chars = tuple.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '$' {
                out.push(c);
                continue;
            }
            let start = i + 1;
            let mut end = start;
            while let Some((j, d)) = chars.peek().copied() {
                if !d.is_ascii_digit() {
                    break;
                }
                end = j + 1;
                chars.next();
            }
            let n: usize = tuple[start..end].parse().map_err(|_| bad())?;
            if anonymous {
                out.push('?');
            } else {
                out.push('$');
                out.push_str(&(n + r * params).to_string());
            }
        }
    }
    out.push('\n');
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// SQLite (3.47+) plans `LIMIT $n` with the bound value as a constant and marks the statement to be
    /// prepared again whenever `$n` is bound, which is every execution: the worker's claim paid a full parse
    /// and plan per step. `LIMIT $n + 0` is computed at run time instead.
    #[cfg(feature = "sqlite")]
    #[test]
    fn no_sqlite_query_limits_by_a_bare_parameter() {
        let claim = ("claim_candidates", super::SQLITE_CLAIM_CANDIDATES);
        let complete = ("email_complete_many", super::SQLITE_COMPLETE_MANY);
        for (op, sql) in super::SQLITE.all().into_iter().chain([claim, complete]) {
            for (at, _) in sql.match_indices("LIMIT $") {
                let rest = sql[at + "LIMIT $".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
                assert!(
                    rest.trim_start().starts_with('+'),
                    "{op}: a bare bound LIMIT is prepared again on every execution: {sql}"
                );
            }
        }
    }

    #[test]
    fn multi_row_renumbers_each_tuple() {
        let sql = "INSERT INTO t (a, b, c) VALUES ($1, 'x', $2::jsonb) ON CONFLICT (a) DO NOTHING RETURNING a";
        let got = super::multi_row(sql, 3, false).expect("multi row");
        assert_eq!(
            got,
            "INSERT INTO t (a, b, c) VALUES\n($1, 'x', $2::jsonb),\n($3, 'x', $4::jsonb),\n($5, 'x', $6::jsonb)\n\
             ON CONFLICT (a) DO NOTHING RETURNING a"
        );
        let got = super::multi_row(sql, 2, true).expect("anonymous");
        assert_eq!(
            got,
            "INSERT INTO t (a, b, c) VALUES\n(?, 'x', ?::jsonb),\n(?, 'x', ?::jsonb)\nON CONFLICT (a) DO NOTHING RETURNING a"
        );
    }
}
