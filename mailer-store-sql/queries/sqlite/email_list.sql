SELECT id, status, attempts, due_at, sent_at, last_error, spec FROM emails
WHERE account = $1
  AND ($2 IS NULL OR status IN (SELECT value FROM json_each($2)))
  AND ($3 IS NULL OR mailbox = $3)
  AND ($4 IS NULL OR mailing = $4)
  AND ($5 IS NULL OR entity = $5)
  AND ($6 IS NULL OR id > $6)
ORDER BY id
LIMIT $7
