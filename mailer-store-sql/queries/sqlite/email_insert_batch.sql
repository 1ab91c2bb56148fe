INSERT INTO emails (id, account, mailbox, mailing, entity, status, priority, seq, due_at, idempotency_key, spec)
SELECT value ->> '$.id', value ->> '$.account', value ->> '$.mailbox', value ->> '$.mailing',
       value ->> '$.entity', 'queued', value ->> '$.priority', value ->> '$.seq', value ->> '$.due_at',
       value ->> '$.key', value -> '$.spec'
FROM json_each($1) WHERE true
ON CONFLICT (account, idempotency_key) DO NOTHING
RETURNING id
