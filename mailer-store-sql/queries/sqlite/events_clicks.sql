SELECT at FROM events
WHERE email = $1
  AND link = $2
  AND link IS NOT NULL
  AND account = $3
  AND at >= $4
ORDER BY at
