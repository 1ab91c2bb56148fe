-- Reading the mailboxes' INBOX (mirror of migrations/sqlite/0003_inbox.sql): how far each was read, so a
-- message is handled once across restarts and processes, and finding our email by the Message-ID that a
-- bounce or a reply names.
CREATE TABLE inbox_cursors (
    account      BIGINT NOT NULL,
    mailbox      BIGINT NOT NULL,
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    PRIMARY KEY (account, mailbox)
);
CREATE INDEX emails_by_message_id ON emails (account, (spec ->> 'message_id'));
