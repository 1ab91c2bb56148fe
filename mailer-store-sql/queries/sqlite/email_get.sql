SELECT id, status, attempts, due_at, sent_at, last_error, spec FROM emails WHERE id = $1 AND account = $2
