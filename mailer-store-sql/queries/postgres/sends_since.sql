SELECT at FROM sends WHERE mailbox = $1 AND at >= $2 ORDER BY at
