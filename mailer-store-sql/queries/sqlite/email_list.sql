SELECT e.id, e.status, e.attempts, e.due_at, e.sent_at, e.last_error, s.spec, s.content
FROM emails e JOIN email_specs s ON s.id = e.id
WHERE e.account = $1
  AND ($2 IS NULL OR e.status IN (SELECT value FROM json_each($2)))
  AND ($3 IS NULL OR e.mailbox = $3)
  AND ($4 IS NULL OR e.mailing = $4)
  AND ($5 IS NULL OR e.entity = $5)
  AND ($6 IS NULL OR e.id > $6)
ORDER BY e.id
LIMIT $7 + 0
