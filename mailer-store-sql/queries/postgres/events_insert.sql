INSERT INTO events (account, email, entity, at, body)
SELECT (v ->> 'account')::bigint, (v ->> 'email')::bigint, v ->> 'entity', (v ->> 'at')::bigint, v -> 'body'
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS r(v, n)
ORDER BY n
