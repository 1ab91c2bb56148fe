-- One email, if it is claimable at $1 (its mailbox row is already locked by the caller). The status test is a
-- CASE so that the planner looks the row up by its primary key, not by walking the partial queue index.
SELECT q.mailbox FROM emails q LEFT JOIN mailings g ON g.id = q.mailing
WHERE q.id = $2 AND q.account = $3
  AND CASE q.status WHEN 'queued' THEN q.due_at <= $1 WHEN 'sending' THEN q.lease_until <= $1 ELSE false END
          AND (g.status IS NULL OR g.status = 'running')
