-- A mailing's emails share one content (subject, body and text part: often tens of KB). SQLite keeps each
-- distinct content of an account once, here, and an email's spec refers to it: a 10,000-email mailing of a
-- 20 KB body stored the body 10,000 times (200 MB), and every claim read, copied and parsed it again.
-- `digest` is the SHA-256 (hex) of `content`, the content's JSON. A spec whose `content` column is NULL
-- holds its own content (emails queued before this migration).
CREATE TABLE email_contents (
    id      INTEGER PRIMARY KEY,
    account BIGINT NOT NULL,
    digest  TEXT NOT NULL,
    content TEXT NOT NULL
);
CREATE UNIQUE INDEX email_contents_by_digest ON email_contents (account, digest);
ALTER TABLE email_specs ADD COLUMN content BIGINT;
