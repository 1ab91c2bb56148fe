INSERT INTO timers (account, key, ready_at, body) VALUES ($1, $2, $3, $4) RETURNING id
