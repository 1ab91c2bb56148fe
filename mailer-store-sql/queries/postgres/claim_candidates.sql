-- Not run on PostgreSQL: `claim_due` calls `mailer_claim` (migrations/postgres/0006_claim_function.sql),
-- which starts with this query. Kept because every operation has a file in both dialects.
-- The first claimable email of every mailbox whose spacing and caps allow a send at $1, best first;
-- mailboxes another worker is claiming from are skipped, not waited for.
SELECT m.id AS mailbox, m.spacing_us, m.daily_cap, m.cap_window, m.per_minute_cap, m.timezone, m.pruned_at, e.id AS email
FROM mailboxes m
CROSS JOIN LATERAL (
    SELECT q.id, q.priority, q.seq FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
    WHERE q.mailbox = m.id
      AND q.status IN ('queued', 'sending')
          AND ((q.status = 'queued' AND q.due_at <= $1) OR (q.status = 'sending' AND q.lease_until <= $1))
          AND (g.status IS NULL OR g.status = 'running')
    ORDER BY q.priority, q.seq, q.id
    LIMIT 1) e
WHERE m.free_at IS NULL OR m.free_at <= $1
ORDER BY e.priority, e.seq, e.id
LIMIT $2
FOR UPDATE OF m SKIP LOCKED
