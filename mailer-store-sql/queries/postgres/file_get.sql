SELECT name, content_type, bytes FROM files WHERE id = $1 AND account = $2
