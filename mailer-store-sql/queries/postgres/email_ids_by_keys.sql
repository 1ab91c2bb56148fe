SELECT id, idempotency_key FROM emails
WHERE account = $1 AND idempotency_key IN (SELECT jsonb_array_elements_text($2::jsonb))
