SELECT at FROM events
WHERE email = $1
  AND body->'kind'->>'event' = 'clicked'
  AND (body->'kind'->>'link')::bigint = $2
  AND account = $3
  AND at >= $4
ORDER BY at
