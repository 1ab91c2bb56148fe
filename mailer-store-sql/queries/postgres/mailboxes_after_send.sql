-- Rows of [id, next_send_at, free_at, pruned_at].
UPDATE mailboxes SET next_send_at = (u.v ->> 1)::bigint, free_at = (u.v ->> 2)::bigint, pruned_at = (u.v ->> 3)::bigint
FROM jsonb_array_elements($1::jsonb) AS u(v)
WHERE mailboxes.id = (u.v ->> 0)::bigint
