INSERT INTO records (id, account, kind, body) VALUES ($1, $2, $3, $4::jsonb)
