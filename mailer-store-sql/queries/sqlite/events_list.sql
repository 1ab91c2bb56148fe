SELECT id, body FROM events
WHERE account = $1
  AND ($2 IS NULL OR email = $2)
  AND ($3 IS NULL OR entity = $3)
  AND ($4 IS NULL OR at >= $4)
ORDER BY id
LIMIT $5 + 0
