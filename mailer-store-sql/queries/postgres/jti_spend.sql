INSERT INTO kommo_jti (account, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (account, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE kommo_jti.expires_at <= $4
