SELECT at FROM events
WHERE email = $1
  AND json_extract(body, '$.kind.event') = 'clicked'
  AND json_extract(body, '$.kind.link') = $2
  AND account = $3
  AND at >= $4
ORDER BY at
