INSERT INTO events (account, email, entity, at, body)
SELECT value ->> '$.account', value ->> '$.email', value ->> '$.entity', value ->> '$.at', value -> '$.body'
FROM json_each($1)
ORDER BY key
