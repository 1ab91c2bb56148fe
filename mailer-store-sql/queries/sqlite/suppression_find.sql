SELECT address FROM suppressions
WHERE account = $1 AND address IN (SELECT value FROM json_each($2)) ORDER BY address
