-- Each email's spec (its whole JSON, body included: often tens of KB) in a table of its own, so that the
-- queue's row stays small. SQLite rewrites a whole row on every UPDATE, and the claim and the end of each
-- lease update the email's row (status, lease): with the spec inside, each of them wrote the spec's pages
-- again (about 1 ms per update for a 20 KB body). PostgreSQL keeps large values out of line (TOAST), so
-- its schema keeps the spec in `emails`. The Message-ID that bounces and replies are matched by becomes a
-- column of `emails`, filled from the spec when the email is queued.
CREATE TABLE email_specs (
    id   INTEGER PRIMARY KEY, -- the email's id
    spec TEXT NOT NULL
);
INSERT INTO email_specs (id, spec) SELECT id, spec FROM emails;
ALTER TABLE emails ADD COLUMN message_id TEXT;
UPDATE emails SET message_id = json_extract(spec, '$.message_id');
DROP INDEX emails_by_message_id;
CREATE INDEX emails_by_message_id ON emails (account, message_id);
ALTER TABLE emails DROP COLUMN spec;
