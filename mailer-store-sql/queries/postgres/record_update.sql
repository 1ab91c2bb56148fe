UPDATE records SET body = $4::jsonb WHERE id = $1 AND account = $2 AND kind = $3
