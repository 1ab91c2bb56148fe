-- One email, if it is claimable at $1 (its mailbox row is already locked by the caller).
SELECT q.mailbox FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
WHERE q.id = $2 AND q.account = $3
  AND q.status IN ('queued', 'sending')
          AND ((q.status = 'queued' AND q.due_at <= $1) OR (q.status = 'sending' AND q.lease_until <= $1))
          AND (g.status IS NULL OR g.status = 'running')
