-- The ids of an account's contents by digest ($2: a JSON array of digests).
SELECT id, digest FROM email_contents
WHERE account = $1 AND digest IN (SELECT value FROM json_each($2))
