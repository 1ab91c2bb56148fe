INSERT INTO accounts (name, timezone, signing_key_ref) VALUES ($1, $2, $3) RETURNING id
