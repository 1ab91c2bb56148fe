INSERT INTO once_keys (account, key, at) VALUES ($1, $2, $3) ON CONFLICT (account, key) DO NOTHING
