-- $3: the ids, a JSON array of integers.
SELECT id, body FROM records WHERE account = $1 AND kind = $2 AND id IN (SELECT value FROM json_each($3)) ORDER BY id
