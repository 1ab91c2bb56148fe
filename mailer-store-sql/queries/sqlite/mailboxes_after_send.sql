-- Rows of [id, next_send_at, free_at, pruned_at].
UPDATE mailboxes SET next_send_at = u.value ->> '$[1]', free_at = u.value ->> '$[2]', pruned_at = u.value ->> '$[3]'
FROM json_each($1) AS u
WHERE mailboxes.id = u.value ->> '$[0]'
