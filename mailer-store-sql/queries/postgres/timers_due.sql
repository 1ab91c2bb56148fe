SELECT id, body::text FROM timers WHERE ready_at <= $1 ORDER BY ready_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
