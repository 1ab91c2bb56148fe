DELETE FROM kommo_jti WHERE expires_at <= $1
