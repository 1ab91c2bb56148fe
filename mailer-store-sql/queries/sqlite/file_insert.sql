INSERT INTO files (account, name, content_type, bytes) VALUES ($1, $2, $3, $4) RETURNING id
