SELECT id, idempotency_key FROM emails
WHERE account = $1 AND idempotency_key IN (SELECT value FROM json_each($2))
