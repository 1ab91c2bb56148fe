-- Per mailbox: sends after $2 (the last minute) and since $3 (the last 25 hours).
SELECT mailbox, COALESCE(SUM(CASE WHEN at > $2 THEN 1 ELSE 0 END), 0)::bigint AS minute, COUNT(*) AS day
FROM sends WHERE mailbox IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) AND at >= $3
GROUP BY mailbox
