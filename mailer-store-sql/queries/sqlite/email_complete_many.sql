-- Marks leased emails sent, many in one statement (SQLite's group commit, store/completions.rs).
-- $1: a JSON array of [id, account, worker, sent_at] (sent_at in microseconds). Each row changes only
-- when that worker holds the email's lease; the ids of the rows changed come back.
UPDATE emails SET status = 'sent', sent_at = done.at, lease_worker = NULL, lease_until = NULL
FROM (
    SELECT value ->> 0 AS id, value ->> 1 AS account, value ->> 2 AS worker, value ->> 3 AS at
    FROM json_each($1)
) AS done
WHERE emails.id = done.id AND emails.account = done.account
  AND emails.status = 'sending' AND emails.lease_worker = done.worker
RETURNING emails.id
