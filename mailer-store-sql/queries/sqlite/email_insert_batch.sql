-- One row: the store repeats the row tuple (renumbering its parameters) to insert many rows at once. The
-- spec ($10) goes to `email_specs` in a statement of its own (email_specs_insert); here only its Message-ID.
INSERT INTO emails (id, account, mailbox, mailing, entity, status, priority, seq, due_at, idempotency_key, message_id)
VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10 ->> 'message_id')
ON CONFLICT (account, idempotency_key) DO NOTHING
RETURNING id
