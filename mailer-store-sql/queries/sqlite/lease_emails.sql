UPDATE emails SET status = 'sending', attempts = attempts + 1, lease_worker = $2, lease_until = $3
WHERE id IN (SELECT value FROM json_each($4))
  AND ((status = 'queued' AND due_at <= $1) OR (status = 'sending' AND lease_until <= $1))
RETURNING mailbox, id, status, attempts, due_at, sent_at, last_error,
    (SELECT s.spec FROM email_specs s WHERE s.id = emails.id) AS spec,
    (SELECT s.content FROM email_specs s WHERE s.id = emails.id) AS content
