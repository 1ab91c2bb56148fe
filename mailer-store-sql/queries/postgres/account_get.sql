SELECT id, name, timezone, signing_key_ref FROM accounts WHERE id = $1
