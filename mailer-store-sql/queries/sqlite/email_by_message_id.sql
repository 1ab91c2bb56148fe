SELECT e.id, e.status, e.attempts, e.due_at, e.sent_at, e.last_error, s.spec, s.content
FROM emails e JOIN email_specs s ON s.id = e.id
WHERE e.account = $1 AND e.message_id = $2
ORDER BY e.id
LIMIT 1
