-- One row: the store repeats the row tuple (renumbering its parameters) to insert many rows at once.
INSERT INTO emails (id, account, mailbox, mailing, entity, status, priority, seq, due_at, idempotency_key, spec)
VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10)
ON CONFLICT (account, idempotency_key) DO NOTHING
RETURNING id
