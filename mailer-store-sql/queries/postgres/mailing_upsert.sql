INSERT INTO mailings (id, account, status) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET status = excluded.status
