SELECT id, body::text FROM events
WHERE account = $1
  AND ($2::bigint IS NULL OR email = $2)
  AND ($3::text IS NULL OR entity = $3)
  AND ($4::bigint IS NULL OR at >= $4)
ORDER BY id
LIMIT $5
