SELECT id, status, attempts, due_at, sent_at, last_error, spec::text FROM emails
WHERE account = $1
  AND ($2::text IS NULL OR status IN (SELECT jsonb_array_elements_text($2::jsonb)))
  AND ($3::bigint IS NULL OR mailbox = $3)
  AND ($4::bigint IS NULL OR mailing = $4)
  AND ($5::text IS NULL OR entity = $5)
  AND ($6::bigint IS NULL OR id > $6)
ORDER BY id
LIMIT $7
