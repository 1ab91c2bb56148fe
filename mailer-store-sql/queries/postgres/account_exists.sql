SELECT COUNT(*) FROM accounts WHERE id = $1
