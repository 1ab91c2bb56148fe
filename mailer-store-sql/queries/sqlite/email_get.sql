SELECT e.id, e.status, e.attempts, e.due_at, e.sent_at, e.last_error, s.spec, s.content
FROM emails e JOIN email_specs s ON s.id = e.id
WHERE e.id = $1 AND e.account = $2
