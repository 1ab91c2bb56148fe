-- Indexes that do not name `status`. SQLite rewrites an index entry whenever a column the index names
-- changes (in its key or in a partial index's WHERE), and an email's status changes twice on its way out:
-- claimed (`queued` -> `sending`), then sent. With many mailboxes and mailings sending at once, every claim
-- and every group of completions rewrote one page of each such index per mailbox or mailing it touched:
-- about half of the WAL written per email (benches/pipeline_throughput.sh, 20 mailboxes).
--
-- 1. `emails_by_mailing` on the mailing alone: written once, when the email is queued. A mailing's counts
--    by status (its progress view) and the cancel of its queued emails read the mailing's rows through it
--    (they read the rows before too, for the account).
DROP INDEX emails_by_mailing;
CREATE INDEX emails_by_mailing ON emails (mailing);

-- 2. The queue's index (`emails_queue`, the emails a claim looks at) keyed on `in_queue` instead of the
--    status: 1 while the email is queued or being sent, NULL after. A claim no longer rewrites it (both of
--    its statuses are in the queue); leaving the queue (sent, failed, cancelled…) takes the email out of it,
--    as before. The triggers keep `in_queue` to the status, whatever statement changes it.
ALTER TABLE emails ADD COLUMN in_queue INTEGER DEFAULT 1;
UPDATE emails SET in_queue = NULL WHERE status NOT IN ('queued', 'sending');
DROP INDEX emails_queue;
CREATE INDEX emails_queue ON emails (mailbox, priority, seq, id) WHERE in_queue = 1;
CREATE TRIGGER emails_in_queue_insert AFTER INSERT ON emails
WHEN new.status NOT IN ('queued', 'sending')
BEGIN
    UPDATE emails SET in_queue = NULL WHERE id = new.id;
END;
CREATE TRIGGER emails_in_queue_update AFTER UPDATE OF status ON emails
WHEN (new.status IN ('queued', 'sending')) <> (old.status IN ('queued', 'sending'))
BEGIN
    UPDATE emails SET in_queue = CASE WHEN new.status IN ('queued', 'sending') THEN 1 END WHERE id = new.id;
END;
