INSERT INTO suppressions (account, address, reason, at) VALUES ($1, $2, $3, $4) ON CONFLICT (account, address) DO NOTHING
