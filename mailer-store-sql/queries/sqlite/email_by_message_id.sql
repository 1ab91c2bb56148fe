SELECT id, status, attempts, due_at, sent_at, last_error, spec FROM emails
WHERE account = $1 AND json_extract(spec, '$.message_id') = $2
ORDER BY id
LIMIT 1
