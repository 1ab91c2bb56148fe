INSERT INTO emails (id, account, mailbox, mailing, entity, status, priority, seq, due_at, idempotency_key, spec)
SELECT (v ->> 'id')::bigint, (v ->> 'account')::bigint, (v ->> 'mailbox')::bigint, (v ->> 'mailing')::bigint,
       v ->> 'entity', 'queued', (v ->> 'priority')::bigint, (v ->> 'seq')::bigint, (v ->> 'due_at')::bigint,
       v ->> 'key', v -> 'spec'
FROM jsonb_array_elements($1::jsonb) AS r(v)
ON CONFLICT (account, idempotency_key) DO NOTHING
RETURNING id
