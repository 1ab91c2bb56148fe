-- The claimable emails of every mailbox whose spacing and caps allow a send at $1, best first, up to $2:
-- one of a mailbox that spaces or caps its sends (the next must wait for them), and a share of $2 of a
-- mailbox that does neither (limits lifted: `spacing_us` 0, no daily cap, no per-minute cap); every
-- mailbox's first email goes before any mailbox's second, then by priority, `seq` and id. The share is $2
-- divided by the lifted mailboxes with emails waiting, rounded up (`SendingLimits::lifted` and
-- `Store::claim_due` in mailer-core say the same; 4294967295 is `SendingLimits::NO_DAILY_CAP`). `in_queue`
-- is 1 exactly while the status is `queued` or `sending` (migration 0009): the queue's index is on it.
WITH due AS (
    SELECT m.id, m.spacing_us, m.daily_cap, m.cap_window, m.per_minute_cap, m.timezone, m.pruned_at,
           m.spacing_us = 0 AND m.daily_cap = 4294967295 AND m.per_minute_cap IS NULL AS lifted
    FROM mailboxes m
    WHERE (m.free_at IS NULL OR m.free_at <= $1)
      AND EXISTS (SELECT 1 FROM emails q WHERE q.mailbox = m.id AND q.in_queue = 1)
),
picked AS (
    SELECT d.id AS mailbox, e.id AS email, e.priority, e.seq, 1 AS turn
    FROM due d
    JOIN emails e ON e.id = (
        SELECT q.id FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
        WHERE q.mailbox = d.id
          AND q.in_queue = 1
          AND ((q.status = 'queued' AND q.due_at <= $1) OR (q.status = 'sending' AND q.lease_until <= $1))
          AND (g.status IS NULL OR g.status = 'running')
        ORDER BY q.priority, q.seq, q.id
        LIMIT 1)
    WHERE NOT d.lifted
    UNION ALL
    SELECT d.id, e.id, e.priority, e.seq, ROW_NUMBER() OVER (PARTITION BY d.id ORDER BY e.priority, e.seq, e.id)
    FROM due d
    JOIN emails e ON e.id IN (
        SELECT q.id FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
        WHERE q.mailbox = d.id
          AND q.in_queue = 1
          AND ((q.status = 'queued' AND q.due_at <= $1) OR (q.status = 'sending' AND q.lease_until <= $1))
          AND (g.status IS NULL OR g.status = 'running')
        ORDER BY q.priority, q.seq, q.id
        LIMIT (SELECT ($2 + count(*) - 1) / max(count(*), 1) FROM due WHERE lifted))
    WHERE d.lifted
)
SELECT d.id AS mailbox, d.spacing_us, d.daily_cap, d.cap_window, d.per_minute_cap, d.timezone, d.pruned_at, p.email
FROM picked p JOIN due d ON d.id = p.mailbox
ORDER BY p.turn, p.priority, p.seq, p.email
LIMIT $2 + 0
