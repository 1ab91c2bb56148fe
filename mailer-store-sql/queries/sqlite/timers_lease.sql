UPDATE timers SET lease_worker = $1, ready_at = $2 WHERE id IN (SELECT value FROM json_each($3))
