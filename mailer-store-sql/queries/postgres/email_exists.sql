SELECT COUNT(*) FROM emails WHERE id = $1 AND account = $2
