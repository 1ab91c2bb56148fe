-- $3: the ids, a JSON array of integers.
SELECT id, body::text FROM records
WHERE account = $1 AND kind = $2 AND id IN (SELECT jsonb_array_elements_text($3::jsonb)::bigint) ORDER BY id
