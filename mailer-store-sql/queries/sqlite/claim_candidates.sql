-- The first claimable email of every mailbox whose spacing and caps allow a send at $1, best first.
SELECT m.id AS mailbox, m.spacing_us, m.daily_cap, m.cap_window, m.per_minute_cap, m.timezone, m.pruned_at, e.id AS email
FROM mailboxes m
JOIN emails e ON e.id = (
    SELECT q.id FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
    WHERE q.mailbox = m.id
      AND q.status IN ('queued', 'sending')
          AND ((q.status = 'queued' AND q.due_at <= $1) OR (q.status = 'sending' AND q.lease_until <= $1))
          AND (g.status IS NULL OR g.status = 'running')
    ORDER BY q.priority, q.seq, q.id
    LIMIT 1)
WHERE m.free_at IS NULL OR m.free_at <= $1
ORDER BY e.priority, e.seq, e.id
LIMIT $2 + 0
