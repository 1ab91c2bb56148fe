SELECT status, COUNT(*) FROM emails WHERE account = $1 AND mailing = $2 GROUP BY status
