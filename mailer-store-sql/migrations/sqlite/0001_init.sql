-- mailer-store-sql schema, SQLite dialect (mirror of migrations/postgres/0001_init.sql).
-- Times are BIGINT microseconds since the Unix epoch (UTC); JSON is TEXT.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    timezone        TEXT NOT NULL,
    signing_key_ref TEXT NOT NULL
);

-- Configuration records (users, mailboxes, templates, …) as JSON; secrets inside are encrypted.
CREATE TABLE records (
    id      INTEGER PRIMARY KEY,
    account BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX records_by_kind ON records (account, kind, id);

-- What the claim needs of a mailbox record, in columns.
CREATE TABLE mailboxes (
    id             BIGINT PRIMARY KEY,
    account        BIGINT NOT NULL,
    spacing_us     BIGINT NOT NULL,
    daily_cap      BIGINT NOT NULL,
    cap_window     TEXT NOT NULL,
    per_minute_cap BIGINT,
    timezone       TEXT NOT NULL,
    next_send_at   BIGINT,
    free_at        BIGINT,
    pruned_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mailboxes_free ON mailboxes (free_at);

-- The status of a mailing record, in a column.
CREATE TABLE mailings (
    id      BIGINT PRIMARY KEY,
    account BIGINT NOT NULL,
    status  TEXT NOT NULL
);

-- The queue.
CREATE TABLE emails (
    id              INTEGER PRIMARY KEY,
    account         BIGINT NOT NULL,
    mailbox         BIGINT NOT NULL,
    mailing         BIGINT,
    entity          TEXT,
    status          TEXT NOT NULL,
    priority        BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    sent_at         BIGINT,
    last_error      TEXT,
    lease_worker    TEXT,
    lease_until     BIGINT,
    idempotency_key TEXT,
    spec            TEXT NOT NULL
);
CREATE UNIQUE INDEX emails_idempotency ON emails (account, idempotency_key);
CREATE INDEX emails_queue ON emails (mailbox, priority, seq, id) WHERE status IN ('queued', 'sending');
CREATE INDEX emails_by_account ON emails (account, id);
CREATE INDEX emails_by_mailing ON emails (mailing, status);

-- Sends per mailbox (the claims), for spacing and caps; pruned after 49 hours.
CREATE TABLE sends (
    mailbox BIGINT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX sends_by_mailbox ON sends (mailbox, at);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    account BIGINT NOT NULL,
    email   BIGINT,
    entity  TEXT,
    at      BIGINT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX events_by_account ON events (account, id);
CREATE INDEX events_by_email ON events (email, id);

CREATE TABLE once_keys (
    account BIGINT NOT NULL,
    key     TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (account, key)
);

CREATE TABLE timers (
    id           INTEGER PRIMARY KEY,
    account      BIGINT NOT NULL,
    key          TEXT NOT NULL,
    ready_at     BIGINT NOT NULL,
    lease_worker TEXT,
    body         TEXT NOT NULL
);
CREATE UNIQUE INDEX timers_by_key ON timers (account, key);
CREATE INDEX timers_ready ON timers (ready_at, id);

CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    account      BIGINT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL
);
