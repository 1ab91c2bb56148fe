-- Per mailbox: sends after $2 (the last minute) and since $3 (the last 25 hours).
SELECT mailbox, COALESCE(SUM(CASE WHEN at > $2 THEN 1 ELSE 0 END), 0) AS minute, COUNT(*) AS day
FROM sends WHERE mailbox IN (SELECT value FROM json_each($1)) AND at >= $3
GROUP BY mailbox
